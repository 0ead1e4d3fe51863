//! How a typed value becomes text in a log: shared by template insertion and JSON numbers
//! (`wire.md` §9.4).

use std::fmt::Write;

/// Appends the text of `v` as Rust's `f64` `Display` writes it: the shortest digits that parse
/// back to the same value, never an exponent (`1e21` → `1000000000000000000000`, `-0.0` → `-0`,
/// `NaN`, `inf`, `-inf`).
pub(super) fn render_float(v: f64, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{v}");
}

/// Appends a base-10 integer.
pub(super) fn render_int(v: i64, out: &mut String) {
    let _ = write!(out, "{v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_render_like_rust_display_without_exponent() {
        let cases = [
            (1e6, "1000000"),
            (1e-7, "0.0000001"),
            (-0.0, "-0"),
            (12.5, "12.5"),
            (1e21, "1000000000000000000000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (v, text) in cases {
            let mut out = String::new();
            render_float(v, &mut out);
            assert_eq!(out, text);
        }
    }
}

//! The JSON corpus generator: the Loghub samples rewritten as JSON logs in the shapes of
//! common loggers ([`shapes`]), written by a small deterministic JSON writer. The example
//! `json_corpus` writes `corpora/json/` with it; `tests/json_corpus.rs` checks the committed
//! files against a fresh run.

mod jsonw;
pub mod shapes;

#[cfg(test)]
mod tests {
    use super::jsonw;

    #[test]
    fn the_writer_escapes_and_keeps_the_first_of_a_repeated_key() {
        let mut o = jsonw::Obj::new();
        o.str("a", "q\"\\\n\u{1}é").int("a", 2).float("f", 3.0).null("n").scalar("s", "007");
        assert_eq!(o.finish(), r#"{"a":"q\"\\\n\u0001é","f":3.0,"n":null,"s":"007"}"#);
        let t = jsonw::Civil { year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59, milli: 5 };
        assert_eq!(t.rfc3339_ms(), "2024-02-29T23:59:59.005Z");
        assert_eq!(t.epoch_ms(), 1_709_251_199_005);
    }
}

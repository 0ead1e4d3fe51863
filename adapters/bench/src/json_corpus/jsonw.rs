//! Helpers of the JSON corpus generator: an ordered JSON object writer (member order is the
//! logger's, every key once), civil time, and small text scanners. No dependencies, no
//! hashing, no clock: the output depends on the input only.

/// A JSON object written member by member, in the order given. A key given twice is written
/// once (the first time), so every object has unique keys.
#[derive(Default)]
pub struct Obj {
    buf: String,
    keys: Vec<String>,
}

/// Appends `s` as a JSON string (quotes included).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A float as a JSON number: Rust's shortest round-trip form, always with a decimal point
/// (`3.0`, not `3`), so it reads as a float.
pub fn float_text(v: f64) -> String {
    if !v.is_finite() {
        return "null".to_owned();
    }
    let s = format!("{v}");
    if s.contains(['.', 'e', 'E']) { s } else { format!("{s}.0") }
}

impl Obj {
    /// An empty object.
    pub fn new() -> Self {
        Obj::default()
    }

    /// Writes the key (and the comma before it); `false` when the key is already there.
    fn key(&mut self, key: &str) -> bool {
        if self.keys.iter().any(|k| k == key) {
            return false;
        }
        if !self.keys.is_empty() {
            self.buf.push(',');
        }
        self.keys.push(key.to_owned());
        push_str(&mut self.buf, key);
        self.buf.push(':');
        true
    }

    /// A member whose value is already JSON text.
    fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        if self.key(key) {
            self.buf.push_str(json);
        }
        self
    }

    /// A string member.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        if self.key(key) {
            push_str(&mut self.buf, value);
        }
        self
    }

    /// A string member, or `null`.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    /// An integer member.
    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.raw(key, &value.to_string())
    }

    /// An integer member, or `null`.
    pub fn opt_int(&mut self, key: &str, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(key, v),
            None => self.null(key),
        }
    }

    /// A float member (see [`float_text`]).
    pub fn float(&mut self, key: &str, value: f64) -> &mut Self {
        self.raw(key, &float_text(value))
    }

    /// A boolean member.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// A `null` member.
    pub fn null(&mut self, key: &str) -> &mut Self {
        self.raw(key, "null")
    }

    /// A nested object member.
    pub fn obj(&mut self, key: &str, value: Obj) -> &mut Self {
        let text = value.finish();
        self.raw(key, &text)
    }

    /// An array of strings member.
    pub fn strs(&mut self, key: &str, values: &[&str]) -> &mut Self {
        let mut text = String::from("[");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            push_str(&mut text, v);
        }
        text.push(']');
        self.raw(key, &text)
    }

    /// A typed scalar from a `key=value` text: integer, boolean, `null` for an empty value,
    /// else a string.
    pub fn scalar(&mut self, key: &str, text: &str) -> &mut Self {
        match text {
            "" | "null" => self.null(key),
            "true" => self.bool(key, true),
            "false" => self.bool(key, false),
            _ => match as_int(text) {
                Some(n) => self.int(key, n),
                None => self.str(key, text),
            },
        }
    }

    /// The object's JSON text.
    pub fn finish(mut self) -> String {
        self.buf.insert(0, '{');
        self.buf.push('}');
        self.buf
    }
}

/// `text` as an integer when it is one in canonical form (no sign but `-`, no leading zero,
/// fits in an `i64`), so that re-serializing it gives the same text.
pub fn as_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    if text == "-0" {
        return None;
    }
    text.parse().ok()
}

/// A broken-down UTC time: year, month (1–12), day, hour, minute, second, millisecond.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
    /// Millisecond.
    pub milli: u32,
}

impl Civil {
    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    fn days(&self) -> i64 {
        let y = if self.month <= 2 { self.year - 1 } else { self.year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Milliseconds since the Unix epoch.
    pub fn epoch_ms(&self) -> i64 {
        let secs = self.days() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        secs * 1000 + i64::from(self.milli)
    }

    /// Seconds since the epoch as a float (zap's `ts`).
    pub fn epoch_secs(&self) -> f64 {
        self.epoch_ms() as f64 / 1000.0
    }

    /// RFC 3339 with milliseconds, `Z`: `2005-12-04T04:47:44.000Z`.
    pub fn rfc3339_ms(&self) -> String {
        format!("{}.{:03}Z", self.rfc3339_base(), self.milli)
    }

    /// RFC 3339 with nanoseconds (Docker's `time`): `2005-06-14T15:16:01.000000000Z`.
    pub fn rfc3339_ns(&self) -> String {
        format!("{}.{:03}000000Z", self.rfc3339_base(), self.milli)
    }

    /// RFC 3339 without fraction: `2015-12-10T06:55:46Z`.
    pub fn rfc3339_s(&self) -> String {
        format!("{}Z", self.rfc3339_base())
    }

    fn rfc3339_base(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// Whether the fields are in range (a parsed line may be garbage).
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 61
            && self.milli < 1000
    }
}

/// The month number of an English abbreviation (`Jan` … `Dec`).
pub fn month(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    MONTHS.iter().position(|m| *m == name).map(|i| i as u32 + 1)
}

/// Parses `a<sep>b<sep>c…` into unsigned numbers (each may be unpadded).
pub fn numbers(text: &str, sep: char) -> Option<Vec<u32>> {
    text.split(sep).map(|n| n.parse().ok()).collect()
}

/// The first whitespace-separated word of `s` and the rest after it (leading spaces skipped).
pub fn word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    match s.find(' ') {
        Some(i) => Some((&s[..i], &s[i + 1..])),
        None => Some((s, "")),
    }
}

/// The words of `s`, split on spaces and the punctuation around values (`,;()[]`).
pub fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', ',', ';', '(', ')', '[', ']']).filter(|t| !t.is_empty())
}

/// The `key=value` pairs of `s` with a simple key (letters, digits, `_`, `.`), in order.
pub fn key_values(s: &str) -> Vec<(&str, &str)> {
    tokens(s)
        .filter_map(|t| t.split_once('='))
        .filter(|(k, _)| {
            !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
                && k.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        })
        .collect()
}

/// The word after `marker` in `s` (e.g. `after(s, "port ")`).
pub fn after<'a>(s: &'a str, marker: &str) -> Option<&'a str> {
    let i = s.find(marker)?;
    tokens(&s[i + marker.len()..]).next()
}

/// The first word ending in `Exception` or `Error` (a Java-style error kind), trimmed of
/// trailing `:`.
pub fn error_kind(s: &str) -> Option<&str> {
    tokens(s).map(|t| t.trim_end_matches(':')).find(|t| t.ends_with("Exception") || t.ends_with("Error"))
}

/// A level from the words of a line without one: `error`, `warn` or `info`.
pub fn level_from_words(s: &str) -> &'static str {
    let lower = s.to_ascii_lowercase();
    if lower.contains("error") || lower.contains("exception") || lower.contains("fatal") {
        "error"
    } else if lower.contains("fail") || lower.contains("invalid") || lower.contains("warn") {
        "warn"
    } else {
        "info"
    }
}

//! Tests of the tokenizer: classes, compound tokens, type rules, losslessness.

use super::*;
use proptest::prelude::*;

fn kinds(text: &str) -> Vec<(TokenType, &str)> {
    tokenize(text).into_iter().map(|t| (t.kind, t.text)).collect()
}

fn single(text: &str) -> TokenType {
    let tokens = tokenize(text);
    assert_eq!(tokens.len(), 1, "{text:?} should be one token: {tokens:?}");
    tokens[0].kind
}

#[test]
fn type_numbers_follow_the_reference_enum() {
    assert_eq!(TokenType::Unknown.number(), 0);
    assert_eq!(TokenType::Word.number(), 1);
    assert_eq!(TokenType::Whitespace.number(), 3);
    assert_eq!(TokenType::Uri.number(), 8);
    assert_eq!(TokenType::HttpStatus.number(), 14);
    assert_eq!(TokenType::OffsetDateTime.number(), 20);
    assert_eq!(TokenType::CollapsedToken.number(), 22);
    assert_eq!(TokenType::Ipv4.name(), "IPv4");
    assert_eq!(TokenType::HttpMethod.to_string(), "HTTPMethod");
}

#[test]
fn whitespace_runs_are_one_token_with_their_exact_characters() {
    assert_eq!(
        kinds("a \t\r\n\u{b}\u{c}b"),
        vec![(TokenType::Word, "a"), (TokenType::Whitespace, " \t\r\n\u{b}\u{c}"), (TokenType::Word, "b")]
    );
    // U+00A0 is not in the WS class: a special character.
    assert_eq!(kinds("\u{a0}"), vec![(TokenType::SpecialChar, "\u{a0}")]);
}

#[test]
fn key_value_splits_at_equals_sign() {
    assert_eq!(
        kinds("key=value"),
        vec![(TokenType::Word, "key"), (TokenType::SpecialChar, "="), (TokenType::Word, "value")]
    );
}

#[test]
fn join_characters_only_join_before_alphanumeric_or_slash() {
    assert_eq!(kinds("a.b"), vec![(TokenType::Word, "a.b")]);
    assert_eq!(kinds("a."), vec![(TokenType::Word, "a"), (TokenType::SpecialChar, ".")]);
    assert_eq!(
        kinds("a-.b"),
        vec![
            (TokenType::Word, "a"),
            (TokenType::SpecialChar, "-"),
            (TokenType::SpecialChar, "."),
            (TokenType::Word, "b")
        ]
    );
    assert_eq!(kinds("a//b"), vec![(TokenType::Word, "a//b")]);
    assert_eq!(kinds("-5"), vec![(TokenType::SpecialChar, "-"), (TokenType::Numeric, "5")]);
    assert_eq!(kinds("//x"), vec![(TokenType::SpecialChar, "/"), (TokenType::AbsolutePath, "/x")]);
    assert_eq!(kinds("x/"), vec![(TokenType::Word, "x"), (TokenType::SpecialChar, "/")]);
    assert_eq!(
        kinds("[x]"),
        vec![(TokenType::SpecialChar, "["), (TokenType::Word, "x"), (TokenType::SpecialChar, "]")]
    );
}

#[test]
fn underscore_and_unicode_letters_are_alphanumeric() {
    assert_eq!(kinds("_a_1"), vec![(TokenType::Word, "_a_1")]);
    assert_eq!(kinds("héllo-wörld"), vec![(TokenType::Word, "héllo-wörld")]);
    assert_eq!(kinds("日本語"), vec![(TokenType::Word, "日本語")]);
    // Superscript two is Numeric (No), so it joins.
    assert_eq!(kinds("x²"), vec![(TokenType::Word, "x²")]);
    assert_eq!(
        kinds("a€b"),
        vec![(TokenType::Word, "a"), (TokenType::SpecialChar, "€"), (TokenType::Word, "b")]
    );
}

#[test]
fn each_type_rule_matches_in_order() {
    assert_eq!(single("2024-01-02T03:04:05Z"), TokenType::OffsetDateTime);
    assert_eq!(single("2024-01-02T03:04:05.123+01:00"), TokenType::OffsetDateTime);
    assert_eq!(single("2024-01-02T03:04:05-05:30"), TokenType::OffsetDateTime);
    assert_eq!(single("2024-01-02T03:04:05"), TokenType::LocalDateTime);
    assert_eq!(single("2024-01-02T03:04:05.123456"), TokenType::LocalDateTime);
    assert_eq!(single("2024-01-02T03:04:05.Zx"), TokenType::Word);
    assert_eq!(single("2024-01-02"), TokenType::LocalDate);
    assert_eq!(single("1/2/2024"), TokenType::Date);
    assert_eq!(single("12/31/2024"), TokenType::Date);
    assert_eq!(single("2024/12/31"), TokenType::Date);
    assert_eq!(single("123/1/2024"), TokenType::Numeric);
    assert_eq!(single("03:04"), TokenType::LocalTime);
    assert_eq!(single("03:04:05"), TokenType::LocalTime);
    assert_eq!(single("03:04:05.678"), TokenType::LocalTime);
    assert_eq!(single("3:04"), TokenType::Numeric);
    assert_eq!(single("10.0.0.1"), TokenType::Ipv4);
    assert_eq!(single("255.255.255.255:65535"), TokenType::Ipv4);
    assert_eq!(single("256.0.0.1"), TokenType::Numeric);
    assert_eq!(single("1.2.3.4:123456"), TokenType::Numeric);
    assert_eq!(single("fe80:0:0:0:0:0:0:1"), TokenType::Ipv6);
    // A JOIN character only joins before AN or `/`, so `::` ends a token.
    assert_eq!(tokenize("fe80::1").len(), 4);
    assert_eq!(single("dead:beef:cafe"), TokenType::Ipv6);
    assert_eq!(single("https://example.com/a"), TokenType::Uri);
    assert_eq!(single("svn+ssh://host"), TokenType::Uri);
    assert_eq!(single("user@example.com"), TokenType::Email);
    assert_eq!(single("a@b@c.d"), TokenType::Word);
    assert_eq!(single("user@localhost"), TokenType::Word);
    assert_eq!(single("/var/log/syslog"), TokenType::AbsolutePath);
    assert_eq!(single("GET"), TokenType::HttpMethod);
    assert_eq!(single("get"), TokenType::Word);
    assert_eq!(single("TRACE"), TokenType::HttpMethod);
    assert_eq!(single("trace"), TokenType::SeverityLevel);
    assert_eq!(single("Warning"), TokenType::SeverityLevel);
    assert_eq!(single("err"), TokenType::SeverityLevel);
    assert_eq!(single("200"), TokenType::HttpStatus);
    assert_eq!(single("599"), TokenType::HttpStatus);
    assert_eq!(single("600"), TokenType::Numeric);
    assert_eq!(single("099"), TokenType::Numeric);
    assert_eq!(single("12"), TokenType::Numeric);
    assert_eq!(single("1.5-2/3:4"), TokenType::Numeric);
    assert_eq!(single("12ab"), TokenType::Word);
    assert_eq!(single("blk_-123"), TokenType::Word);
}

#[test]
fn a_log_line_tokenizes_as_expected() {
    assert_eq!(
        kinds("081109 203615 INFO dfs.DataNode: Receiving block blk_1 src: /10.250.19.102:54106"),
        vec![
            (TokenType::Numeric, "081109"),
            (TokenType::Whitespace, " "),
            (TokenType::Numeric, "203615"),
            (TokenType::Whitespace, " "),
            (TokenType::SeverityLevel, "INFO"),
            (TokenType::Whitespace, " "),
            (TokenType::Word, "dfs.DataNode"),
            (TokenType::SpecialChar, ":"),
            (TokenType::Whitespace, " "),
            (TokenType::Word, "Receiving"),
            (TokenType::Whitespace, " "),
            (TokenType::Word, "block"),
            (TokenType::Whitespace, " "),
            (TokenType::Word, "blk_1"),
            (TokenType::Whitespace, " "),
            (TokenType::Word, "src"),
            (TokenType::SpecialChar, ":"),
            (TokenType::Whitespace, " "),
            (TokenType::AbsolutePath, "/10.250.19.102:54106"),
        ]
    );
}

#[test]
fn empty_text_has_no_tokens() {
    assert!(tokenize("").is_empty());
}

#[test]
fn every_three_digit_number_classifies_as_the_rules_do() {
    for n in 0..1000 {
        let text = format!("{n:03}");
        assert_eq!(classify(&text), classify_by_rules(&text), "{text}");
    }
}

#[test]
fn severity_names_match_in_any_case_and_nothing_else_does() {
    const NAMES: [&str; 15] = [
        "TRACE",
        "DEBUG",
        "INFO",
        "NOTICE",
        "WARN",
        "WARNING",
        "ERROR",
        "ERR",
        "CRITICAL",
        "CRIT",
        "FATAL",
        "ALERT",
        "EMERG",
        "EMERGENCY",
        "PANIC",
    ];
    for name in NAMES {
        for text in [name.to_owned(), name.to_lowercase(), name[..1].to_owned() + &name[1..].to_lowercase()] {
            assert!(is_severity(text.as_bytes()), "{text}");
        }
        for near in [format!("{name}S"), name[1..].to_owned(), name.replace('E', "3")] {
            let expected = NAMES.iter().any(|n| n.eq_ignore_ascii_case(&near));
            assert_eq!(is_severity(near.as_bytes()), expected, "{near}");
        }
    }
}

proptest! {
    /// Invariant: the tokens, concatenated in order, are exactly the input, and no token
    /// is empty (every byte belongs to exactly one token).
    #[test]
    fn tokens_concatenate_to_the_input(text in any::<String>()) {
        let tokens = tokenize(&text);
        prop_assert!(tokens.iter().all(|t| !t.text.is_empty()));
        let joined: String = tokens.iter().map(|t| t.text).collect();
        prop_assert_eq!(joined, text);
    }

    /// Invariant: the plain-word fast path never changes a token's type.
    #[test]
    fn fast_path_classifies_as_the_rules_do(text in "[a-zA-Z0-9_./:@+\\-]{1,24}") {
        for token in tokenize(&text).into_iter().filter(|t| t.kind != TokenType::SpecialChar) {
            prop_assert_eq!(classify(token.text), classify_by_rules(token.text), "{:?}", token.text);
        }
    }

    /// Invariant: the number fast path never changes a token's type either.
    #[test]
    fn number_fast_path_classifies_as_the_rules_do(text in "[0-9]{1,12}") {
        prop_assert_eq!(classify(&text), classify_by_rules(&text));
    }

    /// Invariant: the same with texts drawn from the characters the class rules care about.
    #[test]
    fn tokens_concatenate_to_the_input_for_log_like_text(text in "[a-z0-9 ./:@+=_\\-\t\u{e9}\u{a0}\u{20ac}]{0,40}") {
        let tokens = tokenize(&text);
        prop_assert!(tokens.iter().all(|t| !t.text.is_empty()));
        let joined: String = tokens.iter().map(|t| t.text).collect();
        prop_assert_eq!(joined, text);
    }

    /// Invariant: `token_ends_at` (the fast path's boundary check) agrees with `token_at` for
    /// every token of one text put between arbitrary text, so the fast path and the
    /// tokenizer can never disagree on where a token ends.
    #[test]
    fn token_ends_at_agrees_with_token_at(
        source in "[a-z0-9 ./:@+=_\\-\t\u{e9}\u{a0}\u{20ac}]{1,30}",
        before in "[a-z0-9 ./:_\\-\u{e9}]{0,4}",
        after in "[a-z0-9 ./:@+=_\\-\t\u{e9}\u{a0}]{0,4}",
    ) {
        for token in tokenize(&source) {
            let text = format!("{before}{}{after}", token.text);
            let (start, end) = (before.len(), before.len() + token.text.len());
            prop_assert_eq!(
                token_ends_at(&text, start, end),
                token_at(&text, start).1 == end,
                "{:?} in {:?}", token.text, text
            );
        }
    }
}

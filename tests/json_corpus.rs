//! The JSON corpus (`corpora/json/`) is what its generator (`examples/json_corpus.rs` with `stateful_logs_bench::json_corpus`) makes
//! of the Loghub samples, byte for byte, and every line is one JSON object with unique keys.

use stateful_logs_bench::json_corpus::shapes;

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_committed_corpus_is_what_the_generator_makes() {
    for system in shapes::SYSTEMS {
        let input = read(&format!("corpora/loghub/{system}_2k.log"));
        let fresh = shapes::convert(system, &input).unwrap_or_else(|| panic!("no shape for {system}"));
        let again = shapes::convert(system, &input).unwrap_or_default();
        assert!(fresh == again, "{system}: two runs differ");
        let committed = read(&format!("corpora/json/{system}_2k.jsonl"));
        assert!(
            fresh == committed,
            "corpora/json/{system}_2k.jsonl is stale: run `cargo run --release --example json_corpus`"
        );
    }
}

/// A JSON value that refuses an object with a key twice.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<Unique>()?;
            if !keys.insert(key.clone()) {
                return Err(A::Error::custom(format!("key {key:?} twice")));
            }
        }
        Ok(Unique)
    }
}

#[test]
fn every_line_is_one_json_object_with_unique_keys_and_a_message() {
    for system in shapes::SYSTEMS {
        let data = read(&format!("corpora/json/{system}_2k.jsonl"));
        let text = std::str::from_utf8(&data).unwrap_or_else(|e| panic!("{system}: not UTF-8: {e}"));
        assert!(text.ends_with('\n'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2000, "{system}");
        for (i, line) in lines.iter().enumerate() {
            let at = || format!("{system} line {}", i + 1);
            // (With the workspace's `arbitrary_precision`, numbers reach the visitor as
            // one-member maps; it takes them like any map.)
            let mut de = serde_json::Deserializer::from_str(line);
            Unique::deserialize(&mut de).unwrap_or_else(|e| panic!("{}: {e}: {line}", at()));
            de.end().unwrap_or_else(|e| panic!("{}: trailing data: {e}", at()));
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}", at()));
            let object = value.as_object().unwrap_or_else(|| panic!("{}: not an object", at()));
            // The message: the first of message/msg/log/text that is a non-empty string, or
            // the nested data.message of the HDFS shape.
            let top = ["message", "msg", "log", "text"].iter().find_map(|k| object.get(*k)?.as_str());
            let message = top.or_else(|| value.pointer("/data/message")?.as_str());
            assert!(message.is_some(), "{}: no message: {line}", at());
        }
    }
}

#[test]
fn shapes_use_typed_fields_from_the_line() {
    let first = |system: &str| -> serde_json::Value {
        let data = read(&format!("corpora/json/{system}_2k.jsonl"));
        let line = data.split(|&b| b == b'\n').next().unwrap_or_default();
        serde_json::from_slice(line).unwrap_or_else(|e| panic!("{system}: {e}"))
    };
    // `03-17 16:13:38.811  1702  2395 D WindowManager: …` (year 2017 assumed).
    let android = first("Android");
    assert_eq!(android["level"], "debug");
    assert_eq!(android["ts"].to_string(), "1489767218.811");
    assert_eq!(android["pid"], 1702);
    assert_eq!(android["caller"], "WindowManager");
    // `[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok …`: bunyan's numeric level.
    let apache = first("Apache");
    assert_eq!(apache["level"], 30);
    assert_eq!(apache["time"], "2005-12-04T04:47:44.000Z");
    assert!(apache["child"].is_null());
    assert_eq!(first("HDFS")["data"]["thread"], 148);
    assert_eq!(first("OpenSSH")["preauth"], false);
    assert_eq!(first("Zookeeper")["log"]["origin"]["file"]["line"], 774);
    assert_eq!(first("Spark")["tags"], serde_json::json!(["executor", "CoarseGrainedExecutorBackend"]));
}

//! Generates the prost types of both wire profiles from `proto/` with protox,
//! a pure-Rust protobuf compiler, so that no `protoc` binary is needed.

use std::error::Error;

const PROTOS: &[&str] = &["proto/stateful.proto", "proto/v1.proto", "proto/v2.proto"];

fn main() -> Result<(), Box<dyn Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    prost_build::Config::new()
        // The batch payload stays a `Bytes` end to end: no copy on the way to the wire.
        .bytes([".datadog.intake.stateful.StatefulBatch.data"])
        .compile_fds(descriptors)?;
    Ok(())
}

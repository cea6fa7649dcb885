//! Fuzzing support for compressio: the harness shared by the targets in `fuzz_targets/` and
//! by `tests/regressions.rs` (which includes these files directly, so that every input that
//! ever crashed is replayed by an ordinary `cargo test`).
pub mod harness;
pub mod roundtrip;

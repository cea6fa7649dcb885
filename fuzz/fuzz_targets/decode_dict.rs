#![no_main]
//! Decode arbitrary bytes as zstd, zlib, deflate or lz4 with a dictionary (see
//! compressio_fuzz::harness::dict).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| compressio_fuzz::harness::dict(data));

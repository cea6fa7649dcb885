#![no_main]
//! Decode arbitrary bytes as bzip2 (see compressio_fuzz::harness::decode).
use compressio::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| compressio_fuzz::harness::decode(Some(Format::Bzip2), data));

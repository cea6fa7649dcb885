#![no_main]
//! Decode arbitrary bytes as brotli (see compressio_fuzz::harness::decode).
use compressio::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| compressio_fuzz::harness::decode(Some(Format::Brotli), data));

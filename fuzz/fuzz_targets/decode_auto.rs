#![no_main]
//! `Decoder::auto` on arbitrary bytes (see compressio_fuzz::harness::decode).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| compressio_fuzz::harness::decode(None, data));

#![no_main]
//! decode(encode(x)) == x for arbitrary data, format, level, buffer size and write chunking.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: compressio_fuzz::roundtrip::RoundTrip| compressio_fuzz::roundtrip::run(input));

#![no_main]
//! Open arbitrary bytes with `SeekableDecoder` and read ranges of them (see
//! compressio_fuzz::harness::seekable).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| compressio_fuzz::harness::seekable(data));

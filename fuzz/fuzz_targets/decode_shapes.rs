#![no_main]
//! write::Decoder and bufread::Decoder in random chunks against read::Decoder (see
//! compressio_fuzz::harness::shapes).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| compressio_fuzz::harness::shapes(data));

//! `max_memory`: checked against the stream's headers before the codec allocates.
//! (Decompression bombs, hostile headers in every format and peak-heap measurements belong to
//! the hostile-input work; this file covers the foundation's knob and its defaults.)

mod common;

use common::*;
use compressio::{compress, compress_with, decompress, decompress_with, Config, Error, Format, Level};

#[test]
fn lz4_block_size_is_checked_against_max_memory() {
    if !Format::Lz4.is_enabled() {
        return;
    }
    // a frame declaring 4 MiB blocks (BD = 7 << 4), no blocks, end mark
    let mut frame = vec![0x04, 0x22, 0x4d, 0x18, 0x60, 0x70];
    let hc = (xxhash_rust::xxh32::xxh32(&frame[4..6], 0) >> 8) as u8;
    frame.push(hc);
    frame.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(decompress(&frame, Format::Lz4).unwrap(), b"");
    let config = Config::default().max_memory(4 << 20);
    assert!(
        matches!(decompress_with(&frame, Format::Lz4, &config), Err(Error::LimitExceeded { limit }) if limit == 4 << 20)
    );
}

#[test]
fn the_default_limit_accepts_every_ordinary_level() {
    let data = text(100_000, 101);
    for format in formats() {
        let packed = compress_with(&data, format, &Config::smallest()).unwrap();
        assert_eq!(decompress(&packed, format).unwrap(), data, "{format}");
    }
    if Format::Xz.is_enabled() {
        // xz -9: a 64 MiB dictionary, within the default 256 MiB
        let packed = compress_with(&data, Format::Xz, &Config::default().level(Level::Exact(9))).unwrap();
        assert_eq!(decompress(&packed, Format::Xz).unwrap(), data);
        // low_memory() refuses it (16 MiB), and accepts xz -6 (8 MiB)
        assert!(matches!(
            decompress_with(&packed, Format::Xz, &Config::low_memory()),
            Err(Error::LimitExceeded { .. })
        ));
        let six = compress(&data, Format::Xz).unwrap();
        assert_eq!(decompress_with(&six, Format::Xz, &Config::low_memory()).unwrap(), data);
    }
}

#[test]
fn a_tiny_limit_refuses_even_small_windows_with_limit_exceeded() {
    let data = text(10_000, 102);
    for format in [Format::Zstd, Format::Xz, Format::Lzma, Format::Lz4].into_iter().filter(|f| f.is_enabled())
    {
        let packed = compress(&data, format).unwrap();
        let config = Config::default().max_memory(64 * 1024);
        let result = decompress_with(&packed, format, &config);
        assert!(matches!(result, Err(Error::LimitExceeded { limit: 65536 })), "{format}: {result:?}");
    }
}

//! Round trips: every format × levels × buffer sizes × input shapes, written and read in odd
//! chunk sizes; every valid exact level; 50 MiB of zeros streamed through each format.

mod common;

use std::io::{self, Read, Write};

use common::*;
use compressio::{
    compress_with, decompress, decompress_with, Config, Decoder, Encoder, Error, Format, Level,
};

const WRITE_CHUNKS: &[usize] = &[1, 7, 4096, 65_536, 100_003, 3];
const READ_CHUNKS: &[usize] = &[5, 8192, 1, 70_000, 333];

#[test]
fn every_format_level_buffer_and_shape() {
    let shapes = shapes();
    for format in formats() {
        for level in [Level::Fastest, Level::Default, Level::Best] {
            for buffer in [1, 13, 64 * 1024, 1024 * 1024] {
                // the slow top levels once, with the default buffer
                if level == Level::Best && buffer != 64 * 1024 {
                    continue;
                }
                let config = Config::default().level(level).buffer_size(buffer);
                for (name, data) in &shapes {
                    let packed = compress_chunked(data, format, &config, WRITE_CHUNKS);
                    // decode with the same buffer size and with the default one
                    for dconfig in [config.clone(), Config::default()] {
                        let back = decompress_chunked(&packed, format, &dconfig, READ_CHUNKS)
                            .unwrap_or_else(|e| panic!("{format} {level:?} buffer {buffer} {name}: {e}"));
                        assert!(back == *data, "{format} {level:?} buffer {buffer} {name}: output differs");
                    }
                }
            }
        }
    }
}

#[test]
fn one_byte_writes_and_reads() {
    let data = text(20_000, 9);
    for format in formats() {
        for buffer in [1, 64 * 1024] {
            let config = Config::default().buffer_size(buffer);
            let packed = compress_chunked(&data, format, &config, &[1]);
            let back = decompress_chunked(&packed, format, &config, &[1]).unwrap();
            assert!(back == data, "{format} buffer {buffer}");
        }
    }
}

#[test]
fn every_exact_level_round_trips() {
    let data = [text(200_000, 5), random(5_000, 6)].concat();
    // bzip2's levels are block sizes (100-900 kB): on 205 kB every level from 3 makes one block
    let big = [text(2_000_000, 5), random(5_000, 6)].concat();
    for format in formats() {
        let data = if format == Format::Bzip2 { &big } else { &data };
        let levels: Vec<i32> = match format {
            Format::Zstd => vec![-5, -1, 0, 1, 3, 9, 19],
            Format::Lz4 => vec![1, 2],
            Format::Brotli => (0..=11).collect(),
            Format::Bzip2 => (1..=9).collect(),
            _ => (0..=9).collect(),
        };
        let mut sizes = Vec::new();
        for n in levels {
            let config = Config::default().level(Level::Exact(n));
            let packed = compress_with(data, format, &config).unwrap();
            assert!(decompress(&packed, format).unwrap() == *data, "{format} level {n}");
            sizes.push((n, packed.len()));
        }
        // the scale means something: the top level is smaller than the bottom one
        let (first, last) = (sizes.first().unwrap().1, sizes.last().unwrap().1);
        assert!(last < first, "{format}: sizes by level {sizes:?}");
    }
}

#[test]
fn output_does_not_depend_on_how_writes_are_cut() {
    // brotli's fragment compressors (qualities 0-1) compress each call's input as it comes,
    // and zlib-rs's level 6 matches differently at the edges of each call's input (valid
    // streams either way, a few bytes apart); every other codec and level buffers or cuts its
    // blocks by itself. (brotli would depend on the first write's size too, but for the size
    // hint the encoder pins.)
    let data = [text(300_000, 8), random(20_000, 9), text(100_000, 10)].concat();
    for format in formats().filter(|f| f.cargo_feature() != "deflate") {
        for level in [Level::Fast, Level::Default, Level::Best] {
            let config = Config::default().level(level);
            if format == Format::Brotli && level.backend_level(format).unwrap() <= 1 {
                continue;
            }
            let whole = compress_chunked(&data, format, &config, &[data.len()]);
            let cut = compress_chunked(&data, format, &config, &[1, 1000, 7919, 65_536, 300_000]);
            assert!(whole == cut, "{format} {level:?}: {} vs {} bytes", whole.len(), cut.len());
        }
    }
}

#[test]
fn named_levels_map_onto_the_documented_exact_levels() {
    let data = text(30_000, 7);
    let table: &[(Format, [i32; 4])] = &[
        (Format::Gzip, [1, 3, 6, 9]),
        (Format::Zlib, [1, 3, 6, 9]),
        (Format::Deflate, [1, 3, 6, 9]),
        (Format::Zstd, [1, 2, 3, 19]),
        (Format::Lz4, [1, 1, 1, 2]),
        (Format::Xz, [0, 3, 6, 9]),
        (Format::Lzma, [0, 3, 6, 9]),
        (Format::Brotli, [0, 4, 6, 11]),
        (Format::Bzip2, [1, 5, 9, 9]),
    ];
    for &(format, exact) in table.iter().filter(|(f, _)| f.is_enabled()) {
        for (level, n) in [Level::Fastest, Level::Fast, Level::Default, Level::Best].into_iter().zip(exact) {
            let named = compress_with(&data, format, &Config::default().level(level)).unwrap();
            let numbered = compress_with(&data, format, &Config::default().level(Level::Exact(n))).unwrap();
            assert_eq!(named, numbered, "{format} {level:?} should be level {n}");
        }
    }
}

#[test]
fn out_of_range_levels_are_invalid_config_for_encoders_only() {
    for format in formats() {
        for n in [-(1 << 20), -1, 10, 23, 100] {
            let valid = match format {
                Format::Zstd => (-(1 << 17)..=22).contains(&n),
                Format::Lz4 => (1..=2).contains(&n),
                Format::Brotli => (0..=11).contains(&n),
                Format::Bzip2 => (1..=9).contains(&n),
                _ => (0..=9).contains(&n),
            };
            let config = Config::default().level(Level::Exact(n));
            let result = Encoder::with_config(Vec::new(), format, &config);
            assert_eq!(result.is_ok(), valid, "{format} level {n}");
            if let Err(e) = result {
                assert!(matches!(e, Error::InvalidConfig(_)), "{e:?}");
                assert!(e.to_string().contains(&n.to_string()), "{e}");
            }
            // a level means nothing to a decoder: it must not reject the config
            assert!(Decoder::with_config(&[][..], format, &config).is_ok());
        }
    }
}

#[test]
fn zero_buffer_size_is_invalid() {
    for format in formats() {
        let config = Config::default().buffer_size(0);
        assert!(matches!(Encoder::with_config(Vec::new(), format, &config), Err(Error::InvalidConfig(_))));
        assert!(matches!(Decoder::with_config(&[][..], format, &config), Err(Error::InvalidConfig(_))));
    }
}

#[test]
fn presets_round_trip() {
    let data = text(200_000, 8);
    for format in formats() {
        for config in [Config::fastest(), Config::balanced(), Config::smallest(), Config::low_memory()] {
            let packed = compress_with(&data, format, &config).unwrap();
            assert_eq!(decompress_with(&packed, format, &config).unwrap(), data, "{format} {config:?}");
        }
    }
}

#[test]
fn checksum_option_changes_what_is_written() {
    let data = text(10_000, 11);
    for format in formats() {
        let with = compress_with(&data, format, &Config::default().checksum(true)).unwrap();
        let without = compress_with(&data, format, &Config::default().checksum(false)).unwrap();
        assert_eq!(decompress(&with, format).unwrap(), data);
        assert_eq!(decompress(&without, format).unwrap(), data);
        match format {
            // XXH64 (4 bytes) for zstd, XXH32 for lz4; CRC64 (8 bytes) vs none for xz
            Format::Zstd | Format::Lz4 => assert_eq!(with.len(), without.len() + 4, "{format}"),
            Format::Xz => assert!(with.len() > without.len(), "{format}"),
            // mandatory or absent: the option has no effect
            _ => assert_eq!(with, without, "{format}"),
        }
    }
}

/// A reader of `len` zero bytes, and a writer that checks it only receives zeros.
struct ZeroSink {
    count: u64,
}

impl Write for ZeroSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        assert!(buf.iter().all(|&b| b == 0), "non-zero byte in decoded zeros");
        self.count += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn fifty_mib_of_zeros_stream_through_every_format() {
    const LEN: u64 = 50 * 1024 * 1024;
    for format in formats() {
        let mut enc = Encoder::new(Vec::new(), format).unwrap();
        io::copy(&mut io::repeat(0).take(LEN), &mut enc).unwrap();
        assert_eq!(enc.total_in(), LEN);
        let packed = enc.finish().unwrap();
        assert!((packed.len() as u64) < LEN / 100, "{format}: {} bytes", packed.len());
        let mut dec = Decoder::new(&packed[..], format).unwrap();
        let mut sink = ZeroSink { count: 0 };
        io::copy(&mut dec, &mut sink).unwrap();
        assert_eq!(sink.count, LEN, "{format}");
        assert_eq!(dec.total_out(), LEN);
        assert_eq!(dec.total_in(), packed.len() as u64);
    }
}

#[test]
fn totals_count_both_sides() {
    let data = text(123_456, 12);
    for format in formats() {
        let mut enc = Encoder::new(Vec::new(), format).unwrap();
        enc.write_all(&data).unwrap();
        assert_eq!(enc.total_in(), data.len() as u64);
        enc.try_finish().unwrap();
        let out_total = enc.total_out();
        let packed = enc.finish().unwrap();
        assert_eq!(out_total, packed.len() as u64, "{format}");
        let mut dec = Decoder::new(&packed[..], format).unwrap();
        let mut back = Vec::new();
        dec.read_to_end(&mut back).unwrap();
        assert_eq!((dec.total_in(), dec.total_out()), (packed.len() as u64, data.len() as u64), "{format}");
    }
}

#[test]
fn io_copy_pipeline_through_two_encoders() {
    // an encoder writing into another encoder, read back through two decoders
    let data = text(300_000, 13);
    for outer in [Format::Gzip, Format::Xz].into_iter().filter(|f| f.is_enabled()) {
        for inner in formats() {
            let enc = Encoder::new(Encoder::new(Vec::new(), outer).unwrap(), inner).unwrap();
            let mut enc = enc;
            io::copy(&mut &data[..], &mut enc).unwrap();
            let packed = enc.finish().unwrap().finish().unwrap();
            let mut dec = Decoder::new(Decoder::new(&packed[..], outer).unwrap(), inner).unwrap();
            let mut back = Vec::new();
            io::copy(&mut dec, &mut back).unwrap();
            assert!(back == data, "{inner} inside {outer}");
        }
    }
}

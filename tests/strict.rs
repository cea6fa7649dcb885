//! Strict decoding: truncation at every offset, trailing data, concatenation, stream padding,
//! `single_stream` + `into_parts`, bit flips, sticky errors, `max_output`.

mod common;

use std::io::Read;

use common::*;
use compressio::{
    compress, compress_with, decompress, decompress_auto, decompress_with, Config, Decoder, Error, Format,
};

fn skippable(payload: &[u8], nibble: u8) -> Vec<u8> {
    let mut v = vec![0x50 | nibble, 0x2a, 0x4d, 0x18];
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn small_input() -> Vec<u8> {
    [text(3_000, 21), random(300, 22)].concat()
}

/// A stream of `format` whose every byte matters: small, and (lz4) several blocks.
fn small_stream(format: Format) -> (Vec<u8>, Vec<u8>) {
    let data =
        if format == Format::Lz4 { [text(150_000, 23), random(200, 24)].concat() } else { small_input() };
    let packed = compress(&data, format).unwrap();
    (data, packed)
}

#[test]
fn truncation_at_every_offset_is_truncated() {
    for format in formats() {
        let (_, packed) = small_stream(format);
        // lz4's stream is large: every offset in the header and around block edges, and a
        // stride through the block bodies
        let cuts: Vec<usize> = if format == Format::Lz4 {
            (0..packed.len()).filter(|&i| i < 64 || i % 97 == 0 || packed.len() - i < 64).collect()
        } else {
            (0..packed.len()).collect()
        };
        for (i, &cut) in cuts.iter().enumerate() {
            // alternate buffer and read sizes so that cuts meet every internal state
            let buffer = [1, 64 * 1024, 5][i % 3];
            let config = Config::default().buffer_size(buffer);
            match decompress_chunked(&packed[..cut], format, &config, &[1 + i % 9, 4096]) {
                Err(Error::Truncated { format: f }) => assert_eq!(f, format),
                other => panic!("{format} cut at {cut}/{}: expected Truncated, got {other:?}", packed.len()),
            }
        }
        assert!(decompress(&packed, format).is_ok());
    }
}

#[test]
fn truncated_second_member_is_truncated_and_a_whole_one_is_not() {
    for format in formats().filter(|&f| concatenable(f)) {
        let data = small_input();
        let one = compress(&data, format).unwrap();
        let two = [one.clone(), one.clone()].concat();
        for cut in one.len()..two.len() {
            let result = decompress(&two[..cut], format);
            if cut == one.len() {
                assert_eq!(result.unwrap(), data, "{format}: a complete first member is a complete stream");
            } else {
                assert!(
                    matches!(result, Err(Error::Truncated { .. })),
                    "{format} cut at {cut} of {}: {result:?}",
                    two.len()
                );
            }
        }
    }
}

#[test]
fn empty_input() {
    for format in formats() {
        assert!(matches!(decompress(&[], format), Err(Error::Truncated { format: f }) if f == format));
    }
    assert!(matches!(decompress_auto(&[]), Err(Error::UnknownFormat)));
}

#[test]
fn empty_stream_decodes_to_nothing() {
    for format in formats() {
        let packed = compress(&[], format).unwrap();
        assert!(!packed.is_empty(), "{format}");
        assert_eq!(decompress(&packed, format).unwrap(), b"", "{format}");
        if format.is_detectable() {
            assert_eq!(decompress_auto(&packed).unwrap(), b"", "{format}");
        }
    }
}

#[test]
fn trailing_garbage_is_an_error() {
    for format in formats() {
        let (_, packed) = small_stream(format);
        for garbage in [&b"garbage!"[..], &[0xff], &[0x1f, 0x00], b"\x00\x01\x02\x03"] {
            let input = [&packed[..], garbage].concat();
            let result = decompress(&input, format);
            assert!(
                matches!(result, Err(Error::TrailingData { format: f }) if f == format),
                "{format} + {garbage:?}: {result:?}"
            );
        }
    }
}

#[test]
fn a_stream_of_another_format_after_the_first_is_trailing_data() {
    for first in formats() {
        for second in formats().filter(|&s| s != first) {
            let input = [compress(b"first", first).unwrap(), compress(b"second", second).unwrap()].concat();
            let result = decompress(&input, first);
            assert!(matches!(result, Err(Error::TrailingData { .. })), "{first} then {second}: {result:?}");
        }
    }
}

#[test]
fn zero_padding_is_only_accepted_where_the_format_defines_it() {
    for format in formats() {
        let (data, packed) = small_stream(format);
        for zeros in [1usize, 3, 4, 8] {
            let input = [packed.clone(), vec![0; zeros]].concat();
            let result = decompress(&input, format);
            match (format, zeros % 4) {
                // xz stream padding: null bytes in multiples of four (xz file format 2.2)
                (Format::Xz, 0) => assert_eq!(result.unwrap(), data),
                (Format::Xz, _) => assert!(matches!(result, Err(Error::Corrupt { .. })), "{result:?}"),
                _ => assert!(
                    matches!(result, Err(Error::TrailingData { .. })),
                    "{format} + {zeros} zeros: {result:?}"
                ),
            }
        }
    }
}

#[test]
fn xz_padding_between_streams_is_checked_with_every_buffer_size() {
    if !Format::Xz.is_enabled() {
        return;
    }
    // found by fuzzing: with buffers smaller than a magic number the padding before the next
    // stream went unchecked (45 zeros were accepted)
    let (a, b) = (compress(b"first", Format::Xz).unwrap(), compress(b"second", Format::Xz).unwrap());
    for zeros in [0usize, 4, 44, 45, 46, 47] {
        let input = [a.clone(), vec![0; zeros], b.clone()].concat();
        for buffer in [1, 2, 3, 5, 7, 8, 13, 64 * 1024] {
            let config = Config::default().buffer_size(buffer);
            let result = decompress_chunked(&input, Format::Xz, &config, &[7]);
            if zeros % 4 == 0 {
                assert_eq!(result.unwrap(), b"firstsecond", "{zeros} zeros, buffer {buffer}");
            } else {
                assert!(
                    matches!(result, Err(Error::Corrupt { .. })),
                    "{zeros} zeros, buffer {buffer}: {result:?}"
                );
            }
        }
    }
}

#[test]
fn a_partial_magic_number_at_the_end_is_truncation() {
    for (format, partial) in
        [(Format::Gzip, &[0x1f][..]), (Format::Zstd, &[0x28, 0xb5]), (Format::Xz, &[0xfd, b'7', b'z'])]
    {
        if !format.is_enabled() {
            continue;
        }
        let input = [compress(b"abc", format).unwrap(), partial.to_vec()].concat();
        assert!(matches!(decompress(&input, format), Err(Error::Truncated { .. })), "{format}");
    }
}

#[test]
fn concatenated_members_decode_as_one_stream() {
    for format in formats() {
        let parts = [text(10_000, 31), Vec::new(), random(1_000, 32), text(70_000, 33)];
        let packed: Vec<u8> = parts.iter().flat_map(|p| compress(p, format).unwrap()).collect();
        let result = decompress(&packed, format);
        if concatenable(format) {
            assert_eq!(result.unwrap(), parts.concat(), "{format}");
            for buffer in [1, 3, 64 * 1024] {
                let config = Config::default().buffer_size(buffer);
                assert_eq!(decompress_chunked(&packed, format, &config, &[7, 100]).unwrap(), parts.concat());
            }
        } else {
            // zlib, raw deflate, lzma and brotli streams do not concatenate
            assert!(matches!(result, Err(Error::TrailingData { .. })), "{format}: {result:?}");
        }
    }
}

#[test]
fn skippable_frames_are_skipped_anywhere() {
    for format in [Format::Zstd, Format::Lz4].into_iter().filter(|f| f.is_enabled()) {
        let a = compress(b"first frame ", format).unwrap();
        let b = compress(b"second frame", format).unwrap();
        let input = [
            skippable(b"leading", 0),
            a,
            skippable(&[], 0xf),
            skippable(&random(70_000, 34), 7),
            b,
            skippable(b"trailing", 3),
        ]
        .concat();
        assert_eq!(decompress(&input, format).unwrap(), b"first frame second frame", "{format}");
        assert_eq!(decompress_auto(&input).unwrap(), b"first frame second frame", "{format}");
        for buffer in [1, 6, 1000] {
            let config = Config::default().buffer_size(buffer);
            assert_eq!(
                decompress_chunked(&input, format, &config, &[3]).unwrap(),
                b"first frame second frame"
            );
        }
        // a truncated skippable frame is truncation too
        let cut = &input[..input.len() - 3];
        assert!(matches!(decompress(cut, format), Err(Error::Truncated { .. })), "{format}");
    }
}

#[test]
fn single_stream_stops_after_the_first_member_and_into_parts_returns_the_rest() {
    for format in formats() {
        let (data, packed) = small_stream(format);
        let tails: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"arbitrary trailing bytes".to_vec(),
            compress(b"a second member", format).unwrap(),
            compress(b"another format", if format == Format::Gzip { Format::Zstd } else { Format::Gzip })
                .unwrap(),
        ];
        for tail in tails {
            for buffer in [1, 7, 64 * 1024] {
                let input = [&packed[..], &tail[..]].concat();
                let config = Config::default().single_stream(true).buffer_size(buffer);
                let mut dec = Decoder::with_config(&input[..], format, &config).unwrap();
                let mut out = Vec::new();
                dec.read_to_end(&mut out).unwrap();
                assert_eq!(out, data, "{format} buffer {buffer}");
                assert_eq!(dec.total_in(), packed.len() as u64, "{format} buffer {buffer}");
                let (rest, read_ahead) = dec.into_parts();
                assert_eq!([&read_ahead[..], rest].concat(), tail, "{format} buffer {buffer}");
            }
        }
    }
}

#[test]
fn single_stream_does_not_count_a_skippable_frame_as_the_first_member() {
    for format in [Format::Zstd, Format::Lz4].into_iter().filter(|f| f.is_enabled()) {
        let input = [skippable(b"meta", 1), compress(b"data", format).unwrap(), b"TAIL".to_vec()].concat();
        let config = Config::default().single_stream(true);
        for auto in [false, true] {
            let mut dec = if auto {
                Decoder::auto_with_config(&input[..], &config).unwrap()
            } else {
                Decoder::with_config(&input[..], format, &config).unwrap()
            };
            let mut out = Vec::new();
            dec.read_to_end(&mut out).unwrap();
            assert_eq!(out, b"data", "{format} auto={auto}");
            let (rest, ahead) = dec.into_parts();
            assert_eq!([&ahead[..], rest].concat(), b"TAIL");
        }
    }
}

#[test]
fn bit_flips_never_panic_and_checksummed_formats_never_return_wrong_data() {
    for format in formats() {
        let data = text(2_000, 41);
        let packed = compress(&data, format).unwrap();
        let checksummed = checksummed(format);
        for i in 0..packed.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = packed.clone();
                bad[i] ^= mask;
                match decompress(&bad, format) {
                    Ok(out) if checksummed => {
                        assert!(
                            out == data,
                            "{format}: flip {mask:#x} at {i} gave wrong data without an error"
                        )
                    }
                    Ok(_) => {}
                    Err(Error::Corrupt { .. })
                    | Err(Error::Truncated { .. })
                    | Err(Error::TrailingData { .. })
                    | Err(Error::Unsupported { .. })
                    | Err(Error::NeedsDictionary { .. })
                    | Err(Error::LimitExceeded { .. }) => {}
                    Err(e) => panic!("{format}: flip at {i}: unexpected error {e:?}"),
                }
            }
        }
    }
}

#[test]
fn corrupt_payload_is_reported_as_corrupt_by_checksummed_formats() {
    for format in formats().filter(|&f| checksummed(f)) {
        let config = Config::default().level(compressio::Level::Fastest);
        let data = random(4_000, 42); // incompressible: stored/literal bytes, so a flip survives decoding
        let packed = compress_with(&data, format, &config).unwrap();
        let mut bad = packed.clone();
        let mid = packed.len() / 2;
        bad[mid] ^= 0x10;
        let result = decompress(&bad, format);
        assert!(
            matches!(result, Err(Error::Corrupt { format: f, .. }) if f == format),
            "{format}: {result:?}"
        );
    }
}

#[test]
fn data_errors_are_sticky_and_truncation_is_not() {
    for format in formats() {
        let packed = compress(&random(4_000, 43), format).unwrap();
        let mut bad = packed.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x10;
        let mut dec = Decoder::new(&bad[..], format).unwrap();
        let mut out = Vec::new();
        if let Err(first) = dec.read_to_end(&mut out) {
            let first = Error::from(first);
            let again = Error::from(dec.read(&mut [0u8; 100]).unwrap_err());
            assert_eq!(first.to_string(), again.to_string(), "{format}");
        }
    }
}

#[test]
fn max_output_is_enforced_before_the_excess_is_handed_out() {
    for format in formats() {
        let data = text(100_000, 44);
        let packed = compress(&data, format).unwrap();
        for limit in [0u64, 1, 999, 65_536, 99_999] {
            let config = Config::default().max_output(limit);
            let mut dec = Decoder::with_config(&packed[..], format, &config).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 3000];
            let err = loop {
                match dec.read(&mut buf) {
                    Ok(0) => panic!("{format}: limit {limit} not enforced"),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => break Error::from(e),
                }
            };
            assert!(matches!(err, Error::LimitExceeded { limit: l } if l == limit), "{format}: {err:?}");
            assert_eq!(got.len() as u64, limit, "{format}: exactly the limit is delivered");
            assert_eq!(got[..], data[..limit as usize]);
        }
        // exactly enough is fine, also across members
        let config = Config::default().max_output(data.len() as u64);
        assert_eq!(decompress_with(&packed, format, &config).unwrap(), data);
        if concatenable(format) {
            let two = [packed.clone(), packed.clone()].concat();
            let config = Config::default().max_output(2 * data.len() as u64);
            assert_eq!(decompress_with(&two, format, &config).unwrap().len(), 2 * data.len());
            let config = Config::default().max_output(2 * data.len() as u64 - 1);
            assert!(matches!(decompress_with(&two, format, &config), Err(Error::LimitExceeded { .. })));
        }
    }
}

//! The contract every adapter shape keeps, as one suite over every shape and every format
//! (the shapes are driven by tests/common/adapters.rs): `write::Encoder`, `read::Encoder`,
//! `bufread::Encoder`; `read::Decoder`, `bufread::Decoder` (over 1-byte and 64 KiB
//! `BufReader`s), `write::Decoder`; and with the `tokio` and `futures` features the async
//! `write::{Encoder, Decoder}` and `bufread::{Encoder, Decoder}` of each, whose inner I/O
//! answers `Pending` where the sync one answers `WouldBlock`.
//!
//! - Round trips between every encoder and decoder shape, at 1-byte and large chunks, with
//!   the configs that apply (levels, threads, pool, memory level, buffer sizes).
//! - Strict: truncation is `Truncated`, garbage after the end `TrailingData`, concatenated
//!   members decode, `single_stream` hands back exactly the bytes after the first member,
//!   detection works through every shape.
//! - Faults: `Interrupted` retried everywhere, `WouldBlock` every other call with 1-7 bytes a
//!   call resumed with no byte lost or repeated, `Ok(0)` writers are `WriteZero`.
//! - Limits: `max_output` exact, `max_memory` before allocation, through every shape.

mod common;

use std::io::{self, Write};

use common::adapters::*;
use common::*;
use compressio::{compress, compress_with, decompress, write, BufferPool, Config, Error, Format, Level};

fn data() -> Vec<u8> {
    [text(20_000, 101), random(3_000, 102), text(5_000, 103)].concat()
}

/// The encoder configs worth a round trip for `format` (bounded: xz's best preset would take
/// 674 MiB without a memory level).
fn encoder_configs(pool: &BufferPool) -> Vec<(&'static str, Config)> {
    vec![
        ("default", Config::default()),
        ("fastest, 1-byte buffer", Config::default().level(Level::Fastest).buffer_size(1)),
        ("best, memory level 3", Config::default().level(Level::Best).memory_level(3)),
        ("threads(2)", Config::default().level(Level::Fast).threads(2)),
        ("pool", Config::default().pool(pool)),
    ]
}

#[test]
fn every_encoder_shape_round_trips_with_every_config() {
    let data = data();
    let pool = BufferPool::new(4);
    for format in formats() {
        for encoder in encoders() {
            for (name, config) in encoder_configs(&pool) {
                for chunks in [&[1][..], &[7, 65_536, 1000][..]] {
                    let packed = encoder
                        .compress(&data, format, &config, chunks, &[Fault::Ok(usize::MAX)])
                        .unwrap_or_else(|e| panic!("{format} {encoder:?} {name}: {e}"));
                    let back = decompress(&packed, format)
                        .unwrap_or_else(|e| panic!("{format} {encoder:?} {name}: {e}"));
                    assert!(back == data, "{format} {encoder:?} {name} chunks {chunks:?}");
                }
            }
        }
    }
}

#[test]
fn every_decoder_shape_decodes_what_every_config_made() {
    let data = data();
    let pool = BufferPool::new(4);
    for format in formats() {
        for (name, config) in encoder_configs(&pool) {
            let packed = compress_with(&data, format, &config).unwrap();
            for decoder in decoders() {
                for dconfig in [Config::default(), Config::default().buffer_size(1).pool(&pool)] {
                    for chunks in [&[1][..], &[7, 65_536, 1000][..]] {
                        let back = decoder
                            .decompress(&packed, Some(format), &dconfig, chunks, &[Fault::Ok(usize::MAX)])
                            .unwrap_or_else(|e| panic!("{format} {name} → {decoder:?}: {e}"));
                        assert!(back == data, "{format} {name} → {decoder:?} chunks {chunks:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn every_decoder_shape_detects_the_format() {
    for format in detectable() {
        let packed = compress(&data(), format).unwrap();
        for decoder in decoders() {
            let back = decoder
                .decompress(&packed, None, &Config::default(), &[3, 1000], &[Fault::Ok(5)])
                .unwrap_or_else(|e| panic!("{format} {decoder:?}: {e}"));
            assert!(back == data(), "{format} {decoder:?}");
        }
    }
    for decoder in decoders() {
        let result =
            decoder.decompress(b"not compressed at all", None, &Config::default(), &[4], &[Fault::Ok(3)]);
        assert!(matches!(result, Err(Error::UnknownFormat)), "{decoder:?}: {result:?}");
    }
}

#[test]
fn every_truncation_is_truncated_in_every_shape() {
    let data = text(3_000, 104);
    for format in formats() {
        let packed = compress(&data, format).unwrap();
        let step = (packed.len() / 40).max(1);
        for decoder in decoders() {
            for cut in (0..packed.len()).step_by(step).chain([packed.len() - 1]) {
                let result = decoder.decompress(
                    &packed[..cut],
                    Some(format),
                    &Config::default(),
                    &[1000],
                    &[Fault::Ok(7)],
                );
                assert!(
                    matches!(result, Err(Error::Truncated { format: f }) if f == format),
                    "{format} {decoder:?} cut at {cut} of {}: {result:?}",
                    packed.len()
                );
            }
        }
    }
}

#[test]
fn garbage_after_the_end_is_trailing_data_in_every_shape() {
    for format in formats() {
        let packed = [compress(b"the stream", format).unwrap(), b"GARBAGE!".to_vec()].concat();
        for decoder in decoders() {
            let result =
                decoder.decompress(&packed, Some(format), &Config::default(), &[3, 1000], &[Fault::Ok(9)]);
            assert!(matches!(result, Err(Error::TrailingData { .. })), "{format} {decoder:?}: {result:?}");
        }
    }
}

#[test]
fn concatenated_members_decode_as_one_stream_in_every_shape() {
    for format in formats().filter(|&f| concatenable(f)) {
        let parts = [text(5_000, 105), Vec::new(), random(700, 106)];
        let packed: Vec<u8> = parts.iter().flat_map(|p| compress(p, format).unwrap()).collect();
        for decoder in decoders() {
            for chunks in [&[1][..], &[64 * 1024][..]] {
                let back = decoder
                    .decompress(&packed, Some(format), &Config::default(), chunks, &[Fault::Ok(usize::MAX)])
                    .unwrap_or_else(|e| panic!("{format} {decoder:?}: {e}"));
                assert!(back == parts.concat(), "{format} {decoder:?}");
            }
        }
    }
}

#[test]
fn single_stream_hands_back_exactly_the_bytes_after_the_first_member() {
    for format in formats() {
        let member = compress(&text(4_000, 107), format).unwrap();
        let after = b"AFTER THE STREAM, whatever it is".to_vec();
        let data = [member, after.clone()].concat();
        for decoder in decoders() {
            let (out, rest) =
                decoder.first_member(&data, format).unwrap_or_else(|e| panic!("{format} {decoder:?}: {e}"));
            assert!(out == text(4_000, 107), "{format} {decoder:?}");
            assert_eq!(rest, after, "{format} {decoder:?}");
        }
    }
}

/// "`Pending`/`WouldBlock` every other call, 1-7 bytes a call", and `Interrupted` between.
const HOSTILE: &[Fault] = &[
    Fault::WouldBlock,
    Fault::Ok(1),
    Fault::Interrupted,
    Fault::Ok(7),
    Fault::WouldBlock,
    Fault::Ok(3),
    Fault::Fail,
    Fault::Ok(5),
];

#[test]
fn faulty_io_loses_and_repeats_nothing_in_any_shape() {
    let data = data();
    for format in formats() {
        for encoder in encoders() {
            let packed = encoder
                .compress(&data, format, &Config::default().buffer_size(100), &[1, 333, 4096], HOSTILE)
                .unwrap_or_else(|e| panic!("{format} {encoder:?}: {e}"));
            for decoder in decoders() {
                let back = decoder
                    .decompress(
                        &packed,
                        Some(format),
                        &Config::default().buffer_size(100),
                        &[1, 333, 4096],
                        HOSTILE,
                    )
                    .unwrap_or_else(|e| panic!("{format} {encoder:?} → {decoder:?}: {e}"));
                assert!(back == data, "{format} {encoder:?} → {decoder:?}");
            }
        }
    }
}

#[test]
fn writers_that_accept_nothing_are_write_zero() {
    for format in formats() {
        let mut enc = write::Encoder::new(FaultyWriter::new(&[Fault::Ok(0)]), format).unwrap();
        enc.write_all(&text(200_000, 108)).ok();
        assert_eq!(enc.try_finish().unwrap_err().kind(), io::ErrorKind::WriteZero, "{format}");
        let mut dec = write::Decoder::new(FaultyWriter::new(&[Fault::Ok(0)]), format).unwrap();
        dec.write_all(&compress(&text(200_000, 108), format).unwrap()).ok();
        assert_eq!(dec.try_finish().unwrap_err().kind(), io::ErrorKind::WriteZero, "{format}");
    }
}

#[test]
fn max_output_is_exact_and_max_memory_comes_first_in_every_shape() {
    for format in formats() {
        let packed = compress(&vec![0u8; 1 << 20], format).unwrap();
        for decoder in decoders() {
            for limit in [0, 1, 1000, (1 << 20) - 1] {
                let config = Config::default().max_output(limit);
                let result =
                    decoder.decompress(&packed, Some(format), &config, &[4096], &[Fault::Ok(usize::MAX)]);
                assert!(
                    matches!(result, Err(Error::LimitExceeded { limit: l }) if l == limit),
                    "{format} {decoder:?} limit {limit}: {result:?}"
                );
            }
            let exact = Config::default().max_output(1 << 20);
            let back =
                decoder.decompress(&packed, Some(format), &exact, &[4096], &[Fault::Ok(usize::MAX)]).unwrap();
            assert_eq!(back.len(), 1 << 20, "{format} {decoder:?}");
        }
    }
    // a window the limit does not allow is refused before anything is allocated
    let big_window =
        compress_with(b"small input", Format::Xz, &Config::default().level(Level::Best)).unwrap();
    for decoder in decoders() {
        let config = Config::default().max_memory(16 << 20);
        let result =
            decoder.decompress(&big_window, Some(Format::Xz), &config, &[4096], &[Fault::Ok(usize::MAX)]);
        assert!(matches!(result, Err(Error::LimitExceeded { .. })), "{decoder:?}: {result:?}");
    }
}

#[test]
fn write_decoder_drop_writes_nothing_and_finish_reports_truncation_then_resumes() {
    for format in formats() {
        let packed = compress(&text(10_000, 109), format).unwrap();
        let mut dec = write::Decoder::new(Vec::new(), format).unwrap();
        dec.write_all(&packed).unwrap();
        let out = dec.into_inner();
        assert!(out.is_empty(), "{format}: into_inner wrote {} bytes", out.len());
        let mut dec = write::Decoder::new(Vec::new(), format).unwrap();
        let (head, tail) = packed.split_at(packed.len() / 2);
        dec.write_all(head).unwrap();
        let err = Error::from(dec.try_finish().unwrap_err());
        assert!(matches!(err, Error::Truncated { format: f } if f == format), "{format}: {err:?}");
        dec.write_all(tail).unwrap();
        assert!(dec.finish().unwrap() == text(10_000, 109), "{format}");
    }
}

#[test]
fn every_shape_is_send_when_its_io_is() {
    fn send<T: Send>(_: &T) {}
    let packed = compress(b"x", Format::Zstd).unwrap();
    send(&compressio::read::Encoder::new(&b"x"[..], Format::Zstd).unwrap());
    send(&compressio::bufread::Decoder::new(&packed[..], Format::Zstd).unwrap());
    send(&write::Decoder::new(Vec::new(), Format::Zstd).unwrap());
    send(&compressio::bufread::Encoder::new(&b"x"[..], Format::Zstd).unwrap());
    #[cfg(feature = "tokio")]
    {
        use compressio::tokio::{bufread, write};
        send(&write::Encoder::new(Vec::<u8>::new(), Format::Zstd).unwrap());
        send(&write::Decoder::new(Vec::<u8>::new(), Format::Zstd).unwrap());
        send(&bufread::Encoder::new(&b"x"[..], Format::Zstd).unwrap());
        send(&bufread::Decoder::new(&packed[..], Format::Zstd).unwrap());
    }
    #[cfg(feature = "futures")]
    {
        use compressio::futures::{bufread, write};
        send(&write::Encoder::new(Vec::<u8>::new(), Format::Zstd).unwrap());
        send(&write::Decoder::new(Vec::<u8>::new(), Format::Zstd).unwrap());
        send(&bufread::Encoder::new(&b"x"[..], Format::Zstd).unwrap());
        send(&bufread::Decoder::new(&packed[..], Format::Zstd).unwrap());
    }
}

#[test]
fn read_to_end_fills_the_capacity_given_and_keeps_what_came_before_an_error() {
    use std::io::Read;
    // `read_to_end` is our own (it zeroes the Vec only just ahead of the decoder): it must
    // append, stay within a capacity that fits the output exactly, grow one that does not,
    // and leave the output before an error in the Vec
    let data = text(300_000, 5);
    for format in formats() {
        let packed = compress(&data, format).unwrap();
        for bufread in [false, true] {
            let read_to_end = |stream: &[u8], out: &mut Vec<u8>| {
                if bufread {
                    compressio::bufread::Decoder::new(stream, format).unwrap().read_to_end(out)
                } else {
                    compressio::read::Decoder::new(stream, format).unwrap().read_to_end(out)
                }
            };
            let mut out = Vec::with_capacity(3 + data.len());
            out.extend_from_slice(b"pre");
            assert_eq!(read_to_end(&packed, &mut out).unwrap(), data.len(), "{format}");
            assert!(out[..3] == *b"pre" && out[3..] == data[..], "{format}, bufread {bufread}");
            assert_eq!(out.capacity(), 3 + data.len(), "{format}, bufread {bufread}: reallocated");
            let mut out = Vec::new();
            assert_eq!(read_to_end(&packed, &mut out).unwrap(), data.len(), "{format}");
            assert!(out == data, "{format}, bufread {bufread}");
            // the stream cut short: its output so far, then the error
            let mut out = b"pre".to_vec();
            let err = read_to_end(&packed[..packed.len() * 2 / 3], &mut out).unwrap_err();
            assert!(matches!(Error::from(err), Error::Truncated { .. }), "{format}, bufread {bufread}");
            // (bzip2's one 900 kB block gives nothing before its end)
            let some = out.len() > 3 || format == Format::Bzip2;
            assert!(some && data.starts_with(&out[3..]), "{format}, bufread {bufread}: {}", out.len());
        }
    }
}

#[test]
#[cfg(feature = "lz4")]
fn read_to_end_appends_stored_blocks_and_keeps_limits_counts_and_errors() {
    // read_to_end appends lz4's stored blocks without zeroing space for them, crossing each
    // block header with a few bytes; runs of stored blocks, compressed blocks between them,
    // and two members
    use std::io::Read;
    let mut data = random(300_000, 7);
    data.extend_from_slice(&text(300_000, 8));
    data.extend_from_slice(&random(200_000, 9));
    let first = 450_000; // the second member starts inside the text
    let mut packed = compress(&data[..first], Format::Lz4).unwrap();
    packed.extend_from_slice(&compress(&data[first..], Format::Lz4).unwrap());
    // read::Decoder, and bufread::Decoder over the slice itself and over a small BufReader
    for shape in ["read", "bufread", "bufread over 1000-byte BufReader"] {
        let to_end = |packed: &[u8], config: &Config, out: &mut Vec<u8>| match shape {
            "read" => {
                let mut decoder =
                    compressio::read::Decoder::with_config(packed, Format::Lz4, config).unwrap();
                let result = decoder.read_to_end(out).map_err(Error::from);
                (result, decoder.total_in(), decoder.total_out())
            }
            "bufread" => {
                let mut decoder =
                    compressio::bufread::Decoder::with_config(packed, Format::Lz4, config).unwrap();
                let result = decoder.read_to_end(out).map_err(Error::from);
                (result, decoder.total_in(), decoder.total_out())
            }
            _ => {
                let reader = std::io::BufReader::with_capacity(1000, packed);
                let mut decoder =
                    compressio::bufread::Decoder::with_config(reader, Format::Lz4, config).unwrap();
                let result = decoder.read_to_end(out).map_err(Error::from);
                (result, decoder.total_in(), decoder.total_out())
            }
        };
        read_to_end_cases(shape, &data, first, &packed, to_end);
    }
}

/// The cases of `read_to_end_appends_stored_blocks_and_keeps_limits_counts_and_errors` for
/// one shape: `to_end` decodes a packed stream with a config into a Vec, and returns the
/// result and the counts.
#[cfg(feature = "lz4")]
fn read_to_end_cases(
    shape: &str,
    data: &[u8],
    first: usize,
    packed: &[u8],
    to_end: impl Fn(&[u8], &Config, &mut Vec<u8>) -> (Result<usize, Error>, u64, u64),
) {
    // everything, into a Vec of exactly the right capacity (never grown) and into an empty one
    for capacity in [data.len(), 0] {
        let mut out = Vec::with_capacity(capacity);
        let (result, total_in, total_out) = to_end(packed, &Config::default(), &mut out);
        assert_eq!(result.unwrap(), data.len());
        assert!(out == data, "{shape}, capacity {capacity}");
        if capacity > 0 {
            assert_eq!(out.capacity(), capacity, "{shape}: an exact Vec is not grown");
        }
        assert_eq!((total_in, total_out), (packed.len() as u64, data.len() as u64));
    }
    // after what the Vec already holds
    let mut out = b"before".to_vec();
    to_end(packed, &Config::default(), &mut out).0.unwrap();
    assert!(out[..6] == *b"before" && out[6..] == data[..]);
    // max_output exact, inside stored blocks, at their edges and in the compressed ones
    for limit in [0u64, 1, 65_535, 65_536, 150_001, 300_000, 449_999, 450_000, 450_001, 700_000, 799_999] {
        let mut out = Vec::new();
        let (result, _, total_out) = to_end(packed, &Config::default().max_output(limit), &mut out);
        assert!(
            matches!(result, Err(Error::LimitExceeded { limit: l }) if l == limit),
            "{shape}, limit {limit}"
        );
        assert_eq!(out.len() as u64, limit, "{shape}, limit {limit}");
        assert!(out == data[..out.len()]);
        assert_eq!(total_out, limit);
    }
    let mut out = Vec::new();
    to_end(packed, &Config::default().max_output(data.len() as u64), &mut out).0.unwrap();
    assert!(out == data);
    // a flipped byte in a stored block: all of the first member's output, then its checksum's
    // verdict
    let mut bad = packed.to_vec();
    bad[100_000] ^= 1;
    let mut out = Vec::new();
    let (result, _, _) = to_end(&bad, &Config::default(), &mut out);
    assert!(matches!(result, Err(Error::Corrupt { .. })), "{shape}: {result:?}");
    assert_eq!(out.len(), first, "{shape}");
    // cut inside a stored block of the second member: every byte before the cut, then Truncated
    let cut = packed.len() - 100_000;
    let mut out = Vec::new();
    let (result, total_in, _) = to_end(&packed[..cut], &Config::default(), &mut out);
    assert!(matches!(result, Err(Error::Truncated { .. })), "{shape}: {result:?}");
    assert!(out.len() > first && out == data[..out.len()], "{shape}");
    assert_eq!(total_in, cut as u64, "{shape}");
}

#[test]
#[cfg(all(feature = "lz4", feature = "zstd"))]
fn small_reads_served_from_held_output_keep_max_output_exact_and_the_counts() {
    // lz4 serves reads smaller than a decoded block, and reads inside a stored block, and zstd
    // reads from what libzstd holds decoded, without the stream's state machine: the limit,
    // the counts, the members' ends and an error behind the output stay exact
    use std::io::Read;
    let mut data = random(300_000, 5); // stored (lz4) or raw (zstd) blocks
    data.extend_from_slice(&text(300_000, 6)); // compressed blocks
                                               // two members, the second starting inside the text
    let first = 450_000;
    let ours = |format, checksum| {
        let packing = Config::default().checksum(checksum);
        let mut packed = compress_with(&data[..first], format, &packing).unwrap();
        packed.extend_from_slice(&compress_with(&data[first..], format, &packing).unwrap());
        (format!("{format:?}, checksum {checksum}"), format, packed, checksum)
    };
    // libzstd's one-shot frames: the content size declared (checked against what the shortcut
    // hands out), no checksum, and the last block marked last, so that the frame's end is
    // found while flushing, by the shortcut itself
    let mut one_shot = zstd::bulk::compress(&data[..first], 3).unwrap();
    one_shot.extend_from_slice(&zstd::bulk::compress(&data[first..], 3).unwrap());
    let cases = [
        ours(Format::Lz4, true),
        ours(Format::Zstd, true),
        ours(Format::Zstd, false),
        ("zstd one-shot frames".to_string(), Format::Zstd, one_shot, false),
    ];
    for (name, format, packed, checksum) in cases {
        for read_size in [1, 333, 4096] {
            let case = format!("{name}, reads of {read_size}");
            for limit in [0u64, 1, 150_001, 300_000, 449_999, 450_000, 450_001, 600_000] {
                let config = Config::default().max_output(limit);
                let mut decoder =
                    compressio::read::Decoder::with_config(&packed[..], format, &config).unwrap();
                let mut out = Vec::new();
                let mut buf = vec![0u8; read_size];
                let result = loop {
                    match decoder.read(&mut buf) {
                        Ok(0) => break Ok(()),
                        Ok(n) => out.extend_from_slice(&buf[..n]),
                        Err(e) => break Err(Error::from(e)),
                    }
                };
                let exact = limit as usize;
                assert_eq!(out.len(), exact.min(data.len()), "{case}, limit {limit}");
                assert!(out == data[..out.len()], "{case}, limit {limit}");
                assert_eq!(decoder.total_out(), out.len() as u64);
                assert!(decoder.total_in() <= packed.len() as u64);
                match result {
                    Ok(()) => assert_eq!(exact, data.len()),
                    Err(Error::LimitExceeded { limit: l }) => assert_eq!(l, limit),
                    Err(e) => panic!("{case}, limit {limit}: {e:?}"),
                }
            }
            // counts at the end, and a flipped byte of a stored block found by the first
            // member's checksum after exactly all of its output
            let mut decoder = compressio::read::Decoder::new(&packed[..], format).unwrap();
            let mut buf = vec![0u8; read_size];
            let mut all = Vec::new();
            loop {
                let n = decoder.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
            }
            assert!(all == data, "{case}");
            assert_eq!((decoder.total_in(), decoder.total_out()), (packed.len() as u64, data.len() as u64));
            if !checksum {
                continue;
            }
            let mut bad = packed.clone();
            let at = bad.len() / 4; // inside the stored blocks
            bad[at] ^= 1;
            let mut decoder = compressio::read::Decoder::new(&bad[..], format).unwrap();
            let mut got = 0;
            let err = loop {
                match decoder.read(&mut buf) {
                    Ok(0) => panic!("{case}: a flipped byte went unseen"),
                    Ok(n) => got += n,
                    Err(e) => break Error::from(e),
                }
            };
            assert!(matches!(err, Error::Corrupt { .. }), "{case}: {err:?}");
            assert_eq!(got, first, "{case}: all the member's output comes before the checksum's verdict");
            // and the error stays
            assert!(decoder.read(&mut buf).is_err(), "{case}");
        }
    }
}

/// A reading decoder and its counts, for tests over the reading shapes.
trait Counted: std::io::Read {
    fn counts(&self) -> (u64, u64);
}

impl<R: std::io::Read> Counted for compressio::read::Decoder<R> {
    fn counts(&self) -> (u64, u64) {
        (self.total_in(), self.total_out())
    }
}

impl<R: std::io::BufRead> Counted for compressio::bufread::Decoder<R> {
    fn counts(&self) -> (u64, u64) {
        (self.total_in(), self.total_out())
    }
}

/// The reading shapes: `read::Decoder`, and `bufread::Decoder` over the slice and over a
/// 1000-byte `BufReader`.
fn reading_decoders(input: &[u8], format: Format) -> Vec<(&'static str, Box<dyn Counted + '_>)> {
    use compressio::{bufread, read};
    vec![
        ("read", Box::new(read::Decoder::new(input, format).unwrap())),
        ("bufread", Box::new(bufread::Decoder::new(input, format).unwrap())),
        (
            "bufread, 1000-byte BufReader",
            Box::new(bufread::Decoder::new(std::io::BufReader::with_capacity(1000, input), format).unwrap()),
        ),
    ]
}

#[test]
fn reads_of_any_size_give_what_read_to_end_gives_on_good_and_damaged_input() {
    // `read::Decoder::read` makes one codec call straight on the input at hand where it can
    // (`DecodeCore::ready`), its `read_to_end` takes the stream's state machine for every
    // call, and `bufread::Decoder` always does: through every reading shape, the bytes, the
    // verdict and the counts are the same, and `single_stream` stops at the same place
    use std::io::Read;
    let data = [text(60_000, 21), random(30_000, 22), text(30_000, 23)].concat();
    let first = 70_000;
    let verdict = |e: &Error| std::mem::discriminant(e);
    for format in formats() {
        let mut packed = compress(&data[..first], format).unwrap();
        let members = concatenable(format);
        if members {
            packed.extend_from_slice(&compress(&data[first..], format).unwrap());
        } else {
            packed = compress(&data, format).unwrap();
        }
        let len = packed.len();
        let flip = |at: usize| {
            let mut bad = packed.clone();
            bad[at] ^= 0x10;
            bad
        };
        let inputs = [
            ("good", packed.clone()),
            ("cut at a third", packed[..len / 3].to_vec()),
            ("cut one short", packed[..len - 1].to_vec()),
            ("garbage after", [&packed[..], b"garbage!"].concat()),
            ("flip in the header", flip(3)),
            ("flip in the middle", flip(len / 2)),
            ("flip in the trailer", flip(len - 2)),
        ];
        for (name, input) in &inputs {
            // the reference: `read_to_end` through `read::Decoder`
            let mut reference = compressio::read::Decoder::new(&input[..], format).unwrap();
            let mut whole = Vec::new();
            let whole_result = reference.read_to_end(&mut whole).map_err(Error::from);
            if *name == "good" {
                assert!(whole_result.is_ok() && whole == data, "{format:?}");
            }
            let sizes = [1, 333, 65_536];
            let shapes = (0..3).flat_map(|shape| sizes.map(|size| (shape, size)));
            for (shape, read_size) in shapes {
                let (shape, mut decoder) = reading_decoders(input, format).swap_remove(shape);
                let case = format!("{format:?}, {shape}, {name}, reads of {read_size}");
                let mut buf = vec![0u8; read_size];
                let mut out = Vec::new();
                let result = loop {
                    match decoder.read(&mut buf) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            out.extend_from_slice(&buf[..n]);
                            // (not counting what small reads have decoded ahead)
                            assert_eq!(decoder.counts().1, out.len() as u64, "{case}");
                        }
                        Err(e) => break Err(Error::from(e)),
                    }
                };
                match (&whole_result, &result) {
                    (Ok(_), Ok(())) => {
                        assert!(out == whole, "{case}");
                        let counts = (reference.total_in(), reference.total_out());
                        assert_eq!(decoder.counts(), counts, "{case}");
                    }
                    (Err(a), Err(b)) => {
                        assert_eq!(verdict(a), verdict(b), "{case}: {a:?} / {b:?}");
                        // how much a codec hands out from the call that meets an error depends
                        // on the space it is given: one side's bytes lead the other's
                        let common = out.len().min(whole.len());
                        assert!(out[..common] == whole[..common], "{case}");
                        assert_eq!(decoder.counts().1, out.len() as u64, "{case}");
                        // the error stays
                        assert!(decoder.read(&mut buf).is_err(), "{case}");
                    }
                    (a, b) => panic!("{case}: read_to_end {a:?}, reads {b:?}"),
                }
            }
        }
        if !members {
            continue;
        }
        // the first member's end met by a fast read: `single_stream` stops there, the second
        // member is handed back whole
        for read_size in [333, 65_536] {
            let config = Config::default().single_stream(true);
            let mut decoder = compressio::read::Decoder::with_config(&packed[..], format, &config).unwrap();
            let out = read_chunked(&mut decoder, &[read_size]).unwrap();
            assert!(out == data[..first], "{format:?}, reads of {read_size}");
            let (rest, ahead) = decoder.into_parts();
            let second = compress(&data[first..], format).unwrap();
            assert!([&ahead[..], rest].concat() == second, "{format:?}, reads of {read_size}");
        }
    }
}

#[test]
fn small_reads_then_large_reads_then_read_to_end_lose_and_repeat_nothing() {
    // reads under 2 KiB are served from output decoded ahead (a stage), and reads inside an
    // lz4 stored block straight from `read::Decoder`'s buffer (a lease): whatever is held
    // there comes out first when the caller switches to large reads or to `read_to_end`,
    // the counts never include it, and `max_output` stays exact across the switch
    use std::io::Read;
    let data = [text(100_000, 31), random(200_000, 32), text(100_000, 33)].concat();
    for format in formats() {
        let packed = compress(&data, format).unwrap();
        // (all small reads: to the end, across text, stored lz4 blocks and text again)
        for small_reads in [1usize, 7, 300, 700, usize::MAX] {
            for shape in 0..3 {
                let (shape, mut decoder) = reading_decoders(&packed, format).swap_remove(shape);
                let case = format!("{format:?}, {shape}, {small_reads} small reads");
                let mut out = Vec::new();
                let mut buf = vec![0u8; 65_536];
                for _ in 0..small_reads {
                    let n = decoder.read(&mut buf[..333]).unwrap();
                    out.extend_from_slice(&buf[..n]);
                    assert_eq!(decoder.counts().1, out.len() as u64, "{case}");
                    // (an empty read, inside a lease or not, takes nothing)
                    assert_eq!(decoder.read(&mut buf[..0]).unwrap(), 0, "{case}");
                    assert_eq!(decoder.counts().1, out.len() as u64, "{case}");
                    if n == 0 {
                        break;
                    }
                }
                let n = decoder.read(&mut buf).unwrap();
                assert!(n > 0 || out.len() == data.len(), "{case}");
                out.extend_from_slice(&buf[..n]);
                assert_eq!(decoder.counts().1, out.len() as u64, "{case}");
                let n = decoder.read(&mut buf[..100]).unwrap();
                out.extend_from_slice(&buf[..n]);
                let rest = decoder.read_to_end(&mut out).unwrap();
                assert_eq!(out.len(), data.len(), "{case}: {rest} by read_to_end");
                assert!(out == data, "{case}");
                assert_eq!(decoder.counts(), (packed.len() as u64, data.len() as u64), "{case}");
            }
        }
        // a limit met after small reads, inside the text and inside the random bytes
        for limit in [5_000u64, 150_000, 250_001] {
            let config = Config::default().max_output(limit);
            let mut decoder = compressio::read::Decoder::with_config(&packed[..], format, &config).unwrap();
            let mut out = Vec::new();
            let mut buf = [0u8; 333];
            for _ in 0..10 {
                let n = decoder.read(&mut buf).unwrap();
                out.extend_from_slice(&buf[..n]);
            }
            let result = decoder.read_to_end(&mut out).map_err(Error::from);
            assert!(
                matches!(result, Err(Error::LimitExceeded { .. })),
                "{format:?}, limit {limit}: {result:?}"
            );
            assert_eq!(out.len() as u64, limit, "{format:?}");
            assert!(out == data[..out.len()], "{format:?}");
            assert_eq!(decoder.total_out(), limit, "{format:?}");
        }
    }
}

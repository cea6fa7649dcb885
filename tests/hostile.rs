//! Hostile input: headers that ask for absurd memory, bombs, overlong or endless header
//! fields, bit flips at every bit. Everything must fail fast with `LimitExceeded` or
//! `Corrupt`/`Truncated`, in bounded memory — asserted with the counting allocator (and, for
//! liblzma's C heap, the peak RSS of a child process), never with a clock.

mod common;

use std::alloc::System;
use std::io::{self, Read, Write};

use common::*;
use compressio::alloc::{reset_thread_peak, thread_stats, TrackingAllocator};
use compressio::{
    compress, compress_with, decompress, decompress_with, Config, Decoder, Direction, Encoder, Error, Format,
    Level,
};

#[global_allocator]
static ALLOC: TrackingAllocator = TrackingAllocator::new(System);

/// This thread's heap peak above the start while `f` runs.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = thread_stats().current;
    reset_thread_peak();
    let out = f();
    (out, (thread_stats().peak - start).max(0) as usize)
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

// ---- memory-hungry headers ---------------------------------------------------------------

/// A zstd frame whose header declares a window of 2^`log` bytes, then one raw byte.
fn zstd_window_frame(log: u8) -> Vec<u8> {
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, (log - 10) << 3];
    f.extend_from_slice(&[0x09, 0x00, 0x00, b'z']);
    f
}

#[test]
fn zstd_frame_declaring_a_2_gib_window_fails_fast_in_bounded_memory() {
    if !Format::Zstd.is_enabled() {
        return;
    }
    for log in [28, 30, 31] {
        let (result, peak) = peak_of(|| decompress(&zstd_window_frame(log), Format::Zstd));
        assert!(matches!(result, Err(Error::LimitExceeded { .. })), "2^{log}: {result:?}");
        assert!(peak < 512 * KIB, "2^{log}: peak {peak}");
    }
    // single-segment frame: the window is the declared content size (2^40 here)
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0]; // FHD: single segment, 8-byte content size
    f.extend_from_slice(&(1u64 << 40).to_le_bytes());
    f.extend_from_slice(&[0x09, 0x00, 0x00, b'z']);
    let (result, peak) = peak_of(|| decompress(&f, Format::Zstd));
    assert!(matches!(result, Err(Error::LimitExceeded { .. })), "{result:?}");
    assert!(peak < 512 * KIB, "peak {peak}");
}

/// An xz stream whose LZMA2 dictionary property says 4 GiB (property byte 40), with the
/// block header's CRC32 fixed up so that only the limit can stop it.
fn xz_with_huge_dictionary() -> Vec<u8> {
    let mut xz = compress(b"tiny", Format::Xz).unwrap();
    let header_len = (usize::from(xz[12]) + 1) * 4; // block header follows the 12-byte stream header
    let filter = 12 + 2; // size byte, flags byte (no optional sizes), then filter flags
    assert_eq!(&xz[filter..filter + 2], &[0x21, 0x01], "LZMA2 filter with a 1-byte property");
    xz[filter + 2] = 40;
    let crc = crc32fast::hash(&xz[12..12 + header_len - 4]);
    xz[12 + header_len - 4..12 + header_len].copy_from_slice(&crc.to_le_bytes());
    xz
}

/// A .lzma header claiming a 3 GiB dictionary and a 10 GiB output.
fn lzma_with_huge_dictionary() -> Vec<u8> {
    let mut lzma = compress(b"tiny", Format::Lzma).unwrap();
    lzma[1..5].copy_from_slice(&0xC000_0000u32.to_le_bytes());
    lzma[5..13].copy_from_slice(&(10u64 << 30).to_le_bytes());
    lzma
}

/// Child: decode one hostile liblzma input, print `RESULT <error> <RSS growth KiB>`.
#[test]
fn liblzma_hostile_child() {
    let Some(case) = child_case() else { return };
    let (format, input) = match case.as_str() {
        "xz" => (Format::Xz, xz_with_huge_dictionary()),
        _ => (Format::Lzma, lzma_with_huge_dictionary()),
    };
    let rss0 = vm_kib("VmRSS:");
    let result = decompress(&input, format);
    let growth = vm_kib("VmHWM:").saturating_sub(rss0);
    let kind = match result {
        Err(Error::LimitExceeded { .. }) => "LimitExceeded",
        Err(_) => "other-error",
        Ok(_) => "ok",
    };
    println!("RESULT {kind} {growth}");
}

#[test]
fn xz_and_lzma_headers_with_huge_dictionaries_fail_before_liblzma_allocates() {
    if !Format::Xz.is_enabled() {
        return;
    }
    for case in ["xz", "lzma"] {
        // the Rust side, in process
        let input = if case == "xz" { xz_with_huge_dictionary() } else { lzma_with_huge_dictionary() };
        let format = if case == "xz" { Format::Xz } else { Format::Lzma };
        let (result, peak) = peak_of(|| decompress(&input, format));
        assert!(
            matches!(result, Err(Error::LimitExceeded { limit }) if limit == compressio::DEFAULT_MAX_MEMORY)
        );
        assert!(peak < 256 * KIB, "{case}: Rust heap peak {peak}");
        // liblzma's C heap, in a child process of its own: the whole process grows < 4 MiB
        let result = run_child("liblzma_hostile_child", case);
        let (kind, growth) = result.split_once(' ').unwrap();
        let growth_kib: usize = growth.trim().parse().unwrap();
        println!("{case}: {kind}, peak RSS growth {growth_kib} KiB");
        assert_eq!(kind, "LimitExceeded");
        assert!(growth_kib < 4 * 1024, "{case}: the process grew by {growth_kib} KiB");
    }
}

/// An lz4 frame with 4 MiB blocks, a declared content size of `declared`, and one block of
/// `actual` zeros.
fn lz4_lying_frame(declared: u64, actual: usize) -> Vec<u8> {
    let flg = 0x40 | 0x20 | 0x08; // version 01, independent blocks, content size
    let mut f = vec![0x04, 0x22, 0x4d, 0x18, flg, 0x70];
    f.extend_from_slice(&declared.to_le_bytes());
    f.push((xxhash_rust::xxh32::xxh32(&f[4..], 0) >> 8) as u8);
    let block = lz4_flex::block::compress(&vec![0u8; actual]);
    f.extend_from_slice(&(block.len() as u32).to_le_bytes());
    f.extend_from_slice(&block);
    f.extend_from_slice(&[0, 0, 0, 0]);
    f
}

#[test]
fn lz4_frame_with_the_largest_blocks_and_a_lying_content_size_is_corrupt_in_bounded_memory() {
    if !Format::Lz4.is_enabled() {
        return;
    }
    // 10 declared, 1 MiB delivered; 10 GiB declared, 1 MiB delivered
    for (declared, actual) in [(10u64, MIB), (10 << 30, MIB)] {
        let (result, peak) = peak_of(|| decompress(&lz4_lying_frame(declared, actual), Format::Lz4));
        assert!(matches!(result, Err(Error::Corrupt { .. })), "declared {declared}: {result:?}");
        // the frame's blocks are 4 MiB: one compressed + one decoded block, plus the output
        assert!(peak < 8 * MIB + 2 * MIB, "declared {declared}: peak {peak}");
    }
    // and the 4 MiB blocks are refused outright under a tighter memory limit
    let config = Config::default().max_memory(4 * MIB as u64);
    let result = decompress_with(&lz4_lying_frame(10, 100), Format::Lz4, &config);
    assert!(matches!(result, Err(Error::LimitExceeded { .. })), "{result:?}");
}

/// A zstd frame that declares `declared` bytes of content (single segment, checksum on) and
/// holds `content` as one raw last block, with a correct checksum of what it holds.
fn zstd_lying_frame(declared: u8, content: &[u8]) -> Vec<u8> {
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x24, declared];
    let header = ((content.len() as u32) << 3) | 1; // raw block, last
    f.extend_from_slice(&header.to_le_bytes()[..3]);
    f.extend_from_slice(content);
    f.extend_from_slice(&(xxhash_rust::xxh64::xxh64(content, 0) as u32).to_le_bytes());
    f
}

#[test]
fn zstd_frame_with_a_lying_content_size_is_corrupt_whatever_the_buffers() {
    if !Format::Zstd.is_enabled() {
        return;
    }
    // Found by fuzzing (tests/data/regressions/decode_zstd): libzstd's streaming decoder
    // skips the content-size check when the last block is empty and the caller's buffer is
    // smaller than the declared size. Our decoder checks every frame itself.
    for (declared, content) in [(128u8, &b""[..]), (128, b"short"), (3, b"longer than three")] {
        let frame = zstd_lying_frame(declared, content);
        for (buffer, read) in [(1, 1), (7, 3), (64 << 10, 1), (64 << 10, 64 << 10)] {
            let config = Config::default().buffer_size(buffer);
            let mut decoder = Decoder::with_config(&frame[..], Format::Zstd, &config).unwrap();
            let mut out = Vec::new();
            let mut chunk = vec![0u8; read];
            let result = loop {
                match decoder.read(&mut chunk) {
                    Ok(0) => break Ok(out.len()),
                    Ok(n) => out.extend_from_slice(&chunk[..n]),
                    Err(e) => break Err(Error::from(e)),
                }
            };
            assert!(
                matches!(result, Err(Error::Corrupt { .. })),
                "declared {declared}, holds {}, buffer {buffer}, read {read}: {result:?}",
                content.len()
            );
        }
    }
    // an honest frame of the same shape decodes
    assert_eq!(decompress(&zstd_lying_frame(5, b"exact"), Format::Zstd).unwrap(), b"exact");

    // Also found by fuzzing: a compressed block of size 0 (which the spec does not allow)
    // passes libzstd's streaming path as an empty block and fails its one-shot path.
    let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00, 0x05, 0x00, 0x00];
    frame.extend_from_slice(&(xxhash_rust::xxh64::xxh64(b"", 0) as u32).to_le_bytes());
    for buffer in [1, 2, 3, 8, 13, 64 << 10] {
        let config = Config::default().buffer_size(buffer);
        let result = decompress_with(&frame, Format::Zstd, &config);
        assert!(matches!(result, Err(Error::Corrupt { .. })), "buffer {buffer}: {result:?}");
    }
}

#[test]
fn a_zstd_window_above_the_limit_is_refused_even_when_the_whole_frame_fits_the_buffer() {
    if !Format::Zstd.is_enabled() {
        return;
    }
    // Found by fuzzing: libzstd's one-pass shortcut (whole frame in the input, output large
    // enough for the declared size) never checks the window against WindowLogMax. A 144 MiB
    // window declared by a 5-byte frame: refused under a 32 MiB limit with any buffers.
    let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x89];
    frame.extend_from_slice(&5u32.to_le_bytes()); // content size
    frame.extend_from_slice(&[(5 << 3) | 1, 0, 0]); // raw block, last, 5 bytes
    frame.extend_from_slice(b"hello");
    for (buffer, read) in [(64 << 10, 64 << 10), (64 << 10, 1 << 20), (7, 3)] {
        let config = Config::default().buffer_size(buffer).max_memory(32 << 20);
        let mut decoder = Decoder::with_config(&frame[..], Format::Zstd, &config).unwrap();
        let mut chunk = vec![0u8; read];
        let result = decoder.read(&mut chunk).map_err(Error::from);
        assert!(
            matches!(result, Err(Error::LimitExceeded { .. })),
            "buffer {buffer}, read {read}: {result:?}"
        );
    }
    // and accepted under a limit that allows the window
    let config = Config::default().max_memory(512 << 20);
    assert_eq!(decompress_with(&frame, Format::Zstd, &config).unwrap(), b"hello");
}

// ---- gzip header fields --------------------------------------------------------------------

fn gzip_with_header(flags: u8, fields: &[u8], body: &[u8]) -> Vec<u8> {
    let mut g = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 255];
    g.extend_from_slice(fields);
    g.extend_from_slice(body);
    g
}

/// A reader that serves `header` and then an endless run of `fill`, counting what it served.
struct Endless {
    header: Vec<u8>,
    fill: u8,
    served: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.header.get(self.served + i).copied().unwrap_or(self.fill);
        }
        self.served += buf.len();
        Ok(buf.len())
    }
}

#[test]
fn gzip_huge_and_endless_header_fields_fail_fast_without_allocating() {
    if !Format::Gzip.is_enabled() {
        return;
    }
    let deflated = compress(b"payload", Format::Deflate).unwrap();
    let trailer = [crc32fast::hash(b"payload").to_le_bytes(), 7u32.to_le_bytes()].concat();
    let body = [deflated, trailer].concat();
    // the largest legal FEXTRA (65,535 bytes) is skipped, never stored
    let mut extra = vec![0xff, 0xff];
    extra.extend(std::iter::repeat_n(b'x', 65_535));
    let input = gzip_with_header(0x04, &extra, &body);
    let (result, peak) = peak_of(|| decompress(&input, Format::Gzip));
    assert_eq!(result.unwrap(), b"payload");
    assert!(peak < 200 * KIB, "FEXTRA: peak {peak}");
    // a 1 MiB file name or comment: Corrupt once it passes 64 KiB
    for flags in [0x08, 0x10] {
        let input = gzip_with_header(flags, &vec![b'n'; MIB], &body);
        let (result, peak) = peak_of(|| decompress(&input, Format::Gzip));
        assert!(matches!(result, Err(Error::Corrupt { .. })), "flags {flags:#x}: {result:?}");
        assert!(peak < 200 * KIB, "flags {flags:#x}: peak {peak}");
    }
    // a name that never ends, from an endless reader: the decoder stops reading at the bound
    let header = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 255];
    let mut endless = Endless { header, fill: b'a', served: 0 };
    let (result, peak) = peak_of(|| {
        let mut dec = Decoder::new(&mut endless, Format::Gzip).unwrap();
        io::copy(&mut dec, &mut io::sink()).map_err(Error::from)
    });
    assert!(matches!(result, Err(Error::Corrupt { .. })), "{result:?}");
    assert!(endless.served <= 64 * KIB + 2 * 64 * KIB, "read {} bytes of an endless name", endless.served);
    assert!(peak < 200 * KIB, "peak {peak}");
    // a name cut short by the end of input: Truncated
    let result = decompress(&gzip_with_header(0x08, b"no terminator", &[]), Format::Gzip);
    assert!(matches!(result, Err(Error::Truncated { .. })), "{result:?}");
}

// ---- bombs ------------------------------------------------------------------------------------

/// A compressed stream generated on the fly: `prefix`, then `unit` `repeats` times, then
/// `suffix`. Nothing but the pieces is ever held in memory.
struct Bomb {
    /// Bytes it decodes to (before any limit stops it).
    expands_to: u64,
    parts: Vec<(Vec<u8>, u64)>,
    part: usize,
    done: u64,
    pos: usize,
    /// Compressed bytes handed out.
    served: u64,
}

impl Bomb {
    fn new(expands_to: u64, prefix: Vec<u8>, unit: Vec<u8>, repeats: u64) -> Self {
        Bomb { expands_to, parts: vec![(prefix, 1), (unit, repeats)], part: 0, done: 0, pos: 0, served: 0 }
    }

    fn compressed_len(&self) -> u64 {
        self.parts.iter().map(|(b, n)| b.len() as u64 * n).sum()
    }

    /// The first `n` bytes, materialised (for the one-shot functions).
    fn prefix_bytes(mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.read(&mut v[got..]).unwrap() {
                0 => break,
                k => got += k,
            }
        }
        v.truncate(got);
        v
    }
}

impl Read for Bomb {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.part < self.parts.len() {
            let (bytes, repeats) = &self.parts[self.part];
            if self.done == *repeats || bytes.is_empty() {
                self.part += 1;
                self.done = 0;
                self.pos = 0;
                continue;
            }
            let n = buf.len().min(bytes.len() - self.pos);
            buf[..n].copy_from_slice(&bytes[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == bytes.len() {
                self.pos = 0;
                self.done += 1;
            }
            self.served += n as u64;
            return Ok(n);
        }
        Ok(0)
    }
}

const TEN_GIB: u64 = 10 << 30;
const UNIT: usize = 64 * MIB;

/// The config bombs are made with: zlib-rs's level 1 is a poor match finder on zeros, xz's
/// preset 0 is already ~6800:1, and brotli's quality 6 writes 101 bytes per 64 MiB of zeros
/// as quality 11 does, 20 times faster.
fn bomb_config(format: Format) -> Config {
    Config::default().level(match format {
        Format::Xz | Format::Lzma => Level::Fastest,
        Format::Brotli => Level::Default,
        _ => Level::Best,
    })
}

/// A stream of `format` that expands to 10 GiB of zeros, at about the format's best ratio
/// (for lzma: one that claims 10 GiB in its header and carries 64 MiB, since an .lzma
/// stream cannot be built by repetition).
fn bomb(format: Format) -> Bomb {
    let zeros = vec![0u8; UNIT];
    let config = bomb_config(format);
    let repeats = TEN_GIB / UNIT as u64;
    match format {
        // multi-member formats: one 64 MiB member, 160 times
        f if concatenable(f) => {
            Bomb::new(TEN_GIB, Vec::new(), compress_with(&zeros, format, &config).unwrap(), repeats)
        }
        // one deflate or brotli stream: after a sync flush, a flushed 64 MiB of zeros can be
        // repeated (the encoder writes the same bytes for it every time)
        Format::Zlib | Format::Deflate | Format::Brotli => {
            let mut enc = Encoder::with_config(Vec::new(), format, &config).unwrap();
            enc.write_all(&zeros).unwrap();
            enc.flush().unwrap();
            let start = enc.get_ref().len();
            enc.write_all(&zeros).unwrap();
            enc.flush().unwrap();
            let all = enc.into_inner();
            Bomb::new(TEN_GIB, all[..start].to_vec(), all[start..].to_vec(), repeats - 1)
        }
        _ => {
            let mut lzma = compress_with(&zeros, Format::Lzma, &config).unwrap();
            lzma[5..13].copy_from_slice(&TEN_GIB.to_le_bytes());
            Bomb::new(UNIT as u64, lzma, Vec::new(), 0)
        }
    }
}

#[test]
fn ten_gib_bombs_stop_at_max_output_in_bounded_memory() {
    const LIMIT: u64 = 32 << 20;
    let mut table = Vec::new();
    for format in formats() {
        let config = Config::default().max_output(LIMIT);
        let (expands_to, compressed) = {
            let b = bomb(format);
            (b.expands_to, b.compressed_len())
        };
        // streaming: the decoder stops at the limit, having read only what that needed
        let mut source = bomb(format);
        let (result, peak) = peak_of(|| {
            let mut dec = Decoder::with_config(&mut source, format, &config).unwrap();
            io::copy(&mut dec, &mut io::sink()).map_err(Error::from)
        });
        assert!(matches!(result, Err(Error::LimitExceeded { limit: LIMIT })), "{format}: {result:?}");
        // what decoding a stream made with the bomb's settings costs
        let estimate = bomb_config(format).memory_estimate(format, Direction::Decompress).unwrap();
        let rust_side = if matches!(format, Format::Xz | Format::Lzma) { 64 * KIB } else { estimate };
        assert!(peak <= rust_side + 64 * KIB, "{format}: streaming peak {peak}");
        let read_mib = source.served as f64 / MIB as f64;
        // one-shot: the output Vec stops at the limit too
        let prefix = bomb(format).prefix_bytes(8 * MIB);
        let (result, one_shot_peak) = peak_of(|| decompress_with(&prefix, format, &config));
        assert!(
            matches!(result, Err(Error::LimitExceeded { limit: LIMIT })),
            "{format} one-shot: {result:?}"
        );
        assert!(
            one_shot_peak <= LIMIT as usize + rust_side + 2 * 64 * KIB,
            "{format}: one-shot peak {one_shot_peak}"
        );
        table.push(format!(
            "{format}: bomb of {:.0} KiB expanding to {} MiB (ratio {:.0}:1); stopped after {read_mib:.2} MiB read; \
             streaming heap peak {} KiB; one-shot peak {:.1} MiB",
            compressed as f64 / KIB as f64,
            expands_to >> 20,
            expands_to as f64 / compressed as f64,
            peak / KIB,
            one_shot_peak as f64 / MIB as f64
        ));
    }
    println!("{}", table.join("\n"));
}

// ---- bit flips ----------------------------------------------------------------------------------

#[test]
fn every_single_bit_flip_is_an_error_or_harmless_never_a_panic() {
    let mut report = Vec::new();
    for format in formats() {
        let data = text(3000, 11);
        let packed = compress(&data, format).unwrap();
        let checksummed = checksummed(format);
        let (mut corrupt, mut other_err, mut same, mut wrong) = (0, 0, 0, 0);
        for i in 0..packed.len() {
            for bit in 0..8 {
                let mut bad = packed.clone();
                bad[i] ^= 1 << bit;
                match decompress_with(&bad, format, &Config::default().max_output(1 << 20)) {
                    Ok(out) if out == data => same += 1,
                    Ok(_) => {
                        assert!(
                            !checksummed,
                            "{format}: bit {bit} of byte {i} gave wrong data without an error"
                        );
                        wrong += 1;
                    }
                    Err(Error::Corrupt { .. }) => corrupt += 1,
                    Err(
                        Error::Truncated { .. }
                        | Error::TrailingData { .. }
                        | Error::Unsupported { .. }
                        | Error::NeedsDictionary { .. }
                        | Error::LimitExceeded { .. },
                    ) => other_err += 1,
                    Err(e) => panic!("{format}: bit {bit} of byte {i}: {e:?}"),
                }
            }
        }
        let total = packed.len() * 8;
        report.push(format!(
            "{format}: {total} flips: {corrupt} Corrupt, {other_err} other errors, {same} harmless (same output), {wrong} wrong output"
        ));
        if checksummed {
            // nearly every flip is caught as corruption (harmless ones sit in fields like
            // gzip's MTIME/OS or padding, or are caught as truncation by a length field)
            assert!(corrupt * 10 >= total * 8, "{}", report.last().unwrap());
        }
    }
    println!("{}", report.join("\n"));
}

// ---- after the end ------------------------------------------------------------------------------

#[test]
fn what_follows_a_stream_is_handled_as_documented() {
    for format in detectable() {
        let packed = compress(b"complete stream", format).unwrap();
        let other = if format == Format::Zstd { Format::Gzip } else { Format::Zstd };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", b"\xde\xad\xbe\xef".to_vec()),
            ("another format", compress(b"x", other).unwrap()),
            ("one zero byte", vec![0]),
            ("four zero bytes", vec![0; 4]),
        ];
        for (name, tail) in cases {
            let input = [packed.clone(), tail].concat();
            for auto in [false, true] {
                let result =
                    if auto { compressio::decompress_auto(&input) } else { decompress(&input, format) };
                let ok = match (format, name) {
                    (Format::Xz, "four zero bytes") => {
                        result.as_deref().ok() == Some(&b"complete stream"[..])
                    }
                    (Format::Xz, "one zero byte") => matches!(result, Err(Error::Corrupt { .. })),
                    _ => matches!(result, Err(Error::TrailingData { format: f }) if f == format),
                };
                assert!(ok, "{format} + {name} (auto: {auto}): {result:?}");
            }
        }
    }
}

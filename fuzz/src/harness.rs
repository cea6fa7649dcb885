//! The decode harness shared by the fuzz targets and `tests/regressions.rs`.
//!
//! Input layout: byte 0 picks the adapter's buffer size, byte 1 the size of the reads, the
//! rest is the stream. Every input is decoded twice — with those odd sizes and with the
//! default 64 KiB buffer — under small limits (`MAX_OUTPUT`, `MAX_MEMORY`) so that the fuzzer
//! looks for bugs rather than for big allocations. The checks:
//!
//! - no panic, no hang, output never above `max_output`;
//! - both runs agree: the same bytes, or both an error (the same kind of error when the
//!   buffer can hold a magic number); so do `read_to_end` (ours: zeroing a stretch ahead,
//!   appending what passes straight through) and 64 KiB reads with the odd buffer, the bytes
//!   one gives before an error a prefix of the other's;
//! - differential: whenever we accept a stream, the backend's own decoder (flate2, zstd,
//!   lz4_flex's `FrameDecoder`, liblzma, brotli's `Decompressor`, bzip2's `MultiBzDecoder`)
//!   accepts it too and produces the same bytes.

use std::io::Read;

use compressio::{Config, Decoder, Error, Format};

/// Output cap for fuzzed decoders.
pub const MAX_OUTPUT: u64 = 8 << 20;
/// Codec memory cap for fuzzed decoders (zstd windows up to 2^24, xz dictionaries ~30 MiB).
pub const MAX_MEMORY: u64 = 32 << 20;
const BUFFERS: [usize; 8] = [1, 2, 5, 13, 64, 1000, 4096, 65536];
const READS: [usize; 8] = [1, 3, 7, 100, 4096, 8192, 65536, 1 << 20];

/// Decode `data` (see the module docs) as `format`, or with `Decoder::auto` when `None`.
pub fn decode(format: Option<Format>, data: &[u8]) {
    let [b, r, stream @ ..] = data else { return };
    let buffer = BUFFERS[usize::from(*b) % BUFFERS.len()];
    let read = READS[usize::from(*r) % READS.len()];
    let config = Config::default().max_output(MAX_OUTPUT).max_memory(MAX_MEMORY);
    let odd = stream_decode(format, stream, &config.clone().buffer_size(buffer), read);
    let plain = stream_decode(format, stream, &config, 64 * 1024);
    // liblzma's .lzma (LZMA1) decoder itself reaches different verdicts on some degenerate
    // streams depending on how the input is chunked: a stream declaring 1 byte whose range
    // coder bytes may or may not be an end marker is corrupt when fed 1-5 bytes per call and
    // valid when fed 8 or more (tests/data/regressions/decode_lzma; reproduced with liblzma
    // alone). Below 8-byte buffers the two runs need not agree for lzma; everything else
    // (no panic, bounded output, the differential check) still holds.
    let lzma = format == Some(Format::Lzma) || matches!(&plain, Ok((Format::Lzma, _)));
    if lzma && buffer < 8 {
        if let Ok((detected, out)) = plain {
            differential(detected, stream, &out);
        }
        return;
    }
    match (&odd, &plain) {
        (Ok(a), Ok(b)) => assert!(a == b, "buffer {buffer}/read {read} and 64 KiB decode differently"),
        (Err(a), Err(b)) => {
            // below a magic number's length the buffer cannot look ahead between members, and
            // the codec reports what the adapter would have (Corrupt rather than TrailingData)
            if buffer >= 8 {
                assert_eq!(kind(a), kind(b), "buffer {buffer}: {a} / 64 KiB: {b}");
            }
        }
        _ => panic!("buffer {buffer}/read {read}: {} but 64 KiB: {}", summary(&odd), summary(&plain)),
    }
    // lz4's independent blocks, bzip2's blocks, zstd's frames and gzip's members decode in
    // parallel with threads: the same verdict and bytes. The threaded decoders' buffers need
    // more than MAX_MEMORY (if only a little of it for inputs this small); for zstd, whose
    // window limit follows max_memory, one thread is run again under the same limit.
    if matches!(format, Some(Format::Lz4 | Format::Bzip2 | Format::Zstd | Format::Gzip)) {
        let members = matches!(format, Some(Format::Zstd | Format::Gzip));
        let memory = if members { 8 * MAX_MEMORY } else { 4 * MAX_MEMORY };
        let threads = config.clone().threads(2).buffer_size(buffer).max_memory(memory);
        let threaded = stream_decode(format, stream, &threads, read);
        let same_limit = (format == Some(Format::Zstd))
            .then(|| stream_decode(format, stream, &config.clone().max_memory(memory), 64 * 1024));
        let one = same_limit.as_ref().unwrap_or(&plain);
        match (&threaded, one) {
            (Ok(a), Ok(b)) => assert!(a == b, "threads(2) and one thread decode differently"),
            (Err(a), Err(b)) if buffer >= 8 => {
                assert_eq!(kind(a), kind(b), "threads(2): {a} / one thread: {b}")
            }
            (Err(_), Err(_)) => {}
            _ => panic!("threads(2): {} but one thread: {}", summary(&threaded), summary(one)),
        }
    }
    // read_to_end against 64 KiB reads with the same buffer: the same verdict, and the same
    // bytes; before an error, one's bytes a prefix of the other's (how much a codec hands out
    // of the call that finds the error depends on the output space it was given)
    let odd_buffer = config.clone().buffer_size(buffer);
    let (to_end, got) = drain(format, stream, &odd_buffer, None);
    let (reads, read) = drain(format, stream, &odd_buffer, Some(64 * 1024));
    assert!(got.len() as u64 <= MAX_OUTPUT);
    let agree = match (&to_end, &reads) {
        (Ok(()), Ok(())) => got == read,
        _ => got.starts_with(&read) || read.starts_with(&got),
    };
    assert!(agree, "read_to_end and reads give different bytes ({to_end:?}, {reads:?})");
    match (&to_end, &reads) {
        (Ok(()), Ok(())) | (Err(_), Err(_)) if buffer < 8 => {}
        (Ok(()), Ok(())) => {}
        (Err(a), Err(b)) => assert_eq!(kind(a), kind(b), "read_to_end: {a} / reads: {b}"),
        _ => panic!("read_to_end: {to_end:?} but reads: {reads:?}"),
    }
    if let Ok((detected, out)) = plain {
        assert!(out.len() as u64 <= MAX_OUTPUT);
        differential(detected, stream, &out);
    }
}

fn kind(e: &Error) -> std::mem::Discriminant<Error> {
    std::mem::discriminant(e)
}

fn summary(r: &Result<(Format, Vec<u8>), Error>) -> String {
    match r {
        Ok((f, out)) => format!("Ok({f}, {} bytes)", out.len()),
        Err(e) => format!("Err({e})"),
    }
}

fn stream_decode(
    format: Option<Format>,
    stream: &[u8],
    config: &Config,
    read: usize,
) -> Result<(Format, Vec<u8>), Error> {
    let mut decoder = match format {
        Some(f) => Decoder::with_config(stream, f, config)?,
        None => Decoder::auto_with_config(stream, config)?,
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; read];
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => return Ok((decoder.format(), out)),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Decode by `read_to_end` (`read` `None`) or by reads of that size: the verdict, and the
/// bytes given (before an error too).
fn drain(
    format: Option<Format>,
    stream: &[u8],
    config: &Config,
    read: Option<usize>,
) -> (Result<(), Error>, Vec<u8>) {
    let mut out = Vec::new();
    let decoder = match format {
        Some(f) => Decoder::with_config(stream, f, config),
        None => Decoder::auto_with_config(stream, config),
    };
    let mut decoder = match decoder {
        Ok(decoder) => decoder,
        Err(e) => return (Err(e), out),
    };
    let Some(read) = read else {
        let result = decoder.read_to_end(&mut out).map(|_| ()).map_err(Error::from);
        return (result, out);
    };
    let mut buf = vec![0u8; read];
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => return (Ok(()), out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (Err(e.into()), out),
        }
    }
}

fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).map(|_| v)
}

/// We accepted `stream` as `format` and produced `out`: the backend's own decoder must agree.
fn differential(format: Format, stream: &[u8], out: &[u8]) {
    let theirs = match format {
        Format::Gzip => read_all(flate2::read::MultiGzDecoder::new(stream)),
        Format::Zlib => read_all(flate2::read::ZlibDecoder::new(stream)),
        Format::Deflate => read_all(flate2::read::DeflateDecoder::new(stream)),
        Format::Zstd => zstd::stream::decode_all(stream),
        Format::Xz => read_all(liblzma::read::XzDecoder::new_multi_decoder(stream)),
        Format::Lzma => match liblzma::stream::Stream::new_lzma_decoder(u64::MAX) {
            Ok(s) => read_all(liblzma::read::XzDecoder::new_stream(stream, s)),
            Err(e) => panic!("liblzma: {e}"),
        },
        Format::Brotli => read_all(brotli::Decompressor::new(stream, 4096)),
        Format::Bzip2 => read_all(bzip2::read::MultiBzDecoder::new(stream)),
        Format::Lz4 => {
            // lz4_flex reads one frame: compare when the input is exactly one lz4 frame
            let config = Config::default().single_stream(true).max_output(MAX_OUTPUT).max_memory(MAX_MEMORY);
            let Ok(mut ours) = Decoder::with_config(stream, Format::Lz4, &config) else { return };
            let Ok(first) = read_all(&mut ours) else { return };
            if !stream.starts_with(&[0x04, 0x22, 0x4d, 0x18]) || ours.total_in() != stream.len() as u64 {
                return;
            }
            assert!(first == out);
            read_all(lz4_flex::frame::FrameDecoder::new(stream))
        }
        _ => return,
    };
    match theirs {
        Ok(theirs) => {
            assert!(theirs == out, "{format}: the backend decodes {} bytes, we {}", theirs.len(), out.len())
        }
        Err(e) => panic!("{format}: we accept this stream ({} bytes out), the backend says: {e}", out.len()),
    }
}

/// The decoder shapes that take their input in the caller's chunks — `write::Decoder` (the
/// caller writes compressed bytes) and `bufread::Decoder` (over a `BufReader`) — against
/// `read::Decoder` on the same stream: the same bytes, or both an error.
///
/// Input layout: byte 0 picks the format (one past the last: detect it), byte 1 the chunk
/// size (of the writes, and the `BufReader`'s capacity), byte 2 the adapters' buffer size.
pub fn shapes(data: &[u8]) {
    let [f, c, b, stream @ ..] = data else { return };
    let format = Format::ALL.get(usize::from(*f) % (Format::ALL.len() + 1)).copied();
    if format.is_some_and(|f| !f.is_enabled()) {
        return;
    }
    let chunk = READS[usize::from(*c) % READS.len()];
    let buffer = BUFFERS[usize::from(*b) % BUFFERS.len()];
    let config = Config::default().max_output(MAX_OUTPUT).max_memory(MAX_MEMORY).buffer_size(buffer);
    let reference = stream_decode(format, stream, &config, 65536);
    let small = chunk.min(buffer) < 8;
    for (shape, result) in [
        ("write::Decoder", write_decode(format, stream, &config, chunk)),
        ("bufread::Decoder", bufread_decode(format, stream, &config, chunk)),
    ] {
        // as in `decode`: liblzma's .lzma verdicts depend on its input chunking below 8 bytes
        let lzma = format == Some(Format::Lzma) || matches!(&reference, Ok((Format::Lzma, _)));
        if lzma && small {
            continue;
        }
        match (&result, &reference) {
            (Ok(a), Ok(b)) => {
                assert!(a.1 == b.1, "{shape} (chunk {chunk}, buffer {buffer}) decodes differently");
                assert!(a.1.len() as u64 <= MAX_OUTPUT);
            }
            (Err(a), Err(b)) => {
                // below a magic number's length the error kind may differ (see `decode`)
                if !small {
                    assert_eq!(
                        kind(a),
                        kind(b),
                        "{shape} (chunk {chunk}, buffer {buffer}): {a} / read::Decoder: {b}"
                    );
                }
            }
            _ => panic!(
                "{shape} (chunk {chunk}, buffer {buffer}): {} but read::Decoder: {}",
                summary(&result),
                summary(&reference)
            ),
        }
    }
}

fn write_decode(
    format: Option<Format>,
    stream: &[u8],
    config: &Config,
    chunk: usize,
) -> Result<(Format, Vec<u8>), Error> {
    use std::io::Write;
    let mut decoder = match format {
        Some(f) => compressio::write::Decoder::with_config(Vec::new(), f, config)?,
        None => compressio::write::Decoder::auto_with_config(Vec::new(), config)?,
    };
    for piece in stream.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let n = decoder.write(rest)?;
            assert!(n > 0, "write::Decoder took nothing without single_stream");
            rest = &rest[n..];
        }
    }
    decoder.try_finish()?;
    // (an empty input has no format: any will do for the comparison)
    let detected = decoder.format().unwrap_or(Format::Gzip);
    Ok((detected, decoder.finish()?))
}

fn bufread_decode(
    format: Option<Format>,
    stream: &[u8],
    config: &Config,
    capacity: usize,
) -> Result<(Format, Vec<u8>), Error> {
    let reader = std::io::BufReader::with_capacity(capacity, stream);
    let mut decoder = match format {
        Some(f) => compressio::bufread::Decoder::with_config(reader, f, config)?,
        None => compressio::bufread::Decoder::auto_with_config(reader, config)?,
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => return Ok((decoder.format(), out)),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e.into()),
        }
    }
}

/// The raw-content dictionary the `decode_dict` target decodes with (the seeds are
/// compressed against it).
pub fn fuzz_dictionary() -> compressio::Dictionary {
    static DICT: std::sync::OnceLock<compressio::Dictionary> = std::sync::OnceLock::new();
    DICT.get_or_init(|| {
        let text: Vec<u8> = (0..400u32)
            .flat_map(|i| {
                format!(r#"{{"id":{i},"user":"u{}","action":"view","ok":true}}"#, i % 13).into_bytes()
            })
            .collect();
        compressio::Dictionary::from_bytes(text).expect("dictionary")
    })
    .clone()
}

/// The formats with dictionaries, as `decode_dict` picks them.
pub const DICT_FORMATS: [Format; 4] = [Format::Zstd, Format::Zlib, Format::Deflate, Format::Lz4];

/// Decode `data` (byte 0 picks the format, byte 1 the buffer size) with `fuzz_dictionary`,
/// through `read::Decoder` and `bufread::Decoder`: no panic, output within the limit, both
/// agree; and whatever zstd stream we accept, libzstd given the same dictionary accepts too,
/// with the same bytes.
pub fn dict(data: &[u8]) {
    let [f, b, stream @ ..] = data else { return };
    let format = DICT_FORMATS[usize::from(*f) % DICT_FORMATS.len()];
    let buffer = BUFFERS[usize::from(*b) % BUFFERS.len()];
    let dict = fuzz_dictionary();
    let config =
        Config::default().max_output(MAX_OUTPUT).max_memory(MAX_MEMORY).buffer_size(buffer).dictionary(&dict);
    let read = stream_decode(Some(format), stream, &config, 4096);
    let buffered = bufread_decode(Some(format), stream, &config, buffer.max(8));
    match (&read, &buffered) {
        (Ok(a), Ok(b)) => assert!(a.1 == b.1, "{format}: read and bufread decode differently"),
        (Err(_), Err(_)) => {}
        _ => panic!("{format} buffer {buffer}: read {} but bufread {}", summary(&read), summary(&buffered)),
    }
    let Ok((_, out)) = read else { return };
    assert!(out.len() as u64 <= MAX_OUTPUT);
    if format == Format::Zstd {
        let theirs =
            zstd::stream::read::Decoder::with_dictionary(std::io::BufReader::new(stream), dict.as_bytes())
                .and_then(read_all);
        match theirs {
            Ok(theirs) => assert!(
                theirs == out,
                "zstd: libzstd decodes {} bytes with the dictionary, we {}",
                theirs.len(),
                out.len()
            ),
            Err(e) => panic!(
                "zstd: we accept this stream ({} bytes out), libzstd with the dictionary says: {e}",
                out.len()
            ),
        }
    }
}

/// `decode_seekable`: byte 0 picks the threads and the reads, the rest is the file. Opening
/// and reading any range must never panic, hang or allocate past the limits. When the whole
/// content reads back without error (every block checked against its index entry), it must
/// equal what the ordinary decoder makes of the file, if that accepts it, and every range read
/// must equal the same range of it.
pub fn seekable(data: &[u8]) {
    let [sel, file @ ..] = data else { return };
    let threads = 1 + usize::from(sel & 1);
    let config = Config::default().max_memory(MAX_MEMORY).threads(threads);
    let Ok(mut seekable) = compressio::SeekableDecoder::with_config(std::io::Cursor::new(file), &config)
    else {
        return;
    };
    let len = seekable.len();
    let mut all = None;
    if len <= MAX_OUTPUT {
        let mut content = Vec::new();
        if seekable.read_to_end(&mut content).is_ok() {
            assert_eq!(content.len() as u64, len, "read_to_end and the index disagree");
            let limits = Config::default().max_output(MAX_OUTPUT).max_memory(MAX_MEMORY);
            if let Ok((_, plain)) = stream_decode(None, file, &limits, 65536) {
                assert!(plain == content, "the seekable and the plain decode differ");
            }
            all = Some(content);
        }
    }
    // a few reads at positions spread by the selector
    let mut buf = vec![0u8; 1 + usize::from(*sel) * 97];
    for k in 0..4u64 {
        let pos = (u64::from(*sel) * 7919 * (k + 1)) % (len + 2);
        let Ok(n) = seekable.read_at(pos, &mut buf) else { continue };
        assert!(n <= buf.len());
        assert!(n == 0 || pos.saturating_add(n as u64) <= len, "a read past the end");
        if let (Some(all), true) = (&all, n > 0) {
            let from = pos as usize;
            assert!(all.get(from..from + n) == Some(&buf[..n]), "a range differs from the whole");
        }
    }
}

//! The round-trip target's input and check: decode(encode(x)) == x for arbitrary data,
//! format, level, memory level, buffer size, worker threads, write chunking and flushes; for
//! the formats with a seekable layout, sometimes seekable, read back through `SeekableDecoder`
//! too.

use std::io::Write;

use arbitrary::Arbitrary;
use compressio::{decompress_auto, decompress_with, Config, Encoder, Format, Level};

/// What the fuzzer chooses.
#[derive(Arbitrary, Debug)]
pub struct RoundTrip {
    format: u8,
    level: u8,
    memory_level: u8,
    buffer: u16,
    checksum: bool,
    flush_every: u8,
    threads: u8,
    chunks: Vec<u16>,
    data: Vec<u8>,
}

/// Encode as chosen, decode, compare.
pub fn run(input: RoundTrip) {
    let format = Format::ALL[usize::from(input.format) % Format::ALL.len()];
    let level = match input.level % 4 {
        0 => Level::Fastest,
        1 => Level::Fast,
        2 => Level::Default,
        _ => Level::Best,
    };
    // windows of at most 1 MiB keep each run fast (xz at Best would allocate 674 MiB)
    let memory_level = 1 + input.memory_level % 4;
    let config = Config::default()
        .level(level)
        .memory_level(memory_level)
        .buffer_size(1 + usize::from(input.buffer))
        .checksum(input.checksum);
    // one in four runs compresses with 1-3 worker threads; some seekable (blocks of 1 byte to
    // 64 KiB, with and without threads)
    let config = match input.threads % 16 {
        n @ 1..=3 => config.threads(usize::from(n)),
        _ => config,
    };
    let seekable =
        matches!(format, Format::Zstd | Format::Gzip | Format::Xz) && matches!(input.threads % 16, 2 | 4 | 5);
    let config = if seekable { config.seekable(1 + usize::from(input.buffer) % 65_280) } else { config };
    let mut encoder = Encoder::with_config(Vec::new(), format, &config).expect("valid config");
    let mut rest = &input.data[..];
    let mut i = 0usize;
    while !rest.is_empty() {
        let n = match input.chunks.get(i % input.chunks.len().max(1)) {
            Some(&c) => usize::from(c).clamp(1, rest.len()),
            None => rest.len(),
        };
        encoder.write_all(&rest[..n]).expect("writing to a Vec cannot fail");
        rest = &rest[n..];
        i += 1;
        if input.flush_every > 0 && i.is_multiple_of(usize::from(input.flush_every)) {
            encoder.flush().expect("flush");
        }
    }
    let packed = encoder.finish().expect("finish");
    let back = decompress_with(&packed, format, &config).expect("our own stream must decode");
    assert!(back == input.data, "{format}: round trip differs");
    if seekable {
        let mut file = compressio::SeekableDecoder::new(std::io::Cursor::new(&packed))
            .expect("our seekable stream opens");
        let mut all = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut all).expect("our seekable stream reads");
        assert!(all == input.data, "{format}: seekable read differs");
    }
    if format.is_detectable() {
        assert!(
            decompress_auto(&packed).expect("auto") == input.data,
            "{format}: auto-detected round trip differs"
        );
    }
}

//! bzip2 over the `bzip2` crate's `Compress`/`Decompress` (its default backend, libbz2-rs-sys,
//! is pure Rust and allocates through Rust's global allocator).
//!
//! - A file may hold several streams (pbzip2 writes one per 900 kB block): they decode as one,
//!   like `bzip2 -d`.
//! - `threads(n)` compresses independent blocks on the block engine's workers, each a complete
//!   stream (`parallel.rs`): pbzip2's layout, which every bzip2 reads.
//! - The decoder reads each stream's `BZh1`-`BZh9` header itself and picks libbz2's normal or
//!   small-memory mode (half the speed, 2.5 instead of 4 bytes per block byte) to fit
//!   `memory_level` and `max_memory`, before libbz2 allocates anything.

use crate::codec::spec::{match_magic, preset, Codec, Detect, Levels, Match, Members, Spec};
use crate::settings::Settings;

#[cfg(feature = "bzip2")]
mod parallel;
#[cfg(feature = "bzip2")]
mod replay;
#[cfg(feature = "bzip2")]
mod split;
#[cfg(feature = "bzip2")]
mod stream;
#[cfg(feature = "bzip2")]
mod threaded;
#[cfg(feature = "bzip2")]
mod worker;

pub(crate) static SPEC: Spec = Spec {
    name: "bzip2",
    aliases: &["bz2"],
    extensions: &["bz2", "tbz2", "tbz"],
    feature: "bzip2",
    detect: Detect::Magic(matches),
    members: Members { concatenated: true, skippable: false, padding: false },
    // the level is the block size in 100 kB: bzip2's own -1..-9, default -9
    levels: Levels { named: [1, 5, 9, 9], min: 1, max: 9 },
    dictionaries: false,
    reference: false,
    codec: CODEC,
};

/// `BZh`, then the block size digit `1`-`9`.
const HEADER: [u8; 3] = *b"BZh";
/// The 48-bit magic that starts a block (the BCD digits of pi) ...
const BLOCK_MAGIC: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
/// ... and the one that ends the stream (sqrt(pi)); an empty stream has it right after the
/// header.
const END_MAGIC: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];

/// The stream header and the magic that follows it: every stream has one or the other right
/// after the header, byte-aligned, so checking them makes false positives rare.
fn matches(prefix: &[u8]) -> Match {
    match match_magic(prefix, &HEADER) {
        Match::Yes => {}
        other => return other,
    }
    match prefix.get(3) {
        None => return Match::NeedMore,
        Some(b'1'..=b'9') => {}
        Some(_) => return Match::No,
    }
    match_magic(&prefix[4..], &BLOCK_MAGIC).or(match_magic(&prefix[4..], &END_MAGIC))
}

/// The block size in bytes of level `n`.
fn block_size(level: u32) -> usize {
    level as usize * 100_000
}

/// The level an encoder uses: the configured one, capped so that the block fits the memory
/// level's budget (100 kB blocks at memory levels 1-2, 200 kB at 3, any from 4).
fn level(settings: &Settings) -> u32 {
    let level = preset(settings);
    match settings.history_budget() {
        Some(budget) => level.min((budget / 100_000).clamp(1, 9) as u32),
        None => level,
    }
}

/// libbz2's compressor for level `n`: `arr1` and `arr2` (4 bytes per block byte each, plus
/// overshoot), `ftab` (65537 × 4) and its state.
fn compressor_bytes(level: u32) -> usize {
    8 * block_size(level) + 4 * 65537 + 64 * 1024
}

/// libbz2's decompressor for a stream of level `n`: `tt` (4 bytes per block byte), or in
/// small-memory mode `ll16` and `ll4` (2.5 bytes per block byte), and its state.
fn decompressor_bytes(level: u32, small: bool) -> usize {
    let block = block_size(level);
    let tables = if small { 2 * block + block.div_ceil(2) } else { 4 * block };
    tables + 64 * 1024
}

/// Whether a decoder of a level-`n` stream uses small-memory mode: when the normal mode's
/// tables pass the memory level's budget or `max_memory`. `None`: not even small mode fits.
fn small_mode(level: u32, settings: &Settings) -> Option<bool> {
    let fits = |small| decompressor_bytes(level, small) as u64 <= settings.max_memory;
    let over_budget = settings.history_budget().is_some_and(|b| 4 * block_size(level) as u64 > b);
    match (fits(false) && !over_budget, fits(true)) {
        (true, _) => Some(false),
        (false, true) => Some(true),
        (false, false) => None,
    }
}

/// The threads a decoder decodes with (`threaded.rs`), for `threads(n)` with n ≥ 2: the
/// most, up to n, whose buffers fit `max_memory` in libbz2's normal mode; `None`: one thread.
#[cfg(feature = "bzip2")]
fn threaded_decoding(settings: &Settings) -> Option<usize> {
    let level = level(settings);
    if small_mode(level, settings) != Some(false) {
        return None;
    }
    let fits = |n| threaded::memory(level, n) as u64 <= settings.max_memory;
    crate::codec::parallel::most_threads(settings.threads?, fits)
}

#[cfg(feature = "bzip2")]
const CODEC: Option<Codec> = Some(Codec {
    encoder: |s| {
        Ok(match s.threads {
            Some(threads) => Box::new(parallel::ParallelBzip2::new(level(s), threads)?),
            None => Box::new(stream::Bzip2Encoder::new(level(s))),
        })
    },
    decoder: |s| {
        Ok(match threaded_decoding(s) {
            Some(threads) => Box::new(threaded::ThreadedDecoder::new(s, threads)?),
            None => Box::new(stream::Bzip2Decoder::new(s)),
        })
    },
    encoder_memory: |s| match s.threads {
        Some(threads) => parallel::engine_bytes(level(s), threads) + threads * compressor_bytes(level(s)),
        None => compressor_bytes(level(s)),
    },
    decoder_memory: |s| {
        let level = level(s);
        match threaded_decoding(s) {
            Some(threads) => threaded::memory(level, threads),
            None => decompressor_bytes(level, small_mode(level, s).unwrap_or(true)),
        }
    },
    random_access: None,
});
#[cfg(not(feature = "bzip2"))]
const CODEC: Option<Codec> = None;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_block_magic() {
        assert_eq!(matches(b"BZ"), Match::NeedMore);
        assert_eq!(matches(b"BZh9"), Match::NeedMore);
        assert_eq!(matches(b"BZh0\x31\x41\x59\x26\x53\x59"), Match::No);
        assert_eq!(matches(b"BZh9\x31\x41\x59\x26\x53\x59"), Match::Yes);
        assert_eq!(matches(b"BZh1\x17\x72\x45\x38\x50\x90"), Match::Yes);
        assert_eq!(matches(b"BZh9\x31\x41\x59\x26\x53\x58"), Match::No);
        assert_eq!(matches(b"BZx"), Match::No);
    }

    fn settings(memory_level: Option<u8>, max_memory: u64) -> Settings {
        Settings {
            level: 9,
            buffer_size: 1,
            checksum: true,
            max_output: u64::MAX,
            max_memory,
            single_stream: false,
            memory_level,
            threads: None,
            large_window: false,
            size_hint: None,
            dictionaries: None,
            reference: None,
            seekable: None,
        }
    }

    #[test]
    fn small_mode_when_normal_does_not_fit() {
        assert_eq!(small_mode(9, &settings(None, 256 << 20)), Some(false));
        assert_eq!(small_mode(9, &settings(None, 3 << 20)), Some(true));
        assert_eq!(small_mode(9, &settings(None, 1 << 20)), None);
        assert_eq!(small_mode(1, &settings(None, 1 << 20)), Some(false));
        // memory level 4 (1 MiB) is below a level-9 block's 3.6 MB of tables
        assert_eq!(small_mode(9, &settings(Some(4), 256 << 20)), Some(true));
        assert_eq!(small_mode(9, &settings(Some(5), 256 << 20)), Some(false));
    }

    #[test]
    fn memory_levels_cap_the_block() {
        assert_eq!(level(&settings(None, 0)), 9);
        assert_eq!(level(&settings(Some(2), 0)), 1);
        assert_eq!(level(&settings(Some(3), 0)), 2);
        assert_eq!(level(&settings(Some(4), 0)), 9);
    }
}

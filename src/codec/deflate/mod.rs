//! Raw deflate (RFC 1951) over flate2's `Compress`/`Decompress` (zlib-rs), and the deflate
//! engine that zlib (`codec/zlib.rs`) and gzip (`codec/gzip`) wrap.
//!
//! - `stream.rs`: one compressor and one decompressor, raw or with the zlib wrapper.
//! - `parallel.rs`: pigz-style multithreaded compression (one deflate stream).

use crate::codec::spec::{Codec, Detect, Levels, Members, Spec};
use crate::settings::Settings;

#[cfg(feature = "deflate")]
pub(crate) mod parallel;
#[cfg(feature = "deflate")]
pub(crate) mod stream;

/// Raw deflate: no header, no checksum, so never detected and never concatenated.
pub(crate) static SPEC: Spec = Spec {
    name: "deflate",
    aliases: &[],
    extensions: &["deflate"],
    feature: "deflate",
    detect: Detect::Never,
    members: Members::SINGLE,
    levels: LEVELS,
    dictionaries: true,
    reference: false,
    codec: CODEC,
};

/// zlib-rs's scale, shared by gzip and zlib: 0 (stored) ..= 9.
pub(crate) const LEVELS: Levels = Levels { named: [1, 3, 6, 9], min: 0, max: 9 };

#[cfg(feature = "deflate")]
const CODEC: Option<Codec> = Some(Codec {
    encoder: |s| {
        Ok(match (s.threads, s.dictionary()) {
            // (the parallel engine primes each block with its predecessor's tail; with a
            // dictionary, one compressor — not yet the dictionary as the first block's primer)
            (Some(threads), None) => Box::new(parallel::ParallelDeflate::new(s, threads)?),
            _ => Box::new(stream::DeflateEncoder::new(false, s)?),
        })
    },
    decoder: |s| Ok(Box::new(stream::DeflateDecoder::new(false, s.dictionaries.clone())?)),
    encoder_memory,
    decoder_memory: |_| INFLATE_BYTES,
    random_access: None,
});
#[cfg(not(feature = "deflate"))]
const CODEC: Option<Codec> = None;

/// Window bits at this memory level: a 16 KiB window at 1, 32 KiB (the format's maximum)
/// from 2.
pub(crate) fn window_bits(settings: &Settings) -> u8 {
    match settings.history_budget() {
        Some(budget) if budget < 32 * 1024 => 14,
        _ => 15,
    }
}

/// zlib-rs's deflate state for a window of `2^bits`, calibrated against the counting
/// allocator (examples/memory.rs): the window twice over plus the `prev` chain (4 bytes per
/// window byte), and 256 KiB of hash head, pending buffer and state whatever the window.
pub(crate) fn compressor_bytes(window_bits: u8) -> usize {
    4 * (1usize << window_bits) + 256 * 1024
}

/// zlib-rs's inflate state plus its 32 KiB window (allocated on the first output).
pub(crate) const INFLATE_BYTES: usize = 7 * 1024 + 32 * 1024;

/// A deflate-bodied encoder's memory (raw deflate and gzip): one compressor, or the
/// pigz-style engine with a compressor per worker.
#[cfg(feature = "deflate")]
pub(crate) fn encoder_memory(settings: &Settings) -> usize {
    let bits = window_bits(settings);
    match settings.threads {
        Some(threads) => parallel::engine_bytes(threads, bits) + threads * compressor_bytes(bits),
        None => compressor_bytes(bits),
    }
}

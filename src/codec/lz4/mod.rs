//! The LZ4 frame format, written over lz4_flex's block API with xxh32 checksums.
//!
//! lz4_flex's own `FrameDecoder` accepts truncated frames and stops after the first frame, and
//! its `FrameEncoder` corrupts its output when the writer returns `WouldBlock`; its block
//! functions are solid, so the (small) frame format is ours.
//!
//! - `frame.rs`: the format itself (descriptor, block headers, window), pure and tested.
//! - `encode.rs`, `decode.rs`: the codecs.

use crate::codec::spec::{match_magic, Codec, Detect, Levels, Match, Members, Spec};
use crate::settings::Settings;

#[cfg(feature = "lz4")]
mod decode;
#[cfg(feature = "lz4")]
mod encode;
#[cfg(feature = "lz4")]
pub(crate) mod frame;
#[cfg(feature = "lz4")]
mod parallel;

/// Concatenated frames and skippable frames decode as one stream, like `lz4 -d`.
pub(crate) static SPEC: Spec = Spec {
    name: "lz4",
    aliases: &[],
    extensions: &["lz4"],
    feature: "lz4",
    detect: Detect::Magic(matches),
    members: Members { concatenated: true, skippable: true, padding: false },
    // lz4_flex has only LZ4's fast compressor: the two levels choose independent blocks (1,
    // each decodable alone) or linked blocks (2, each may refer to the previous 64 KiB)
    levels: Levels { named: [1, 1, 1, 2], min: 1, max: 2 },
    dictionaries: true,
    reference: false,
    codec: CODEC,
};

/// The frame magic number (little-endian 0x184D2204).
pub(crate) const MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

fn matches(prefix: &[u8]) -> Match {
    match_magic(prefix, &MAGIC)
}

/// What a dictionary is to lz4 (as to the lz4 CLI's `-D`): its last 64 KiB, the history
/// the first block (linked frames) or every block (independent blocks) starts from.
#[cfg(feature = "lz4")]
fn dict_window(dict: &crate::Dictionary) -> &[u8] {
    let content = dict.as_bytes();
    &content[content.len().saturating_sub(frame::WINDOW)..]
}

/// Level 2 (`Level::Best`) writes linked blocks.
fn linked(settings: &Settings) -> bool {
    settings.level >= 2
}

/// The block maximum (BD code 4..=7) at this memory level: 64 KiB at 1-2, 256 KiB at 3,
/// 1 MiB at 4, 4 MiB from 5. Without a memory level, independent blocks are 64 KiB
/// (lz4_flex's own default, small and fast) and linked blocks 1 MiB: lz4_flex's public block
/// API carries the 64 KiB window from block to block only as a dictionary, which its
/// compressor hashes again for every block and its decompressor reads through the
/// external-dictionary path. That is a cost per block: with 64 KiB blocks 0.86× lz4_flex's
/// own linked frames compressing and 0.90× decompressing (24 MiB of prose), with 1 MiB blocks
/// 1.00× and 1.00× (its 1 MiB frames), at the same ratio.
fn block_code(settings: &Settings) -> u8 {
    match settings.history_budget() {
        None if linked(settings) => 6,
        None | Some(..=0x1_0000) => 4,
        Some(0x1_0001..=0x4_0000) => 5,
        Some(0x4_0001..=0x10_0000) => 6,
        Some(_) => 7,
    }
}

#[cfg(feature = "lz4")]
const CODEC: Option<Codec> = Some(Codec {
    encoder: |s| Ok(Box::new(encode::Lz4Encoder::new(s)?)),
    decoder: |s| Ok(Box::new(decode::Lz4Decoder::new(s))),
    encoder_memory,
    // one compressed block, one decoded block (+ the history of linked blocks; + the batches
    // in flight when independent blocks decode in parallel)
    decoder_memory: |s| {
        let block = frame::block_max(block_code(s));
        let one = frame::one_thread_bytes(block, linked(s));
        let batches = match s.threads.filter(|_| !linked(s)) {
            Some(asked) => parallel::threads_for(asked, block, one as u64, s.max_memory)
                .map_or(0, |threads| parallel::ParallelBlocks::memory(threads, block)),
            None => 0,
        };
        one + batches
    },
    random_access: None,
});
#[cfg(not(feature = "lz4"))]
const CODEC: Option<Codec> = None;

/// lz4_flex's hash table for independent blocks (`CompressTable::large`).
#[cfg(feature = "lz4")]
const TABLE_BYTES: usize = 16 * 1024;

#[cfg(feature = "lz4")]
fn encoder_memory(settings: &Settings) -> usize {
    let block = frame::block_max(block_code(settings));
    match settings.threads {
        // the engine's buffers for jobs of whole blocks, and a table per thread (threads - 1
        // workers and the caller's; linked blocks stay on one thread)
        Some(threads) if !linked(settings) => {
            let job = encode::job_size(block);
            let bound = job / block * frame::block_bound(block);
            crate::codec::parallel::sharing_buffer_bytes(threads, job, 0, bound) + threads * TABLE_BYTES
        }
        // pending input block + staged compressed block + hash table (+ history)
        _ => {
            let history = if linked(settings) { frame::WINDOW } else { 0 };
            block + frame::block_bound(block) + TABLE_BYTES + history
        }
    }
}

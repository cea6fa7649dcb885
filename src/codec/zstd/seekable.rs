//! The zstd seekable format (facebook/zstd `contrib/seekable_format`): independent frames,
//! then a seek table in a skippable frame at the end. Every zstd decoder reads such a file as
//! ordinary frames (it skips the table); ours can also jump to any frame.
//!
//! The seek table, little-endian throughout:
//!
//! ```text
//! skippable frame header   magic 0x184D2A5E (u32), frame size (u32)
//! entry × n                compressed size (u32), decompressed size (u32), [checksum (u32)]
//! footer (9 bytes)         n (u32), descriptor (u8), seekable magic 0x8F92EAB1 (u32)
//! ```
//!
//! The descriptor's bit 7 says whether entries carry a checksum (the low 32 bits of the
//! XXH64, seed 0, of the frame's content); bits 0–6 are reserved and must be zero.

use zstd::zstd_safe::{self, CCtx, CParameter};

use super::encoder_error;
use crate::codec::parallel::{BlockCompressor, Parallel, ParallelStream};
use crate::codec::seekable::{
    read_vec, BlockFormat, BlockSummary, Index, IndexError, IndexedEncoder, Source,
};
use crate::codec::{CodecResult, Fault};
use crate::settings::Settings;

/// The skippable frame magic the table uses (the last of the 16).
const TABLE_MAGIC: u32 = 0x184D_2A5E;
/// The footer's magic.
const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
const FOOTER_LEN: u64 = 9;
const SKIPPABLE_HEADER_LEN: u64 = 8;
/// The descriptor's checksum flag.
const CHECKSUM_FLAG: u8 = 0x80;
/// The contrib's limits: at most this many frames, each at most 1 GiB of content.
const MAX_FRAMES: u64 = 0x0800_0000;
pub(super) const MAX_FRAME_CONTENT: u64 = 0x4000_0000;

/// The low 32 bits of XXH64 (seed 0): the table's checksum of a frame's content.
pub(super) fn checksum(content: &[u8]) -> u32 {
    xxhash_rust::xxh64::xxh64(content, 0) as u32
}

/// Whether the seek table's checksum is the frame's. A frame with a content checksum ends with
/// the same value (the low 32 bits of XXH64 of the content), which libzstd has verified
/// against the content by now: comparing the two costs nothing, where hashing the content
/// again would cost a pass over it. A frame without one is hashed.
pub(super) fn check_frame(expected: u32, frame: &[u8], content: &[u8]) -> bool {
    let one_frame_with_checksum = frame.len() >= super::frame::MAX_HEADER
        && frame.starts_with(&super::frame::MAGIC)
        && super::frame::has_checksum(frame)
        && super::frame::content_size(frame) == Some(content.len() as u64);
    match frame.len().checked_sub(4).filter(|_| one_frame_with_checksum) {
        Some(at) => u32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]]) == expected,
        None => checksum(content) == expected,
    }
}

/// One frame per block, each with zstd's own content checksum and size.
pub(super) struct FrameCompressor {
    cctx: CCtx<'static>,
}

impl FrameCompressor {
    fn new(settings: &Settings) -> CodecResult<Self> {
        let mut cctx = CCtx::try_create().ok_or_else(Fault::out_of_memory)?;
        cctx.set_parameter(CParameter::CompressionLevel(settings.level)).map_err(encoder_error)?;
        cctx.set_parameter(CParameter::ChecksumFlag(settings.checksum)).map_err(encoder_error)?;
        cctx.set_parameter(CParameter::ContentSizeFlag(true)).map_err(encoder_error)?;
        if let Some(log) = crate::memory::zstd::capped_window_log(settings.level, settings.history_log()) {
            cctx.set_parameter(CParameter::WindowLog(log)).map_err(encoder_error)?;
        }
        Ok(FrameCompressor { cctx })
    }
}

impl BlockCompressor for FrameCompressor {
    type Summary = BlockSummary;

    fn compress_block(&mut self, _dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> CodecResult<BlockSummary> {
        out.clear();
        out.reserve(zstd_safe::compress_bound(input.len()));
        self.cctx.compress2(out, input).map_err(encoder_error)?;
        let c_len = out.len() as u64;
        if c_len > u64::from(u32::MAX) {
            return Err(Fault::backend("a seekable zstd frame exceeds 4 GiB"));
        }
        Ok(BlockSummary { d_len: input.len() as u64, c_len, checksum: checksum(input) })
    }
}

impl BlockFormat for FrameCompressor {
    const RECORDS_BLOCKS: bool = true;

    fn trailer(blocks: &[BlockSummary], out: &mut Vec<u8>) -> CodecResult<()> {
        if blocks.len() as u64 > MAX_FRAMES {
            return Err(Fault::InvalidConfig(format!(
                "a seekable zstd stream holds at most {MAX_FRAMES} frames; use larger blocks"
            )));
        }
        let size = blocks.len() * 12 + FOOTER_LEN as usize;
        out.reserve(SKIPPABLE_HEADER_LEN as usize + size);
        out.extend_from_slice(&TABLE_MAGIC.to_le_bytes());
        out.extend_from_slice(&(size as u32).to_le_bytes());
        for b in blocks {
            out.extend_from_slice(&(b.c_len as u32).to_le_bytes());
            out.extend_from_slice(&(b.d_len as u32).to_le_bytes());
            out.extend_from_slice(&b.checksum.to_le_bytes());
        }
        out.extend_from_slice(&(blocks.len() as u32).to_le_bytes());
        out.push(CHECKSUM_FLAG);
        out.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
        Ok(())
    }
}

/// The seekable encoder: `block` bytes per frame, compressed by `threads` workers (inline
/// without).
pub(super) fn encoder(settings: &Settings, block: usize) -> CodecResult<IndexedEncoder<FrameCompressor>> {
    let engine = Parallel::new(settings.threads.unwrap_or(0), block, 0, || FrameCompressor::new(settings))?;
    Ok(IndexedEncoder::new(ParallelStream::new(engine)))
}

/// The seekable encoder's memory: the engine's blocks and a context per worker.
pub(super) fn encoder_memory(settings: &Settings, block: usize, threads: usize) -> usize {
    let compressors =
        threads.max(1) * crate::memory::zstd::cstream_bytes(settings.level, settings.history_log());
    crate::codec::parallel::buffer_bytes(threads, block, 0, zstd_safe::compress_bound(block)) + compressors
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Read the seek table at the end of `source`.
pub(super) fn read_index(source: &mut dyn Source, max_memory: u64) -> Result<Index, IndexError> {
    let len = source.len();
    let no_index = || Fault::unsupported("no index: not a seekable zstd stream (no seek table at its end)");
    if len < FOOTER_LEN + SKIPPABLE_HEADER_LEN {
        return Err(no_index().into());
    }
    let footer = read_vec(source, len - FOOTER_LEN, FOOTER_LEN, "the seek table footer")?;
    if u32_at(&footer, 5) != SEEKABLE_MAGIC {
        return Err(no_index().into());
    }
    let frames = u64::from(u32_at(&footer, 0));
    let descriptor = footer[4];
    if descriptor & !CHECKSUM_FLAG != 0 {
        return Err(Fault::corrupt("seek table: reserved descriptor bits are set").into());
    }
    let with_checksums = descriptor & CHECKSUM_FLAG != 0;
    let entry_len: u64 = if with_checksums { 12 } else { 8 };
    if frames > MAX_FRAMES {
        return Err(Fault::corrupt("seek table: too many frames").into());
    }
    let table_len = frames * entry_len + FOOTER_LEN;
    let frame_len = SKIPPABLE_HEADER_LEN + table_len;
    if frame_len > len {
        return Err(Fault::corrupt("seek table: larger than the file").into());
    }
    let table_start = len - frame_len;
    let header = read_vec(source, table_start, SKIPPABLE_HEADER_LEN, "the seek table")?;
    if u32_at(&header, 0) != TABLE_MAGIC || u64::from(u32_at(&header, 4)) != table_len {
        return Err(Fault::corrupt("seek table: its skippable frame header does not match its footer").into());
    }
    let mut index = Index::new(max_memory);
    index.reserve(frames)?;
    // the entries, read a bounded chunk at a time
    let per_chunk = 4096u64;
    let mut c_off = 0u64;
    let mut at = table_start + SKIPPABLE_HEADER_LEN;
    let mut left = frames;
    while left > 0 {
        let n = left.min(per_chunk);
        let chunk = read_vec(source, at, n * entry_len, "the seek table")?;
        for e in chunk.chunks_exact(entry_len as usize) {
            let (c_len, d_len) = (u64::from(u32_at(e, 0)), u64::from(u32_at(e, 4)));
            if d_len > MAX_FRAME_CONTENT {
                return Err(Fault::corrupt("seek table: a frame larger than 1 GiB").into());
            }
            let sum = with_checksums.then(|| u32_at(e, 8));
            index.push(c_off, c_len, d_len, sum, 0)?;
            c_off = c_off.checked_add(c_len).ok_or_else(|| Fault::corrupt("seek table: sizes overflow"))?;
        }
        at += n * entry_len;
        left -= n;
    }
    index.check_tiling(0, table_start)?;
    // the content sizes frames declare (ours always do) must be the table's: a lying size
    // would shift every later frame's content offset
    for (k, e) in index.entries.iter().enumerate() {
        let header = read_vec(source, e.c_off, e.c_len.min(super::frame::MAX_HEADER as u64), "a frame")?;
        if header.starts_with(&super::frame::MAGIC) {
            match super::frame::content_size(&header) {
                Some(size) if size != e.d_len => {
                    return Err(Fault::corrupt(format!(
                        "seek table: frame {k} declares {size} bytes of content, the table {}",
                        e.d_len
                    ))
                    .into())
                }
                _ => {}
            }
        }
    }
    Ok(index)
}

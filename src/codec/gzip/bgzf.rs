//! BGZF, the blocked gzip of bgzip, htslib and noodles (SAM/BAM specification, section 4.1):
//! gzip members of at most 64 KiB, each with its total size in a `BC` extra field, and a
//! 28-byte empty member at the end. Every gzip decoder reads it as a multi-member file; the
//! sizes let a reader hop from member to member and so find any offset.
//!
//! ```text
//! 1f 8b 08 04  mtime 0 (4)  xfl 0  os ff  xlen 6 (2)  'B' 'C' slen 2 (2) bsize (2)
//! raw deflate data          crc32 (4)  isize (4)          bsize = member length - 1
//! ```

use flate2::{Compress, Compression, FlushCompress};

use crate::codec::deflate::stream::compressor_error;
use crate::codec::parallel::{BlockCompressor, Parallel, ParallelStream};
use crate::codec::seekable::{
    read_vec, BlockFormat, BlockSummary, Index, IndexError, IndexedEncoder, Source,
};
use crate::codec::spec::preset;
use crate::codec::{CodecResult, Fault};
use crate::settings::Settings;

/// The largest block of input: bgzip's, so that even a stored block fits a member.
pub(super) const MAX_BLOCK: u64 = 0xff00;
/// The most a BGZF member may hold, compressed or not.
const MAX_MEMBER: usize = 0x10000;
const HEADER_LEN: usize = 18;
const TRAILER_LEN: usize = 8;
/// The header up to BSIZE: magic, deflate, FEXTRA, mtime 0, xfl 0, OS unknown, XLEN 6, `BC`,
/// SLEN 2.
const HEADER: [u8; 16] = [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0];
/// The end-of-file marker: an empty member.
pub(super) const EOF_MEMBER: [u8; 28] =
    [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// gzip's FEXTRA flag.
const FEXTRA: u8 = 4;

/// One member per block.
pub(super) struct MemberCompressor {
    level: Compression,
}

impl MemberCompressor {
    /// Deflate `input` at `level` into `out` behind the header; false if it does not fit a
    /// member.
    fn deflate(level: Compression, input: &[u8], out: &mut Vec<u8>) -> CodecResult<bool> {
        out.truncate(HEADER_LEN);
        // a fresh compressor per block: the output must not depend on the previous block
        let mut deflate = Compress::new(level, false);
        out.reserve(MAX_MEMBER + 64 - out.len());
        let limit = out.capacity();
        deflate.compress_vec(input, out, FlushCompress::Finish).map_err(compressor_error)?;
        let done = deflate.total_in() as usize == input.len() && out.len() < limit;
        Ok(done && out.len() + TRAILER_LEN <= MAX_MEMBER)
    }
}

impl BlockCompressor for MemberCompressor {
    type Summary = BlockSummary;

    fn compress_block(&mut self, _dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> CodecResult<BlockSummary> {
        out.clear();
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&[0, 0]);
        // incompressible input: stored blocks always fit (65280 bytes + 5 bytes of block header)
        if !Self::deflate(self.level, input, out)? && !Self::deflate(Compression::none(), input, out)? {
            return Err(Fault::backend("a BGZF block does not fit in 64 KiB"));
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(input);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&(input.len() as u32).to_le_bytes());
        let bsize = (out.len() - 1) as u16;
        out[16..18].copy_from_slice(&bsize.to_le_bytes());
        Ok(BlockSummary { d_len: input.len() as u64, c_len: out.len() as u64, checksum: 0 })
    }
}

impl BlockFormat for MemberCompressor {
    const RECORDS_BLOCKS: bool = false;

    fn trailer(_blocks: &[BlockSummary], out: &mut Vec<u8>) -> CodecResult<()> {
        out.extend_from_slice(&EOF_MEMBER);
        Ok(())
    }
}

/// The BGZF encoder: `block` bytes per member, compressed by `threads` workers (inline
/// without).
pub(super) fn encoder(settings: &Settings, block: usize) -> CodecResult<IndexedEncoder<MemberCompressor>> {
    let level = Compression::new(preset(settings));
    let engine = Parallel::new(settings.threads.unwrap_or(0), block, 0, || Ok(MemberCompressor { level }))?;
    Ok(IndexedEncoder::new(ParallelStream::new(engine)))
}

/// The BGZF encoder's memory: the engine's blocks and a compressor per worker.
pub(super) fn encoder_memory(settings: &Settings, block: usize) -> usize {
    let threads = settings.threads.unwrap_or(0);
    crate::codec::parallel::buffer_bytes(threads, block, 0, MAX_MEMBER + 64)
        + threads.max(1) * crate::codec::deflate::compressor_bytes(15)
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// The member's `BC` field (its size - 1), if its extra field has one.
fn bsize(extra: &[u8]) -> Option<u16> {
    let mut rest = extra;
    while rest.len() >= 4 {
        let len = usize::from(u16_at(rest, 2));
        let field = rest.get(4..4 + len)?;
        if rest[0] == b'B' && rest[1] == b'C' && len == 2 {
            return Some(u16_at(field, 0));
        }
        rest = &rest[4 + len..];
    }
    None
}

/// What a gzip member's first bytes say about its BGZF block size.
pub(super) enum Head {
    /// Not yet known: the first this many bytes are needed.
    NeedMore(usize),
    /// Not a gzip member.
    NotGzip,
    /// A gzip member without an extra field.
    NoExtra,
    /// A gzip member whose extra field has no `BC` field.
    NoBlockSize,
    /// A `BC` field too small for the member's own header and trailer.
    TooSmall,
    /// The member's length (BSIZE + 1).
    Len(usize),
}

/// Read a member's BGZF block size from its first bytes: the one reading of the header that
/// the threaded decoder's measure and the index walk share.
pub(super) fn member_len(head: &[u8]) -> Head {
    if head.len() < 12 {
        return Head::NeedMore(12);
    }
    if head[..3] != HEADER[..3] {
        return Head::NotGzip;
    }
    if head[3] & FEXTRA == 0 {
        return Head::NoExtra;
    }
    let xlen = usize::from(u16_at(head, 10));
    let Some(extra) = head.get(12..12 + xlen) else { return Head::NeedMore(12 + xlen) };
    match bsize(extra) {
        None => Head::NoBlockSize,
        Some(bsize) if usize::from(bsize) + 1 < 12 + xlen + TRAILER_LEN => Head::TooSmall,
        Some(bsize) => Head::Len(usize::from(bsize) + 1),
    }
}

/// Walk the members from the start: a hop per member, reading its header and its ISIZE.
pub(super) fn read_index(source: &mut dyn Source, max_memory: u64) -> Result<Index, IndexError> {
    let len = source.len();
    let mut index = Index::new(max_memory);
    let mut pos = 0u64;
    while pos < len {
        let mut head = read_vec(source, pos, 12, "a BGZF member header")?;
        let member = loop {
            match member_len(&head) {
                Head::NeedMore(n) => head = read_vec(source, pos, n as u64, "a BGZF member header")?,
                Head::Len(len) => break len as u64,
                Head::NotGzip | Head::NoExtra => {
                    let detail = if pos == 0 {
                        "no index: a gzip stream without BGZF block sizes (not written by bgzip or Config::seekable)"
                    } else {
                        "no index: a gzip member without a BGZF block size follows the BGZF members"
                    };
                    return Err(Fault::unsupported(detail).into());
                }
                Head::NoBlockSize => {
                    return Err(Fault::unsupported("no index: a gzip member without a BGZF block size").into())
                }
                Head::TooSmall => {
                    return Err(Fault::corrupt("BGZF: a block size smaller than its member's header").into())
                }
            }
        };
        let tail = read_vec(source, pos + member - 4, 4, "a BGZF block size")?;
        let isize = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
        if isize > MAX_MEMBER as u64 {
            return Err(Fault::corrupt("BGZF: a block holding more than 64 KiB").into());
        }
        index.push(pos, member, isize, None, 0)?;
        pos += member;
    }
    if index.entries.is_empty() {
        return Err(Fault::unsupported("no index: an empty file").into());
    }
    Ok(index)
}

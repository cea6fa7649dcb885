//! Random access over independently decodable blocks, the part every format shares.
//!
//! - **Writing** (`Config::seekable`): [`IndexedEncoder`] cuts the input into blocks of a
//!   fixed size, compresses each as a complete member of the format (a zstd frame, a BGZF
//!   gzip member) on the parallel engine (`parallel.rs`, inline with no threads), and ends
//!   the stream with the format's trailer (the zstd seek table, BGZF's end-of-file member).
//!   xz needs none of this: liblzma's own block encoder and index do it (`codec/xz`).
//! - **Reading** (`SeekableDecoder`): a format's [`RandomAccess`] reads its index into an
//!   [`Index`] — where each block is in the file and in the content — and says how one block
//!   is presented to the format's ordinary decoder, which then checks it like any member.
//!
//! The index is hostile input like the rest: every reader validates it against the file (the
//! blocks must tile the file exactly where the format says they do), sums are checked for
//! overflow, and the index's own memory is bounded by `max_memory` before it grows.

use std::io;

use crate::codec::parallel::{BlockCompressor, ParallelStream};
use crate::codec::{CodecResult, Encode, Fault, InBuf, OutBuf, Status};

/// A format's random-access support (in its [`Codec`](crate::codec::spec::Codec)).
#[derive(Clone, Copy)]
pub(crate) struct RandomAccess {
    /// The largest block `Config::seekable` accepts for this format.
    pub max_block: u64,
    /// Read the index of the stream `source` holds; `max_memory` bounds the index itself.
    pub read_index: fn(source: &mut dyn Source, max_memory: u64) -> Result<Index, IndexError>,
    /// Present a block's bytes to the format's decoder as a complete stream, when the raw
    /// bytes are not one (an xz block needs a stream header, an index and a footer around
    /// it). `None`: the block is a member as it stands.
    pub frame_block: Option<FrameBlock>,
    /// Whether the checksum an index entry carries (zstd seek tables may) is right for the
    /// block, given its compressed bytes and its content (the content has been decoded, and
    /// whatever the format checks itself has been checked).
    pub check_block: Option<CheckBlock>,
}

/// Writes a block's bytes, framed as a complete stream, into the vector.
pub(crate) type FrameBlock = fn(&Entry, &[u8], &mut Vec<u8>);

/// Verifies an index entry's checksum: `(checksum, compressed bytes, content)`.
pub(crate) type CheckBlock = fn(u32, &[u8], &[u8]) -> bool;

/// Random access to the compressed file: its length and positioned reads.
pub(crate) trait Source {
    /// The file's length in bytes.
    fn len(&self) -> u64;
    /// Fill `buf` from `pos` on; `pos + buf.len()` is within `len()` (the readers check).
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// Why an index could not be read: the inner reader failed, or the data is wrong.
#[derive(Debug)]
pub(crate) enum IndexError {
    Io(io::Error),
    Data(Fault),
}

impl From<io::Error> for IndexError {
    fn from(e: io::Error) -> Self {
        IndexError::Io(e)
    }
}

impl From<Fault> for IndexError {
    fn from(f: Fault) -> Self {
        IndexError::Data(f)
    }
}

/// One block: where it is in the file and in the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Offset and length of its compressed bytes in the file.
    pub c_off: u64,
    pub c_len: u64,
    /// Offset and length of its content in the uncompressed stream.
    pub d_off: u64,
    pub d_len: u64,
    /// The checksum the index gives for its content (zstd seek tables may), verified with
    /// [`RandomAccess::check_block`].
    pub checksum: Option<u32>,
    /// What the format needs to frame the block (xz: its unpadded size and check type).
    pub aux: u64,
}

/// Every block of a stream, in order.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub entries: Vec<Entry>,
    /// The content's length: the sum of the blocks'.
    pub len: u64,
    /// The most memory the index may take.
    max_memory: u64,
}

impl Index {
    pub fn new(max_memory: u64) -> Self {
        Index { entries: Vec::new(), len: 0, max_memory }
    }

    /// Check that `more` entries still fit in `max_memory` before allocating them.
    pub fn reserve(&mut self, more: u64) -> Result<(), Fault> {
        let bytes = (self.entries.len() as u64)
            .saturating_add(more)
            .saturating_mul(std::mem::size_of::<Entry>() as u64);
        if bytes > self.max_memory {
            return Err(Fault::Limit(self.max_memory));
        }
        self.entries.reserve(usize::try_from(more).map_err(|_| Fault::Limit(self.max_memory))?);
        Ok(())
    }

    /// Append the next block; its content starts where the previous one's ends.
    pub fn push(
        &mut self,
        c_off: u64,
        c_len: u64,
        d_len: u64,
        checksum: Option<u32>,
        aux: u64,
    ) -> Result<(), Fault> {
        if self.entries.len() == self.entries.capacity() {
            self.reserve(self.entries.len().max(16) as u64)?;
        }
        let d_off = self.len;
        self.len = d_off.checked_add(d_len).ok_or_else(|| Fault::corrupt("index: content size overflows"))?;
        self.entries.push(Entry { c_off, c_len, d_off, d_len, checksum, aux });
        Ok(())
    }

    /// The block holding content offset `pos` (the first non-empty one), if `pos < len`.
    pub fn find(&self, pos: u64) -> Option<usize> {
        let i = self.entries.partition_point(|e| e.d_off + e.d_len <= pos);
        (i < self.entries.len()).then_some(i)
    }

    /// Check that the blocks, in order, tile `[start, end)` of the file exactly.
    pub fn check_tiling(&self, start: u64, end: u64) -> Result<(), Fault> {
        let mut at = start;
        for e in &self.entries {
            if e.c_off != at {
                return Err(Fault::corrupt("index: blocks do not follow each other in the file"));
            }
            at = at.checked_add(e.c_len).ok_or_else(|| Fault::corrupt("index: block sizes overflow"))?;
        }
        if at != end {
            return Err(Fault::corrupt("index: block sizes do not add up to the file's"));
        }
        Ok(())
    }
}

/// Read `len` bytes at `pos` into a fresh vector, checking the range against the file.
pub(crate) fn read_vec(
    source: &mut dyn Source,
    pos: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, IndexError> {
    match pos.checked_add(len) {
        Some(end) if end <= source.len() => {}
        _ => return Err(Fault::corrupt(format!("{what} points outside the file")).into()),
    }
    let mut buf =
        vec![0u8; usize::try_from(len).map_err(|_| Fault::corrupt(format!("{what} is too large")))?];
    source.read_at(pos, &mut buf)?;
    Ok(buf)
}

/// What a block compressor reports for one block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockSummary {
    pub d_len: u64,
    pub c_len: u64,
    /// The block's content checksum, for formats whose index has one.
    pub checksum: u32,
}

/// A format that writes seekable streams from independent blocks.
pub(crate) trait BlockFormat: BlockCompressor<Summary = BlockSummary> {
    /// Whether the trailer lists the blocks (so the encoder must remember them).
    const RECORDS_BLOCKS: bool;
    /// The stream's end, after the last block: its index, or an end marker.
    fn trailer(blocks: &[BlockSummary], out: &mut Vec<u8>) -> CodecResult<()>;
}

/// A stream of independent blocks and the format's trailer (see the module docs).
pub(crate) struct IndexedEncoder<C: BlockFormat> {
    stream: ParallelStream<C>,
    blocks: Vec<BlockSummary>,
    trailer: Vec<u8>,
    /// How much of `trailer` has been written; `None` until the trailer is made.
    trailer_pos: Option<usize>,
}

impl<C: BlockFormat> IndexedEncoder<C> {
    pub fn new(stream: ParallelStream<C>) -> Self {
        IndexedEncoder { stream, blocks: Vec::new(), trailer: Vec::new(), trailer_pos: None }
    }

    fn record(blocks: &mut Vec<BlockSummary>) -> impl FnMut(&BlockSummary) + '_ {
        move |summary| {
            if C::RECORDS_BLOCKS && summary.d_len > 0 {
                blocks.push(*summary);
            }
        }
    }
}

impl<C: BlockFormat> Encode for IndexedEncoder<C> {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
        self.stream.encode(input, output, &mut Self::record(&mut self.blocks))
    }

    /// Ends the current block early (a short block), so that everything so far is in
    /// complete blocks.
    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        self.stream.flush(output, &mut Self::record(&mut self.blocks))
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        let pos = match &mut self.trailer_pos {
            Some(pos) => pos,
            None => {
                if self.flush(output)? == Status::Ongoing {
                    return Ok(Status::Ongoing);
                }
                self.trailer.clear();
                C::trailer(&self.blocks, &mut self.trailer)?;
                self.trailer_pos.insert(0)
            }
        };
        Ok(if output.drain(&self.trailer, pos) { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.blocks.clear();
        self.trailer_pos = None;
        self.stream.reset()
    }
}

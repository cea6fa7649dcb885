//! The threaded bzip2 decoder's worker (see `threaded.rs`): a block, cut out of the stream
//! by its magics, decoded by libbz2 as a one-block stream of its own — joined with the block
//! after it if it does not decode alone — into at most twice the level's block size.

use bzip2::Decompress;

use super::block_size;
use super::split::{block_crc, one_block_stream};
use super::stream::decompress;
use crate::codec::parallel::BlockCompressor;
use crate::codec::{CodecResult, Fault, InBuf, OutBuf};

/// A job: level, flags (`SMALL`, `TAIL`), the block's first bit in `data[0]`, the block's
/// and the lookahead's length in bits, then `data`.
pub(super) const JOB_HEADER: usize = 19;
/// libbz2's small-memory mode.
pub(super) const SMALL: u8 = 1;
/// The input ended inside this block: decode what of it the input holds, as one thread
/// would (libbz2 writes a block out once its data is complete, before the next magic).
pub(super) const TAIL: u8 = 2;

/// The most a valid block can take, compressed, at level `n`: libbz2 reads at most one symbol
/// per block byte and an end symbol, each at most 20 bits, after less than 64 KiB of tables.
pub(super) fn piece_max(level: u32) -> usize {
    20 * (block_size(level) + 1) / 8 + (64 << 10)
}

/// What a worker decodes a block into before handing it back to the caller's thread instead.
pub(super) fn output_cap(level: u32) -> usize {
    2 * block_size(level)
}

/// What decoding a block gave.
pub(super) enum Piece {
    /// The block decoded alone; its CRC. Output: its content.
    Alone(u32),
    /// The block decoded only joined with its lookahead (whose own job is then dropped).
    Merged(u32),
    /// The block decodes to more than the cap: the caller's thread goes on with it.
    Rest(Box<Handover>),
    /// The block is bad. Output: what libbz2 gave before finding so.
    Bad(Fault),
    /// A `TAIL` block: what libbz2 gave before the input ran out.
    Tail,
    /// libbz2 read past the block (or the joined blocks) into the end that the job added
    /// and then failed or wanted more: what it makes of the block depends on the bits that
    /// really follow, so the caller's thread decodes on from the block's start as one thread
    /// does (see `Fallback`). Output: what libbz2 gave before.
    Overran,
}

/// A block handed back to the caller's thread in the middle (see `Replay`). Output: the
/// `decoded` bytes so far, the one-block stream, then the joined one (empty without a
/// lookahead).
pub(super) struct Handover {
    /// libbz2 in the middle of the stream (`joined`: the joined one), `used` bytes into it.
    pub(super) bz: Decompress,
    pub(super) used: usize,
    pub(super) joined: bool,
    pub(super) decoded: usize,
    pub(super) alone_len: usize,
    pub(super) crc: u32,
    pub(super) small: bool,
    pub(super) tail: bool,
}

pub(super) const ENDS_EARLY: &str = "a block ends before its end of block";
pub(super) const CHANCE_END: &str =
    "the threaded decoder took a chance match of the end magic for a stream's end; decode with one thread";

/// A worker.
pub(super) struct PieceDecoder {
    /// The one-block stream being decoded.
    pub(super) stream: Vec<u8>,
}

/// How decoding a one-block stream ended.
enum Inflated {
    Done(usize),
    /// `out[..cap]` is full: libbz2, and how much of the stream it has used.
    TooBig(Decompress, usize),
    /// The stream ran out before its end: a block cut short (or a `TAIL` block).
    Starved(usize),
    /// libbz2 failed after `.2` bytes of the stream.
    Failed(usize, Fault, usize),
}

/// Decode a one-block stream into `out[..cap]`.
fn inflate(stream: &[u8], small: bool, out: &mut Vec<u8>, cap: usize) -> Inflated {
    if out.len() < cap {
        out.resize(cap, 0);
    }
    let mut bz = Decompress::new(small);
    let mut input = InBuf::new(stream);
    let mut output = OutBuf::new(&mut out[..cap]);
    loop {
        let (in0, out0) = (input.pos, output.pos);
        match decompress(&mut bz, &mut input, &mut output) {
            Ok(true) => return Inflated::Done(output.pos),
            Ok(false) if output.is_full() => return Inflated::TooBig(bz, input.pos),
            Ok(false) if input.pos == in0 && output.pos == out0 => return Inflated::Starved(output.pos),
            Ok(false) => {}
            Err(fault) => return Inflated::Failed(output.pos, fault, input.pos),
        }
    }
}

impl BlockCompressor for PieceDecoder {
    type Summary = Piece;

    fn compress_block(&mut self, _dict: &[u8], job: &[u8], out: &mut Vec<u8>) -> CodecResult<Piece> {
        let (level, small, tail, at) = (job[0], job[1] & SMALL != 0, job[1] & TAIL != 0, u64::from(job[2]));
        let field = |i: usize| u64::from_le_bytes(job[i..i + 8].try_into().unwrap_or_default());
        let (alone, lookahead) = (field(3), field(11));
        let data = &job[JOB_HEADER..];
        let crc = block_crc(data, at);
        let end = (!tail).then_some(crc);
        let cap = output_cap(u32::from(level));
        self.stream.clear();
        one_block_stream(level, data, at, alone, end, &mut self.stream);
        let mut result = inflate(&self.stream, small, out, cap);
        let mut merged = false;
        if matches!(result, Inflated::Failed(..) | Inflated::Starved(_)) && lookahead > 0 {
            self.stream.clear();
            one_block_stream(level, data, at, alone + lookahead, end, &mut self.stream);
            result = inflate(&self.stream, small, out, cap);
            merged = true;
        }
        // where the bits the job added begin in the stream libbz2 read last
        let added = 4 + (alone + if merged { lookahead } else { 0 }) as usize / 8;
        Ok(match result {
            Inflated::Done(n) => {
                out.truncate(n);
                if merged {
                    Piece::Merged(crc)
                } else {
                    Piece::Alone(crc)
                }
            }
            Inflated::Starved(n) if tail => {
                out.truncate(n);
                Piece::Tail
            }
            Inflated::Starved(n) => {
                out.truncate(n);
                Piece::Overran
            }
            Inflated::Failed(n, _, used) if used > added => {
                out.truncate(n);
                Piece::Overran
            }
            Inflated::Failed(n, fault, _) => {
                out.truncate(n);
                Piece::Bad(fault)
            }
            Inflated::TooBig(bz, used) => {
                out.truncate(cap);
                one_block_stream(level, data, at, alone, end, out);
                let alone_len = out.len() - cap;
                if lookahead > 0 {
                    one_block_stream(level, data, at, alone + lookahead, end, out);
                }
                let rest = Handover { bz, used, joined: merged, decoded: cap, alone_len, crc, small, tail };
                Piece::Rest(Box::new(rest))
            }
        })
    }

    const KEEP_OUTPUT: bool = true;
}

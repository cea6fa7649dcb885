//! pbzip2-style multithreaded bzip2: the input cut into blocks of the level's block size, each
//! compressed by a worker into a complete stream; the streams concatenated make a multi-stream
//! file that every bzip2 reads. The cuts depend only on the level, so the bytes are the same for
//! every thread count (see `codec/parallel.rs` for the engine).

use bzip2::Action;

use super::stream::{compress, compressor};
use super::{block_size, END_MAGIC, HEADER};
use crate::codec::parallel::{self as engine, BlockCompressor, Parallel, ParallelStream};
use crate::codec::{CodecResult, Encode, Fault, InBuf, OutBuf, Status};

/// One block as one stream.
struct Bzip2Block {
    level: u32,
}

/// More than libbz2 writes for a block of `n` bytes: the stream header and trailer, and 1 %
/// plus 600 bytes of expansion on incompressible input (bzip2's documented bound).
fn stream_bound(n: usize) -> usize {
    n + n / 100 + 600 + 32
}

impl BlockCompressor for Bzip2Block {
    type Summary = ();

    fn compress_block(&mut self, _dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> CodecResult<()> {
        let mut bz = compressor(self.level);
        out.resize(stream_bound(input.len()), 0);
        let mut src = InBuf::new(input);
        let mut dst = OutBuf::new(out);
        // libbz2 finishes in one call given room for the whole stream; it is called again
        // only while it makes progress
        while compress(&mut bz, &mut src, &mut dst, Action::Finish)? != bzip2::Status::StreamEnd {
            if dst.is_full() {
                return Err(Fault::backend("bzip2 compressor: output bound exceeded"));
            }
        }
        let len = dst.pos;
        out.truncate(len);
        Ok(())
    }
}

/// Multithreaded bzip2 (one stream per block).
pub(crate) struct ParallelBzip2 {
    stream: ParallelStream<Bzip2Block>,
    level: u32,
    /// Whether a stream has been written: an empty input still gets one (an empty stream), so
    /// that the output is a bzip2 file.
    wrote: bool,
    /// The empty stream, once it is being written: bytes written so far.
    empty_pos: Option<usize>,
}

impl ParallelBzip2 {
    pub fn new(level: u32, threads: usize) -> CodecResult<Self> {
        let engine = Parallel::new(threads, block_size(level), 0, || Ok(Bzip2Block { level }))?;
        Ok(ParallelBzip2 { stream: ParallelStream::new(engine), level, wrote: false, empty_pos: None })
    }

    /// The empty stream: header, end magic, combined CRC 0, padding.
    fn empty_stream(&self) -> [u8; 14] {
        let mut s = [0u8; 14];
        s[..3].copy_from_slice(&HEADER);
        s[3] = b'0' + self.level as u8;
        s[4..10].copy_from_slice(&END_MAGIC);
        s
    }
}

impl Encode for ParallelBzip2 {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
        self.wrote |= !input.is_empty();
        self.stream.encode(input, output, &mut |_| {})
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        self.stream.flush(output, &mut |_| {})
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if self.empty_pos.is_none() && self.stream.flush(output, &mut |_| {})? == Status::Ongoing {
            return Ok(Status::Ongoing);
        }
        if self.wrote {
            return Ok(Status::Done);
        }
        let empty = self.empty_stream();
        let pos = self.empty_pos.get_or_insert(0);
        Ok(if output.drain(&empty, pos) { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.wrote = false;
        self.empty_pos = None;
        self.stream.reset()
    }
}

/// The engine's buffers for `threads` workers at this level (not the compressors).
pub(crate) fn engine_bytes(level: u32, threads: usize) -> usize {
    let block = block_size(level);
    engine::buffer_bytes(threads, block, 0, stream_bound(block))
}

//! pigz-style multithreaded deflate: 128 KiB blocks compressed by worker threads, each primed
//! with the previous 32 KiB as its dictionary and ended with a sync flush, so that the pieces
//! join byte-aligned into one deflate stream (see `codec/parallel.rs` for the engine).

use flate2::{Compress, Compression, FlushCompress};

use super::stream::compressor_error;
use crate::codec::parallel::{self as engine, BlockCompressor, Parallel, ParallelStream};
use crate::codec::spec::preset;
use crate::codec::{CodecResult, Encode, InBuf, OutBuf, Status};
use crate::settings::Settings;

/// pigz-style block: raw deflate primed with the preceding input as a dictionary, ended with
/// a sync flush so that blocks join byte-aligned into one deflate stream.
///
/// Each block gets a freshly initialised compressor: zlib-rs's `reset` leaves hash-chain
/// state behind that changes later match choices (valid output, but different bytes
/// depending on what the compressor did before), and the output must not depend on which
/// worker compressed which block. A new compressor costs ~3 µs; a block takes ~1 ms.
pub(crate) struct DeflateBlock {
    level: Compression,
    window_bits: u8,
}

/// More than deflate can produce for `n` input bytes plus a sync flush (zlib's deflateBound
/// for stored blocks is n + 5 bytes per 16 KiB + a few bytes).
fn deflate_bound(n: usize) -> usize {
    n + n / 8 + 64
}

impl BlockCompressor for DeflateBlock {
    /// The block's CRC-32 (gzip combines them in order).
    type Summary = crc32fast::Hasher;

    fn compress_block(&mut self, dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> CodecResult<Self::Summary> {
        let mut deflate = Compress::new_with_window_bits(self.level, false, self.window_bits);
        if !dict.is_empty() {
            deflate.set_dictionary(dict).map_err(compressor_error)?;
        }
        out.reserve(deflate_bound(input.len()));
        deflate.compress_vec(input, out, FlushCompress::Sync).map_err(compressor_error)?;
        if deflate.total_in() as usize != input.len() || out.len() == out.capacity() {
            return Err(compressor_error("output bound exceeded"));
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(input);
        Ok(crc)
    }
}

/// The final block of a pigz-style stream: an empty fixed-Huffman block with BFINAL set.
const FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];
/// pigz's block size: large enough that a block's startup cost is noise, small enough for
/// many blocks in flight.
const PARALLEL_BLOCK: usize = 128 * 1024;

/// Multithreaded raw deflate (pigz-style; see `parallel.rs`).
pub(crate) struct ParallelDeflate {
    stream: ParallelStream<DeflateBlock>,
    /// CRC-32 of every block written out so far.
    crc: crc32fast::Hasher,
    end_pos: usize,
}

impl ParallelDeflate {
    pub fn new(settings: &Settings, threads: usize) -> CodecResult<Self> {
        let level = Compression::new(preset(settings));
        let window_bits = super::window_bits(settings);
        let engine = Parallel::new(threads, PARALLEL_BLOCK, 1 << window_bits, || {
            Ok(DeflateBlock { level, window_bits })
        })?;
        Ok(ParallelDeflate { stream: ParallelStream::new(engine), crc: crc32fast::Hasher::new(), end_pos: 0 })
    }

    /// The CRC-32 of all input written out so far (all of it once `finish` is done).
    pub fn crc(&self) -> u32 {
        self.crc.clone().finalize()
    }
}

impl Encode for ParallelDeflate {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
        let crc = &mut self.crc;
        self.stream.encode(input, output, &mut |h| crc.combine(h))
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        let crc = &mut self.crc;
        self.stream.flush(output, &mut |h| crc.combine(h))
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if self.end_pos == 0 && self.flush(output)? == Status::Ongoing {
            return Ok(Status::Ongoing);
        }
        Ok(if output.drain(&FINAL_EMPTY_BLOCK, &mut self.end_pos) { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.crc = crc32fast::Hasher::new();
        self.end_pos = 0;
        self.stream.reset()
    }
}

/// The engine's buffers for `threads` workers at this window (not the compressors).
pub(crate) fn engine_bytes(threads: usize, window_bits: u8) -> usize {
    engine::buffer_bytes(threads, PARALLEL_BLOCK, 1 << window_bits, deflate_bound(PARALLEL_BLOCK))
}

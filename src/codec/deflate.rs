//! Raw deflate (RFC 1951) and zlib (RFC 1950) over flate2's `Compress`/`Decompress`.
//!
//! flate2's own stream adapters ignore bytes after the end of the stream and finish in
//! `Drop`; we use only its state machines, so the adapters' end-of-stream policy applies. The
//! raw codecs are also the body of gzip (`gzip.rs`), which is why the format used in error
//! messages is a parameter.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use crate::buf::{InBuf, OutBuf, Status};
use crate::codec::parallel::{BlockCompressor, Parallel, ParallelStream};
use crate::codec::{Decode, Encode};
use crate::config::Settings;
use crate::{Error, Format, Result};

/// Raw deflate or zlib compressor.
pub(crate) struct DeflateEncoder {
    inner: Compress,
    /// A sync flush has been issued and its output is still being drained.
    flushing: bool,
}

impl DeflateEncoder {
    /// `format` is `Zlib` for a zlib stream; anything else gives raw deflate.
    pub fn new(format: Format, settings: &Settings) -> Self {
        // level was validated into 0..=9 by Config::resolve
        let level = Compression::new(settings.level.clamp(0, 9) as u32);
        let window_bits = crate::memory::deflate_window_bits(settings);
        let inner = Compress::new_with_window_bits(level, format == Format::Zlib, window_bits);
        DeflateEncoder { inner, flushing: false }
    }

    /// One call into zlib-rs; returns (consumed, flate2 status).
    fn run(
        &mut self,
        input: &[u8],
        output: &mut OutBuf<'_>,
        flush: FlushCompress,
    ) -> Result<(usize, flate2::Status)> {
        let (in0, out0) = (self.inner.total_in(), self.inner.total_out());
        let status = self
            .inner
            .compress(input, output.spare(), flush)
            .map_err(|e| Error::Io(std::io::Error::other(format!("deflate: compressor failed: {e}"))))?;
        output.advance((self.inner.total_out() - out0) as usize);
        Ok(((self.inner.total_in() - in0) as usize, status))
    }
}

impl Encode for DeflateEncoder {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<()> {
        // new input after an interrupted flush: the next flush must sync again
        self.flushing = false;
        let (consumed, _) = self.run(input.rest(), output, FlushCompress::None)?;
        input.advance(consumed);
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        // Issue Z_SYNC_FLUSH once, then drain what it left pending with Z_NO_FLUSH. Repeating
        // Z_SYNC_FLUSH while the output keeps filling up (a small buffer) makes zlib emit a new
        // empty stored block on every call, and the flush never ends.
        let mode = if self.flushing { FlushCompress::None } else { FlushCompress::Sync };
        self.flushing = true;
        self.run(&[], output, mode)?;
        // the flush is complete once a call returns with output space left
        if output.is_full() {
            return Ok(Status::Ongoing);
        }
        self.flushing = false;
        Ok(Status::Done)
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        let (_, status) = self.run(&[], output, FlushCompress::Finish)?;
        Ok(if status == flate2::Status::StreamEnd { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> Result<()> {
        self.inner.reset();
        self.flushing = false;
        Ok(())
    }
}

/// Raw deflate or zlib decompressor.
pub(crate) struct DeflateDecoder {
    inner: Decompress,
    zlib: bool,
    /// The format named in errors (`Gzip` when this is a gzip member's body).
    label: Format,
}

impl DeflateDecoder {
    /// `format` is `Zlib` for zlib streams, `Deflate` for raw deflate.
    pub fn new(format: Format) -> Self {
        Self::labelled(format == Format::Zlib, format)
    }

    /// A decoder whose errors name `label`.
    pub fn labelled(zlib: bool, label: Format) -> Self {
        DeflateDecoder { inner: Decompress::new(zlib), zlib, label }
    }
}

impl Decode for DeflateDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<Status> {
        let (in0, out0) = (self.inner.total_in(), self.inner.total_out());
        let result = self.inner.decompress(input.rest(), output.spare(), FlushDecompress::None);
        input.advance((self.inner.total_in() - in0) as usize);
        output.advance((self.inner.total_out() - out0) as usize);
        match result {
            Ok(flate2::Status::StreamEnd) => Ok(Status::Done),
            Ok(_) => Ok(Status::Ongoing),
            Err(e) if e.needs_dictionary().is_some() => {
                Err(Error::unsupported(self.label, "stream needs a preset dictionary"))
            }
            Err(e) => {
                Err(Error::corrupt(self.label, e.message().unwrap_or("invalid deflate data").to_string()))
            }
        }
    }

    fn reset(&mut self) -> Result<()> {
        self.inner.reset(self.zlib);
        Ok(())
    }
}

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
pub(crate) fn deflate_bound(n: usize) -> usize {
    n + n / 8 + 64
}

impl BlockCompressor for DeflateBlock {
    /// The block's CRC-32 (gzip combines them in order).
    type Summary = crc32fast::Hasher;

    fn compress_block(&mut self, dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> Result<Self::Summary> {
        let fail = |detail: String| {
            Error::Io(std::io::Error::other(format!("deflate: compressor failed: {detail}")))
        };
        let mut deflate = Compress::new_with_window_bits(self.level, false, self.window_bits);
        if !dict.is_empty() {
            deflate.set_dictionary(dict).map_err(|e| fail(e.to_string()))?;
        }
        out.reserve(deflate_bound(input.len()));
        deflate.compress_vec(input, out, FlushCompress::Sync).map_err(|e| fail(e.to_string()))?;
        if deflate.total_in() as usize != input.len() || out.len() == out.capacity() {
            return Err(fail("output bound exceeded".into()));
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
pub(crate) const PARALLEL_BLOCK: usize = 128 * 1024;

/// Multithreaded raw deflate (pigz-style; see `parallel.rs`).
pub(crate) struct ParallelDeflate {
    stream: ParallelStream<DeflateBlock>,
    /// CRC-32 of every block written out so far.
    crc: crc32fast::Hasher,
    end_pos: usize,
}

impl ParallelDeflate {
    pub fn new(settings: &Settings, threads: usize) -> Result<Self> {
        let level = Compression::new(settings.level.clamp(0, 9) as u32);
        let window_bits = crate::memory::deflate_window_bits(settings);
        let engine =
            Parallel::new(threads, PARALLEL_BLOCK, 1 << window_bits, || DeflateBlock { level, window_bits })?;
        Ok(ParallelDeflate { stream: ParallelStream::new(engine), crc: crc32fast::Hasher::new(), end_pos: 0 })
    }

    /// The CRC-32 of all input written out so far (all of it once `finish` is done).
    pub fn crc(&self) -> u32 {
        self.crc.clone().finalize()
    }
}

impl Encode for ParallelDeflate {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<()> {
        let crc = &mut self.crc;
        self.stream.encode(input, output, &mut |h| crc.combine(h))
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        let crc = &mut self.crc;
        self.stream.flush(output, &mut |h| crc.combine(h))
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        if self.end_pos == 0 && self.flush(output)? == Status::Ongoing {
            return Ok(Status::Ongoing);
        }
        Ok(if output.drain(&FINAL_EMPTY_BLOCK, &mut self.end_pos) { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> Result<()> {
        self.crc = crc32fast::Hasher::new();
        self.end_pos = 0;
        self.stream.reset()
    }
}

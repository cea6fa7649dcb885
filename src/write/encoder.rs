//! `write::Encoder<W>`: compresses what is written to it into the inner writer.
//!
//! Compressed output collects in the adapter's buffer and is written to the inner writer when
//! the buffer is full, on `flush` and on `finish`. Input is handed to the codec only after
//! pending output is out of the way, and the codec's state advances only by what it consumed,
//! so an inner writer that fails (`WouldBlock`, a full disk) leaves the encoder able to
//! continue later with no byte lost or repeated. The codec rules are `EncodeCore`'s.

use std::fmt;
use std::io::{self, Write};

use super::{flush_retrying, write_out};
use crate::codec::{OutBuf, Status};
use crate::config::{Config, Direction};
use crate::encode::EncodeCore;
use crate::error::Result;
use crate::format::Format;
use crate::pool::Buffer;

/// A compressing writer: bytes written to it come out compressed in `format` on the inner
/// writer.
///
/// # Finishing is explicit
///
/// Call [`finish`](Encoder::finish) (or [`try_finish`](Encoder::try_finish)) at the end: it
/// writes the stream's trailer and reports any error. **Dropping an unfinished encoder writes
/// nothing** and leaves a truncated stream, which every decoder of this crate reports as
/// [`Error::Truncated`](crate::Error::Truncated). (flate2 finishes in `Drop` and has to swallow the error; zstd and
/// lz4_flex do not finish at all. We choose one clear rule.)
///
/// # Flushing
///
/// [`flush`](Write::flush) performs the codec's sync flush: afterwards every byte written so
/// far can be decoded from what the inner writer received, then the inner writer is flushed.
/// This is the message boundary for protocols. The exception is legacy [`Format::Lzma`],
/// whose LZMA1 encoder has no sync flush: there `flush` only writes out the buffer. bzip2's
/// blocks are not byte-aligned, so its only sync point is the end of a stream: a flush ends
/// the stream and the next write starts another (a multi-stream file, which every bzip2
/// reads as one).
///
/// # Errors from the inner writer
///
/// `Interrupted` is retried. Any other error (including `WouldBlock`) is returned with the
/// encoder's state intact; calling the same method again later continues where it stopped.
/// An inner writer that accepts nothing (`Ok(0)`) is `WriteZero`, never a busy loop.
///
/// ```
/// use std::io::Write;
/// use compressio::{Encoder, Format};
///
/// let mut encoder = Encoder::new(Vec::new(), Format::Gzip)?;
/// encoder.write_all(b"hello, hello, hello")?;
/// let compressed: Vec<u8> = encoder.finish()?;
/// assert_eq!(&compressed[..2], &[0x1f, 0x8b]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Encoder<W: Write> {
    inner: W,
    state: EncodeState,
}

/// Everything of a write-shaped encoder but the writer: the core and its output buffer. The
/// writer comes with each call, so the async encoders drive the same state through a
/// bridge that turns `Pending` into `WouldBlock`.
pub(crate) struct EncodeState {
    core: EncodeCore,
    buf: Buffer,
}

impl EncodeState {
    pub fn new(format: Format, config: &Config) -> Result<Self> {
        let settings = config.resolve(format, Direction::Compress)?;
        let core = EncodeCore::new(format, config)?;
        Ok(EncodeState { core, buf: Buffer::new(settings.buffer_size, config.pool.as_ref()) })
    }

    pub fn core(&self) -> &EncodeCore {
        &self.core
    }

    /// Encode some of `data` (at least one byte unless `data` is empty), writing the buffer
    /// out to `inner` first when it is full.
    pub fn write<W: Write + ?Sized>(&mut self, inner: &mut W, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        loop {
            let mut input = crate::codec::InBuf::new(data);
            self.step(inner, |core, out| core.encode(&mut input, out).map(|()| Status::Done))?;
            if input.pos > 0 {
                return Ok(input.pos);
            }
        }
    }

    /// The codec's sync flush, and everything buffered written out (the inner writer is not
    /// flushed: that is the caller's, sync or async).
    pub fn flush<W: Write + ?Sized>(&mut self, inner: &mut W) -> io::Result<()> {
        while self.step(inner, |core, out| core.flush(out))? == Status::Ongoing {}
        write_out(inner, &mut self.buf)
    }

    /// The stream's end, and everything buffered written out (the inner writer is not
    /// flushed or shut down: that is the caller's).
    pub fn finish<W: Write + ?Sized>(&mut self, inner: &mut W) -> io::Result<()> {
        while self.step(inner, |core, out| core.finish(out))? == Status::Ongoing {}
        write_out(inner, &mut self.buf)
    }

    /// Start a new stream (after `finish`), reusing the codec context and the buffer.
    pub fn reset(&mut self) -> Result<()> {
        self.buf.clear();
        self.core.reset()
    }

    /// One core step into the buffer's free space, making room first.
    fn step<W, F>(&mut self, inner: &mut W, step: F) -> io::Result<Status>
    where
        W: Write + ?Sized,
        F: FnOnce(&mut EncodeCore, &mut OutBuf<'_>) -> Result<Status>,
    {
        if self.buf.is_full() {
            write_out(inner, &mut self.buf)?;
        }
        let mut out = OutBuf::new(self.buf.spare());
        let status = step(&mut self.core, &mut out);
        let produced = out.pos;
        self.buf.commit(produced);
        Ok(status?)
    }
}

impl EncodeState {
    /// The state's part of an encoder's `Debug`, whatever its shape.
    pub fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        d.field("format", &self.core.format())
            .field("total_in", &self.core.total_in())
            .field("total_out", &self.core.total_out())
            .field("finished", &self.core.is_finished());
    }
}

impl<W: Write> Encoder<W> {
    /// An encoder with the default [`Config`].
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Gzip)?;
    /// encoder.write_all(b"hello")?;
    /// let gz = encoder.finish()?;
    /// assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: W, format: Format) -> Result<Self> {
        Self::with_config(inner, format, &Config::default())
    }

    /// An encoder with `config` (validated here: an invalid level or buffer size is
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig)).
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Config, Encoder, Format, Level};
    ///
    /// let config = Config::default().level(Level::Best).buffer_size(16 * 1024);
    /// let mut encoder = Encoder::with_config(Vec::new(), Format::Xz, &config)?;
    /// encoder.write_all(b"hello")?;
    /// assert_eq!(compressio::decompress(&encoder.finish()?, Format::Xz)?, b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_config(inner: W, format: Format, config: &Config) -> Result<Self> {
        Ok(Encoder { inner, state: EncodeState::new(format, config)? })
    }

    /// The format being written.
    ///
    /// ```
    /// use compressio::{Encoder, Format};
    ///
    /// let encoder = Encoder::new(Vec::new(), Format::Lz4)?;
    /// assert_eq!(encoder.format(), Format::Lz4);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn format(&self) -> Format {
        self.state.core().format()
    }

    /// The inner writer.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Zstd)?;
    /// encoder.write_all(b"data")?;
    /// encoder.flush()?;
    /// assert!(!encoder.get_ref().is_empty()); // the flushed part is in the Vec already
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer. Writing to it directly corrupts the stream unless you know what you
    /// are doing (e.g. between a `finish` and the next stream).
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Zstd)?;
    /// encoder.write_all(b"data")?;
    /// encoder.get_mut().reserve(1 << 20); // the writer is yours to use, but writing to it corrupts the stream
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Uncompressed bytes accepted so far.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Gzip)?;
    /// encoder.write_all(&[b'a'; 1000])?;
    /// assert_eq!(encoder.total_in(), 1000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_in(&self) -> u64 {
        self.state.core().total_in()
    }

    /// Compressed bytes produced so far (some may still be in the buffer until the next
    /// `flush` or `finish`).
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Gzip)?;
    /// encoder.write_all(&[b'a'; 1000])?;
    /// encoder.try_finish()?;
    /// assert_eq!(encoder.total_out(), encoder.get_ref().len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_out(&self) -> u64 {
        self.state.core().total_out()
    }

    /// Write the stream's trailer and everything buffered, then flush the inner writer.
    ///
    /// On error (e.g. `WouldBlock` from the inner writer) it can be called again and continues;
    /// once it has succeeded, further calls do nothing.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Zstd)?;
    /// encoder.write_all(b"the end")?;
    /// encoder.try_finish()?; // the stream is complete; the encoder (and its writer) stay here
    /// assert_eq!(compressio::decompress(encoder.get_ref(), Format::Zstd)?, b"the end");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_finish(&mut self) -> io::Result<()> {
        self.state.finish(&mut self.inner)?;
        flush_retrying(&mut self.inner)
    }

    /// [`try_finish`](Encoder::try_finish), then hand back the inner writer.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Lz4)?;
    /// encoder.write_all(b"the end")?;
    /// let lz4 = encoder.finish()?; // errors here are real: report them
    /// assert_eq!(compressio::decompress(&lz4, Format::Lz4)?, b"the end");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> io::Result<W> {
        self.try_finish()?;
        Ok(self.inner)
    }

    /// The inner writer, abandoning the stream: nothing more is written, and buffered output
    /// is discarded. Use [`finish`](Encoder::finish) to complete the stream.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Gzip)?;
    /// encoder.write_all(b"abandoned")?;
    /// let partial = encoder.into_inner(); // no end of stream: not a complete gzip member
    /// assert!(compressio::decompress(&partial, Format::Gzip).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// Finish the current stream, then start a new one on `inner`, reusing this encoder's
    /// buffer and codec context; returns the previous inner writer.
    ///
    /// For a service compressing many small messages this is the cheap path: after the first
    /// message, a reset and a small message allocate nothing for gzip, zlib, deflate, zstd and
    /// lz4 (xz, lzma, brotli and bzip2 build a new coder: their crates offer no way to
    /// re-initialise one). If finishing fails, the error is returned and nothing changes, so
    /// the call can be repeated.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{decompress, Encoder, Format};
    ///
    /// let mut encoder = Encoder::new(Vec::new(), Format::Zstd)?;
    /// let mut messages = Vec::new();
    /// for text in ["first", "second", "third"] {
    ///     encoder.write_all(text.as_bytes())?;
    ///     messages.push(encoder.reset(Vec::new())?); // one complete stream per message
    /// }
    /// assert_eq!(decompress(&messages[1], Format::Zstd)?, b"second");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset(&mut self, inner: W) -> io::Result<W> {
        self.try_finish()?;
        self.state.reset()?;
        Ok(std::mem::replace(&mut self.inner, inner))
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.state.write(&mut self.inner, data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.state.flush(&mut self.inner)?;
        flush_retrying(&mut self.inner)
    }
}

impl<W: Write + fmt::Debug> fmt::Debug for Encoder<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Encoder");
        d.field("inner", &self.inner);
        self.state.debug_fields(&mut d);
        d.finish_non_exhaustive()
    }
}

//! `Encoder<W>`: the one compressing writer, generic over every codec.
//!
//! Compressed output collects in the adapter's buffer and is written to the inner writer when
//! the buffer is full, on `flush` and on `finish`. Input is handed to the codec only after
//! pending output is out of the way, and the codec's state advances only by what it consumed,
//! so an inner writer that fails (`WouldBlock`, a full disk) leaves the encoder able to
//! continue later with no byte lost or repeated.

use std::fmt;
use std::io::{self, Write};

use crate::codec::{CodecResult, Encode, InBuf, OutBuf, Status};
use crate::config::{Config, Direction};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::pool::{Buffer, Pooled};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Accepting input.
    Open,
    /// `finish` has begun; the codec may still have trailer bytes to produce.
    Finishing,
    /// The stream is complete (it may still sit partly in the buffer).
    Finished,
}

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
    codec: Pooled<dyn Encode>,
    buf: Buffer,
    format: Format,
    state: State,
    /// A sync flush completed and nothing was written since: another flush adds nothing.
    synced: bool,
    /// A sync flush has started in the codec and not completed (an inner writer error
    /// interrupted it): it is completed before the codec sees anything else, since codecs
    /// (liblzma, brotli) take no input and no other action in the middle of a flush.
    flushing: bool,
    total_in: u64,
    total_out: u64,
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
        let settings = config.resolve(format, Direction::Compress)?;
        let codec = Pooled::encoder(format, &settings, config.pool.as_ref())?;
        Ok(Encoder {
            inner,
            codec,
            buf: Buffer::new(settings.buffer_size, config.pool.as_ref()),
            format,
            state: State::Open,
            synced: false,
            flushing: false,
            total_in: 0,
            total_out: 0,
        })
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
        self.format
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
        self.total_in
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
        self.total_out
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
        self.complete_flush()?;
        while self.state != State::Finished {
            self.state = State::Finishing;
            if self.run_codec(|codec, out| codec.finish(out))? == Status::Done {
                self.state = State::Finished;
            }
        }
        self.write_buffer()?;
        self.flush_inner()
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
        self.codec.reset().map_err(|fault| self.fault(fault))?;
        self.state = State::Open;
        self.synced = false;
        self.flushing = false;
        self.total_in = 0;
        self.total_out = 0;
        Ok(std::mem::replace(&mut self.inner, inner))
    }

    /// Write the buffered output to the inner writer.
    fn write_buffer(&mut self) -> io::Result<()> {
        while !self.buf.is_empty() {
            match self.inner.write(self.buf.pending()) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "inner writer accepted no compressed bytes",
                    ))
                }
                Ok(n) => self.buf.consume(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One flush/finish step of the codec into the buffer's free space, making room first.
    fn run_codec<F>(&mut self, step: F) -> io::Result<Status>
    where
        F: FnOnce(&mut dyn Encode, &mut OutBuf<'_>) -> CodecResult<Status>,
    {
        if self.buf.is_full() {
            self.write_buffer()?;
        }
        let mut out = OutBuf::new(self.buf.spare());
        let status = step(&mut *self.codec, &mut out);
        let produced = out.pos;
        self.buf.commit(produced);
        self.total_out += produced as u64;
        status.map_err(|fault| self.fault(fault).into())
    }

    /// A codec's fault as this encoder's error.
    fn fault(&self, fault: crate::codec::Fault) -> Error {
        Error::from_fault(self.format, fault)
    }

    /// Flush the inner writer, retrying `Interrupted` as every other call to it does.
    fn flush_inner(&mut self) -> io::Result<()> {
        loop {
            match self.inner.flush() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return result,
            }
        }
    }

    /// Run the codec's flush to its end, if one is in progress.
    fn complete_flush(&mut self) -> io::Result<()> {
        while self.flushing {
            if self.run_codec(|codec, out| codec.flush(out))? == Status::Done {
                self.flushing = false;
            }
        }
        Ok(())
    }

    fn closed_error(&self) -> io::Error {
        io::Error::other(format!("{}: write after finish", self.format))
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.state != State::Open {
            return Err(self.closed_error());
        }
        if data.is_empty() {
            return Ok(0);
        }
        self.complete_flush()?;
        loop {
            if self.buf.is_full() {
                self.write_buffer()?;
            }
            let mut input = InBuf::new(data);
            let mut out = OutBuf::new(self.buf.spare());
            let result = self.codec.encode(&mut input, &mut out);
            let produced = out.pos;
            self.buf.commit(produced);
            self.total_out += produced as u64;
            self.total_in += input.pos as u64;
            result.map_err(|fault| self.fault(fault))?;
            if input.pos > 0 {
                self.synced = false;
                return Ok(input.pos);
            }
            if produced == 0 {
                // the codec contract forbids this; never spin on it
                return Err(Error::backend(self.format, "compressor made no progress").into());
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.state == State::Open && !self.synced {
            self.flushing = true;
            self.complete_flush()?;
            self.synced = true;
        }
        self.write_buffer()?;
        self.flush_inner()
    }
}

impl<W: Write + fmt::Debug> fmt::Debug for Encoder<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("inner", &self.inner)
            .field("format", &self.format)
            .field("total_in", &self.total_in)
            .field("total_out", &self.total_out)
            .field("finished", &(self.state == State::Finished))
            .finish_non_exhaustive()
    }
}

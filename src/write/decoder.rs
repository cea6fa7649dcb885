//! `write::Decoder<W>`: decompresses what is written to it into the inner writer.
//!
//! Written bytes go straight to the codec (no input buffer: a codec keeps what it cannot use
//! yet, and the core keeps the few bytes of lookahead a member boundary needs); decoded
//! output collects in the adapter's one buffer and goes to the inner writer when the buffer
//! is full, on `flush` and on `finish`.

use std::fmt;
use std::io::{self, Write};

use super::{flush_retrying, write_out};
use crate::codec::InBuf;
use crate::config::{Config, Direction};
use crate::decode::{DecodeCore, Step};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::pool::Buffer;

/// A decompressing writer: compressed bytes written to it come out decompressed on the inner
/// writer — for decoding on the way to a file or socket (an HTTP body handed to a callback
/// chunk by chunk, say) without a reader to pull from.
///
/// - **Strict** like every decoder here: [`try_finish`](Decoder::try_finish) reports
///   [`Error::Truncated`] when the stream is incomplete; bytes after the end that do not
///   start another member are [`Error::TrailingData`] (from `write`); concatenated members
///   decode as one stream. With [`Config::single_stream`], once the first member has ended
///   `write` accepts nothing more: the count it returns says where the stream ended, and the
///   rest of the data is the caller's.
/// - **Limits**: [`Config::max_output`] and [`Config::max_memory`] as for
///   [`read::Decoder`](crate::read::Decoder).
/// - **Inner writer**: `Interrupted` is retried; `WouldBlock` and other errors come back with
///   the decoder intact (bytes a `write` already consumed are reported as written, the error
///   comes with the next call); `Ok(0)` is `WriteZero`. **`Drop` writes nothing**: call
///   `finish` to write out the rest and learn whether the stream was complete.
///
/// ```
/// use std::io::Write;
/// use compressio::{compress, write, Format};
///
/// let packed = compress(b"decoded on the way out", Format::Zstd)?;
/// let mut decoder = write::Decoder::new(Vec::new(), Format::Zstd)?;
/// for chunk in packed.chunks(5) {
///     decoder.write_all(chunk)?; // e.g. as a network callback hands them over
/// }
/// assert_eq!(decoder.finish()?, b"decoded on the way out");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Decoder<W: Write> {
    inner: W,
    state: DecodeState,
}

/// Everything of a write-shaped decoder but the writer: the core and its output buffer
/// (see `write::EncodeState` for why the writer comes with each call).
pub(crate) struct DecodeState {
    core: DecodeCore,
    buf: Buffer,
}

impl DecodeState {
    pub fn new(format: Option<Format>, config: &Config) -> Result<Self> {
        let core = DecodeCore::new(format, config)?;
        // the buffer size is format-independent; any format resolves it
        let probe = match format.or(core.format()) {
            Some(format) => format,
            None => config.probe_format()?,
        };
        let settings = config.resolve(probe, Direction::Decompress)?;
        Ok(DecodeState { core, buf: Buffer::new(settings.buffer_size, config.pool.as_ref()) })
    }

    pub fn core(&self) -> &DecodeCore {
        &self.core
    }

    /// Decode some of `data` (at least one byte unless `data` is empty or the stream has
    /// ended with `single_stream`), writing the buffer out to `inner` whenever it is full.
    pub fn write<W: Write + ?Sized>(&mut self, inner: &mut W, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let mut input = InBuf::new(data);
        loop {
            if self.buf.is_full() {
                if let Err(e) = write_out(inner, &mut self.buf) {
                    // bytes taken in this call are taken: the error comes with the next call
                    return if input.pos > 0 { Ok(input.pos) } else { Err(e) };
                }
            }
            match self.core.step(&mut input, false, self.buf.spare()) {
                Ok(Step::Produced(n)) => self.buf.commit(n),
                // codecs take every byte they are given here (no room to leave any in)
                Ok(Step::NeedInput) => return Ok(input.pos),
                // single_stream: the rest is not ours
                Ok(Step::End) => return Ok(input.pos),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Everything decodable so far written out (the inner writer is not flushed: that is
    /// the caller's, sync or async).
    pub fn flush<W: Write + ?Sized>(&mut self, inner: &mut W) -> io::Result<()> {
        while let Step::Produced(_) = self.drain(inner, false)? {}
        write_out(inner, &mut self.buf)
    }

    /// The end of the input: everything written out, and `Truncated` unless the stream is
    /// complete (the inner writer is not flushed or shut down: that is the caller's).
    pub fn finish<W: Write + ?Sized>(&mut self, inner: &mut W) -> io::Result<()> {
        while self.drain(inner, true)? != Step::End {}
        write_out(inner, &mut self.buf)
    }

    /// Produce what the codec holds without new input (with `eof`, the input has ended).
    fn drain<W: Write + ?Sized>(&mut self, inner: &mut W, eof: bool) -> io::Result<Step> {
        if self.buf.is_full() {
            write_out(inner, &mut self.buf)?;
        }
        match self.core.step(&mut InBuf::new(&[]), eof, self.buf.spare())? {
            Step::Produced(n) => {
                self.buf.commit(n);
                Ok(Step::Produced(n))
            }
            // with eof the core reports an incomplete stream itself
            Step::NeedInput if eof => Err(match self.core.format() {
                Some(format) => Error::Truncated { format },
                None => Error::UnknownFormat,
            }
            .into()),
            other => Ok(other),
        }
    }

    /// The state's part of a decoder's `Debug`, whatever its shape.
    pub fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        d.field("format", &self.core.format())
            .field("total_in", &self.core.total_in())
            .field("total_out", &self.core.total_out())
            .field("ended", &self.core.ended());
    }
}

impl<W: Write> Decoder<W> {
    /// A decoder for `format` with the default [`Config`].
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Format};
    ///
    /// let mut decoder = write::Decoder::new(Vec::new(), Format::Gzip)?;
    /// decoder.write_all(&compress(b"hi", Format::Gzip)?)?;
    /// assert_eq!(decoder.finish()?, b"hi");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: W, format: Format) -> Result<Self> {
        Self::with_config(inner, format, &Config::default())
    }

    /// A decoder for `format` with `config` (validated here).
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Config, Error, Format};
    ///
    /// let bomb = compress(&vec![0u8; 1 << 20], Format::Xz)?;
    /// let config = Config::default().max_output(1000);
    /// let mut decoder = write::Decoder::with_config(Vec::new(), Format::Xz, &config)?;
    /// let err = decoder.write_all(&bomb).unwrap_err();
    /// assert!(matches!(Error::from(err), Error::LimitExceeded { limit: 1000 }));
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn with_config(inner: W, format: Format, config: &Config) -> Result<Self> {
        Self::build(inner, Some(format), config)
    }

    /// A decoder for whatever format the written bytes turn out to be (see
    /// [`Format::detect`]; raw deflate and brotli never are), with the default [`Config`].
    /// [`format`](Decoder::format) is `None` until enough bytes have been written to tell.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Format};
    ///
    /// let mut decoder = write::Decoder::auto(Vec::new())?;
    /// assert_eq!(decoder.format(), None);
    /// decoder.write_all(&compress(b"which one?", Format::Lz4)?)?;
    /// assert_eq!(decoder.format(), Some(Format::Lz4));
    /// assert_eq!(decoder.finish()?, b"which one?");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auto(inner: W) -> Result<Self> {
        Self::auto_with_config(inner, &Config::default())
    }

    /// [`auto`](Decoder::auto) with `config`.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Config, Format};
    ///
    /// let config = Config::low_memory().max_output(1 << 20);
    /// let mut decoder = write::Decoder::auto_with_config(Vec::new(), &config)?;
    /// decoder.write_all(&compress(b"untrusted", Format::Bzip2)?)?;
    /// assert_eq!(decoder.finish()?, b"untrusted");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auto_with_config(inner: W, config: &Config) -> Result<Self> {
        Self::build(inner, None, config)
    }

    fn build(inner: W, format: Option<Format>, config: &Config) -> Result<Self> {
        Ok(Decoder { inner, state: DecodeState::new(format, config)? })
    }

    /// The format being decoded, once known.
    ///
    /// ```
    /// use compressio::{write, Format};
    ///
    /// assert_eq!(write::Decoder::new(Vec::new(), Format::Xz)?.format(), Some(Format::Xz));
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn format(&self) -> Option<Format> {
        self.state.core().format()
    }

    /// Whether the stream has ended (with [`Config::single_stream`], after the first member;
    /// otherwise only [`try_finish`](Decoder::try_finish) can tell).
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Config, Format};
    ///
    /// let mut data = compress(b"one", Format::Gzip)?;
    /// data.extend_from_slice(b"not ours");
    /// let config = Config::default().single_stream(true);
    /// let mut decoder = write::Decoder::with_config(Vec::new(), Format::Gzip, &config)?;
    /// let taken = decoder.write(&data)?;
    /// assert!(decoder.is_ended());
    /// assert_eq!(&data[taken..], b"not ours");
    /// assert_eq!(decoder.finish()?, b"one");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_ended(&self) -> bool {
        self.state.core().ended()
    }

    /// The inner writer.
    ///
    /// ```
    /// use compressio::{write, Format};
    ///
    /// let decoder = write::Decoder::new(Vec::new(), Format::Lz4)?;
    /// assert!(decoder.get_ref().is_empty());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer. Writing to it directly puts bytes between decoded ones.
    ///
    /// ```
    /// use compressio::{write, Format};
    ///
    /// let mut decoder = write::Decoder::new(Vec::new(), Format::Lz4)?;
    /// decoder.get_mut().reserve(1 << 20);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer, abandoning the stream: decoded output still buffered is discarded,
    /// nothing is checked. Use [`finish`](Decoder::finish) to complete it.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Format};
    ///
    /// let mut decoder = write::Decoder::new(Vec::new(), Format::Zstd)?;
    /// decoder.write_all(&compress(b"abandoned", Format::Zstd)?)?;
    /// let out = decoder.into_inner(); // the output never left the buffer
    /// assert!(out.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// Compressed bytes consumed so far.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Format};
    ///
    /// let packed = compress(&[5u8; 1000], Format::Gzip)?;
    /// let mut decoder = write::Decoder::new(Vec::new(), Format::Gzip)?;
    /// decoder.write_all(&packed)?;
    /// assert_eq!(decoder.total_in(), packed.len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_in(&self) -> u64 {
        self.state.core().total_in()
    }

    /// Decompressed bytes produced so far (some may still be in the buffer until the next
    /// `flush` or `finish`).
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Format};
    ///
    /// let mut decoder = write::Decoder::new(Vec::new(), Format::Gzip)?;
    /// decoder.write_all(&compress(&[5u8; 1000], Format::Gzip)?)?;
    /// decoder.try_finish()?;
    /// assert_eq!(decoder.total_out(), 1000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_out(&self) -> u64 {
        self.state.core().total_out()
    }

    /// The stream is complete: decode what the codec still holds, write everything out and
    /// flush the inner writer. [`Error::Truncated`] if the stream is incomplete (more bytes
    /// may be written, and `try_finish` called again); after success, further calls do
    /// nothing.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Error, Format};
    ///
    /// let packed = compress(b"complete?", Format::Xz)?;
    /// let mut decoder = write::Decoder::new(Vec::new(), Format::Xz)?;
    /// decoder.write_all(&packed[..packed.len() - 1])?;
    /// let err = decoder.try_finish().unwrap_err();
    /// assert!(matches!(Error::from(err), Error::Truncated { .. }));
    /// decoder.write_all(&packed[packed.len() - 1..])?;
    /// decoder.try_finish()?;
    /// assert_eq!(decoder.get_ref(), b"complete?");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_finish(&mut self) -> io::Result<()> {
        self.state.finish(&mut self.inner)?;
        flush_retrying(&mut self.inner)
    }

    /// [`try_finish`](Decoder::try_finish), then hand back the inner writer.
    ///
    /// ```
    /// use std::io::Write;
    /// use compressio::{compress, write, Format};
    ///
    /// let mut decoder = write::Decoder::new(Vec::new(), Format::Brotli)?;
    /// decoder.write_all(&compress(b"the end", Format::Brotli)?)?;
    /// assert_eq!(decoder.finish()?, b"the end");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> io::Result<W> {
        self.try_finish()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Decoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.state.write(&mut self.inner, data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.state.flush(&mut self.inner)?;
        flush_retrying(&mut self.inner)
    }
}

impl<W: Write + fmt::Debug> fmt::Debug for Decoder<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Decoder");
        d.field("inner", &self.inner);
        self.state.debug_fields(&mut d);
        d.finish_non_exhaustive()
    }
}

//! `bufread::Encoder<R>`: compresses straight from the inner reader's buffer into the
//! caller's. The encoding rules are `EncodeCore`'s.

use std::fmt;
use std::io::{self, BufRead, Read};

use super::fill_buf;
use crate::codec::{InBuf, OutBuf};
use crate::config::Config;
use crate::encode::EncodeCore;
use crate::error::Result;
use crate::format::Format;

/// A compressing reader over a [`BufRead`]: reading from it yields the compressed form of
/// what it reads from the inner reader, ending with the stream's trailer once the inner reader
/// ends. It takes its input from the reader's own buffer, so it owns no buffer at all (the
/// codec's state is all its memory), and the compressed bytes go straight into the caller's
/// buffer. Every `Config` an encoder takes applies (`threads(n)` included; the buffer size
/// does not).
///
/// The stream is complete when `read` returns 0; an encoder dropped before that has produced a
/// truncated stream. [`read::Encoder`](crate::read::Encoder) is this encoder over its own
/// buffer, for a reader that is not buffered.
///
/// ```
/// use std::io::{BufReader, Read};
/// use compressio::{bufread, decompress, Format};
///
/// let text = b"compressed as it is read, from the reader's own buffer".repeat(100);
/// let mut encoder = bufread::Encoder::new(BufReader::new(&text[..]), Format::Gzip)?;
/// let mut gz = Vec::new();
/// encoder.read_to_end(&mut gz)?;
/// assert_eq!(decompress(&gz, Format::Gzip)?, text);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Encoder<R: BufRead> {
    inner: R,
    state: EncodeState,
}

/// Everything of a bufread-shaped encoder but the reader, which comes with each call (the
/// read-shaped and async encoders drive the same state).
pub(crate) struct EncodeState {
    core: EncodeCore,
}

impl EncodeState {
    pub fn new(format: Format, config: &Config) -> Result<Self> {
        Ok(EncodeState { core: EncodeCore::new(format, config)? })
    }

    pub fn core(&self) -> &EncodeCore {
        &self.core
    }

    /// Compress from `inner` into `out` (non-empty): at least one byte, or 0 once the whole
    /// stream has been read. Asks `inner` for input only while nothing has been produced or
    /// while `buffered` says it has input at hand (so that neither a blocking read nor an
    /// error from it, `WouldBlock` included, holds back or loses output).
    pub fn read<R: BufRead + ?Sized>(
        &mut self,
        inner: &mut R,
        out: &mut [u8],
        buffered: impl Fn(&R) -> bool,
    ) -> Result<usize> {
        let mut output = OutBuf::new(out);
        while !self.core.is_finished() && (output.pos == 0 || !output.is_full() && buffered(inner)) {
            let available = fill_buf(inner)?;
            if available.is_empty() {
                // the end of the input: the trailer (`finish` fills `output` or completes)
                self.core.finish(&mut output)?;
                continue;
            }
            let mut input = InBuf::new(available);
            let result = self.core.encode(&mut input, &mut output);
            let consumed = input.pos;
            inner.consume(consumed);
            result?;
        }
        Ok(output.pos)
    }

    /// Start a new stream, reusing the codec context.
    pub fn reset(&mut self) -> Result<()> {
        self.core.reset()
    }

    /// The state's part of an encoder's `Debug`, whatever its shape.
    pub fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        d.field("format", &self.core.format())
            .field("total_in", &self.core.total_in())
            .field("total_out", &self.core.total_out())
            .field("finished", &self.core.is_finished());
    }
}

impl<R: BufRead> Encoder<R> {
    /// An encoder with the default [`Config`].
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, Format};
    ///
    /// let mut zst = Vec::new();
    /// bufread::Encoder::new(&b"hello"[..], Format::Zstd)?.read_to_end(&mut zst)?;
    /// assert_eq!(compressio::decompress(&zst, Format::Zstd)?, b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: R, format: Format) -> Result<Self> {
        Self::with_config(inner, format, &Config::default())
    }

    /// An encoder with `config` (validated here).
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, decompress, Config, Format, Level};
    ///
    /// let data = vec![7u8; 100_000];
    /// let config = Config::default().level(Level::Best);
    /// let mut xz = Vec::new();
    /// bufread::Encoder::with_config(&data[..], Format::Xz, &config)?.read_to_end(&mut xz)?;
    /// assert_eq!(decompress(&xz, Format::Xz)?, data);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_config(inner: R, format: Format, config: &Config) -> Result<Self> {
        Ok(Encoder { inner, state: EncodeState::new(format, config)? })
    }

    /// The format being produced.
    ///
    /// ```
    /// use compressio::{bufread, Format};
    ///
    /// assert_eq!(bufread::Encoder::new(&b""[..], Format::Lz4)?.format(), Format::Lz4);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn format(&self) -> Format {
        self.state.core().format()
    }

    /// The inner reader.
    ///
    /// ```
    /// use compressio::{bufread, Format};
    ///
    /// let encoder = bufread::Encoder::new(&b"abc"[..], Format::Gzip)?;
    /// assert_eq!(*encoder.get_ref(), b"abc");
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader. Reading from it directly takes bytes away from the encoder.
    ///
    /// ```
    /// use compressio::{bufread, Format};
    ///
    /// let mut encoder = bufread::Encoder::new(&b"abc"[..], Format::Gzip)?;
    /// assert_eq!(encoder.get_mut().len(), 3);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader, with every byte the encoder has not consumed still in it; the stream
    /// is abandoned.
    ///
    /// ```
    /// use compressio::{bufread, Format};
    ///
    /// let encoder = bufread::Encoder::new(&b"never read"[..], Format::Zstd)?;
    /// assert_eq!(encoder.into_inner(), b"never read");
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Start a new stream from `inner`, reusing the codec context; returns the previous
    /// reader. The stream in progress, if any, is abandoned.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, decompress, Format};
    ///
    /// let mut encoder = bufread::Encoder::new(&b"first"[..], Format::Zstd)?;
    /// let mut one = Vec::new();
    /// encoder.read_to_end(&mut one)?;
    /// encoder.reset(&b"second"[..])?;
    /// let mut two = Vec::new();
    /// encoder.read_to_end(&mut two)?;
    /// assert_eq!(decompress(&two, Format::Zstd)?, b"second");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset(&mut self, inner: R) -> Result<R> {
        self.state.reset()?;
        Ok(std::mem::replace(&mut self.inner, inner))
    }

    /// Uncompressed bytes consumed from the inner reader so far.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, Format};
    ///
    /// let mut encoder = bufread::Encoder::new(&[1u8; 5000][..], Format::Lz4)?;
    /// encoder.read_to_end(&mut Vec::new())?;
    /// assert_eq!(encoder.total_in(), 5000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_in(&self) -> u64 {
        self.state.core().total_in()
    }

    /// Compressed bytes produced so far.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, Format};
    ///
    /// let mut encoder = bufread::Encoder::new(&[1u8; 5000][..], Format::Lz4)?;
    /// let mut lz4 = Vec::new();
    /// encoder.read_to_end(&mut lz4)?;
    /// assert_eq!(encoder.total_out(), lz4.len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_out(&self) -> u64 {
        self.state.core().total_out()
    }
}

impl<R: BufRead> Read for Encoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        Ok(self.state.read(&mut self.inner, out, |_| false)?)
    }
}

impl<R: BufRead + fmt::Debug> fmt::Debug for Encoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Encoder");
        d.field("inner", &self.inner);
        self.state.debug_fields(&mut d);
        d.finish_non_exhaustive()
    }
}

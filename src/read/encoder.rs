//! `read::Encoder<R>`: reads plain bytes from the inner reader into its one buffer and
//! compresses them straight into the caller's buffer — the bufread encoder's state over a
//! buffer of its own.

use std::fmt;
use std::io::{self, BufRead, Read};

use crate::bufread::EncodeState;
use crate::config::{Config, Direction};
use crate::error::Result;
use crate::format::Format;
use crate::pool::Buffer;

/// A compressing reader: reading from it yields the compressed form of what it reads from the
/// inner reader, ending with the stream's trailer once the inner reader ends — for handing a
/// compressed body to anything that pulls from a `Read` (an upload, `io::copy` into a socket)
/// without a writer in between.
///
/// - Owns one buffer ([`Config::buffer_size`]) of input read ahead; the compressed bytes go
///   straight into the caller's buffer. Every `Config` an encoder takes applies
///   (`threads(n)` included).
/// - **Inner reader**: `Interrupted` is retried; `WouldBlock` and other errors come back with
///   the encoder intact, and a later `read` continues with no byte lost or repeated.
/// - The stream is complete when `read` returns 0 (the trailer has been read); an encoder
///   dropped before that has produced a truncated stream.
///
/// ```
/// use std::io::Read;
/// use compressio::{decompress, read, Format};
///
/// let file: &[u8] = b"a file's contents, compressed while being read";
/// let mut encoder = read::Encoder::new(file, Format::Zstd)?;
/// let mut compressed = Vec::new();
/// encoder.read_to_end(&mut compressed)?; // or io::copy(&mut encoder, &mut socket)
/// assert_eq!(decompress(&compressed, Format::Zstd)?, file);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Encoder<R: Read> {
    inner: Buffered<R>,
    state: EncodeState,
}

/// The inner reader and the encoder's one buffer, as a `BufRead` for the encoding state.
struct Buffered<R> {
    inner: R,
    buf: Buffer,
}

impl<R: Read> Read for Buffered<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.read(out)?;
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Buffered<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.buf.is_empty() {
            // an error leaves the buffer empty, as it was: nothing is lost
            let n = self.inner.read(self.buf.spare())?;
            self.buf.commit(n);
        }
        Ok(self.buf.pending())
    }

    fn consume(&mut self, n: usize) {
        self.buf.consume(n);
    }
}

impl<R: Read> Encoder<R> {
    /// An encoder with the default [`Config`].
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{read, Format};
    ///
    /// let mut gz = Vec::new();
    /// read::Encoder::new(&b"hello"[..], Format::Gzip)?.read_to_end(&mut gz)?;
    /// assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: R, format: Format) -> Result<Self> {
        Self::with_config(inner, format, &Config::default())
    }

    /// An encoder with `config` (validated here).
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{decompress, read, Config, Format, Level};
    ///
    /// let data = b"compressed on two threads ".repeat(100_000);
    /// let config = Config::default().level(Level::Fast).threads(2);
    /// let mut packed = Vec::new();
    /// read::Encoder::with_config(&data[..], Format::Zstd, &config)?.read_to_end(&mut packed)?;
    /// assert_eq!(decompress(&packed, Format::Zstd)?, data);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_config(inner: R, format: Format, config: &Config) -> Result<Self> {
        let settings = config.resolve(format, Direction::Compress)?;
        let state = EncodeState::new(format, config)?;
        let buf = Buffer::new(settings.buffer_size, config.pool.as_ref());
        Ok(Encoder { inner: Buffered { inner, buf }, state })
    }

    /// The format being written.
    ///
    /// ```
    /// use compressio::{read, Format};
    ///
    /// assert_eq!(read::Encoder::new(&b""[..], Format::Xz)?.format(), Format::Xz);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn format(&self) -> Format {
        self.state.core().format()
    }

    /// The inner reader.
    ///
    /// ```
    /// use std::io::{Cursor, Read};
    /// use compressio::{read, Format};
    ///
    /// let mut encoder = read::Encoder::new(Cursor::new(b"abc".to_vec()), Format::Lz4)?;
    /// encoder.read_to_end(&mut Vec::new())?;
    /// assert_eq!(encoder.get_ref().position(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner.inner
    }

    /// The inner reader. Reading from it directly takes bytes away from the encoder.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use compressio::{read, Format};
    ///
    /// let mut encoder = read::Encoder::new(Cursor::new(Vec::new()), Format::Lz4)?;
    /// assert_eq!(encoder.get_mut().position(), 0);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner.inner
    }

    /// The inner reader; input read ahead and not yet compressed is lost.
    ///
    /// ```
    /// use compressio::{read, Format};
    ///
    /// let encoder = read::Encoder::new(&b"unread"[..], Format::Gzip)?;
    /// let rest: &[u8] = encoder.into_inner();
    /// assert_eq!(rest, b"unread");
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn into_inner(self) -> R {
        self.inner.inner
    }

    /// Plain bytes consumed by the codec so far.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{read, Format};
    ///
    /// let mut encoder = read::Encoder::new(&[1u8; 5000][..], Format::Zstd)?;
    /// encoder.read_to_end(&mut Vec::new())?;
    /// assert_eq!(encoder.total_in(), 5000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_in(&self) -> u64 {
        self.state.core().total_in()
    }

    /// Compressed bytes returned so far.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{read, Format};
    ///
    /// let mut encoder = read::Encoder::new(&[1u8; 5000][..], Format::Zstd)?;
    /// let mut out = Vec::new();
    /// encoder.read_to_end(&mut out)?;
    /// assert_eq!(encoder.total_out(), out.len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_out(&self) -> u64 {
        self.state.core().total_out()
    }
}

impl<R: Read> Read for Encoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        Ok(self.state.read(&mut self.inner, out, |buffered| !buffered.buf.is_empty())?)
    }
}

impl<R: Read + fmt::Debug> fmt::Debug for Encoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Encoder");
        d.field("inner", &self.inner.inner);
        self.state.debug_fields(&mut d);
        d.finish_non_exhaustive()
    }
}

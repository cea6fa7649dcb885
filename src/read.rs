//! `Decoder<R>`: the one decompressing reader, generic over every codec.
//!
//! Compressed input is read into the adapter's buffer and decoded straight into the caller's
//! buffer. A small state machine: inside a member the codec decides and says why it stopped
//! ([`Decoded`]); between members the end-of-stream policy in `members.rs` decides; at the end
//! `read` returns 0. This module adds the I/O around them: when to read more, when the input
//! ended too early (`Truncated`), where `max_output` stops the output, and which format `auto`
//! sees.

use std::fmt;
use std::io::{self, Read};

use bytes::Bytes;

use crate::codec::{Decode, Decoded, InBuf, OutBuf};
use crate::config::{Config, Direction};
use crate::error::{Error, Result};
use crate::format::{self, Format, Sniff};
use crate::members::{Boundary, Next};
use crate::pool::{Buffer, Pooled};

/// `Decoder::auto` needs this much look-ahead: the legacy lzma header (13 bytes) or a
/// skippable frame header (8) followed by a magic number.
const MIN_AUTO_BUFFER: usize = 32;
/// `Decoder::auto` skips at most this many bytes of leading skippable frames before giving up.
///
/// ```
/// assert_eq!(compressio::MAX_SKIPPABLE_PREFIX, 1 << 20);
/// ```
pub const MAX_SKIPPABLE_PREFIX: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Inside a member: the codec decides.
    Member,
    /// A member has ended: what follows decides.
    Boundary(Boundary),
    /// The stream has ended; `read` returns 0.
    End,
}

/// What one step inside a member leads to.
enum Step {
    /// Give these bytes to the caller.
    Produced(usize),
    /// Go on: the member ended, or input was read.
    Continue,
}

/// What `Decoder::auto` found before the first member.
struct Sniffed {
    format: Format,
    /// Bytes of leading skippable frames consumed.
    skipped: u64,
    /// The input held skippable frames only: an empty stream.
    only_skippable: bool,
}

/// A decompressing reader: reads `format` from the inner reader and returns the decompressed
/// bytes.
///
/// - Accepts any `Read` (no `BufRead` needed): the adapter's own buffer (`buffer_size`, 64 KiB
///   by default, allocated once) holds the compressed input read ahead.
/// - **Concatenated** members (multi-member gzip, several zstd or lz4 frames, skippable frames,
///   several xz streams with stream padding) decode as one stream, like the reference tools.
///   With [`Config::single_stream`] the decoder stops after the first data member and
///   [`into_parts`](Decoder::into_parts) returns every byte after it.
/// - **Strict**: input that ends inside a member is [`Error::Truncated`] (never a short `Ok`);
///   bytes after the end that do not start another member are [`Error::TrailingData`]; a bad
///   checksum is [`Error::Corrupt`]. zlib, raw deflate and lzma are single-stream formats, so
///   anything after their end is trailing data. After a data error, every further `read`
///   reports it again; after `Truncated` or an I/O error (`WouldBlock`, say) a later `read`
///   continues where it stopped.
/// - **Limits**: [`Config::max_output`] is checked before the excess is returned;
///   [`Config::max_memory`] before the codec allocates its window.
///
/// ```
/// use std::io::Read;
/// use compressio::{compress, Decoder, Format};
///
/// let compressed = compress(b"hello world", Format::Xz)?;
/// let mut decoder = Decoder::auto(&compressed[..])?;
/// assert_eq!(decoder.format(), Format::Xz);
/// let mut text = String::new();
/// decoder.read_to_string(&mut text)?;
/// assert_eq!(text, "hello world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Decoder<R: Read> {
    inner: R,
    buf: Buffer,
    codec: Pooled<dyn Decode>,
    format: Format,
    state: State,
    single_stream: bool,
    max_output: u64,
    total_in: u64,
    total_out: u64,
    /// The data error that stopped the stream, reported again on every later call.
    failed: Option<Error>,
}

impl<R: Read> Decoder<R> {
    /// A decoder for `format` with the default [`Config`].
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Decoder, Format};
    ///
    /// let packed = compress(b"hello", Format::Zstd)?;
    /// let mut text = String::new();
    /// Decoder::new(&packed[..], Format::Zstd)?.read_to_string(&mut text)?;
    /// assert_eq!(text, "hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: R, format: Format) -> Result<Self> {
        Self::with_config(inner, format, &Config::default())
    }

    /// A decoder for `format` with `config` (validated here).
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Config, Decoder, Format};
    ///
    /// let packed = compress(b"hello", Format::Xz)?;
    /// let config = Config::default().max_output(1 << 20).buffer_size(8192);
    /// let mut out = Vec::new();
    /// Decoder::with_config(&packed[..], Format::Xz, &config)?.read_to_end(&mut out)?;
    /// assert_eq!(out, b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_config(inner: R, format: Format, config: &Config) -> Result<Self> {
        let settings = config.resolve(format, Direction::Decompress)?;
        let buf = Buffer::new(settings.buffer_size, config.pool.as_ref());
        Self::build(inner, buf, format, config, 0)
    }

    /// A decoder for whatever format the input starts with (see [`Format::detect`]), with the
    /// default [`Config`]. The bytes read to detect the format are decoded, not lost.
    ///
    /// Fails with [`Error::UnknownFormat`] when no format is recognised (raw deflate never
    /// is), and with [`Error::Truncated`] when the input ends inside a magic number.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Decoder, Format};
    ///
    /// for format in [Format::Gzip, Format::Zstd, Format::Lz4, Format::Xz] {
    ///     let packed = compress(b"which format?", format)?;
    ///     let mut decoder = Decoder::auto(&packed[..])?;
    ///     assert_eq!(decoder.format(), format);
    ///     let mut out = Vec::new();
    ///     decoder.read_to_end(&mut out)?;
    ///     assert_eq!(out, b"which format?");
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auto(inner: R) -> Result<Self> {
        Self::auto_with_config(inner, &Config::default())
    }

    /// [`auto`](Decoder::auto) with `config`. Leading skippable frames (at most
    /// [`MAX_SKIPPABLE_PREFIX`] bytes of them) are skipped to find the format behind them;
    /// input consisting only of skippable frames is an empty zstd stream.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Config, Decoder, Format};
    ///
    /// let packed = compress(b"untrusted", Format::Gzip)?;
    /// let config = Config::low_memory().max_output(1 << 20);
    /// let mut out = Vec::new();
    /// Decoder::auto_with_config(&packed[..], &config)?.read_to_end(&mut out)?;
    /// assert_eq!(out, b"untrusted");
    /// assert!(Decoder::auto_with_config(&b"not compressed"[..], &config).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auto_with_config(mut inner: R, config: &Config) -> Result<Self> {
        // any enabled format validates the format-independent parts of the config
        let Some(&probe) = Format::ALL.iter().find(|f| f.is_enabled()) else {
            return Err(Error::UnknownFormat);
        };
        let settings = config.resolve(probe, Direction::Decompress)?;
        let mut buf = Buffer::new(settings.buffer_size.max(MIN_AUTO_BUFFER), config.pool.as_ref());
        let found = sniff(&mut inner, &mut buf)?;
        let mut decoder = Self::build(inner, buf, found.format, config, found.skipped)?;
        if found.only_skippable {
            decoder.state = State::End;
        }
        Ok(decoder)
    }

    fn build(inner: R, buf: Buffer, format: Format, config: &Config, total_in: u64) -> Result<Self> {
        let settings = config.resolve(format, Direction::Decompress)?;
        let codec = Pooled::decoder(format, &settings, config.pool.as_ref())?;
        Ok(Decoder {
            inner,
            buf,
            codec,
            format,
            state: State::Member,
            single_stream: settings.single_stream,
            max_output: settings.max_output,
            total_in,
            total_out: 0,
            failed: None,
        })
    }

    /// The format being decoded.
    ///
    /// ```
    /// use compressio::{compress, Decoder, Format};
    ///
    /// let packed = compress(b"x", Format::Lz4)?;
    /// assert_eq!(Decoder::auto(&packed[..])?.format(), Format::Lz4);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn format(&self) -> Format {
        self.format
    }

    /// The inner reader.
    ///
    /// ```
    /// use std::io::{Cursor, Read};
    /// use compressio::{compress, Decoder, Format};
    ///
    /// let packed = compress(b"x", Format::Gzip)?;
    /// let mut decoder = Decoder::new(Cursor::new(packed), Format::Gzip)?;
    /// decoder.read_to_end(&mut Vec::new())?;
    /// assert_eq!(decoder.get_ref().position(), decoder.get_ref().get_ref().len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader. Reading from it directly skips over compressed bytes.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use compressio::{compress, Decoder, Format};
    ///
    /// let packed = compress(b"x", Format::Gzip)?;
    /// let mut decoder = Decoder::new(Cursor::new(packed), Format::Gzip)?;
    /// // reading from the inner reader directly would take bytes away from the decoder
    /// assert_eq!(decoder.get_mut().position(), 0);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader; compressed bytes already read ahead into the buffer are lost (see
    /// [`into_parts`](Decoder::into_parts)).
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Decoder, Format};
    ///
    /// let packed = compress(b"x", Format::Zstd)?;
    /// let mut decoder = Decoder::new(&packed[..], Format::Zstd)?;
    /// decoder.read_to_end(&mut Vec::new())?;
    /// let rest: &[u8] = decoder.into_inner();
    /// assert!(rest.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The inner reader and the bytes read from it but not consumed by the decoder. After a
    /// [`single_stream`](Config::single_stream) decode has ended, these are exactly the bytes
    /// that follow the first member (up to what was read ahead), so the caller can go on
    /// reading a container format after the compressed stream.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Config, Decoder, Format};
    ///
    /// let mut data = compress(b"payload", Format::Zstd)?;
    /// data.extend_from_slice(b"TRAILER");
    /// let mut decoder = Decoder::with_config(&data[..], Format::Zstd, &Config::default().single_stream(true))?;
    /// let mut out = Vec::new();
    /// decoder.read_to_end(&mut out)?;
    /// let (rest_of_reader, read_ahead) = decoder.into_parts();
    /// assert_eq!(out, b"payload");
    /// assert_eq!([&read_ahead[..], rest_of_reader].concat(), b"TRAILER");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_parts(self) -> (R, Bytes) {
        (self.inner, self.buf.into_pending())
    }

    /// Abandon the current stream and start decoding a new one (of the same format) from
    /// `inner`, reusing this decoder's buffer and codec context; returns the previous inner
    /// reader. Bytes read ahead from the previous reader are discarded.
    ///
    /// After the first message, a reset and a small message allocate nothing for gzip, zlib,
    /// deflate, zstd and lz4 (xz, lzma, brotli and bzip2 build a new coder). A failure to rebuild
    /// the coder (out of memory) is reported by the next `read`.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Decoder, Format};
    ///
    /// let first = compress(b"first", Format::Gzip)?;
    /// let second = compress(b"second", Format::Gzip)?;
    /// let mut decoder = Decoder::new(&first[..], Format::Gzip)?;
    /// let mut text = String::new();
    /// decoder.read_to_string(&mut text)?;
    /// decoder.reset(&second[..]);
    /// text.clear();
    /// decoder.read_to_string(&mut text)?;
    /// assert_eq!(text, "second");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset(&mut self, inner: R) -> R {
        self.failed = self.codec.reset().err().map(|fault| Error::from_fault(self.format, fault));
        self.buf.clear();
        self.state = State::Member;
        self.total_in = 0;
        self.total_out = 0;
        std::mem::replace(&mut self.inner, inner)
    }

    /// Compressed bytes consumed by the decoder so far (not counting read-ahead).
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Decoder, Format};
    ///
    /// let packed = compress(&[7u8; 10_000], Format::Gzip)?;
    /// let mut decoder = Decoder::new(&packed[..], Format::Gzip)?;
    /// decoder.read_to_end(&mut Vec::new())?;
    /// assert_eq!(decoder.total_in(), packed.len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    /// Decompressed bytes returned so far.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Decoder, Format};
    ///
    /// let packed = compress(&[7u8; 10_000], Format::Gzip)?;
    /// let mut decoder = Decoder::new(&packed[..], Format::Gzip)?;
    /// decoder.read_to_end(&mut Vec::new())?;
    /// assert_eq!(decoder.total_out(), 10_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    /// Read once from the inner reader into the buffer's free space; `Interrupted` is retried.
    fn fill(&mut self) -> Result<usize> {
        fill(&mut self.inner, &mut self.buf)
    }

    fn consume(&mut self, n: usize) {
        self.buf.consume(n);
        self.total_in += n as u64;
    }

    fn read_inner(&mut self, out: &mut [u8]) -> Result<usize> {
        // whether the inner reader has said end of input during this call
        let mut eof = false;
        loop {
            match self.state {
                State::End => return Ok(0),
                State::Boundary(boundary) => self.boundary(boundary)?,
                State::Member => match self.member(out, &mut eof)? {
                    Step::Produced(n) => return Ok(n),
                    Step::Continue => {}
                },
            }
        }
    }

    /// One codec call inside a member, and what its outcome means for the stream.
    fn member(&mut self, out: &mut [u8], eof: &mut bool) -> Result<Step> {
        if !*eof && self.buf.is_empty() && self.codec.eager_input() {
            *eof = self.fill()? == 0;
        }
        // `max_output` is enforced before the excess exists: at the limit the codec gets a
        // 1-byte probe whose content nobody ever sees, only whether there is any
        let allowed = self.max_output - self.total_out;
        let mut probe = [0u8; 1];
        let dst: &mut [u8] = match usize::try_from(allowed) {
            Ok(0) => &mut probe,
            Ok(allowed) if allowed < out.len() => &mut out[..allowed],
            _ => out,
        };
        let mut input = InBuf::with_room(self.buf.pending(), self.buf.capacity());
        let mut output = OutBuf::new(dst);
        let outcome = self.codec.decode(&mut input, &mut output);
        let (consumed, produced) = (input.pos, output.pos);
        self.consume(consumed);
        let outcome = outcome.map_err(|fault| Error::from_fault(self.format, fault))?;
        if allowed == 0 && produced > 0 {
            return Err(Error::LimitExceeded { limit: self.max_output });
        }
        self.total_out += produced as u64;
        match outcome {
            Decoded::End | Decoded::Skipped => {
                // a leading skippable frame is not the member `single_stream` stops after
                let last = self.single_stream && outcome == Decoded::End;
                self.state = if last { State::End } else { State::Boundary(Boundary::new(self.format)) };
            }
            Decoded::OutputFull if produced == 0 => return Err(self.no_progress()),
            Decoded::OutputFull => {}
            Decoded::InputEmpty if produced > 0 => {}
            Decoded::InputEmpty => self.more_input(eof)?,
        }
        Ok(if produced > 0 { Step::Produced(produced) } else { Step::Continue })
    }

    /// The codec needs more input to go on (behind what is pending, when it left an
    /// incomplete unit for us to complete contiguously).
    fn more_input(&mut self, eof: &mut bool) -> Result<()> {
        if *eof {
            return Err(Error::Truncated { format: self.format });
        }
        if self.buf.pending().len() == self.buf.capacity() {
            // an incomplete unit larger than `room`: the codec broke its contract
            return Err(self.no_progress());
        }
        self.buf.compact();
        *eof = self.fill()? == 0;
        Ok(())
    }

    fn no_progress(&self) -> Error {
        Error::backend(self.format, "decoder made no progress")
    }

    /// Between members: let the end-of-stream policy decide what the next bytes are.
    fn boundary(&mut self, mut boundary: Boundary) -> Result<()> {
        let mut eof = false;
        loop {
            let next = boundary.next(self.buf.pending(), eof, self.buf.capacity());
            // keep the padding count for a `read` retried after an error
            self.state = State::Boundary(boundary);
            match next? {
                Next::Skip(n) => self.consume(n),
                Next::NeedMore => {
                    self.buf.compact();
                    eof = self.fill()? == 0;
                }
                Next::End => {
                    self.state = State::End;
                    return Ok(());
                }
                Next::Member => {
                    self.codec.reset().map_err(|fault| Error::from_fault(self.format, fault))?;
                    self.state = State::Member;
                    return Ok(());
                }
            }
        }
    }
}

/// Read once from `inner` into `buf`'s free space, retrying `Interrupted`.
fn fill<R: Read>(inner: &mut R, buf: &mut Buffer) -> Result<usize> {
    loop {
        match inner.read(buf.spare()) {
            Ok(n) => {
                buf.commit(n);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
}

/// Find the format at the start of `inner`, reading into `buf` (whose bytes stay there for the
/// decoder). Leading skippable frames are consumed.
fn sniff<R: Read>(inner: &mut R, buf: &mut Buffer) -> Result<Sniffed> {
    let mut skipped = 0u64;
    loop {
        match format::sniff(buf.pending()) {
            Sniff::Found(format) => return Ok(Sniffed { format, skipped, only_skippable: false }),
            Sniff::Unknown => return Err(Error::UnknownFormat),
            Sniff::Skippable(len) => {
                skipped += len;
                if skipped > MAX_SKIPPABLE_PREFIX {
                    return Err(Error::UnknownFormat);
                }
                let mut left = len;
                let owner = Format::skippable_owner().ok_or(Error::UnknownFormat)?;
                while left > 0 {
                    if buf.is_empty() && fill(inner, buf)? == 0 {
                        return Err(Error::Truncated { format: owner });
                    }
                    let n = left.min(buf.pending().len() as u64) as usize;
                    buf.consume(n);
                    left -= n as u64;
                }
            }
            Sniff::NeedMore => {
                buf.compact();
                if fill(inner, buf)? == 0 {
                    if let (true, true, Some(owner)) =
                        (buf.is_empty(), skipped > 0, Format::skippable_owner())
                    {
                        return Ok(Sniffed { format: owner, skipped, only_skippable: true });
                    }
                    return Err(match format::partial_magic(buf.pending()) {
                        Some(format) => Error::Truncated { format },
                        None => Error::UnknownFormat,
                    });
                }
            }
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(e.duplicate().into());
        }
        if out.is_empty() {
            return Ok(0);
        }
        self.read_inner(out).map_err(|e| {
            if !e.is_retryable() {
                self.failed = Some(e.duplicate());
            }
            e.into()
        })
    }
}

impl<R: Read + fmt::Debug> fmt::Debug for Decoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("inner", &self.inner)
            .field("format", &self.format)
            .field("total_in", &self.total_in)
            .field("total_out", &self.total_out)
            .field("ended", &(self.state == State::End))
            .finish_non_exhaustive()
    }
}

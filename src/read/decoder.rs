//! `read::Decoder<R>`: reads compressed bytes from the inner reader into its one buffer and
//! decodes them straight into the caller's buffer. The decoding rules (members, boundaries,
//! limits, latched errors) are `DecodeCore`'s; this module adds the reads: when to read more
//! and when the input has ended.

use std::fmt;
use std::io::{self, Read};

use bytes::Bytes;

use crate::codec::InBuf;
use crate::config::{Config, Direction};
use crate::decode::{DecodeCore, Stage, Step, CROSSING};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::pool::Buffer;

/// A decompressing reader: reads `format` from the inner reader and returns the decompressed
/// bytes.
///
/// - Accepts any `Read` (no `BufRead` needed): the adapter's own buffer (`buffer_size`, 64 KiB
///   by default, allocated once) holds the compressed input read ahead.
/// - **Small reads are cheap**: a `read` of under 2 KiB is served from up to 8 KiB (at most
///   `buffer_size`) decoded ahead into a stage, allocated at the first such read, so that
///   each read costs a copy rather than a trip through the codec. For lz4 the stage is
///   64 KiB (if `buffer_size` allows), a block of the default size: such a block decodes
///   straight into it, in place of the codec's own block buffer. Inside an lz4 stored block,
///   reads copy straight from the input buffer. What is held there always comes out first
///   (also through `read_to_end`), and [`total_out`](Decoder::total_out) does not count it.
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
    core: DecodeCore,
    /// Output decoded ahead for small reads.
    stage: Stage,
    /// The first `leased` pending bytes of `buf` are output, not input: a stretch of an lz4
    /// stored block the codec has taken as output (`DecodeCore::lease`), handed out by reads
    /// straight from the buffer.
    leased: usize,
    /// The last read was served by a lease: the next stage fill only crosses the next block's
    /// header (`CROSSING` bytes), so that a stored block after it is leased in turn rather
    /// than copied into the stage.
    crossing: bool,
    format: Format,
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
        let stage = Stage::new(buf.capacity());
        Ok(Decoder {
            inner,
            buf,
            core: DecodeCore::new(Some(format), config)?,
            stage,
            leased: 0,
            crossing: false,
            format,
        })
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
    /// [`MAX_SKIPPABLE_PREFIX`](crate::MAX_SKIPPABLE_PREFIX) bytes of them) are skipped to find the format behind them;
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
        let mut core = DecodeCore::new(None, config)?;
        let probe = config.probe_format()?;
        let settings = config.resolve(probe, Direction::Decompress)?;
        let mut buf = Buffer::new(settings.buffer_size, config.pool.as_ref());
        // the bytes read to find the format stay for the decoder
        let mut eof = false;
        loop {
            let mut input = InBuf::new(buf.pending());
            let found = core.sniff_only(&mut input, eof);
            buf.consume(input.pos);
            if found? {
                break;
            }
            buf.compact();
            eof = fill(&mut inner, &mut buf)? == 0;
        }
        let format = core.format().ok_or(Error::UnknownFormat)?;
        let stage = Stage::new(buf.capacity());
        Ok(Decoder { inner, buf, core, stage, leased: 0, crossing: false, format })
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
    pub fn into_parts(mut self) -> (R, Bytes) {
        // (leased bytes are output of the member, not input after it)
        self.buf.consume(self.leased);
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
        self.core.reset();
        self.buf.clear();
        self.stage.clear();
        self.leased = 0;
        self.crossing = false;
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
        self.core.total_in() - self.leased as u64
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
        self.core.total_out() - (self.stage.held() + self.leased) as u64
    }

    fn fill(&mut self) -> Result<usize> {
        fill(&mut self.inner, &mut self.buf)
    }
}

/// Decode into `out` (non-empty) from `buf`, reading `inner` when it needs more: at least one
/// byte, or 0 at the end of the stream. With `shortcut`, first one codec call on the input at
/// hand, past the state machine, where that is all a read needs (`Read::read`; not for
/// `read_to_end`, which gives each read a codec's whole unit).
fn read_into<R: Read>(
    inner: &mut R,
    buf: &mut Buffer,
    core: &mut DecodeCore,
    out: &mut [u8],
    shortcut: bool,
) -> Result<usize> {
    if shortcut {
        let mut input = InBuf::with_room(buf.pending(), buf.capacity());
        let ready = core.ready(&mut input, out);
        buf.consume(input.pos);
        if ready > 0 {
            return Ok(ready);
        }
    }
    // whether the inner reader has said end of input during this call
    let mut eof = false;
    loop {
        if !eof && buf.is_empty() && core.eager_input() {
            eof = fill(inner, buf)? == 0;
        }
        // the codec may leave an incomplete unit behind, to be completed in place
        let mut input = InBuf::with_room(buf.pending(), buf.capacity());
        let step = core.step(&mut input, eof, out);
        buf.consume(input.pos);
        match step? {
            Step::Produced(n) => return Ok(n),
            Step::End => return Ok(0),
            Step::NeedInput => {
                buf.compact();
                eof = fill(inner, buf)? == 0;
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

impl<R: Read> Decoder<R> {
    /// Hand out up to `out.len()` leased bytes; 0 when none are leased.
    fn hand_out_leased(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.leased);
        out[..n].copy_from_slice(&self.buf.pending()[..n]);
        self.buf.consume(n);
        self.leased -= n;
        n
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // (a lease is taken only with the stage empty, and reads hand it out before anything
        // else: the first test a read of a stored block meets)
        if self.leased > 0 {
            return Ok(self.hand_out_leased(out));
        }
        if out.is_empty() {
            return Ok(0);
        }
        // inside an lz4 stored block, reads copy straight from the buffer: the codec takes
        // what the buffer holds of the block as output at once (`lease`)
        if self.stage.held() == 0 && self.core.passing() {
            // (input read ahead for the lease, not for a stage's worth of copies)
            if self.buf.is_empty() {
                self.buf.compact();
                self.fill()?;
            }
            self.leased = self.core.lease(&mut InBuf::new(self.buf.pending()));
            if self.leased > 0 {
                self.crossing = true;
                return Ok(self.hand_out_leased(out));
            }
        }
        // (small reads are served from the stage, which is filled by the same read)
        let most = if std::mem::take(&mut self.crossing) { CROSSING } else { usize::MAX };
        let (inner, buf, core) = (&mut self.inner, &mut self.buf, &mut self.core);
        Ok(self.stage.read(out, core.output_unit(), most, |out| read_into(inner, buf, core, out, true))?)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        // what earlier reads left: the stage, then the lease behind it
        let staged = self.stage.drain_into(buf);
        let leased = std::mem::take(&mut self.leased);
        buf.extend_from_slice(&self.buf.pending()[..leased]);
        self.buf.consume(leased);
        Ok(staged + leased + crate::decode::read_to_end(self, buf)?)
    }
}

impl<R: Read> crate::decode::ReadOut for Decoder<R> {
    fn read_out(&mut self, out: &mut [u8]) -> Result<usize> {
        read_into(&mut self.inner, &mut self.buf, &mut self.core, out, false)
    }

    fn passing(&self) -> bool {
        self.core.passing()
    }

    fn append_passing(&mut self, out: &mut Vec<u8>) -> Result<usize> {
        if self.buf.is_empty() {
            self.buf.compact();
            if self.fill()? == 0 {
                return Ok(0);
            }
        }
        let mut input = InBuf::new(self.buf.pending());
        let n = self.core.lease_append(&mut input, out);
        self.buf.consume(input.pos);
        Ok(n)
    }

    fn output_unit(&self) -> usize {
        self.core.output_unit()
    }
}

impl<R: Read + fmt::Debug> fmt::Debug for Decoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("inner", &self.inner)
            .field("format", &self.format)
            .field("total_in", &self.total_in())
            .field("total_out", &self.total_out())
            .field("ended", &self.core.ended())
            .finish_non_exhaustive()
    }
}

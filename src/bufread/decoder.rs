//! `bufread::Decoder<R>`: decodes straight from the inner reader's buffer.

use std::fmt;
use std::io::{self, BufRead, Read};

use super::fill_buf;
use crate::codec::InBuf;
use crate::config::Config;
use crate::decode::{DecodeCore, Stage, Step};
use crate::error::{Error, Result};
use crate::format::Format;

/// A decompressing reader over a [`BufRead`]: it decodes from the reader's own buffer
/// (`fill_buf`/`consume`), so there is no input buffer of its own and no copy of the input —
/// over a `&[u8]` that makes one-shot decoding copy-free. (Reads of under 2 KiB are served
/// from up to 8 KiB decoded ahead, 64 KiB for lz4, as for
/// [`read::Decoder`](crate::read::Decoder): that stage is allocated at the first small read,
/// never otherwise.) With
/// [`Config::single_stream`] it consumes exactly the first member: the bytes after it stay
/// unread in the inner reader.
///
/// Everything else is as for [`read::Decoder`](crate::read::Decoder): strict, limited,
/// concatenated members, `Interrupted` retried, `WouldBlock` resumable.
///
/// ```
/// use std::io::{BufRead, Read};
/// use compressio::{bufread, compress, Config, Format};
///
/// // a compressed member followed by other data, in one buffer
/// let mut data = compress(b"header", Format::Gzip)?;
/// data.extend_from_slice(b"|the rest");
/// let mut input = &data[..];
/// let config = Config::default().single_stream(true);
/// let mut decoder = bufread::Decoder::with_config(&mut input, Format::Gzip, &config)?;
/// let mut header = String::new();
/// decoder.read_to_string(&mut header)?;
/// assert_eq!(header, "header");
/// assert_eq!(input, b"|the rest"); // not a byte more was taken
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Decoder<R: BufRead> {
    inner: R,
    state: DecodeState,
    /// Output decoded ahead for small reads.
    stage: Stage,
    format: Format,
}

/// Everything of a bufread-shaped decoder but the reader, which comes with each call (the
/// async decoders drive the same state through a bridge that turns `Pending` into
/// `WouldBlock`).
pub(crate) struct DecodeState {
    core: DecodeCore,
    /// The last read produced output and took all the input the reader had buffered: the
    /// codec may hold more output for input it already has, so the next read asks it before
    /// asking the reader, which has nothing buffered and may block. (With input still
    /// buffered, `fill_buf` returns at once: no call to the codec is wasted on empty input.)
    ask_codec_first: bool,
}

impl DecodeState {
    /// A decoder for `format`, or for whatever the input starts with (`None`).
    pub fn new(format: Option<Format>, config: &Config) -> Result<Self> {
        Ok(DecodeState { core: DecodeCore::new(format, config)?, ask_codec_first: false })
    }

    pub fn core(&self) -> &DecodeCore {
        &self.core
    }

    /// Read from `inner` until the format is known (`auto`); the bytes looked at stay with
    /// the core, to be decoded.
    pub fn sniff<R: BufRead + ?Sized>(&mut self, inner: &mut R) -> Result<Format> {
        loop {
            let available = fill_buf(inner)?;
            let eof = available.is_empty();
            let mut input = InBuf::new(available);
            let found = self.core.sniff_only(&mut input, eof);
            let consumed = input.pos;
            inner.consume(consumed);
            if found? {
                return self.core.format().ok_or(Error::UnknownFormat);
            }
        }
    }

    /// Decode into `out` (non-empty) from `inner`'s buffer: at least one byte, or 0 at the
    /// end of the stream. Asks `inner` for input only while nothing has been produced, so an
    /// error from it (`WouldBlock`) never loses output.
    pub fn read<R: BufRead + ?Sized>(&mut self, inner: &mut R, out: &mut [u8]) -> Result<usize> {
        loop {
            if self.ask_codec_first {
                self.ask_codec_first = false;
                match self.core.step(&mut InBuf::new(&[]), false, out)? {
                    Step::Produced(n) => {
                        self.ask_codec_first = true;
                        return Ok(n);
                    }
                    Step::End => return Ok(0),
                    Step::NeedInput => {}
                }
            }
            let available = fill_buf(inner)?;
            let eof = available.is_empty();
            let mut input = InBuf::new(available);
            let step = self.core.step(&mut input, eof, out);
            let (consumed, drained) = (input.pos, input.is_empty());
            inner.consume(consumed);
            match step? {
                Step::Produced(n) => {
                    self.ask_codec_first = drained;
                    return Ok(n);
                }
                Step::End => return Ok(0),
                // every byte offered was taken (no room to leave any in): ask for more
                Step::NeedInput => {}
            }
        }
    }

    /// While the codec passes its input straight through (`DecodeCore::passing`): append
    /// what `inner` has buffered of it to `out`; 0 at the end of the input.
    pub fn append_passing<R: BufRead + ?Sized>(&mut self, inner: &mut R, out: &mut Vec<u8>) -> Result<usize> {
        let mut input = InBuf::new(fill_buf(inner)?);
        let n = self.core.lease_append(&mut input, out);
        let consumed = input.pos;
        inner.consume(consumed);
        Ok(n)
    }

    /// The state's part of a decoder's `Debug`, whatever its shape; `staged` bytes of the
    /// output are still the shape's to return.
    pub fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>, staged: usize) {
        d.field("format", &self.core.format())
            .field("total_in", &self.core.total_in())
            .field("total_out", &(self.core.total_out() - staged as u64))
            .field("ended", &self.core.ended());
    }
}

impl<R: BufRead> Decoder<R> {
    /// A decoder for `format` with the default [`Config`].
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, compress, Format};
    ///
    /// let packed = compress(b"from a slice", Format::Lz4)?;
    /// let mut text = String::new();
    /// bufread::Decoder::new(&packed[..], Format::Lz4)?.read_to_string(&mut text)?;
    /// assert_eq!(text, "from a slice");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(inner: R, format: Format) -> Result<Self> {
        Self::with_config(inner, format, &Config::default())
    }

    /// A decoder for `format` with `config` (validated here; its buffer size does not apply).
    ///
    /// ```
    /// use std::io::{BufReader, Read};
    /// use compressio::{bufread, compress, Config, Format};
    ///
    /// let packed = compress(b"through a BufReader", Format::Bzip2)?;
    /// let reader = BufReader::with_capacity(7, &packed[..]);
    /// let config = Config::default().max_output(1 << 20);
    /// let mut out = Vec::new();
    /// bufread::Decoder::with_config(reader, Format::Bzip2, &config)?.read_to_end(&mut out)?;
    /// assert_eq!(out, b"through a BufReader");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_config(inner: R, format: Format, config: &Config) -> Result<Self> {
        let stage = Stage::new(config.buffer_size.unwrap_or(usize::MAX));
        Ok(Decoder { inner, state: DecodeState::new(Some(format), config)?, stage, format })
    }

    /// A decoder for whatever format the input starts with (see [`Format::detect`]), with the
    /// default [`Config`]. The bytes looked at are decoded, not lost.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, compress, Format};
    ///
    /// let packed = compress(b"sniffed", Format::Xz)?;
    /// let mut decoder = bufread::Decoder::auto(&packed[..])?;
    /// assert_eq!(decoder.format(), Format::Xz);
    /// let mut out = Vec::new();
    /// decoder.read_to_end(&mut out)?;
    /// assert_eq!(out, b"sniffed");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auto(inner: R) -> Result<Self> {
        Self::auto_with_config(inner, &Config::default())
    }

    /// [`auto`](Decoder::auto) with `config`.
    ///
    /// ```
    /// use compressio::{bufread, Config, Error};
    ///
    /// let result = bufread::Decoder::auto_with_config(&b"plain text"[..], &Config::default());
    /// assert!(matches!(result, Err(Error::UnknownFormat)));
    /// ```
    pub fn auto_with_config(mut inner: R, config: &Config) -> Result<Self> {
        let mut state = DecodeState::new(None, config)?;
        let format = state.sniff(&mut inner)?;
        let stage = Stage::new(config.buffer_size.unwrap_or(usize::MAX));
        Ok(Decoder { inner, state, stage, format })
    }

    /// The format being decoded.
    ///
    /// ```
    /// use compressio::{bufread, Format};
    ///
    /// assert_eq!(bufread::Decoder::new(&b""[..], Format::Brotli)?.format(), Format::Brotli);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn format(&self) -> Format {
        self.format
    }

    /// The inner reader.
    ///
    /// ```
    /// use compressio::{bufread, Format};
    ///
    /// let decoder = bufread::Decoder::new(&b"xyz"[..], Format::Zstd)?;
    /// assert_eq!(*decoder.get_ref(), b"xyz");
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader. Reading from it directly takes bytes away from the decoder.
    ///
    /// ```
    /// use compressio::{bufread, Format};
    ///
    /// let mut decoder = bufread::Decoder::new(&b"xyz"[..], Format::Zstd)?;
    /// assert_eq!(decoder.get_mut().len(), 3);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader, with every byte the decoder has not consumed still in it.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, compress, Config, Format};
    ///
    /// let mut data = compress(b"first", Format::Zstd)?;
    /// data.extend(compress(b"second", Format::Zstd)?);
    /// let config = Config::default().single_stream(true);
    /// let mut decoder = bufread::Decoder::with_config(&data[..], Format::Zstd, &config)?;
    /// decoder.read_to_end(&mut Vec::new())?;
    /// let rest = decoder.into_inner(); // exactly the second frame
    /// assert_eq!(compressio::decompress(rest, Format::Zstd)?, b"second");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Compressed bytes consumed so far.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, compress, Format};
    ///
    /// let packed = compress(&[3u8; 3000], Format::Gzip)?;
    /// let mut decoder = bufread::Decoder::new(&packed[..], Format::Gzip)?;
    /// decoder.read_to_end(&mut Vec::new())?;
    /// assert_eq!(decoder.total_in(), packed.len() as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_in(&self) -> u64 {
        self.state.core().total_in()
    }

    /// Decompressed bytes returned so far.
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{bufread, compress, Format};
    ///
    /// let packed = compress(&[3u8; 3000], Format::Gzip)?;
    /// let mut decoder = bufread::Decoder::new(&packed[..], Format::Gzip)?;
    /// decoder.read_to_end(&mut Vec::new())?;
    /// assert_eq!(decoder.total_out(), 3000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total_out(&self) -> u64 {
        self.state.core().total_out() - self.stage.held() as u64
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        // (small reads are served from the stage, which is filled by the same read)
        let (inner, state) = (&mut self.inner, &mut self.state);
        Ok(self.stage.read(out, state.core.output_unit(), usize::MAX, |out| {
            // a read the codec can serve from what it holds (not for `read_to_end`)
            let ready = state.core.ready(&mut InBuf::new(&[]), out);
            if ready > 0 {
                return Ok(ready);
            }
            state.read(inner, out)
        })?)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let staged = self.stage.drain_into(buf);
        Ok(staged + crate::decode::read_to_end(self, buf)?)
    }
}

impl<R: BufRead> crate::decode::ReadOut for Decoder<R> {
    fn read_out(&mut self, out: &mut [u8]) -> Result<usize> {
        self.state.read(&mut self.inner, out)
    }

    fn output_unit(&self) -> usize {
        self.state.core.output_unit()
    }

    fn passing(&self) -> bool {
        self.state.core.passing()
    }

    fn append_passing(&mut self, out: &mut Vec<u8>) -> Result<usize> {
        self.state.append_passing(&mut self.inner, out)
    }
}

impl<R: BufRead + fmt::Debug> fmt::Debug for Decoder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Decoder");
        d.field("inner", &self.inner);
        self.state.debug_fields(&mut d, self.stage.held());
        d.finish_non_exhaustive()
    }
}

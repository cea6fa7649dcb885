//! The sans-I/O codec contract, and the one place that maps a format to its codec.
//!
//! Every format is a state machine turning bytes from an [`InBuf`] into bytes in an
//! [`OutBuf`]. The contract, which the adapters in `write.rs` and `read.rs` rely on:
//!
//! - **Progress.** Given non-empty input and non-empty output space, a call consumes or
//!   produces at least one byte (header fields are assembled internally, so a 1-byte buffer
//!   works). A call with empty input produces whatever output is pending and nothing else.
//! - **No I/O, no borrowed memory.** A codec holds no reference to caller memory across calls
//!   and allocates only when built or when a stream header asks for larger internal buffers
//!   (bounded by the memory limit), never per call.
//! - **Members.** `Decode::decode` returns [`Status::Done`] when a member (gzip member, zstd
//!   or skippable frame, lz4 frame, xz stream, ...) has ended and all its output has been
//!   produced, having consumed exactly the member's bytes. What comes next (another member,
//!   padding, trailing garbage, end of input) is the adapter's decision, never the codec's.
//! - **Errors** are this crate's [`Error`](crate::Error): `Corrupt`, `LimitExceeded`,
//!   `Unsupported`. Truncation is not the codec's to judge: the adapter reports it when the
//!   input ends before `Done`.

use crate::buf::{InBuf, OutBuf, Status};
use crate::config::{Direction, Settings};
use crate::{BufferPool, Error, Format, Result};

#[cfg(feature = "deflate")]
pub(crate) mod deflate;
#[cfg(feature = "deflate")]
pub(crate) mod gzip;
#[cfg(feature = "lz4")]
pub(crate) mod lz4;
pub(crate) mod parallel;
#[cfg(feature = "xz")]
pub(crate) mod xz;
#[cfg(feature = "zstd")]
pub(crate) mod zstd;

/// A compressor.
pub(crate) trait Encode: Send {
    /// Consume input, produce output.
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<()>;
    /// Sync flush: once `Done`, every byte consumed so far can be decoded from the output
    /// produced so far. Called repeatedly (with fresh output space) until `Done`.
    fn flush(&mut self, output: &mut OutBuf<'_>) -> Result<Status>;
    /// End the stream (trailer, checksums). Called repeatedly until `Done`; `encode` is never
    /// called after the first `finish`.
    fn finish(&mut self, output: &mut OutBuf<'_>) -> Result<Status>;
    /// Start a new, independent stream with the same settings, reusing what can be reused.
    fn reset(&mut self) -> Result<()>;
    /// Whether `reset` really reuses the context (worth keeping in a pool).
    fn reusable(&self) -> bool {
        true
    }
}

/// A decompressor for one member at a time.
pub(crate) trait Decode: Send {
    /// Consume input, produce output; `Done` at the end of a member.
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<Status>;
    /// Prepare for the next member (or a new stream), reusing what can be reused.
    fn reset(&mut self) -> Result<()>;
    /// After `Done`: whether the member that ended was a skippable frame (no content), which
    /// `single_stream` does not count as the first member.
    fn ended_skippable(&self) -> bool {
        false
    }
    /// Whether the adapter should read input ahead whenever its buffer is empty, rather than
    /// only when the codec stops making progress (liblzma's multithreaded decoder: its
    /// workers decode the next blocks while the current one is read out). Off by default, so
    /// that a decoder on a socket returns what it can before blocking for more.
    fn eager_input(&self) -> bool {
        false
    }
    /// Whether `reset` really reuses the context (worth keeping in a pool).
    fn reusable(&self) -> bool {
        true
    }
}

/// What identifies interchangeable codec contexts in a pool.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CodecKey {
    format: Format,
    direction: Direction,
    level: i32,
    checksum: bool,
    memory_level: Option<u8>,
    max_memory: u64,
    threads: Option<usize>,
}

impl CodecKey {
    fn new(format: Format, direction: Direction, s: &Settings) -> Self {
        CodecKey {
            format,
            direction,
            level: s.level,
            checksum: s.checksum,
            memory_level: s.memory_level,
            max_memory: s.max_memory,
            threads: s.threads,
        }
    }
}

/// A codec of either direction, as a pool stores it.
pub(crate) enum AnyCodec {
    Encode(Box<dyn Encode>),
    Decode(Box<dyn Decode>),
}

/// Conversions between an adapter's codec and what a pool stores.
pub(crate) trait Poolable {
    fn into_any(self: Box<Self>) -> AnyCodec;
    fn from_any(any: AnyCodec) -> Option<Box<Self>>;
    fn is_reusable(&self) -> bool;
    fn reset_codec(&mut self) -> Result<()>;
}

impl Poolable for dyn Encode {
    fn into_any(self: Box<Self>) -> AnyCodec {
        AnyCodec::Encode(self)
    }
    fn from_any(any: AnyCodec) -> Option<Box<Self>> {
        match any {
            AnyCodec::Encode(c) => Some(c),
            AnyCodec::Decode(_) => None,
        }
    }
    fn is_reusable(&self) -> bool {
        self.reusable()
    }
    fn reset_codec(&mut self) -> Result<()> {
        self.reset()
    }
}

impl Poolable for dyn Decode {
    fn into_any(self: Box<Self>) -> AnyCodec {
        AnyCodec::Decode(self)
    }
    fn from_any(any: AnyCodec) -> Option<Box<Self>> {
        match any {
            AnyCodec::Decode(c) => Some(c),
            AnyCodec::Encode(_) => None,
        }
    }
    fn is_reusable(&self) -> bool {
        self.reusable()
    }
    fn reset_codec(&mut self) -> Result<()> {
        self.reset()
    }
}

/// An adapter's codec. With a pool, it came from the pool if a matching idle one was there,
/// and goes back to it when the adapter is dropped.
pub(crate) struct Codec<C: ?Sized + Poolable> {
    /// `None` only while being dropped.
    inner: Option<Box<C>>,
    home: Option<(BufferPool, CodecKey)>,
}

impl<C: ?Sized + Poolable> Codec<C> {
    /// An idle codec from the pool (reset for a new stream), or a new one from `build`.
    fn get(
        format: Format,
        direction: Direction,
        settings: &Settings,
        build: impl FnOnce() -> Result<Box<C>>,
    ) -> Result<Self> {
        let Some(pool) = &settings.pool else {
            return Ok(Codec { inner: Some(build()?), home: None });
        };
        let key = CodecKey::new(format, direction, settings);
        let reused =
            pool.take_codec(&key).and_then(C::from_any).and_then(|mut c| c.reset_codec().ok().map(|_| c));
        let inner = match reused {
            Some(c) => c,
            None => build()?,
        };
        let home = inner.is_reusable().then(|| (pool.clone(), key));
        Ok(Codec { inner: Some(inner), home })
    }
}

impl<C: ?Sized + Poolable> std::ops::Deref for Codec<C> {
    type Target = C;
    fn deref(&self) -> &C {
        // always Some outside of drop
        self.inner.as_deref().unwrap_or_else(|| unreachable!("codec used during drop"))
    }
}

impl<C: ?Sized + Poolable> std::ops::DerefMut for Codec<C> {
    fn deref_mut(&mut self) -> &mut C {
        self.inner.as_deref_mut().unwrap_or_else(|| unreachable!("codec used during drop"))
    }
}

impl<C: ?Sized + Poolable> Drop for Codec<C> {
    fn drop(&mut self) {
        if let (Some((pool, key)), Some(inner)) = (self.home.take(), self.inner.take()) {
            pool.give_codec(key, inner.into_any());
        }
    }
}

/// The encoder for `format` with resolved `settings` (from the settings' pool if possible).
pub(crate) fn encoder(format: Format, settings: &Settings) -> Result<Codec<dyn Encode>> {
    Codec::get(format, Direction::Compress, settings, || new_encoder(format, settings))
}

/// The decoder for `format` with resolved `settings` (from the settings' pool if possible).
pub(crate) fn decoder(format: Format, settings: &Settings) -> Result<Codec<dyn Decode>> {
    Codec::get(format, Direction::Decompress, settings, || new_decoder(format, settings))
}

fn new_encoder(format: Format, settings: &Settings) -> Result<Box<dyn Encode>> {
    Ok(match format {
        #[cfg(feature = "deflate")]
        Format::Gzip => Box::new(gzip::GzipEncoder::new(settings)?),
        #[cfg(feature = "deflate")]
        Format::Deflate => match settings.threads {
            Some(threads) => Box::new(deflate::ParallelDeflate::new(settings, threads)?),
            None => Box::new(deflate::DeflateEncoder::new(format, settings)),
        },
        #[cfg(feature = "deflate")]
        Format::Zlib => Box::new(deflate::DeflateEncoder::new(format, settings)),
        #[cfg(feature = "zstd")]
        Format::Zstd => Box::new(zstd::ZstdEncoder::new(settings)?),
        #[cfg(feature = "lz4")]
        Format::Lz4 => Box::new(lz4::Lz4Encoder::new(settings)?),
        #[cfg(feature = "xz")]
        Format::Xz | Format::Lzma => Box::new(xz::XzEncoder::new(format, settings)?),
        #[allow(unreachable_patterns)]
        _ => return Err(disabled(format)),
    })
}

fn new_decoder(format: Format, settings: &Settings) -> Result<Box<dyn Decode>> {
    Ok(match format {
        #[cfg(feature = "deflate")]
        Format::Gzip => Box::new(gzip::GzipDecoder::new()),
        #[cfg(feature = "deflate")]
        Format::Zlib | Format::Deflate => Box::new(deflate::DeflateDecoder::new(format)),
        #[cfg(feature = "zstd")]
        Format::Zstd => Box::new(zstd::ZstdDecoder::new(settings)?),
        #[cfg(feature = "lz4")]
        Format::Lz4 => Box::new(lz4::Lz4Decoder::new(settings)),
        #[cfg(feature = "xz")]
        Format::Xz | Format::Lzma => Box::new(xz::XzDecoder::new(format, settings)?),
        #[allow(unreachable_patterns)]
        _ => return Err(disabled(format)),
    })
}

#[allow(dead_code)] // only reachable when a codec feature is disabled
fn disabled(format: Format) -> Error {
    Error::unsupported(format, format!("compressio was built without the cargo feature for {format}"))
}

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
use crate::config::Settings;
use crate::{Error, Format, Result};

#[cfg(feature = "deflate")]
pub(crate) mod deflate;
#[cfg(feature = "deflate")]
pub(crate) mod gzip;
#[cfg(feature = "lz4")]
pub(crate) mod lz4;
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
    #[allow(dead_code)] // the adapters' `reset` API arrives with the memory-reuse work
    fn reset(&mut self) -> Result<()>;
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
}

/// The encoder for `format` with resolved `settings`.
pub(crate) fn encoder(format: Format, settings: &Settings) -> Result<Box<dyn Encode>> {
    Ok(match format {
        #[cfg(feature = "deflate")]
        Format::Gzip => Box::new(gzip::GzipEncoder::new(settings)),
        #[cfg(feature = "deflate")]
        Format::Zlib | Format::Deflate => Box::new(deflate::DeflateEncoder::new(format, settings)),
        #[cfg(feature = "zstd")]
        Format::Zstd => Box::new(zstd::ZstdEncoder::new(settings)?),
        #[cfg(feature = "lz4")]
        Format::Lz4 => Box::new(lz4::Lz4Encoder::new(settings)),
        #[cfg(feature = "xz")]
        Format::Xz | Format::Lzma => Box::new(xz::XzEncoder::new(format, settings)?),
        #[allow(unreachable_patterns)]
        _ => return Err(disabled(format)),
    })
}

/// The decoder for `format` with resolved `settings`.
pub(crate) fn decoder(format: Format, settings: &Settings) -> Result<Box<dyn Decode>> {
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

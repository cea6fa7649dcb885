//! The crate's one error type and its lossless round trip through `std::io::Error`.
//!
//! Adapters implement `Read`/`Write`, so every error has to travel as an `io::Error` at some
//! point. [`Error`] converts into an `io::Error` whose payload is the `Error` itself, and
//! `From<io::Error>` unwraps it again, so `Error::Corrupt` stays `Error::Corrupt` across
//! `std::io::copy`, `read_to_end` and friends.

use std::fmt;
use std::io;

use crate::codec::Fault;
use crate::format::Format;

/// Everything that can go wrong while compressing or decompressing.
///
/// Whose fault it is decides the variant: the inner reader or writer ([`Error::Io`]), the
/// data ([`Corrupt`](Error::Corrupt), [`Truncated`](Error::Truncated),
/// [`TrailingData`](Error::TrailingData), [`UnknownFormat`](Error::UnknownFormat)), the
/// caller's limits or configuration ([`LimitExceeded`](Error::LimitExceeded),
/// [`InvalidConfig`](Error::InvalidConfig), [`Unsupported`](Error::Unsupported)), or the
/// compression library itself ([`Backend`](Error::Backend)).
///
/// Converts into [`std::io::Error`] (kind `InvalidData` for bad data and exceeded limits,
/// `UnexpectedEof` for truncation, `InvalidInput` for a bad configuration or a missing
/// dictionary, `Unsupported` for
/// stream features this build cannot handle, `Other` for a backend failure) and back again
/// without losing the variant:
///
/// ```
/// use compressio::{Error, Format};
///
/// let err = Error::Truncated { format: Format::Zstd };
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::UnexpectedEof);
/// assert!(matches!(Error::from(io), Error::Truncated { format: Format::Zstd }));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The inner reader or writer failed. Nothing else is reported as `Io`, so an `Io` error
    /// (`WouldBlock`, say) leaves the adapter able to continue.
    Io(io::Error),
    /// The compressed data is invalid: bad header, bad checksum, impossible block.
    Corrupt {
        /// The format being decoded.
        format: Format,
        /// What was wrong, e.g. `"header CRC mismatch"`.
        detail: String,
    },
    /// The input ended in the middle of a stream.
    Truncated {
        /// The format being decoded.
        format: Format,
    },
    /// Bytes follow the end of the stream that do not start another member of the same format.
    ///
    /// Use [`Config::single_stream`](crate::Config::single_stream) and
    /// [`Decoder::into_parts`](crate::Decoder::into_parts) to read such data deliberately.
    TrailingData {
        /// The format of the stream that ended.
        format: Format,
    },
    /// [`Decoder::auto`](crate::Decoder::auto) found no known format at the start of the input.
    UnknownFormat,
    /// A limit from the [`Config`](crate::Config) would have been exceeded
    /// (`max_output` or `max_memory`); `limit` is that limit's value in bytes.
    LimitExceeded {
        /// The limit that was hit, in bytes.
        limit: u64,
    },
    /// The [`Config`](crate::Config) is not valid for this format (level out of range, zero
    /// buffer size, ...).
    InvalidConfig(String),
    /// The stream is valid but uses a feature this build does not support (a preset
    /// dictionary, a format whose cargo feature is disabled, ...).
    Unsupported {
        /// The format concerned.
        format: Format,
        /// What is unsupported.
        detail: String,
    },
    /// The stream was compressed with a dictionary the [`Config`](crate::Config) does not
    /// give: none was given, or not this one. Give the right one with
    /// [`Config::dictionary`](crate::Config::dictionary) and decode again.
    NeedsDictionary {
        /// The format being decoded.
        format: Format,
        /// The dictionary the stream names: zstd's dictionary ID, or for zlib the Adler-32 of
        /// the dictionary's content (RFC 1950 DICTID).
        id: u32,
    },
    /// The compression library itself failed, through no fault of the data or of the inner
    /// I/O: it ran out of memory, reported an internal error, or a worker thread is gone.
    /// Like a data error, it is final for the adapter.
    Backend {
        /// The format whose codec failed.
        format: Format,
        /// What failed, e.g. `"out of memory"`.
        detail: String,
    },
}

/// `std::result::Result` with this crate's [`Error`].
///
/// ```
/// fn roundtrip(data: &[u8]) -> compressio::Result<Vec<u8>> {
///     let packed = compressio::compress(data, compressio::Format::Lz4)?;
///     compressio::decompress(&packed, compressio::Format::Lz4)
/// }
/// assert_eq!(roundtrip(b"abc")?, b"abc");
/// # Ok::<(), compressio::Error>(())
/// ```
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn corrupt(format: Format, detail: impl Into<String>) -> Self {
        Error::Corrupt { format, detail: detail.into() }
    }

    pub(crate) fn unsupported(format: Format, detail: impl Into<String>) -> Self {
        Error::Unsupported { format, detail: detail.into() }
    }

    pub(crate) fn backend(format: Format, detail: impl Into<String>) -> Self {
        Error::Backend { format, detail: detail.into() }
    }

    /// A codec's fault, with the format the adapter was working on.
    pub(crate) fn from_fault(format: Format, fault: Fault) -> Self {
        match fault {
            Fault::Corrupt(detail) => Error::corrupt(format, detail),
            Fault::Limit(limit) => Error::LimitExceeded { limit },
            Fault::Unsupported(detail) => Error::unsupported(format, detail),
            Fault::InvalidConfig(detail) => Error::InvalidConfig(format!("{format}: {detail}")),
            Fault::Backend(detail) => Error::backend(format, detail),
            Fault::Dictionary(id) => Error::NeedsDictionary { format, id },
            Fault::Trailing => Error::TrailingData { format },
        }
    }

    /// The format's codec is not in this build.
    pub(crate) fn disabled(format: Format) -> Self {
        let feature = format.spec().feature;
        Error::unsupported(format, format!("compressio was built without the cargo feature `{feature}`"))
    }

    /// Whether a later call may succeed: an I/O error of the inner reader or writer
    /// (`WouldBlock`, `TimedOut`, ...) or input that ended early, which more input can mend.
    /// Every other error is final for the adapter that reported it.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, Error::Io(_) | Error::Truncated { .. })
    }

    /// The `io::ErrorKind` this error travels as.
    ///
    /// ```
    /// use compressio::{Error, Format};
    ///
    /// assert_eq!(Error::Truncated { format: Format::Gzip }.io_kind(), std::io::ErrorKind::UnexpectedEof);
    /// assert_eq!(Error::Corrupt { format: Format::Zstd, detail: "bad block".into() }.io_kind(), std::io::ErrorKind::InvalidData);
    /// ```
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::Io(e) => e.kind(),
            Error::Corrupt { .. }
            | Error::TrailingData { .. }
            | Error::UnknownFormat
            | Error::LimitExceeded { .. } => io::ErrorKind::InvalidData,
            Error::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            Error::InvalidConfig(_) | Error::NeedsDictionary { .. } => io::ErrorKind::InvalidInput,
            Error::Unsupported { .. } => io::ErrorKind::Unsupported,
            Error::Backend { .. } => io::ErrorKind::Other,
        }
    }

    /// A copy of this error for a decoder that keeps reporting it after the first failure.
    /// `io::Error` is not `Clone`; its kind and message are kept.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::Io(e) => Error::Io(io::Error::new(e.kind(), e.to_string())),
            Error::Corrupt { format, detail } => Error::corrupt(*format, detail.clone()),
            Error::Truncated { format } => Error::Truncated { format: *format },
            Error::TrailingData { format } => Error::TrailingData { format: *format },
            Error::UnknownFormat => Error::UnknownFormat,
            Error::LimitExceeded { limit } => Error::LimitExceeded { limit: *limit },
            Error::InvalidConfig(s) => Error::InvalidConfig(s.clone()),
            Error::Unsupported { format, detail } => Error::unsupported(*format, detail.clone()),
            Error::Backend { format, detail } => Error::backend(*format, detail.clone()),
            Error::NeedsDictionary { format, id } => Error::NeedsDictionary { format: *format, id: *id },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o error: {e}"),
            Error::Corrupt { format, detail } => write!(f, "{format}: {detail}"),
            Error::Truncated { format } => {
                write!(f, "{format}: unexpected end of input (truncated stream)")
            }
            Error::TrailingData { format } => {
                write!(f, "{format}: unexpected data after the end of the stream")
            }
            Error::UnknownFormat => f.write_str("unknown compression format"),
            Error::LimitExceeded { limit } => write!(f, "limit of {limit} bytes exceeded"),
            Error::InvalidConfig(s) => write!(f, "invalid configuration: {s}"),
            Error::Unsupported { format, detail } => write!(f, "{format}: unsupported: {detail}"),
            Error::Backend { format, detail } => write!(f, "{format}: backend failure: {detail}"),
            Error::NeedsDictionary { format, id } => {
                write!(f, "{format}: the stream needs dictionary {id:#010x}, which was not given")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    /// Unwraps an `io::Error` that carries an [`Error`] (as produced by `From<Error> for
    /// io::Error`); any other `io::Error` becomes [`Error::Io`].
    fn from(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            match e.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(err)) => *err,
                // unreachable: checked with `is` above; keep a sane value anyway
                Some(Err(other)) => Error::Io(io::Error::other(other)),
                None => Error::Io(io::Error::other("empty i/o error")),
            }
        } else {
            Error::Io(e)
        }
    }
}

impl From<Error> for io::Error {
    /// [`Error::Io`] gives back the original `io::Error`; every other variant is wrapped with
    /// its [`io_kind`](Error::io_kind) and can be recovered with `Error::from`.
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            other => io::Error::new(other.io_kind(), other),
        }
    }
}

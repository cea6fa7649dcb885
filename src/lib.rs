//! # compressio
//!
//! Streaming compression adapters over `std::io` for **gzip, zlib, raw deflate, zstd, lz4
//! (frame), xz, legacy lzma, brotli and bzip2**, with one API, strict decoding and bounded
//! memory.
//!
//! - [`Encoder<W>`] wraps any `Write` and compresses what you write to it;
//!   [`Decoder<R>`] wraps any `Read` and decompresses what you read from it. Both work in
//!   `std::io::copy` pipelines and over files, sockets, `Vec<u8>` or each other.
//! - Each adapter owns **one buffer** of [`Config::buffer_size`] bytes, allocated once: a
//!   stream of any length runs in memory bounded by that buffer plus the codec's own window.
//! - Decoders are **strict**: a truncated stream is [`Error::Truncated`], never short output;
//!   garbage after the end is [`Error::TrailingData`]; checksums are verified; hostile headers
//!   hit [`Config::max_memory`] before anything is allocated.
//! - [`compress`], [`decompress`], [`decompress_auto`] and friends are thin layers over the
//!   same adapters.
//! - **Random access**: [`Config::seekable`] writes seekable streams (the zstd seekable format,
//!   BGZF, multi-block xz) that every tool still reads as ordinary ones, and
//!   [`SeekableDecoder`] reads any range of such a file through its index, decoding only the
//!   blocks the range touches.
//! - **Every I/O shape** rides on the same codecs and keeps the same promises:
//!
//! | shape | compress | decompress |
//! |---|---|---|
//! | on write, into a `Write` | [`write::Encoder`] (= [`Encoder`]) | [`write::Decoder`] |
//! | on read, from a `Read` | [`read::Encoder`] | [`read::Decoder`] (= [`Decoder`]) |
//! | from a `BufRead`'s own buffer (no buffer of ours, no copy) | [`bufread::Encoder`] | [`bufread::Decoder`] |
//! | tokio `AsyncWrite` / `AsyncBufRead` (feature `tokio`) | `tokio::write::Encoder`, `tokio::bufread::Encoder` | `tokio::write::Decoder`, `tokio::bufread::Decoder` |
//! | futures-io (feature `futures`) | `futures::write::Encoder`, `futures::bufread::Encoder` | `futures::write::Decoder`, `futures::bufread::Decoder` |
//!
//! ```
//! use std::io::{Read, Write};
//! use compressio::{Decoder, Encoder, Format};
//!
//! // compress into any writer...
//! let mut encoder = Encoder::new(Vec::new(), Format::Zstd)?;
//! encoder.write_all(b"the same bytes, the same bytes, the same bytes")?;
//! let compressed = encoder.finish()?;
//!
//! // ...and read it back from any reader, detecting the format
//! let mut decoder = Decoder::auto(&compressed[..])?;
//! let mut text = String::new();
//! decoder.read_to_string(&mut text)?;
//! assert_eq!(text, "the same bytes, the same bytes, the same bytes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Formats and backends
//!
//! | [`Format`] | backend | detected by |
//! |---|---|---|
//! | `Gzip` | flate2 (zlib-rs) raw deflate + our RFC 1952 header/trailer | `1f 8b` |
//! | `Zlib` | flate2 (zlib-rs) | RFC 1950 header check |
//! | `Deflate` | flate2 (zlib-rs) | never (no header) |
//! | `Zstd` | zstd (libzstd) | `28 b5 2f fd` |
//! | `Lz4` | our frame codec over lz4_flex's block API, xxh32 | `04 22 4d 18` |
//! | `Xz` | liblzma | `fd 37 7a 58 5a 00` |
//! | `Lzma` | liblzma (`lzma_alone`) | header heuristic |
//! | `Brotli` | brotli (pure Rust) | never (no header) |
//! | `Bzip2` | bzip2 (libbz2-rs-sys, pure Rust) | `BZh1`–`BZh9` + block magic |
//!
//! Each backend sits behind a cargo feature ([`Format::cargo_feature`]: `deflate`, `zstd`,
//! `lz4`, `xz`, `brotli`, `bzip2`), all on by default. The levels are mapped onto each
//! backend's scale as described on [`Level`].
//!
//! ## Guides
//!
//! - [Choosing a format](guide::choosing_a_format)
//! - [Streaming and memory](guide::streaming_and_memory): buffers, reuse, pools, limits,
//!   tracking — the ideas behind the design
//! - [Untrusted input](guide::untrusted_input)
//! - [Threads](guide::threads)
//!
//! ## Errors
//!
//! Every failure is an [`Error`]. Inside `Read`/`Write` it travels as an `std::io::Error`
//! and comes back out with `Error::from` unchanged, so
//! `matches!(Error::from(io_err), Error::Corrupt { .. })` works after `std::io::copy`.
#![deny(missing_docs)]
// `unsafe` is denied everywhere but in `alloc` (a `GlobalAlloc` needs it), `memory` (the
// backends' memory reports exist only as C functions), both covered by tests/memory.rs, and
// `codec::zstd::dict` (a context referencing a prepared dictionary it holds itself, which
// zstd-safe's lifetimes cannot express), covered by tests/dictionary.rs.
#![deny(unsafe_code)]

pub mod alloc;
#[cfg(any(feature = "tokio", feature = "futures"))]
mod asyncio;
mod buf;
pub mod bufread;
pub mod guide {
    //! Guides: longer explanations with runnable examples (each is a doctest).

    #[doc = include_str!("../docs/choosing-a-format.md")]
    pub mod choosing_a_format {}
    #[doc = include_str!("../docs/streaming-and-memory.md")]
    pub mod streaming_and_memory {}
    #[doc = include_str!("../docs/untrusted-input.md")]
    pub mod untrusted_input {}
    #[doc = include_str!("../docs/threads.md")]
    pub mod threads {}
}
mod codec;
mod config;
mod decode;
mod dictionary;
mod encode;
mod error;
mod format;
#[cfg(feature = "futures")]
pub mod futures;
mod members;
mod memory;
mod pool;
pub mod read;
mod seekable;
mod settings;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod write;

use std::io::{Read, Write};

pub use config::{Config, Direction, Level, DEFAULT_BUFFER_SIZE, DEFAULT_MAX_MEMORY};
pub use decode::MAX_SKIPPABLE_PREFIX;
pub use dictionary::Dictionary;
pub use error::{Error, Result};
pub use format::Format;
pub use pool::{BufferPool, PoolStats};
/// [`read::Decoder`], the decompressing reader.
pub use read::Decoder;
pub use seekable::SeekableDecoder;
/// [`write::Encoder`], the compressing writer.
pub use write::Encoder;

/// Compress `data` into a new `Vec` with the default [`Config`].
///
/// ```
/// let packed = compressio::compress(&[0u8; 100_000], compressio::Format::Gzip)?;
/// assert!(packed.len() < 200);
/// # Ok::<(), compressio::Error>(())
/// ```
pub fn compress(data: &[u8], format: Format) -> Result<Vec<u8>> {
    compress_with(data, format, &Config::default())
}

/// Compress `data` into a new `Vec` with `config`: an [`Encoder`] over a `Vec`.
///
/// The output grows in steps of the adapter's buffer size (at least 64 KiB), never by
/// doubling, so the peak heap is the output plus the codec and O(buffer) — there is no
/// second copy of the output.
///
/// ```
/// use compressio::{compress_with, decompress, Config, Format, Level};
///
/// let packed = compress_with(b"one shot", Format::Xz, &Config::default().level(Level::Fastest))?;
/// assert_eq!(decompress(&packed, Format::Xz)?, b"one shot");
/// # Ok::<(), compressio::Error>(())
/// ```
pub fn compress_with(data: &[u8], format: Format, config: &Config) -> Result<Vec<u8>> {
    let step = growth_step(config, format, Direction::Compress)?;
    let mut encoder = Encoder::with_config(ExactVec { data: Vec::new(), step }, format, config)?;
    encoder.write_all(data)?;
    Ok(encoder.finish()?.data)
}

/// Decompress all of `data`, which must be exactly one `format` stream (or a concatenation
/// of members), with the default [`Config`].
///
/// ```
/// use compressio::{compress, decompress, Error, Format};
///
/// let packed = compress(b"abc", Format::Lz4)?;
/// assert_eq!(decompress(&packed, Format::Lz4)?, b"abc");
/// assert!(matches!(decompress(&packed[..packed.len() - 1], Format::Lz4), Err(Error::Truncated { .. })));
/// # Ok::<(), compressio::Error>(())
/// ```
pub fn decompress(data: &[u8], format: Format) -> Result<Vec<u8>> {
    decompress_with(data, format, &Config::default())
}

/// Decompress all of `data` with `config`: a [`bufread::Decoder`] over the slice, which
/// decodes from the slice itself (no input buffer, no copy of the input). The output `Vec`
/// grows with what is actually produced (never from a size the input claims), in steps of
/// the buffer size (at least 64 KiB), and [`Config::max_output`] caps it.
///
/// ```
/// use compressio::{compress, decompress_with, Config, Error, Format};
///
/// let packed = compress(&[0u8; 100_000], Format::Zstd)?;
/// let config = Config::default().max_output(1000);
/// assert!(matches!(decompress_with(&packed, Format::Zstd, &config), Err(Error::LimitExceeded { .. })));
/// # Ok::<(), compressio::Error>(())
/// ```
pub fn decompress_with(data: &[u8], format: Format, config: &Config) -> Result<Vec<u8>> {
    let step = growth_step(config, format, Direction::Decompress)?;
    read_all(bufread::Decoder::with_config(data, format, config)?, step)
}

/// Decompress all of `data`, detecting the format (see [`Decoder::auto`]).
///
/// ```
/// let packed = compressio::compress(b"abc", compressio::Format::Gzip)?;
/// assert_eq!(compressio::decompress_auto(&packed)?, b"abc");
/// # Ok::<(), compressio::Error>(())
/// ```
pub fn decompress_auto(data: &[u8]) -> Result<Vec<u8>> {
    read_all(bufread::Decoder::auto(data)?, MIN_GROWTH_STEP)
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The smallest step the one-shot functions grow their output by.
const MIN_GROWTH_STEP: usize = 64 * 1024;

fn growth_step(config: &Config, format: Format, direction: Direction) -> Result<usize> {
    Ok(config.resolve(format, direction)?.buffer_size.max(MIN_GROWTH_STEP))
}

/// A `Vec` writer that grows by exactly what is needed, at least `step` bytes at a time.
/// (`Vec`'s own doubling would leave up to twice the output allocated.)
struct ExactVec {
    data: Vec<u8>,
    step: usize,
}

impl Write for ExactVec {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.data.capacity() - self.data.len() < buf.len() {
            self.data.reserve_exact(buf.len().max(self.step));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Read `decoder` to the end into a `Vec` growing `step` bytes at a time; every byte of it
/// is zeroed once before `read` may write into it.
fn read_all(mut decoder: impl Read, step: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut filled = 0;
    loop {
        if filled == out.len() {
            if out.len() == out.capacity() {
                out.reserve_exact(step);
            }
            out.resize(out.capacity(), 0);
        }
        match decoder.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    out.truncate(filled);
    Ok(out)
}

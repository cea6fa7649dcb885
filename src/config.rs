//! `Config` and `Level`: the format-independent "how" of an adapter, validated once, and the
//! parsing of what a user types for them (`Level` and `Format` names).
//!
//! A `Config` is a plain value the user builds and may share between many adapters. When an
//! adapter is built, [`Config::resolve`] checks it against the chosen format's spec and turns it
//! into [`Settings`], the backend-level numbers the codecs use; nothing on the hot path
//! validates again.

use std::str::FromStr;

use crate::error::{Error, Result};
use crate::format::Format;
use crate::pool::BufferPool;
use crate::settings::Settings;

/// Default size of an adapter's internal buffer: 64 KiB.
///
/// ```
/// assert_eq!(compressio::DEFAULT_BUFFER_SIZE, 64 * 1024);
/// ```
pub const DEFAULT_BUFFER_SIZE: usize = 64 * 1024;

/// Default [`Config::max_memory`] for decoders: 256 MiB.
///
/// Enough for every stream the reference tools write by default or at their highest ordinary
/// level: zstd windows up to 2^27 (128 MiB, the zstd CLI's own default limit; level 19 uses
/// 8 MiB), xz/lzma dictionaries up to preset 9's 64 MiB and beyond, and any lz4 block size.
/// A hostile header asking for more fails with [`Error::LimitExceeded`] before anything is
/// allocated.
///
/// ```
/// assert_eq!(compressio::DEFAULT_MAX_MEMORY, 256 << 20);
/// ```
pub const DEFAULT_MAX_MEMORY: u64 = 256 * 1024 * 1024;

/// Largest accepted `buffer_size`: 1 GiB.
const MAX_BUFFER_SIZE: usize = 1 << 30;

/// Compression level, mapped onto each backend's own scale.
///
/// | format | `Fastest` | `Fast` | `Default` | `Best` | `Exact(n)` range |
/// |---|---|---|---|---|---|
/// | gzip, zlib, deflate (zlib-rs) | 1 | 3 | 6 | 9 | 0 (stored) ..= 9 |
/// | zstd | 1 | 2 | 3 | 19 | -131072 ..= 22 (negative = fast modes, 0 = 3) |
/// | lz4 | 1 | 1 | 1 | 2 | 1 (independent blocks) ..= 2 (linked blocks) |
/// | xz, lzma (presets) | 0 | 3 | 6 | 9 | 0 ..= 9 |
/// | brotli (quality) | 0 | 4 | 6 | 11 | 0 ..= 11 |
/// | bzip2 (block size in 100 kB) | 1 | 5 | 9 | 9 | 1 ..= 9 |
///
/// lz4_flex implements only LZ4's fast compressor (what the `lz4` CLI does at `-1`); its two
/// "levels" choose independent blocks (each decodable alone, 64 KiB) or linked blocks (each
/// may refer to the previous 64 KiB, like `lz4 -BD`; 1 MiB, see
/// [`memory_level`](Config::memory_level)).
///
/// `Best` stops at zstd 19, as the zstd CLI does without `--ultra`: levels 20-22 need windows
/// of up to 128 MiB in every decoder. brotli's `Default` is 6, not the library's own 11:
/// quality 11 runs at about 1 MB/s, too slow for a streaming default; 4-6 is what on-the-fly
/// HTTP compression uses (nginx's default is 6). bzip2's levels are its block sizes; 9 is the
/// CLI's default and its best.
///
/// ```
/// use compressio::{compress_with, Config, Format, Level};
///
/// let data = vec![7u8; 10_000];
/// let small = compress_with(&data, Format::Zstd, &Config::default().level(Level::Best))?;
/// let exact = compress_with(&data, Format::Zstd, &Config::default().level(Level::Exact(19)))?;
/// assert_eq!(small, exact);
/// assert!(compress_with(&data, Format::Gzip, &Config::default().level(Level::Exact(10))).is_err());
/// # Ok::<(), compressio::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Level {
    /// The fastest useful setting.
    Fastest,
    /// Faster than the default, most of its ratio.
    Fast,
    /// The backend's own default (brotli: 6; see the table).
    #[default]
    Default,
    /// The best ratio without extreme memory use.
    Best,
    /// A level on the backend's own scale (see the table).
    Exact(i32),
}

impl FromStr for Level {
    type Err = Error;

    /// Parses `fastest`, `fast`, `default`, `best` or an integer (an [`Level::Exact`] level).
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "fastest" => Level::Fastest,
            "fast" => Level::Fast,
            "default" => Level::Default,
            "best" => Level::Best,
            n => Level::Exact(n.parse().map_err(|_| {
                Error::InvalidConfig(format!(
                    "invalid level {s:?} (expected fastest, fast, default, best or a number)"
                ))
            })?),
        })
    }
}

impl Level {
    /// This level on `format`'s backend scale (the table above), or
    /// [`Error::InvalidConfig`] when an `Exact` level is out of range.
    ///
    /// ```
    /// use compressio::{Format, Level};
    /// assert_eq!(Level::Best.backend_level(Format::Zstd).unwrap(), 19);
    /// assert_eq!(Level::Fastest.backend_level(Format::Xz).unwrap(), 0);
    /// assert!(Level::Exact(12).backend_level(Format::Gzip).is_err());
    /// ```
    pub fn backend_level(self, format: Format) -> Result<i32> {
        let levels = format.spec().levels;
        match self {
            Level::Fastest => Ok(levels.named[0]),
            Level::Fast => Ok(levels.named[1]),
            Level::Default => Ok(levels.named[2]),
            Level::Best => Ok(levels.named[3]),
            Level::Exact(n) if (levels.min..=levels.max).contains(&n) => Ok(n),
            Level::Exact(n) => Err(Error::InvalidConfig(format!(
                "{format} level {n} is out of range {}..={}",
                levels.min, levels.max
            ))),
        }
    }
}

/// How an adapter works: level, buffer, checksums, limits. Independent of the format, so one
/// `Config` can serve every format; each adapter validates it when built.
///
/// Builder methods take and return `Self`:
///
/// ```
/// use compressio::{Config, Level};
///
/// let config = Config::default()
///     .level(Level::Best)
///     .buffer_size(256 * 1024)
///     .max_output(1 << 30);
/// # let _ = config;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub(crate) level: Level,
    pub(crate) buffer_size: Option<usize>,
    pub(crate) checksum: Option<bool>,
    pub(crate) max_output: Option<u64>,
    pub(crate) max_memory: Option<u64>,
    pub(crate) single_stream: bool,
    pub(crate) memory_level: Option<u8>,
    pub(crate) pool: Option<BufferPool>,
    pub(crate) threads: Option<usize>,
    pub(crate) large_window: bool,
    pub(crate) size_hint: Option<u64>,
    pub(crate) dictionaries: crate::dictionary::Dictionaries,
    pub(crate) reference: Option<crate::dictionary::Reference>,
    pub(crate) seekable: Option<usize>,
}

impl Config {
    /// Compression level (encoders). Default [`Level::Default`].
    ///
    /// ```
    /// use compressio::{compress_with, Config, Format, Level};
    ///
    /// let data = b"compressible, compressible, compressible".repeat(100);
    /// let fast = compress_with(&data, Format::Zstd, &Config::default().level(Level::Fastest))?;
    /// let best = compress_with(&data, Format::Zstd, &Config::default().level(Level::Exact(19)))?;
    /// assert!(best.len() <= fast.len());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Size in bytes of the adapter's one internal buffer: output waiting for the inner
    /// writer (`write::Encoder`, `write::Decoder`), input read ahead (`read::Decoder`,
    /// `read::Encoder`). `bufread::Decoder` has none: it decodes from the reader's own buffer.
    /// Default 64 KiB; must be between 1 byte and 1 GiB.
    ///
    /// ```
    /// use compressio::{compress_with, decompress_with, Config, Format};
    ///
    /// let config = Config::default().buffer_size(4096); // a small footprint
    /// let packed = compress_with(b"hello", Format::Gzip, &config)?;
    /// assert_eq!(decompress_with(&packed, Format::Gzip, &config)?, b"hello");
    /// assert!(Config::default().buffer_size(0).memory_estimate(Format::Gzip, compressio::Direction::Compress).is_err());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = Some(bytes);
        self
    }

    /// Write the optional content checksum where the format has one (encoders):
    /// zstd's XXH64 content checksum and lz4's XXH32 content checksum (both on by default, as
    /// in the reference CLIs), xz's integrity check (CRC64 when on, the default; none when
    /// off). gzip, zlib always carry their checksum; deflate and lzma have none. Decoders
    /// always verify every checksum present.
    ///
    /// ```
    /// use compressio::{compress_with, Config, Format};
    ///
    /// let with = compress_with(b"data", Format::Zstd, &Config::default())?;
    /// let without = compress_with(b"data", Format::Zstd, &Config::default().checksum(false))?;
    /// assert_eq!(with.len(), without.len() + 4); // zstd's 4-byte content checksum
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn checksum(mut self, on: bool) -> Self {
        self.checksum = Some(on);
        self
    }

    /// Decoders: fail with [`Error::LimitExceeded`] instead of producing more than `bytes` of
    /// output in total. The limit is checked before the excess is handed out: a caller never
    /// receives more than `bytes`. Default: no limit.
    ///
    /// ```
    /// use compressio::{compress, decompress_with, Config, Error, Format};
    ///
    /// let bomb = compress(&vec![0u8; 10 << 20], Format::Zstd)?; // 10 MiB of zeros in a few hundred bytes
    /// let result = decompress_with(&bomb, Format::Zstd, &Config::default().max_output(1 << 20));
    /// assert!(matches!(result, Err(Error::LimitExceeded { limit }) if limit == 1 << 20));
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn max_output(mut self, bytes: u64) -> Self {
        self.max_output = Some(bytes);
        self
    }

    /// Decoders: the most memory the codec may commit to its window and buffers, checked
    /// against the stream's headers *before* allocating (zstd window, xz/lzma dictionary,
    /// lz4 block size). Exceeding it is [`Error::LimitExceeded`]. Default
    /// [`DEFAULT_MAX_MEMORY`] (256 MiB).
    ///
    /// ```
    /// use compressio::{compress_with, decompress_with, Config, Error, Format, Level};
    ///
    /// // preset 9 writes an xz stream with a 64 MiB dictionary...
    /// let packed = compress_with(b"small input", Format::Xz, &Config::default().level(Level::Best))?;
    /// // ...which a decoder limited to 16 MiB refuses before allocating it
    /// let result = decompress_with(&packed, Format::Xz, &Config::default().max_memory(16 << 20));
    /// assert!(matches!(result, Err(Error::LimitExceeded { .. })));
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = Some(bytes);
        self
    }

    /// Decoders: stop after the first member/frame/stream instead of decoding concatenated
    /// ones; [`Decoder::into_parts`](crate::Decoder::into_parts) then returns every byte after
    /// it. Default `false` (concatenations decode as one stream, like the reference CLIs).
    ///
    /// ```
    /// use std::io::Read;
    /// use compressio::{compress, Config, Decoder, Format};
    ///
    /// let mut two = compress(b"first", Format::Gzip)?;
    /// two.extend(compress(b"second", Format::Gzip)?);
    /// let mut decoder = Decoder::with_config(&two[..], Format::Gzip, &Config::default().single_stream(true))?;
    /// let mut first = Vec::new();
    /// decoder.read_to_end(&mut first)?;
    /// assert_eq!(first, b"first");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn single_stream(mut self, on: bool) -> Self {
        self.single_stream = on;
        self
    }

    /// How much memory the codec may use for its history (encoders), from 1 (least) to 9
    /// (most): memory level `m` limits the window, dictionary or block to `4^(m+6)` bytes —
    /// 16 KiB at 1, 64 KiB at 2, 256 KiB at 3, 1 MiB at 4, 4 MiB at 5, 16 MiB at 6, 64 MiB at 7,
    /// 256 MiB at 8, 1 GiB at 9 — through each backend's own knob:
    ///
    /// | format | knob | without `memory_level` |
    /// |---|---|---|
    /// | zstd | window log (hash and chain tables follow it), never above the level's own | the level's window (2 MiB at level 3) |
    /// | xz, lzma | dictionary size, never above the preset's own | the preset's (8 MiB at 6) |
    /// | gzip, zlib, deflate | window bits: 16 KiB at 1, 32 KiB (the format's maximum) from 2 | 32 KiB |
    /// | lz4 | block size: 64 KiB at 1–2, 256 KiB at 3, 1 MiB at 4, 4 MiB from 5 | 64 KiB; 1 MiB for linked blocks (`Level::Best`), where lz4_flex's block API costs a pass over the previous block's 64 KiB per block |
    /// | brotli | window (`lgwin`): 16 KiB at 1 … 4 MiB from 5, never above its default | 4 MiB (`lgwin` 22) |
    /// | bzip2 | block size: 100 kB at 1–2, 200 kB at 3, any from 4; decoders use libbz2's small-memory mode (2.5 instead of 4 bytes per block byte, half the speed) when 4 × the block passes the budget | 900 kB |
    ///
    /// A smaller window costs ratio; decoders need less memory for what such an encoder
    /// writes. Decoders follow the stream (their limit is [`max_memory`](Config::max_memory)),
    /// except bzip2's, whose memory mode follows the memory level.
    /// [`memory_estimate`](Config::memory_estimate) says what a setting costs; the README's
    /// "Memory" section has the measured footprint of every format and level. Values outside
    /// 1..=9 are [`Error::InvalidConfig`].
    ///
    /// ```
    /// use compressio::{Config, Direction, Format};
    ///
    /// let lean = Config::default().memory_level(1).memory_estimate(Format::Zstd, Direction::Compress)?;
    /// let full = Config::default().memory_estimate(Format::Zstd, Direction::Compress)?;
    /// assert!(lean < full);
    /// assert!(compressio::compress_with(b"x", Format::Zstd, &Config::default().memory_level(10)).is_err());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn memory_level(mut self, level: u8) -> Self {
        self.memory_level = Some(level);
        self
    }

    /// Compress with `n` worker threads (0: one per core), in the format's own way:
    ///
    /// | format | how | output |
    /// |---|---|---|
    /// | zstd | libzstd's multithreading (one standard frame, jobs of one or two windows); on input that does not compress, libzstd's workers only cost time, so the encoder checks the first 1 MiB and stays single-threaded if it is incompressible | one frame |
    /// | xz | liblzma's multithreaded encoder: independent blocks of one dictionary size (8 MiB at preset 6) | multi-block .xz |
    /// | gzip, deflate | pigz-style: 128 KiB blocks compressed in parallel, each primed with the previous 32 KiB, joined into one deflate stream (one gzip member, CRC-32s combined) | about 0.1 % larger than single-threaded |
    /// | lz4 | independent blocks compressed in parallel once the first 512 KiB have shown that the data compresses (linked blocks, `Level::Best`, stay single-threaded); `n` threads in all: `n - 1` workers and the caller's, which hashes the content and compresses a job itself when the workers are busy | identical to single-threaded |
    /// | bzip2 | pbzip2-style: each block of the level's size (900 kB at 9) compressed into a stream of its own, the streams concatenated | a multi-stream .bz2 every bzip2 reads |
    /// | zlib, lzma, brotli | single-threaded | |
    ///
    /// The output depends only on the input and the settings, never on the thread count or
    /// scheduling: `threads(1)` and `threads(8)` write the same bytes (not the same as without
    /// `threads`, where the formats use one block). Memory stays bounded: at most `2 × n`
    /// blocks are in flight (see [`memory_estimate`](Config::memory_estimate)). `flush` still
    /// makes everything written so far decodable.
    ///
    /// For decoders, `threads(n)` with `n > 1` decodes in parallel what the stream lets split:
    /// multi-block .xz (liblzma's multithreaded decoder), lz4 frames of independent blocks
    /// (past their first MiB: a smaller frame stays on one thread), zstd streams of several frames (`seekable`, pzstd), gzip of several
    /// members (BGZF from `seekable` or bgzip, whose members carry their size, and
    /// concatenated files, `cat a.gz b.gz`, whose members are found by their headers, each
    /// within its first MiB), and every bzip2 file, one-stream or many-stream
    /// (its blocks, found by their magic numbers as lbzip2 finds them). The output, the errors
    /// (and the output before them) and `max_output` are those of one thread. Other streams,
    /// and every stream with `single_stream`, decode on one thread. lz4, zstd frames and gzip
    /// run `n - 1` workers beside the caller's thread: for lz4 it copies the blocks in and the
    /// output out, and decodes a batch itself rather than wait; for zstd and gzip it also
    /// decodes a batch itself when they are busy. zstd and gzip decoders take as many of the
    /// `n` threads as their batches fit in half of [`max_memory`](Config::max_memory): three
    /// under the default limit (about 115 MiB of batches), eighteen with 1 GiB.
    /// The async encoders (features `tokio`, `futures`) with `threads` run their codec on a
    /// thread of its own, so that no poll waits for a worker.
    ///
    /// ```
    /// use compressio::{compress_with, decompress, Config, Format};
    ///
    /// let data = b"many blocks of data, compressed in parallel ".repeat(50_000);
    /// let two = compress_with(&data, Format::Gzip, &Config::default().threads(2))?;
    /// let four = compress_with(&data, Format::Gzip, &Config::default().threads(4))?;
    /// assert_eq!(two, four); // deterministic
    /// assert_eq!(decompress(&two, Format::Gzip)?, data);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Decoders: accept streams in a format's non-standard large-window mode — brotli's
    /// large-window extension (windows up to 1 GiB, as `brotli --large_window` writes), which
    /// RFC 7932 decoders reject. Default `false`: such a stream is
    /// [`Error::Unsupported`]. The window is still checked against
    /// [`max_memory`](Config::max_memory) before anything is allocated. Encoders never write
    /// large windows, and formats without such a mode have nothing to accept.
    ///
    /// ```
    /// use compressio::{decompress_with, Config, Error, Format};
    ///
    /// // the start of a brotli stream that declares a 1 GiB window (large-window extension)
    /// let large = [0x11, 30, 0, 0];
    /// let strict = decompress_with(&large, Format::Brotli, &Config::default());
    /// assert!(matches!(strict, Err(Error::Unsupported { .. })));
    /// // allowed, it still has to fit max_memory (256 MiB by default)
    /// let allowed = decompress_with(&large, Format::Brotli, &Config::default().large_window(true));
    /// assert!(matches!(allowed, Err(Error::LimitExceeded { .. })));
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn large_window(mut self, allow: bool) -> Self {
        self.large_window = allow;
        self
    }

    /// Encoders: the expected size of the whole input, when you know it (a file's length).
    /// Codecs that size their search structures by it use it; the stream stays valid
    /// whatever the real size. Today that is brotli, whose hasher and literal context
    /// modelling depend on it: without a hint it compresses as for a small stream (what its
    /// crate's own streaming writer does), with one of 1 MiB or more as the `brotli` CLI does
    /// for a file. Measured at quality 6 on the corpus: prose 3.25 → 4.13, JSON logs
    /// 5.03 → 7.54, binaries 2.56 → 2.80, for 7–35 % less speed and up to 4 MiB more memory
    /// (see [`memory_estimate`](Config::memory_estimate)). xz with `threads(n)` uses it to
    /// even out its independent blocks across the threads (for compressing, and decoding with
    /// as many): 25.6 MB of text makes four blocks of 6.1 MiB instead of three of 8 MiB and
    /// one of 0.4 MiB, for +0.6 % size, compressing 1.34× and decoding with two threads 1.19×
    /// as fast. The `compressio` tool passes each file's size.
    ///
    /// ```
    /// use compressio::{compress_with, Config, Format};
    ///
    /// let log: String = (0..40_000u64)
    ///     .map(|i| format!("{{\"id\":{i},\"level\":\"info\",\"path\":\"/items/{}\",\"ms\":{}}}\n", i * 7919 % 5000, i % 97))
    ///     .collect();
    /// let plain = compress_with(log.as_bytes(), Format::Brotli, &Config::default())?;
    /// let hinted = compress_with(log.as_bytes(), Format::Brotli, &Config::default().size_hint(log.len() as u64))?;
    /// assert!(hinted.len() < plain.len());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn size_hint(mut self, bytes: u64) -> Self {
        self.size_hint = Some(bytes);
        self
    }

    /// Compress and decompress against `dict` (see [`Dictionary`](crate::Dictionary)): the ratio of small
    /// messages improves several times over, since each starts with the dictionary's history
    /// rather than nothing. Encoders and decoders need the same dictionary; a decoder without
    /// it reports [`Error::NeedsDictionary`] with the ID the stream names (never garbage).
    ///
    /// zstd, zlib, raw deflate and lz4 only: for the other formats it is
    /// [`Error::InvalidConfig`] (their streams cannot carry one), never silently ignored. A
    /// decoder given a dictionary for a stream that was compressed without one decodes it
    /// normally (the dictionary goes unused).
    ///
    /// ```
    /// use compressio::{compress_with, decompress, decompress_with, Config, Dictionary, Error, Format};
    ///
    /// let dict = Dictionary::from_bytes(&b"GET /api/v1/items HTTP/1.1\r\nHost: example.com\r\n"[..])?;
    /// let config = Config::default().dictionary(&dict);
    /// let packed = compress_with(b"GET /api/v1/items HTTP/1.1\r\nHost: example.com\r\n\r\n", Format::Zlib, &config)?;
    /// assert!(matches!(decompress(&packed, Format::Zlib), Err(Error::NeedsDictionary { .. })));
    /// assert!(decompress_with(&packed, Format::Zlib, &config).is_ok());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn dictionary(self, dict: &crate::Dictionary) -> Self {
        self.dictionaries(std::slice::from_ref(dict))
    }

    /// Delta compression, as `zstd --patch-from`: compress (and decompress) against `old`, the
    /// previous version of the data, so that what the two share costs almost nothing — a new
    /// release of a file against the last one, a database page against its previous image.
    /// zstd only (any other format is [`Error::InvalidConfig`], as is a reference together
    /// with a dictionary).
    ///
    /// The encoder's window grows to cover the reference (2 × its size, rounded up to a power
    /// of two; at most 1 GiB) and libzstd's long-distance matcher finds the far matches. The
    /// decoder needs the same `old` bytes and a window that large within
    /// [`max_memory`](Config::max_memory) (by default 256 MiB: references up to 64 MiB).
    /// Frames are interchangeable with `zstd --patch-from=OLD` both ways.
    ///
    /// ```
    /// use compressio::{compress, compress_with, decompress_with, Config, Format};
    ///
    /// let old: Vec<u8> = (0..20_000u32).flat_map(|i| format!("line {i}: {}\n", i * 7919 % 10007).into_bytes()).collect();
    /// let mut new = old.clone();
    /// new.splice(5_000..5_000, b"an inserted line\n".iter().copied());
    /// let config = Config::default().reference(old.clone());
    /// let patch = compress_with(&new, Format::Zstd, &config)?;
    /// assert!(patch.len() * 20 < compress(&new, Format::Zstd)?.len());
    /// assert_eq!(decompress_with(&patch, Format::Zstd, &config)?, new);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn reference(mut self, old: impl Into<bytes::Bytes>) -> Self {
        self.reference = Some(crate::dictionary::Reference(old.into()));
        self
    }

    /// Several dictionaries, for decoders of streams compressed with different ones: each
    /// zstd frame (by its dictionary ID) and each zlib stream (by its DICTID, the Adler-32 of
    /// the content) picks its own, as does each lz4 frame (by its Dict-ID). Encoders use the
    /// first. A zstd frame that names no dictionary (raw-content dictionaries, `zstd
    /// --no-dictID`) uses the one the decoder used last, the first at the start; raw deflate
    /// and lz4 frames that name none (the lz4 CLI writes no ID) use the first.
    /// An empty slice removes the dictionaries.
    pub fn dictionaries(mut self, dicts: &[crate::Dictionary]) -> Self {
        self.dictionaries = if dicts.is_empty() { None } else { Some(dicts.into()) };
        self
    }

    /// Encoders: write a **seekable** stream, cut into independently decodable blocks of
    /// `bytes` of input, with the format's index at the end, so that
    /// [`SeekableDecoder`](crate::SeekableDecoder) can read any range without decoding from
    /// the start. Every decoder still reads the stream as an ordinary one.
    ///
    /// | format | layout | `bytes` |
    /// |---|---|---|
    /// | zstd | the zstd seekable format: one frame per block, the seek table (with checksums) in a skippable frame at the end | 1 ..= 1 GiB |
    /// | gzip | BGZF (bgzip, htslib): one gzip member per block with its size in a `BC` extra field, then the end-of-file member | 1 ..= 65280 |
    /// | xz | one xz block per `bytes` of input; the index is xz's own | 1 ..= 2^62 |
    ///
    /// Other formats, and combining it with a dictionary or reference, are
    /// [`Error::InvalidConfig`]. With [`threads`](Config::threads), blocks are compressed in
    /// parallel. Smaller blocks cost ratio (each starts with an empty history) and buy finer
    /// access; 1 MiB is a good default for zstd and xz.
    ///
    /// ```
    /// use std::io::{Cursor, Read, Seek, SeekFrom};
    /// use compressio::{compress_with, Config, Format, SeekableDecoder};
    ///
    /// let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    /// let packed = compress_with(&data, Format::Zstd, &Config::default().seekable(64 * 1024))?;
    /// assert_eq!(compressio::decompress(&packed, Format::Zstd)?, data); // an ordinary stream
    ///
    /// let mut file = SeekableDecoder::new(Cursor::new(packed))?;
    /// assert_eq!(file.len(), data.len() as u64);
    /// file.seek(SeekFrom::Start(500_000))?;
    /// let mut four = [0u8; 4];
    /// file.read_exact(&mut four)?;
    /// assert_eq!(four, data[500_000..500_004]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seekable(mut self, bytes: usize) -> Self {
        self.seekable = Some(bytes);
        self
    }

    /// Take the adapter's buffer from `pool` and give it back when the adapter is dropped
    /// (see [`BufferPool`]).
    ///
    /// ```
    /// use compressio::{compress_with, BufferPool, Config, Format};
    ///
    /// let pool = BufferPool::new(4);
    /// let config = Config::default().pool(&pool);
    /// for _ in 0..10 {
    ///     compress_with(b"a message", Format::Lz4, &config)?; // the buffer goes back each time
    /// }
    /// assert!(pool.idle() >= 1);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn pool(mut self, pool: &BufferPool) -> Self {
        self.pool = Some(pool.clone());
        self
    }

    /// The expected peak heap, in bytes, of an adapter built with this config: its buffer
    /// plus the codec's state (a reading decoder read in pieces of under 2 KiB adds a stage of
    /// at most 8 KiB, and at most the buffer size, for the output it decodes ahead; for lz4 it
    /// is 64 KiB, which takes the place of the codec's own block buffer when the frame's
    /// blocks are 64 KiB, as ours are by default). For
    /// [`Direction::Decompress`], the decoder of a stream that an encoder with this config
    /// writes (a decoder's memory follows the stream it reads).
    ///
    /// Computed from the backends' own reports (libzstd's `ZSTD_estimate*`, liblzma's
    /// `lzma_raw_*_memusage`), our lz4 codec's exact buffers, and models of zlib-rs, libbz2
    /// and the brotli crate; checked to be within ±25 % of the measured peak for every format
    /// and memory level. For xz and lzma most of it is liblzma's C heap, which a Rust global
    /// allocator does not see. brotli's encoder keeps the commands of a whole metablock (up to
    /// 2 windows of input): its estimate is what text with many short matches reaches, and very
    /// repetitive data takes up to ~40 % less.
    ///
    /// ```
    /// use compressio::{Config, Direction, Format};
    ///
    /// let default = Config::default().memory_estimate(Format::Xz, Direction::Compress)?;
    /// let small = Config::default().memory_level(2).memory_estimate(Format::Xz, Direction::Compress)?;
    /// assert!(default > 80 << 20 && small < 3 << 20); // preset 6: ~93 MiB; a 64 KiB dictionary: ~2 MiB
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn memory_estimate(&self, format: Format, direction: Direction) -> Result<usize> {
        // the level matters in both directions: a decoder's window is the encoder's
        let settings = self.resolve(format, Direction::Compress)?;
        let codec = format.spec().codec.as_ref().ok_or_else(|| Error::disabled(format))?;
        let bytes = match direction {
            Direction::Compress => (codec.encoder_memory)(&settings),
            Direction::Decompress => (codec.decoder_memory)(&settings),
        };
        let buffer = self.resolve(format, direction)?.buffer_size;
        Ok(buffer.saturating_add(bytes))
    }

    /// Preset: [`Level::Fastest`].
    ///
    /// ```
    /// use compressio::{compress_with, Config, Format};
    ///
    /// let packed = compress_with(b"speed first", Format::Zstd, &Config::fastest())?;
    /// assert_eq!(compressio::decompress(&packed, Format::Zstd)?, b"speed first");
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn fastest() -> Self {
        Config::default().level(Level::Fastest)
    }

    /// Preset: [`Level::Default`], the backends' own balance of speed and ratio.
    ///
    /// ```
    /// use compressio::{Config, Format, Level};
    ///
    /// assert_eq!(Config::balanced().memory_estimate(Format::Gzip, compressio::Direction::Compress)?,
    ///            Config::default().level(Level::Default).memory_estimate(Format::Gzip, compressio::Direction::Compress)?);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn balanced() -> Self {
        Config::default().level(Level::Default)
    }

    /// Preset: [`Level::Best`].
    ///
    /// ```
    /// use compressio::{compress_with, Config, Format};
    ///
    /// let data = b"ratio first, ratio first, ratio first".repeat(1000);
    /// let small = compress_with(&data, Format::Xz, &Config::smallest())?;
    /// let fast = compress_with(&data, Format::Xz, &Config::fastest())?;
    /// assert!(small.len() <= fast.len());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn smallest() -> Self {
        Config::default().level(Level::Best)
    }

    /// Preset for small footprints: [`Level::Fastest`] (the smallest windows and tables every
    /// backend has: zstd 1, xz preset 0, deflate 1), an 8 KiB buffer, and decoders that
    /// refuse streams needing more than 16 MiB of codec memory (xz up to preset 6, zstd
    /// windows up to 8 MiB).
    ///
    /// ```
    /// use compressio::{Config, Direction, Format};
    ///
    /// for &format in Format::ALL.iter().filter(|f| f.is_enabled()) {
    ///     let bytes = Config::low_memory().memory_estimate(format, Direction::Decompress)?;
    ///     assert!(bytes < 16 << 20, "{format}: {bytes}");
    /// }
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn low_memory() -> Self {
        Config::default().level(Level::Fastest).buffer_size(8 * 1024).max_memory(16 * 1024 * 1024)
    }

    /// The block size of `seekable`, checked against `format`.
    fn seekable_block(&self, format: Format) -> Result<Option<usize>> {
        let Some(bytes) = self.seekable else { return Ok(None) };
        let Some(access) = format.spec().codec.and_then(|c| c.random_access) else {
            return Err(Error::InvalidConfig(format!(
                "{format} has no seekable layout (zstd, gzip as BGZF and xz have)"
            )));
        };
        if bytes == 0 || bytes as u64 > access.max_block {
            return Err(Error::InvalidConfig(format!(
                "seekable {format} blocks must hold 1 to {} bytes, not {bytes}",
                access.max_block
            )));
        }
        if self.dictionaries.is_some() || self.reference.is_some() {
            return Err(Error::InvalidConfig(
                "seekable streams cannot use a dictionary or a reference".into(),
            ));
        }
        Ok(Some(bytes))
    }

    /// The format to check the format-independent settings with while the real one is still
    /// to be detected: the first enabled format this config suits (with dictionaries, one
    /// that has them), else the first enabled one, to report what is wrong.
    pub(crate) fn probe_format(&self) -> Result<Format> {
        let enabled = || Format::ALL.iter().copied().filter(|f| f.is_enabled());
        enabled()
            .find(|f| {
                (self.dictionaries.is_none() || f.spec().dictionaries)
                    && (self.reference.is_none() || f.spec().reference)
            })
            .or_else(|| enabled().next())
            .ok_or(Error::UnknownFormat)
    }

    /// Check this config against `format` and turn it into backend settings. The level is
    /// an encoder setting: decoders ignore it, so one config can serve both directions.
    pub(crate) fn resolve(&self, format: Format, direction: Direction) -> Result<Settings> {
        if !format.is_enabled() {
            return Err(Error::disabled(format));
        }
        if let Some(m) = self.memory_level {
            if !(1..=9).contains(&m) {
                return Err(Error::InvalidConfig(format!("memory_level must be between 1 and 9, not {m}")));
            }
        }
        let buffer_size = self.buffer_size.unwrap_or(DEFAULT_BUFFER_SIZE);
        if buffer_size == 0 || buffer_size > MAX_BUFFER_SIZE {
            return Err(Error::InvalidConfig(format!(
                "buffer_size must be between 1 byte and 1 GiB, not {buffer_size}"
            )));
        }
        if self.dictionaries.is_some() && !format.spec().dictionaries {
            return Err(crate::dictionary::unsupported(format));
        }
        if self.reference.is_some() {
            if !format.spec().reference {
                return Err(Error::InvalidConfig(format!(
                    "{format} cannot compress against a reference (zstd can, as zstd --patch-from)"
                )));
            }
            if self.dictionaries.is_some() {
                return Err(Error::InvalidConfig("a reference and a dictionary cannot be combined".into()));
            }
        }
        Ok(Settings {
            level: match direction {
                Direction::Compress => self.level.backend_level(format)?,
                Direction::Decompress => 0,
            },
            buffer_size,
            checksum: self.checksum.unwrap_or(true),
            max_output: self.max_output.unwrap_or(u64::MAX),
            max_memory: self.max_memory.unwrap_or(DEFAULT_MAX_MEMORY),
            single_stream: self.single_stream,
            memory_level: self.memory_level,
            threads: self.threads.map(thread_count),
            large_window: self.large_window,
            size_hint: match direction {
                Direction::Compress => self.size_hint,
                Direction::Decompress => None,
            },
            dictionaries: self.dictionaries.clone(),
            reference: self.reference.clone(),
            seekable: match direction {
                Direction::Compress => self.seekable_block(format)?,
                Direction::Decompress => None,
            },
        })
    }
}

/// The number of worker threads `threads(n)` means: `n`, or every core for 0.
fn thread_count(requested: usize) -> usize {
    if requested == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        requested
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Parses a format's name or alias, case-insensitive: `gzip`/`gz`, `zlib`/`zz`, `deflate`,
    /// `zstd`/`zst`, `lz4`, `xz`, `lzma`, `brotli`/`br`, `bzip2`/`bz2`.
    ///
    /// ```
    /// use compressio::Format;
    ///
    /// assert_eq!("ZST".parse::<Format>()?, Format::Zstd);
    /// assert!("rar".parse::<Format>().is_err());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        let name = s.to_ascii_lowercase();
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == name || f.spec().aliases.contains(&name.as_str()))
            .ok_or_else(|| {
                let known: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                Error::InvalidConfig(format!("unknown format {s:?} (expected one of {})", known.join(", ")))
            })
    }
}

/// Which way an adapter works.
///
/// ```
/// use compressio::{Config, Direction, Format};
///
/// let encoder = Config::default().memory_estimate(Format::Zstd, Direction::Compress)?;
/// let decoder = Config::default().memory_estimate(Format::Zstd, Direction::Decompress)?;
/// assert!(decoder < encoder);
/// # Ok::<(), compressio::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// An [`Encoder`](crate::Encoder).
    Compress,
    /// A [`Decoder`](crate::Decoder).
    Decompress,
}

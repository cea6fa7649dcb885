//! `Dictionary`: shared bytes that small messages are compressed against, and the prepared
//! forms the codecs build from them once (a zstd `CDict` per level, a `DDict`, zlib's
//! Adler-32), cached in the dictionary itself so that every adapter, thread and pool using it
//! shares them. The codecs own what they prepare; this module only keeps it. A leaf (the
//! settings carry dictionaries): making one — training, checking — is `make.rs`'s.

mod make;

pub(crate) use make::unsupported;

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// A zstd dictionary file (as `zstd --train` writes) starts with this (little-endian
/// 0xEC30A437).
pub(crate) const ZSTD_DICT_MAGIC: [u8; 4] = [0x37, 0xa4, 0x30, 0xec];

/// A dictionary for compressing many small messages, each against the same shared history.
///
/// Either a trained zstd dictionary ([`Dictionary::train`], or a file `zstd --train` wrote)
/// or raw content (any bytes typical of the messages). Give it to encoders and decoders alike
/// with [`Config::dictionary`](crate::Config::dictionary); a decoder may be given several
/// ([`Config::dictionaries`](crate::Config::dictionaries)) and picks the one each frame
/// names.
///
/// Cloning is cheap (the bytes and everything prepared from them are shared), and a
/// `Dictionary` is `Send + Sync`: build it once, use it from every thread. What the codecs
/// prepare from it (zstd's digested `CDict` for each level and `DDict`) is built on first use
/// and kept here, so a message costs no dictionary work at all.
///
/// | format | with a dictionary | the stream records |
/// |---|---|---|
/// | zstd | trained or raw content | the dictionary ID (trained dictionaries; raw content has none) |
/// | zlib | its content (the last 32 KiB count) | FDICT and the Adler-32 of the content (RFC 1950 DICTID) |
/// | deflate | its content (the last 32 KiB count) | nothing: both sides must agree |
/// | lz4 | its last 64 KiB, as the lz4 CLI's `-D` (every block's history, or the first's with linked blocks) | the Dict-ID field, for a trained dictionary (its ID) |
/// | gzip, xz, lzma, brotli, bzip2 | [`Error::InvalidConfig`](crate::Error::InvalidConfig) | |
///
/// ```
/// use compressio::{compress_with, decompress_with, Config, Dictionary, Format};
///
/// let dict = Dictionary::from_bytes(&br#"{"user":"","action":"login","status":"ok","ts":"#[..])?;
/// let config = Config::default().dictionary(&dict);
/// let message = br#"{"user":"ada","action":"login","status":"ok","ts":1700000000}"#;
/// let packed = compress_with(message, Format::Zstd, &config)?;
/// assert_eq!(decompress_with(&packed, Format::Zstd, &config)?, message);
/// # Ok::<(), compressio::Error>(())
/// ```
#[derive(Clone)]
pub struct Dictionary {
    inner: Arc<Inner>,
}

struct Inner {
    bytes: Bytes,
    id: u32,
    /// What the codecs prepared, by type and key (e.g. a `CDict` per level).
    prepared: Mutex<Vec<Prepared>>,
}

/// One prepared form: its type, the codec's key (a level, say), the value.
type Prepared = (TypeId, u64, Arc<dyn Any + Send + Sync>);

impl Dictionary {
    /// A dictionary of these bytes with this ID (checked by the caller: see `make.rs`).
    pub(crate) fn from_parts(bytes: Bytes, id: u32) -> Dictionary {
        Dictionary { inner: Arc::new(Inner { bytes, id, prepared: Mutex::new(Vec::new()) }) }
    }

    /// The dictionary's bytes, as given or trained.
    pub fn as_bytes(&self) -> &[u8] {
        &self.inner.bytes
    }

    /// The zstd dictionary ID of a zstd dictionary file (never 0 for one `train` made); 0 for
    /// raw content, which zstd frames cannot name. zlib streams name a dictionary by the
    /// Adler-32 of its content instead (RFC 1950), whatever its kind.
    pub fn id(&self) -> u32 {
        self.inner.id
    }

    /// Whether these are a zstd dictionary file's bytes (magic number and header) rather than
    /// raw content.
    pub fn is_zstd_format(&self) -> bool {
        self.inner.bytes.starts_with(&ZSTD_DICT_MAGIC)
    }

    /// The content a format without dictionary files uses as history: the whole bytes (for a
    /// zstd dictionary file too: its entropy tables are just more bytes to zlib).
    pub(crate) fn content(&self) -> &[u8] {
        &self.inner.bytes
    }

    /// What a codec prepared from this dictionary under `key`, built by `build` on first use
    /// and shared from then on. `None` if `build` fails (it is tried again next time).
    pub(crate) fn prepared<T: Any + Send + Sync>(
        &self,
        key: u64,
        build: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Option<Arc<T>> {
        let mut prepared = self.inner.prepared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let found = prepared.iter().find(|(t, k, _)| *t == TypeId::of::<T>() && *k == key);
        if let Some((_, _, any)) = found {
            return any.clone().downcast::<T>().ok();
        }
        let made = Arc::new(build(&self.inner.bytes)?);
        prepared.push((TypeId::of::<T>(), key, made.clone()));
        Some(made)
    }

    /// Whether two handles are the same dictionary (the same shared bytes).
    pub fn same(&self, other: &Dictionary) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl PartialEq for Dictionary {
    /// The same dictionary: the same shared bytes (what a pool needs to know), not merely
    /// equal ones.
    fn eq(&self, other: &Dictionary) -> bool {
        self.same(other)
    }
}

impl fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dictionary")
            .field("id", &self.inner.id)
            .field("len", &self.inner.bytes.len())
            .field("zstd_format", &self.is_zstd_format())
            .finish()
    }
}

/// The dictionaries a config carries, shared (cloning a config or resolving it allocates
/// nothing).
pub(crate) type Dictionaries = Option<Arc<[Dictionary]>>;

/// The old version of a file that `Config::reference` compresses against: shared bytes,
/// compared by identity (a pool must not mistake two references of equal length, and must not
/// compare megabytes to find out).
#[derive(Clone)]
pub(crate) struct Reference(pub Bytes);

impl PartialEq for Reference {
    fn eq(&self, other: &Reference) -> bool {
        self.0.as_ptr() == other.0.as_ptr() && self.0.len() == other.0.len()
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({} bytes)", self.0.len())
    }
}

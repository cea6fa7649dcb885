//! `Dictionary`: shared bytes that small messages are compressed against, and the prepared
//! forms the codecs build from them once (a zstd `CDict` per level, a `DDict`, zlib's
//! Adler-32), cached in the dictionary itself so that every adapter, thread and pool using it
//! shares them. The codecs own what they prepare; this module only keeps it.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::format::Format;

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
/// | gzip, xz, lzma, brotli, bzip2 | [`Error::InvalidConfig`] | |
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
    /// Train a zstd-format dictionary of at most `max_size` bytes from sample messages
    /// (zstd's ZDICT trainer, as `zstd --train`): the samples should be typical messages,
    /// a few hundred or more, totalling about 100 × `max_size` (zstd's advice). The result
    /// has a random dictionary ID and works with zstd's CLI (`zstd -D`) too.
    ///
    /// Errors: [`Error::InvalidConfig`] when the samples are too few or too small to train
    /// on (ZDICT's own verdict), [`Error::Unsupported`] without the `zstd` feature.
    ///
    /// ```
    /// use compressio::{compress_with, Config, Dictionary, Format};
    ///
    /// let samples: Vec<String> = (0..2000)
    ///     .map(|i| format!(r#"{{"id":{i},"user":"user{}","action":"{}","ok":true}}"#, i % 97,
    ///                      ["login", "logout", "view", "edit"][i % 4]))
    ///     .collect();
    /// let dict = Dictionary::train(&samples, 4096)?;
    /// assert!(dict.id() != 0 && dict.as_bytes().len() <= 4096);
    /// let plain = compress_with(samples[7].as_bytes(), Format::Zstd, &Config::default())?;
    /// let with = compress_with(samples[7].as_bytes(), Format::Zstd, &Config::default().dictionary(&dict))?;
    /// assert!(with.len() < plain.len());
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn train<S: AsRef<[u8]>>(samples: &[S], max_size: usize) -> Result<Dictionary> {
        #[cfg(feature = "zstd")]
        {
            let bytes = crate::codec::zstd::train(samples, max_size)?;
            Dictionary::from_bytes(bytes)
        }
        #[cfg(not(feature = "zstd"))]
        {
            let _ = (samples, max_size);
            Err(Error::disabled(Format::Zstd))
        }
    }

    /// A dictionary from its bytes: a zstd dictionary file (trained by
    /// [`train`](Dictionary::train) or by `zstd --train`; recognised by its magic number,
    /// and checked) or raw content (anything else: the bytes are the history itself).
    ///
    /// An empty dictionary is [`Error::InvalidConfig`], as is a zstd dictionary file that
    /// libzstd cannot load.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Result<Dictionary> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(Error::InvalidConfig("a dictionary must not be empty".into()));
        }
        let id = match bytes.get(..8) {
            Some(head) if head[..4] == ZSTD_DICT_MAGIC => {
                u32::from_le_bytes([head[4], head[5], head[6], head[7]])
            }
            _ => 0,
        };
        let dict = Dictionary { inner: Arc::new(Inner { bytes, id, prepared: Mutex::new(Vec::new()) }) };
        #[cfg(feature = "zstd")]
        if dict.is_zstd_format() {
            crate::codec::zstd::check_dictionary(&dict)?;
        }
        Ok(dict)
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

/// `InvalidConfig` for a format that cannot use a dictionary.
pub(crate) fn unsupported(format: Format) -> Error {
    Error::InvalidConfig(format!(
        "{format} has no dictionaries (zstd, zlib, deflate and lz4 do); a {format} stream cannot name one"
    ))
}

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

//! Making a [`Dictionary`]: training one (zstd's ZDICT), or taking one's bytes (a zstd
//! dictionary file, checked by libzstd, or raw content).

use bytes::Bytes;

use super::{Dictionary, ZSTD_DICT_MAGIC};
use crate::error::{Error, Result};
use crate::format::Format;

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
        let dict = Dictionary::from_parts(bytes, id);
        #[cfg(feature = "zstd")]
        if dict.is_zstd_format() {
            crate::codec::zstd::check_dictionary(&dict)?;
        }
        Ok(dict)
    }
}

/// `InvalidConfig` for a format that cannot use a dictionary.
pub(crate) fn unsupported(format: Format) -> Error {
    Error::InvalidConfig(format!(
        "{format} has no dictionaries (zstd, zlib, deflate and lz4 do); a {format} stream cannot name one"
    ))
}

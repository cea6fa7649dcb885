//! `Settings`: a [`Config`](crate::Config) resolved for one format, which is all a codec is
//! built from. A leaf module: codecs depend on it, it depends on nothing of the crate but the shared
//! dictionaries it carries.

/// What the codecs and adapters use, validated once by `Config::resolve`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Settings {
    /// On the backend's own scale (encoders; 0 for decoders).
    pub level: i32,
    pub buffer_size: usize,
    pub checksum: bool,
    pub max_output: u64,
    pub max_memory: u64,
    pub single_stream: bool,
    /// 1..=9, or `None` for the format's default.
    pub memory_level: Option<u8>,
    /// Worker threads (0 already resolved to the core count), or `None` for the classic
    /// single-threaded mode.
    pub threads: Option<usize>,
    /// Decoders accept a format's non-standard large-window mode (brotli).
    pub large_window: bool,
    /// Encoders: the expected input size, if the caller knows it (brotli picks its hasher by
    /// it).
    pub size_hint: Option<u64>,
    /// Dictionaries (formats whose spec allows them): encoders use the first, decoders pick.
    pub dictionaries: crate::dictionary::Dictionaries,
    /// The reference of delta compression (formats whose spec allows it).
    pub reference: Option<crate::dictionary::Reference>,
    /// Encoders: cut the stream into independent blocks of this many input bytes and write
    /// the format's index (formats with random access).
    pub seekable: Option<usize>,
}

impl Settings {
    /// The dictionary an encoder uses.
    pub fn dictionary(&self) -> Option<&crate::Dictionary> {
        self.dictionaries.as_deref().and_then(<[_]>::first)
    }
}

impl Settings {
    /// The most history (window, dictionary, block) memory level `m` allows: `4^(m+6)`.
    pub fn history_budget(&self) -> Option<u64> {
        self.memory_level.map(|m| 1u64 << (12 + 2 * u32::from(m)))
    }

    /// The history budget as a power of two (`2 × m + 12`), for backends sized by a log.
    pub fn history_log(&self) -> Option<u32> {
        self.history_budget().map(u64::trailing_zeros)
    }
}

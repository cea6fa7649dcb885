//! `Format`: the stream formats, and the one place that maps each to its module's
//! [`Spec`](crate::codec::spec::Spec).
//!
//! Everything a format knows (magic, names, extensions, levels, memory, constructors) lives
//! in its own module under `codec/`; the [`formats!`] list below is the only registration,
//! and `Format::spec` its one exhaustive `match`. Names, extensions, detection and what may
//! follow a member are answered here from the specs, so they cannot drift apart from what
//! the codecs do. (`FromStr` is in `config.rs`, beside `Level`'s: its error is an `Error`,
//! which names formats.)

use std::fmt;
use std::path::Path;

use crate::codec::spec::{skippable, Detect, Match, Spec};

/// Declares the `Format` enum, `Format::ALL` and `Format::spec` from one list, so that a
/// format cannot be in one and missing from another.
macro_rules! formats {
    ($($(#[$doc:meta])* $variant:ident => $module:ident,)*) => {
        /// A compressed stream format.
        ///
        /// ```
        /// use compressio::Format;
        ///
        /// assert_eq!(Format::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0x00]), Some(Format::Zstd));
        /// assert_eq!(Format::from_path("backup.tar.xz"), Some(Format::Xz));
        /// assert_eq!("gz".parse::<Format>().unwrap(), Format::Gzip);
        /// assert_eq!(Format::Lz4.to_string(), "lz4");
        /// assert_eq!(Format::Zstd.extension(), "zst");
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Format {
            $($(#[$doc])* $variant,)*
        }

        impl Format {
            /// Every format, in declaration order.
            ///
            /// ```
            /// use compressio::Format;
            ///
            /// assert!(Format::ALL.contains(&Format::Lzma));
            /// assert!(Format::ALL.windows(2).all(|w| w[0] < w[1]));
            /// ```
            pub const ALL: &'static [Format] = &[$(Format::$variant,)*];

            /// This format's description, from its own module.
            pub(crate) fn spec(self) -> &'static Spec {
                match self {
                    $(Format::$variant => &crate::codec::$module::SPEC,)*
                }
            }
        }
    };
}

formats! {
    /// gzip (RFC 1952): deflate with a header, CRC-32 and size trailer. Magic `1f 8b`.
    Gzip => gzip,
    /// zlib (RFC 1950): deflate with a 2-byte header and Adler-32 trailer.
    Zlib => zlib,
    /// Raw deflate (RFC 1951): no header, no checksum; never auto-detected.
    Deflate => deflate,
    /// Zstandard frames (RFC 8878). Magic `28 b5 2f fd`.
    Zstd => zstd,
    /// LZ4 frame format. Magic `04 22 4d 18`.
    Lz4 => lz4,
    /// xz container (LZMA2). Magic `fd 37 7a 58 5a 00`.
    Xz => xz,
    /// Legacy `.lzma` ("lzma_alone"): LZMA1 with a 13-byte header and no magic.
    Lzma => lzma,
    /// Brotli (RFC 7932), HTTP's `br`: no header, so never auto-detected.
    Brotli => brotli,
    /// bzip2, one or more streams. Magic `BZh1`-`BZh9`.
    Bzip2 => bzip2,
}

/// What `sniff` found at the start of a byte prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// A stream of this format starts here.
    Found(Format),
    /// A skippable frame of this total length starts here; what follows decides.
    Skippable(u64),
    /// The prefix is too short to decide.
    NeedMore,
    /// No known format starts here.
    Unknown,
}

/// Whether any format allows skippable frames.
fn has_skippable() -> bool {
    Format::ALL.iter().any(|f| f.spec().members.skippable)
}

/// The first format of one detection class (`magic`: real magic numbers, or else the
/// heuristics) that matches; an undecided candidate stops the search, since a later, weaker
/// one must not win while a stronger one may still match.
fn first_match(prefix: &[u8], magic: bool) -> Option<Sniff> {
    Format::ALL.iter().find_map(|&format| {
        let matcher = match (format.spec().detect, magic) {
            (Detect::Magic(m), true) | (Detect::Heuristic(m), false) => m,
            _ => return None,
        };
        match matcher(prefix) {
            Match::Yes => Some(Sniff::Found(format)),
            Match::NeedMore => Some(Sniff::NeedMore),
            Match::No => None,
        }
    })
}

/// Classify the start of `prefix`: magic numbers, then skippable frames, then the heuristics.
pub(crate) fn sniff(prefix: &[u8]) -> Sniff {
    if let Some(found) = first_match(prefix, true) {
        return found;
    }
    if has_skippable() {
        match skippable::matches(prefix) {
            Match::Yes => {
                return skippable::frame_len(prefix).map_or(Sniff::NeedMore, Sniff::Skippable);
            }
            Match::NeedMore => return Sniff::NeedMore,
            Match::No => {}
        }
    }
    first_match(prefix, false).unwrap_or(Sniff::Unknown)
}

/// If `prefix` is a proper prefix of a format's magic number (or of a skippable frame
/// header), that format: input that ends there is a truncated stream of it rather than
/// unknown data.
pub(crate) fn partial_magic(prefix: &[u8]) -> Option<Format> {
    if prefix.is_empty() {
        return None;
    }
    Format::ALL
        .iter()
        .copied()
        .find(|f| matches!(f.spec().detect, Detect::Magic(m) if m(prefix) == Match::NeedMore))
        .or_else(|| (skippable::matches(prefix) == Match::NeedMore).then(Format::skippable_owner).flatten())
}

impl Format {
    /// The format that input made of skippable frames only is taken for (the first that
    /// allows them: zstd).
    pub(crate) fn skippable_owner() -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.spec().members.skippable)
    }

    /// Identify the format from the first bytes of a stream.
    ///
    /// Recognises the magic numbers of gzip (with its method byte: 3 bytes), zstd, lz4, xz and
    /// bzip2 (its header and first block magic: 10 bytes), the zlib header check and the legacy lzma header (a heuristic
    /// needing 13 bytes). Leading skippable frames (zstd and lz4 share them) are skipped when
    /// they lie entirely inside `prefix`. Raw deflate and brotli have no header and are never
    /// detected. Returns `None` when `prefix` is too short to decide or matches nothing.
    ///
    /// ```
    /// use compressio::Format;
    ///
    /// let mut skippable_then_lz4 = vec![0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 0xaa, 0xbb];
    /// skippable_then_lz4.extend_from_slice(&[0x04, 0x22, 0x4d, 0x18]);
    /// assert_eq!(Format::detect(&skippable_then_lz4), Some(Format::Lz4));
    /// assert_eq!(Format::detect(b"plain text"), None);
    /// ```
    pub fn detect(prefix: &[u8]) -> Option<Format> {
        let mut rest = prefix;
        loop {
            match sniff(rest) {
                Sniff::Found(format) => return Some(format),
                Sniff::Skippable(len) => {
                    let len = usize::try_from(len).ok().filter(|&len| len < rest.len())?;
                    rest = &rest[len..];
                }
                Sniff::NeedMore | Sniff::Unknown => return None,
            }
        }
    }

    /// Guess the format from a file name's extension (case-insensitive): `.gz`/`.tgz`, `.zz`,
    /// `.deflate`, `.zst`/`.tzst`, `.lz4`, `.xz`/`.txz`, `.lzma`, `.br`, `.bz2`/`.tbz2`/`.tbz`.
    ///
    /// ```
    /// use compressio::Format;
    /// assert_eq!(Format::from_path("logs/app.log.GZ"), Some(Format::Gzip));
    /// assert_eq!(Format::from_path("notes.txt"), None);
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Option<Format> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        Format::ALL.iter().copied().find(|f| f.spec().extensions.contains(&ext.as_str()))
    }

    /// The usual file extension, without the dot.
    ///
    /// ```
    /// use compressio::Format;
    ///
    /// assert_eq!(Format::Zstd.extension(), "zst");
    /// assert_eq!(Format::from_path(format!("data.{}", Format::Gzip.extension())), Some(Format::Gzip));
    /// ```
    pub fn extension(self) -> &'static str {
        self.spec().extensions[0]
    }

    /// The canonical lowercase name, as printed by `Display`.
    ///
    /// ```
    /// use compressio::Format;
    ///
    /// assert_eq!(Format::Gzip.name(), "gzip");
    /// assert_eq!(Format::Xz.to_string(), "xz");
    /// ```
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Whether this build was compiled with the cargo feature that implements the format.
    ///
    /// ```
    /// use compressio::Format;
    ///
    /// // with the default features every backend is compiled in
    /// assert!(Format::ALL.iter().all(|f| f.is_enabled()));
    /// ```
    pub fn is_enabled(self) -> bool {
        self.spec().codec.is_some()
    }

    /// The cargo feature that compiles this format's codec in. Formats that share a backend
    /// share a feature: gzip, zlib and raw deflate are `deflate`; xz and lzma are `xz`.
    ///
    /// ```
    /// use compressio::Format;
    ///
    /// assert_eq!(Format::Zlib.cargo_feature(), "deflate");
    /// assert_eq!(Format::Lzma.cargo_feature(), Format::Xz.cargo_feature());
    /// ```
    pub fn cargo_feature(self) -> &'static str {
        self.spec().feature
    }

    /// Whether the format can be recognised from its first bytes ([`detect`](Format::detect),
    /// [`Decoder::auto`](crate::Decoder::auto)); raw deflate and brotli cannot.
    ///
    /// ```
    /// use compressio::Format;
    ///
    /// assert!(Format::Gzip.is_detectable());
    /// assert!(!Format::Deflate.is_detectable());
    /// ```
    pub fn is_detectable(self) -> bool {
        self.spec().detect.matcher().is_some()
    }

    /// Whether bytes after the end of a member may start another member of this format
    /// (multi-member gzip, concatenated zstd/lz4 frames with skippable frames, multi-stream
    /// xz). Single-stream formats answer `No`.
    pub(crate) fn next_member(self, prefix: &[u8]) -> Match {
        let spec = self.spec();
        let own = match spec.detect.matcher() {
            Some(matcher) if spec.members.concatenated => matcher(prefix),
            _ => Match::No,
        };
        if spec.members.skippable {
            own.or(skippable::matches(prefix))
        } else {
            own
        }
    }

    /// xz allows "stream padding" between and after streams: null bytes, a multiple of four.
    pub(crate) fn has_stream_padding(self) -> bool {
        self.spec().members.padding
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_needs_more_before_deciding_on_partial_magic() {
        assert_eq!(sniff(&[0x28]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd]), Sniff::Found(Format::Zstd));
        assert_eq!(sniff(&[0x78, 0x9c]), Sniff::Found(Format::Zlib));
        assert_eq!(sniff(&[0x5e, 0x2a, 0x4d, 0x18, 1, 0, 0, 0]), Sniff::Skippable(9));
        assert_eq!(partial_magic(&[0xfd, b'7']), Some(Format::Xz));
        assert_eq!(partial_magic(&[0x5e, 0x2a]), Some(Format::Zstd));
        assert_eq!(partial_magic(b"hello"), None);
    }

    #[test]
    fn every_spec_is_consistent() {
        let mut names = std::collections::HashSet::new();
        let mut extensions = std::collections::HashSet::new();
        for &format in Format::ALL {
            let spec = format.spec();
            assert!(!spec.extensions.is_empty(), "{format}");
            for name in std::iter::once(&spec.name).chain(spec.aliases) {
                assert!(names.insert(*name), "{format}: name {name} used twice");
                assert_eq!(*name, name.to_ascii_lowercase());
            }
            for ext in spec.extensions {
                assert!(extensions.insert(*ext), "{format}: extension {ext} used twice");
                assert_eq!(Format::from_path(format!("x.{ext}")), Some(format));
            }
            let l = spec.levels;
            assert!(l.min <= l.max && l.named.iter().all(|n| (l.min..=l.max).contains(n)), "{format}");
            let m = spec.members;
            assert!(!m.concatenated || spec.detect.matcher().is_some(), "{format}: members need a matcher");
        }
    }
}

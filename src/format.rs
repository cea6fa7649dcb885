//! `Format`: the seven stream formats, their names, file extensions and magic-byte detection.
//!
//! Detection is also what the decoder uses after a member ends, to decide whether the next
//! bytes start another member (concatenation) or are trailing garbage; both live here so the
//! rules cannot drift apart.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::Error;

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
    /// gzip (RFC 1952): deflate with a header, CRC-32 and size trailer. Magic `1f 8b`.
    Gzip,
    /// zlib (RFC 1950): deflate with a 2-byte header and Adler-32 trailer.
    Zlib,
    /// Raw deflate (RFC 1951): no header, no checksum; never auto-detected.
    Deflate,
    /// Zstandard frames (RFC 8878). Magic `28 b5 2f fd`.
    Zstd,
    /// LZ4 frame format. Magic `04 22 4d 18`.
    Lz4,
    /// xz container (LZMA2). Magic `fd 37 7a 58 5a 00`.
    Xz,
    /// Legacy `.lzma` ("lzma_alone"): LZMA1 with a 13-byte header and no magic.
    Lzma,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const LZ4_MAGIC: &[u8] = &[0x04, 0x22, 0x4d, 0x18];
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
/// Skippable frames (shared by zstd and lz4): `5? 2a 4d 18`, a 4-byte little-endian length,
/// then that many bytes of user data.
const SKIPPABLE_TAIL: &[u8] = &[0x2a, 0x4d, 0x18];
pub(crate) const SKIPPABLE_HEADER_LEN: usize = 8;
/// The legacy .lzma header: properties byte, dictionary size (u32 LE), uncompressed size (u64 LE).
const LZMA_HEADER_LEN: usize = 13;

/// How a byte prefix compares with a pattern that may need more bytes to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    Yes,
    No,
    NeedMore,
}

fn match_magic(prefix: &[u8], magic: &[u8]) -> Match {
    let n = prefix.len().min(magic.len());
    if prefix[..n] != magic[..n] {
        Match::No
    } else if n < magic.len() {
        Match::NeedMore
    } else {
        Match::Yes
    }
}

fn match_skippable(prefix: &[u8]) -> Match {
    match prefix.first() {
        None => Match::NeedMore,
        Some(b) if b & 0xf0 != 0x50 => Match::No,
        Some(_) => match_magic(&prefix[1..], SKIPPABLE_TAIL),
    }
}

fn match_gzip(prefix: &[u8]) -> Match {
    match match_magic(prefix, GZIP_MAGIC) {
        // CM = 8 (deflate) is the only method ever defined; checking it halves false positives
        Match::Yes if prefix.len() > 2 && prefix[2] != 8 => Match::No,
        m => m,
    }
}

/// RFC 1950 header check: CM = 8, CINFO <= 7 (window <= 32 KiB), FCHECK, and no preset
/// dictionary (which no decoder can use without out-of-band data).
fn match_zlib(prefix: &[u8]) -> Match {
    match prefix {
        [] | [_] => {
            if prefix.first().is_some_and(|&cmf| cmf & 0x0f != 8 || cmf >> 4 > 7) {
                Match::No
            } else {
                Match::NeedMore
            }
        }
        [cmf, flg, ..] => {
            let ok = cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
                && flg & 0x20 == 0;
            if ok {
                Match::Yes
            } else {
                Match::No
            }
        }
    }
}

/// The legacy .lzma header has no magic; accept it the way liblzma's "picky" auto decoder
/// does: properties byte < 225, dictionary size 2^n or 2^n + 2^(n-1) (at least 4 KiB) or
/// "unknown" (all ones), uncompressed size below 2^38 or "unknown" (all ones).
fn match_lzma(prefix: &[u8]) -> Match {
    if let Some(&props) = prefix.first() {
        if props >= 9 * 5 * 5 {
            return Match::No;
        }
    }
    if prefix.len() >= 5 {
        let dict = u32::from_le_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
        if !lzma_dict_size_is_plausible(dict) {
            return Match::No;
        }
    }
    if prefix.len() < LZMA_HEADER_LEN {
        return Match::NeedMore;
    }
    let mut size = [0u8; 8];
    size.copy_from_slice(&prefix[5..13]);
    let size = u64::from_le_bytes(size);
    if size == u64::MAX || size < (1u64 << 38) {
        Match::Yes
    } else {
        Match::No
    }
}

fn lzma_dict_size_is_plausible(dict: u32) -> bool {
    if dict == u32::MAX {
        return true;
    }
    if dict < 4096 {
        return false;
    }
    let high = 1u32 << (31 - dict.leading_zeros());
    dict == high || dict == high + (high >> 1)
}

/// What `sniff` found at the start of a byte prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// A stream of this format starts here.
    Found(Format),
    /// A skippable frame (zstd or lz4) of this total length starts here; what follows decides.
    Skippable(u64),
    /// The prefix is too short to decide.
    NeedMore,
    /// No known format starts here.
    Unknown,
}

type Matcher = fn(&[u8]) -> Match;

fn match_zstd(prefix: &[u8]) -> Match {
    match_magic(prefix, ZSTD_MAGIC)
}

fn match_lz4(prefix: &[u8]) -> Match {
    match_magic(prefix, LZ4_MAGIC)
}

fn match_xz(prefix: &[u8]) -> Match {
    match_magic(prefix, XZ_MAGIC)
}

/// Formats with a real magic number, tried first.
const STRONG: [(Format, Matcher); 4] = [
    (Format::Gzip, match_gzip),
    (Format::Zstd, match_zstd),
    (Format::Lz4, match_lz4),
    (Format::Xz, match_xz),
];
/// zlib (a 1-in-2000 header check) and lzma (a header heuristic), tried last so that they
/// never shadow a format with real magic.
const WEAK: [(Format, Matcher); 2] = [(Format::Zlib, match_zlib), (Format::Lzma, match_lzma)];

/// The first candidate that matches; an undecided candidate stops the search, since a
/// later, weaker one must not win while a stronger one may still match.
fn first_match(prefix: &[u8], candidates: &[(Format, Matcher)]) -> Option<Sniff> {
    candidates.iter().find_map(|(format, matcher)| match matcher(prefix) {
        Match::Yes => Some(Sniff::Found(*format)),
        Match::NeedMore => Some(Sniff::NeedMore),
        Match::No => None,
    })
}

/// Classify the start of `prefix`: strong magics, then skippable frames, then the weak checks.
pub(crate) fn sniff(prefix: &[u8]) -> Sniff {
    if let Some(found) = first_match(prefix, &STRONG) {
        return found;
    }
    match match_skippable(prefix) {
        Match::Yes if prefix.len() >= SKIPPABLE_HEADER_LEN => {
            let len = u32::from_le_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]);
            return Sniff::Skippable(SKIPPABLE_HEADER_LEN as u64 + u64::from(len));
        }
        Match::Yes | Match::NeedMore => return Sniff::NeedMore,
        Match::No => {}
    }
    first_match(prefix, &WEAK).unwrap_or(Sniff::Unknown)
}

/// If `prefix` is a proper prefix of a format's magic number, that format: input that ends
/// there is a truncated stream of it rather than unknown data.
pub(crate) fn partial_magic(prefix: &[u8]) -> Option<Format> {
    if prefix.is_empty() {
        return None;
    }
    STRONG
        .iter()
        .find(|(_, matcher)| matcher(prefix) == Match::NeedMore)
        .map(|(format, _)| *format)
        .or_else(|| (match_skippable(prefix) == Match::NeedMore).then_some(Format::Zstd))
}

impl Format {
    /// Every format, in declaration order.
    ///
    /// ```
    /// use compressio::Format;
    ///
    /// assert_eq!(Format::ALL.len(), 7);
    /// assert!(Format::ALL.contains(&Format::Lzma));
    /// ```
    pub const ALL: &'static [Format] =
        &[Format::Gzip, Format::Zlib, Format::Deflate, Format::Zstd, Format::Lz4, Format::Xz, Format::Lzma];

    /// Identify the format from the first bytes of a stream.
    ///
    /// Recognises the magic numbers of gzip, zstd, lz4 and xz, the zlib header check and the
    /// legacy lzma header (a heuristic needing 13 bytes). Leading skippable frames (zstd and
    /// lz4 share them) are skipped when they lie entirely inside `prefix`. Raw deflate has no
    /// header and is never detected. Returns `None` when `prefix` is too short to decide or
    /// matches nothing.
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
    /// `.deflate`, `.zst`/`.tzst`, `.lz4`, `.xz`/`.txz`, `.lzma`.
    ///
    /// ```
    /// use compressio::Format;
    /// assert_eq!(Format::from_path("logs/app.log.GZ"), Some(Format::Gzip));
    /// assert_eq!(Format::from_path("notes.txt"), None);
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Option<Format> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "gz" | "tgz" => Format::Gzip,
            "zz" => Format::Zlib,
            "deflate" => Format::Deflate,
            "zst" | "tzst" => Format::Zstd,
            "lz4" => Format::Lz4,
            "xz" | "txz" => Format::Xz,
            "lzma" => Format::Lzma,
            _ => return None,
        })
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
        match self {
            Format::Gzip => "gz",
            Format::Zlib => "zz",
            Format::Deflate => "deflate",
            Format::Zstd => "zst",
            Format::Lz4 => "lz4",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
        }
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
        match self {
            Format::Gzip => "gzip",
            Format::Zlib => "zlib",
            Format::Deflate => "deflate",
            Format::Zstd => "zstd",
            Format::Lz4 => "lz4",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
        }
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
        match self {
            Format::Gzip | Format::Zlib | Format::Deflate => cfg!(feature = "deflate"),
            Format::Zstd => cfg!(feature = "zstd"),
            Format::Lz4 => cfg!(feature = "lz4"),
            Format::Xz | Format::Lzma => cfg!(feature = "xz"),
        }
    }

    /// Whether bytes after the end of a member may start another member of this format
    /// (multi-member gzip, concatenated zstd/lz4 frames with skippable frames, multi-stream
    /// xz). zlib, raw deflate and lzma are single-stream formats.
    pub(crate) fn next_member(self, prefix: &[u8]) -> Match {
        let either = |a: Match, b: Match| match (a, b) {
            (Match::Yes, _) | (_, Match::Yes) => Match::Yes,
            (Match::NeedMore, _) | (_, Match::NeedMore) => Match::NeedMore,
            _ => Match::No,
        };
        match self {
            Format::Gzip => match_gzip(prefix),
            Format::Zstd => either(match_zstd(prefix), match_skippable(prefix)),
            Format::Lz4 => either(match_lz4(prefix), match_skippable(prefix)),
            Format::Xz => match_xz(prefix),
            Format::Zlib | Format::Deflate | Format::Lzma => Match::No,
        }
    }

    /// The longest prefix `next_member` may need to decide.
    pub(crate) const NEXT_MEMBER_LOOKAHEAD: usize = 6;

    /// xz allows "stream padding" between and after streams: null bytes, a multiple of four.
    pub(crate) fn has_stream_padding(self) -> bool {
        self == Format::Xz
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    /// Parses `gzip`/`gz`, `zlib`/`zz`, `deflate`, `zstd`/`zst`, `lz4`, `xz`, `lzma`
    /// (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "gzip" | "gz" => Format::Gzip,
            "zlib" | "zz" => Format::Zlib,
            "deflate" => Format::Deflate,
            "zstd" | "zst" => Format::Zstd,
            "lz4" => Format::Lz4,
            "xz" => Format::Xz,
            "lzma" => Format::Lzma,
            _ => {
                return Err(Error::InvalidConfig(format!(
                    "unknown format {s:?} (expected gzip, zlib, deflate, zstd, lz4, xz or lzma)"
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzma_dict_sizes() {
        assert!(lzma_dict_size_is_plausible(1 << 23));
        assert!(lzma_dict_size_is_plausible(3 << 20));
        assert!(lzma_dict_size_is_plausible(u32::MAX));
        assert!(!lzma_dict_size_is_plausible((1 << 23) + 1));
        assert!(!lzma_dict_size_is_plausible(1024));
    }

    #[test]
    fn sniff_needs_more_before_deciding_on_partial_magic() {
        assert_eq!(sniff(&[0x28]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd]), Sniff::Found(Format::Zstd));
        assert_eq!(sniff(&[0x78, 0x9c]), Sniff::Found(Format::Zlib));
        assert_eq!(sniff(&[0x5e, 0x2a, 0x4d, 0x18, 1, 0, 0, 0]), Sniff::Skippable(9));
        assert_eq!(partial_magic(&[0xfd, b'7']), Some(Format::Xz));
        assert_eq!(partial_magic(b"hello"), None);
    }
}

//! `Spec`: the descriptor each format's module fills in — everything the rest of the crate may
//! know about a format. `format.rs` maps each `Format` to its spec in one exhaustive `match`;
//! detection, names, levels, memory estimates and constructors all go through it, so no
//! other file needs to name a format.

use crate::codec::{CodecResult, Decode, Encode};
use crate::settings::Settings;

/// One format's description.
pub(crate) struct Spec {
    /// The canonical lowercase name (`Display`, `FromStr`, error messages).
    pub name: &'static str,
    /// Other names `FromStr` accepts (`"gz"`).
    pub aliases: &'static [&'static str],
    /// File name extensions, the usual one first (`from_path` accepts all of them).
    pub extensions: &'static [&'static str],
    /// The cargo feature that compiles the codec in.
    pub feature: &'static str,
    /// How the start of a stream is recognised.
    pub detect: Detect,
    /// What may follow the end of a member.
    pub members: Members,
    /// The level scale.
    pub levels: Levels,
    /// Streams of the format can be compressed against a dictionary (`Config::dictionary`);
    /// `false` makes a dictionary `InvalidConfig`.
    pub dictionaries: bool,
    /// Delta compression against a reference (`Config::reference`, zstd's `--patch-from`);
    /// `false` makes a reference `InvalidConfig`.
    pub reference: bool,
    /// The codec, or `None` when this build was compiled without `feature`.
    pub codec: Option<Codec>,
}

/// How a stream of the format is recognised from its first bytes.
#[derive(Clone, Copy)]
pub(crate) enum Detect {
    /// A real magic number: tried first.
    Magic(Matcher),
    /// A header check that random data may pass (zlib's 1 in 2000, the lzma heuristic): tried
    /// after every magic number and skippable frames, so that it never shadows them.
    Heuristic(Matcher),
    /// Nothing to recognise (raw deflate, brotli): never detected.
    Never,
}

impl Detect {
    pub fn matcher(self) -> Option<Matcher> {
        match self {
            Detect::Magic(m) | Detect::Heuristic(m) => Some(m),
            Detect::Never => None,
        }
    }
}

/// What may follow a member.
#[derive(Clone, Copy)]
pub(crate) struct Members {
    /// Another member of the format may follow (multi-member gzip, concatenated frames, xz
    /// streams), recognised by the format's `Detect` matcher. `false`: a single-stream format,
    /// for which anything after the end is trailing data.
    pub concatenated: bool,
    /// Skippable frames (`5? 2a 4d 18`, a length, that many bytes) may stand before and
    /// between members (zstd, lz4).
    pub skippable: bool,
    /// Null bytes in multiples of four may stand between and after members (xz stream
    /// padding).
    pub padding: bool,
}

impl Members {
    /// A format with one stream and nothing after it.
    pub const SINGLE: Members = Members { concatenated: false, skippable: false, padding: false };
}

/// A format's level scale: the backend levels that `Fastest`, `Fast`, `Default` and `Best`
/// stand for, and the range `Exact(n)` accepts.
#[derive(Clone, Copy)]
pub(crate) struct Levels {
    pub named: [i32; 4],
    pub min: i32,
    pub max: i32,
}

/// The backend side of a format: constructors and what they cost.
#[derive(Clone, Copy)]
pub(crate) struct Codec {
    pub encoder: fn(&Settings) -> CodecResult<Box<dyn Encode>>,
    pub decoder: fn(&Settings) -> CodecResult<Box<dyn Decode>>,
    /// Expected peak heap of an encoder's codec state with these settings (worker threads
    /// and their buffers included), not counting the adapter's buffer.
    pub encoder_memory: fn(&Settings) -> usize,
    /// The same for a decoder of a stream that an encoder with these settings writes (a
    /// decoder's memory follows the stream it reads).
    pub decoder_memory: fn(&Settings) -> usize,
    /// Seekable streams (`Config::seekable`, `SeekableDecoder`), for formats that have an
    /// index of independent blocks.
    pub random_access: Option<crate::codec::seekable::RandomAccess>,
}

/// How a byte prefix compares with a pattern that may need more bytes to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Match {
    Yes,
    No,
    NeedMore,
}

impl Match {
    /// `Yes` if either is, else `NeedMore` if either is.
    pub fn or(self, other: Match) -> Match {
        match (self, other) {
            (Match::Yes, _) | (_, Match::Yes) => Match::Yes,
            (Match::NeedMore, _) | (_, Match::NeedMore) => Match::NeedMore,
            _ => Match::No,
        }
    }
}

/// A check of a stream's first bytes.
pub(crate) type Matcher = fn(&[u8]) -> Match;

/// Compare `prefix` with a magic number.
pub(crate) fn match_magic(prefix: &[u8], magic: &[u8]) -> Match {
    let n = prefix.len().min(magic.len());
    if prefix[..n] != magic[..n] {
        Match::No
    } else if n < magic.len() {
        Match::NeedMore
    } else {
        Match::Yes
    }
}

/// Skippable frames, shared by zstd and lz4: `5? 2a 4d 18`, a 4-byte little-endian length,
/// then that many bytes of user data.
pub(crate) mod skippable {
    use super::{match_magic, Match};

    /// The frame header: magic and length.
    pub const HEADER_LEN: usize = 8;
    const TAIL: &[u8] = &[0x2a, 0x4d, 0x18];

    /// Whether a skippable frame starts here.
    pub fn matches(prefix: &[u8]) -> Match {
        match prefix.first() {
            None => Match::NeedMore,
            Some(b) if b & 0xf0 != 0x50 => Match::No,
            Some(_) => match_magic(&prefix[1..], TAIL),
        }
    }

    /// The total length (header included) of the skippable frame that starts `prefix`, once
    /// its header is there.
    pub fn frame_len(prefix: &[u8]) -> Option<u64> {
        if matches(prefix) != Match::Yes || prefix.len() < HEADER_LEN {
            return None;
        }
        let len = u32::from_le_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]);
        Some(HEADER_LEN as u64 + u64::from(len))
    }
}

/// The preset scale shared by backends with levels 0..=9 (flate2, liblzma, bzip2's 1..=9):
/// `Settings::level` is validated into the format's range by `Config::resolve`, so this only
/// converts.
pub(crate) fn preset(settings: &Settings) -> u32 {
    debug_assert!((0..=9).contains(&settings.level), "level {} not validated", settings.level);
    settings.level.clamp(0, 9) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_needs_more_until_decided() {
        assert_eq!(match_magic(&[0x28], &[0x28, 0xb5]), Match::NeedMore);
        assert_eq!(match_magic(&[0x28, 0xb5, 9], &[0x28, 0xb5]), Match::Yes);
        assert_eq!(match_magic(&[0x29], &[0x28, 0xb5]), Match::No);
        assert_eq!(match_magic(&[], &[0x28]), Match::NeedMore);
    }

    #[test]
    fn skippable_frames() {
        assert_eq!(skippable::matches(&[0x5e, 0x2a]), Match::NeedMore);
        assert_eq!(skippable::matches(&[0x5e, 0x2a, 0x4d, 0x18]), Match::Yes);
        assert_eq!(skippable::matches(&[0x6e]), Match::No);
        assert_eq!(skippable::frame_len(&[0x5e, 0x2a, 0x4d, 0x18, 1, 0, 0]), None);
        assert_eq!(skippable::frame_len(&[0x5e, 0x2a, 0x4d, 0x18, 1, 0, 0, 0]), Some(9));
        assert_eq!(
            skippable::frame_len(&[0x50, 0x2a, 0x4d, 0x18, 0xff, 0xff, 0xff, 0xff]),
            Some(8 + 0xffff_ffff)
        );
    }

    #[test]
    fn or_prefers_yes_then_need_more() {
        assert_eq!(Match::No.or(Match::Yes), Match::Yes);
        assert_eq!(Match::NeedMore.or(Match::No), Match::NeedMore);
        assert_eq!(Match::No.or(Match::No), Match::No);
    }
}

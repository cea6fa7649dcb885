//! Legacy .lzma ("lzma_alone": LZMA1 behind a 13-byte header) over the liblzma engine in
//! `codec/liblzma.rs`.

use crate::codec::spec::{Codec, Detect, Match, Members, Spec};

/// One stream, no magic number: recognised by a header heuristic, tried last.
pub(crate) static SPEC: Spec = Spec {
    name: "lzma",
    aliases: &[],
    extensions: &["lzma"],
    feature: "xz",
    detect: Detect::Heuristic(matches),
    members: Members::SINGLE,
    levels: crate::codec::xz::PRESETS,
    dictionaries: false,
    reference: false,
    codec: CODEC,
};

/// The header: properties byte, dictionary size (u32 LE), uncompressed size (u64 LE).
const HEADER_LEN: usize = 13;

/// Accept the header the way liblzma's "picky" auto decoder does: properties byte < 225,
/// dictionary size 2^n or 2^n + 2^(n-1) (at least 4 KiB) or "unknown" (all ones),
/// uncompressed size below 2^38 or "unknown" (all ones).
fn matches(prefix: &[u8]) -> Match {
    if prefix.first().is_some_and(|&props| props >= 9 * 5 * 5) {
        return Match::No;
    }
    if prefix.len() >= 5 {
        let dict = u32::from_le_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
        if !dict_size_is_plausible(dict) {
            return Match::No;
        }
    }
    if prefix.len() < HEADER_LEN {
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

fn dict_size_is_plausible(dict: u32) -> bool {
    if dict == u32::MAX {
        return true;
    }
    if dict < 4096 {
        return false;
    }
    let high = 1u32 << (31 - dict.leading_zeros());
    dict == high || dict == high + (high >> 1)
}

#[cfg(feature = "xz")]
const CODEC: Option<Codec> = Some(Codec {
    encoder: |s| {
        use crate::codec::liblzma::{capped_dict_size, Container, LzmaEncoder, Recipe};
        // one LZMA1 stream: nothing to split between threads, and no check field
        Ok(Box::new(LzmaEncoder::new(Recipe {
            container: Container::Alone,
            preset: crate::codec::spec::preset(s),
            dict: capped_dict_size(s),
            check: liblzma::stream::Check::None,
            mt: None,
        })?))
    },
    decoder: |s| {
        use crate::codec::liblzma::{Container, LzmaDecoder};
        Ok(Box::new(LzmaDecoder::new(Container::Alone, s)?))
    },
    encoder_memory: |s| memusage(s, true),
    decoder_memory: |s| memusage(s, false),
    random_access: None,
});
#[cfg(not(feature = "xz"))]
const CODEC: Option<Codec> = None;

/// liblzma's report for raw LZMA1 (C heap).
#[cfg(feature = "xz")]
fn memusage(settings: &crate::settings::Settings, encoder: bool) -> usize {
    let (level, dict) = (crate::codec::spec::preset(settings), crate::codec::liblzma::dict_size(settings));
    usize::try_from(crate::memory::liblzma::raw_memusage(true, level, dict, encoder)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_sizes() {
        assert!(dict_size_is_plausible(1 << 23));
        assert!(dict_size_is_plausible(3 << 20));
        assert!(dict_size_is_plausible(u32::MAX));
        assert!(!dict_size_is_plausible((1 << 23) + 1));
        assert!(!dict_size_is_plausible(1024));
    }

    #[test]
    fn header_heuristic() {
        // preset 6: props 0x5d, 8 MiB dictionary, unknown size
        let header = [0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(matches(&header), Match::Yes);
        assert_eq!(matches(&header[..12]), Match::NeedMore);
        assert_eq!(matches(&[225]), Match::No);
        let mut huge = header;
        huge[12] = 0x01; // size 2^56 + ...: not "unknown", above 2^38
        huge[5..12].fill(0);
        assert_eq!(matches(&huge), Match::No);
    }
}

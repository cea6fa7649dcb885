//! zlib (RFC 1950): deflate with a 2-byte header and an Adler-32 trailer, over the deflate
//! engine in `codec/deflate` (zlib-rs writes and checks the wrapper itself).

use crate::codec::deflate;
use crate::codec::spec::{Codec, Detect, Match, Members, Spec};

/// One stream per file; recognised by the header check, which random data passes 1 time in
/// about 2000, so it is tried after every format with real magic.
pub(crate) static SPEC: Spec = Spec {
    name: "zlib",
    aliases: &["zz"],
    extensions: &["zz"],
    feature: "deflate",
    detect: Detect::Heuristic(matches),
    members: Members::SINGLE,
    levels: deflate::LEVELS,
    dictionaries: true,
    reference: false,
    codec: CODEC,
};

#[cfg(feature = "deflate")]
const CODEC: Option<Codec> = Some(Codec {
    // zlib has no standard way to split a stream between threads: one compressor always
    encoder: |s| Ok(Box::new(deflate::stream::DeflateEncoder::new(true, s)?)),
    decoder: |s| Ok(Box::new(deflate::stream::DeflateDecoder::new(true, s.dictionaries.clone())?)),
    encoder_memory: |s| deflate::compressor_bytes(deflate::window_bits(s)),
    decoder_memory: |_| deflate::INFLATE_BYTES,
    random_access: None,
});
#[cfg(not(feature = "deflate"))]
const CODEC: Option<Codec> = None;

/// RFC 1950 header check: CM = 8, CINFO <= 7 (window <= 32 KiB), FCHECK, and no preset
/// dictionary (which no decoder can use without out-of-band data).
fn matches(prefix: &[u8]) -> Match {
    match prefix {
        [] => Match::NeedMore,
        [cmf] if cmf & 0x0f != 8 || cmf >> 4 > 7 => Match::No,
        [_] => Match::NeedMore,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_check() {
        assert_eq!(matches(&[0x78, 0x9c]), Match::Yes); // default level
        assert_eq!(matches(&[0x78, 0x01]), Match::Yes); // level 0-1
        assert_eq!(matches(&[0x78]), Match::NeedMore);
        assert_eq!(matches(&[0x79]), Match::No); // CM 9
        assert_eq!(matches(&[0x88]), Match::No); // CINFO 8
        assert_eq!(matches(&[0x78, 0x9d]), Match::No); // FCHECK
        assert_eq!(matches(&[0x78, 0xbb]), Match::No); // FDICT set
    }
}

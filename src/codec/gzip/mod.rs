//! gzip (RFC 1952): our own header and trailer around the raw deflate engine.
//!
//! Parsing the header ourselves keeps hostile headers under our control: FEXTRA is skipped
//! without being stored (its length is a u16), FNAME and FCOMMENT are bounded at 64 KiB each,
//! FHCRC is verified, and so are the trailer's CRC-32 and ISIZE. Nothing in the header makes
//! us allocate.

use crate::codec::spec::{match_magic, Codec, Detect, Match, Members, Spec};

#[cfg(feature = "deflate")]
mod bgzf;
#[cfg(feature = "deflate")]
mod member;
#[cfg(feature = "deflate")]
mod split;

/// Multi-member: concatenated gzip files are one gzip file (RFC 1952 2.2).
pub(crate) static SPEC: Spec = Spec {
    name: "gzip",
    aliases: &["gz"],
    extensions: &["gz", "tgz"],
    feature: "deflate",
    detect: Detect::Magic(matches),
    members: Members { concatenated: true, skippable: false, padding: false },
    levels: crate::codec::deflate::LEVELS,
    dictionaries: false,
    reference: false,
    codec: CODEC,
};

#[cfg(feature = "deflate")]
const CODEC: Option<Codec> = Some(Codec {
    encoder: |s| match s.seekable {
        Some(block) => Ok(Box::new(bgzf::encoder(s, block)?)),
        None => Ok(Box::new(member::GzipEncoder::new(s)?)),
    },
    // members decode in parallel with threads(n) (codec/frames.rs), measured by split.rs
    decoder: |s| {
        crate::codec::frames::decoder(s, split::MemberEnds::new(), |_| {
            Ok(Box::new(member::GzipDecoder::new()?))
        })
    },
    encoder_memory: |s| match s.seekable {
        Some(block) => bgzf::encoder_memory(s, block),
        None => crate::codec::deflate::encoder_memory(s),
    },
    decoder_memory: |s| crate::codec::frames::decoder_memory(s, crate::codec::deflate::INFLATE_BYTES),
    random_access: Some(crate::codec::seekable::RandomAccess {
        max_block: bgzf::MAX_BLOCK,
        read_index: bgzf::read_index,
        frame_block: None,
        check_block: None,
    }),
});
#[cfg(not(feature = "deflate"))]
const CODEC: Option<Codec> = None;

/// ID1 ID2.
const MAGIC: [u8; 2] = [0x1f, 0x8b];
/// CM = 8, deflate: the only method ever defined.
const DEFLATE: u8 = 8;

/// The magic number and the method: checking the method halves false positives, and a
/// decision waits for it (the adapter, between members, reports `1f 8b` then another byte as
/// trailing data whether or not its buffer happened to end after the `8b`).
fn matches(prefix: &[u8]) -> Match {
    match match_magic(prefix, &MAGIC) {
        Match::Yes => match prefix.get(2) {
            None => Match::NeedMore,
            Some(&DEFLATE) => Match::Yes,
            Some(_) => Match::No,
        },
        m => m,
    }
}

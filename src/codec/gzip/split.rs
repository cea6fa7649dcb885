//! Where gzip members end, for the threaded decoder (`codec/frames.rs`), without decoding them.
//!
//! - A BGZF member says it: its `BC` extra field holds its length (`bgzf.rs`).
//! - Any other member (`cat a.gz b.gz`, gzip members of a log rotated and appended) says
//!   nothing, and is measured up to the next place where a member header could start: the
//!   magic `1f 8b`, method 8, no reserved flag bits, XFL 0, 2 or 4 (what gzip, pigz and zlib
//!   write) and a known OS byte. That is where the member ends if the next member starts
//!   right after it, as in a concatenation. The same bytes may also occur by chance inside
//!   deflate data (about once in 2^37 positions) or a header's name or comment, and that is
//!   safe: a measure is a claim the threaded decoder checks. A member whose decoder ends
//!   before the claimed end or wants more after it is decoded on from there by the caller's
//!   thread, as one thread decodes the stream (lbzip2 finds bzip2 blocks by their magic
//!   numbers the same way).
//! - A member with no candidate within `SCAN_MAX` (a single large member, the usual gzip
//!   file) is left to the caller's thread as it comes, after at most that much scanning.

use crate::codec::frames::{Measure, Measured};
use crate::codec::spec::Match;
use crate::codec::CodecResult;

use super::bgzf::{member_len, Head};

/// How far into a member without a BGZF block size the next member's header is looked for.
/// Up to a megabyte (about 3 MiB of text) is held before the first output of such a member,
/// and a single member (most gzip files) costs its first megabyte's copy and scan once.
const SCAN_MAX: usize = 1 << 20;
/// The smallest gzip member: a 10-byte header, an empty final deflate block (2 bytes) and the
/// 8-byte trailer.
const MIN_MEMBER: usize = 20;
/// The fixed part of a member header, all that is checked of a candidate.
const FIXED_HEADER: usize = 10;

/// Whether `head` (at least `FIXED_HEADER` bytes) could be where a gzip member starts.
fn plausible_header(head: &[u8]) -> bool {
    let (flags, xfl, os) = (head[3], head[8], head[9]);
    head[..3] == [0x1f, 0x8b, 8] && flags & 0xe0 == 0 && matches!(xfl, 0 | 2 | 4) && (os <= 13 || os == 255)
}

/// Measures gzip members: by their BGZF block size, else by the next plausible header.
pub(super) struct MemberEnds {
    /// Where the search for the next header goes on in the member being measured.
    scanned: usize,
}

impl MemberEnds {
    pub(super) fn new() -> Self {
        MemberEnds { scanned: MIN_MEMBER }
    }

    /// The next plausible header in `member` after what was scanned before: its offset, or
    /// `None` with `scanned` moved up to where a header could still be cut off.
    fn next_header(&mut self, member: &[u8]) -> Option<usize> {
        let end = member.len().saturating_sub(FIXED_HEADER - 1);
        while self.scanned < end {
            let at = self.scanned;
            match find_magic(&member[at..end]) {
                Some(i) if plausible_header(&member[at + i..at + i + FIXED_HEADER]) => return Some(at + i),
                Some(i) => self.scanned = at + i + 1,
                None => self.scanned = end,
            }
        }
        None
    }
}

/// The first `1f` in `bytes`. Stretches of 32 bytes are tested whole, without a branch per
/// byte (the compiler vectorises the test): compressed data holds a `1f` about every 256
/// bytes, and a byte-by-byte search of a single member's first megabyte cost 5–7 % of
/// decoding a 3 MB file.
fn find_magic(bytes: &[u8]) -> Option<usize> {
    const STRETCH: usize = 32;
    let mut at = 0;
    for stretch in bytes.chunks_exact(STRETCH) {
        if stretch.iter().fold(false, |seen, &b| seen | (b == 0x1f)) {
            break;
        }
        at += STRETCH;
    }
    bytes[at..].iter().position(|&b| b == 0x1f).map(|i| at + i)
}

impl Measure for MemberEnds {
    fn measure(&mut self, member: &[u8]) -> CodecResult<Measured> {
        Ok(match member_len(member) {
            Head::NeedMore(_) => {
                // every byte of a header still incomplete is the member's own (and no
                // candidate for the next one)
                self.scanned = self.scanned.max(member.len());
                Measured::NeedMore
            }
            // not a gzip member: the one-thread decoder's to judge
            Head::NotGzip => Measured::Alone,
            Head::Len(len) => Measured::Len(len),
            Head::NoExtra | Head::NoBlockSize | Head::TooSmall => match self.next_header(member) {
                Some(end) => Measured::Len(end),
                None if member.len() > SCAN_MAX => Measured::Unknown,
                None => Measured::NeedMore,
            },
        })
    }

    fn reset(&mut self) {
        self.scanned = MIN_MEMBER;
    }

    /// Up to where the search goes on: a header may start in the last bytes, cut off.
    fn settled(&self, member: &[u8]) -> usize {
        self.scanned.min(member.len())
    }

    fn starts(prefix: &[u8]) -> Match {
        super::matches(prefix)
    }

    fn content_size(_head: &[u8]) -> Option<u64> {
        None
    }

    /// ISIZE, the member's last four bytes (its content's size modulo 2^32, if the measure is
    /// right).
    fn output_size(member: &[u8]) -> Option<u64> {
        let isize = member.get(member.len().checked_sub(4)?..)?;
        Some(u64::from(u32::from_le_bytes(isize.try_into().ok()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

    #[test]
    fn a_plain_member_ends_at_the_next_plausible_header() {
        let mut member = HEADER.to_vec();
        member.extend_from_slice(&[0x1f; 40]);
        // not plausible: a reserved flag bit, XFL 7, OS 40, method 7
        for (at, value) in [(3, 0x20), (8, 7), (9, 40), (2, 7)] {
            let mut fake = HEADER;
            fake[at] = value;
            member.extend_from_slice(&fake);
        }
        let end = member.len();
        member.extend_from_slice(&HEADER);
        let mut ends = MemberEnds::new();
        // fed in pieces, as the splitter grows the member: a header cut off is not missed
        for cut in [5, 12, 30, end + 3, end + 9] {
            assert!(matches!(ends.measure(&member[..cut]).unwrap(), Measured::NeedMore), "cut at {cut}");
        }
        assert!(matches!(ends.measure(&member).unwrap(), Measured::Len(len) if len == end));
        // a header inside the first MIN_MEMBER bytes is the member's own, never its end
        ends.reset();
        let mut short = HEADER.to_vec();
        short.extend_from_slice(&HEADER);
        short.extend_from_slice(&HEADER);
        assert!(matches!(ends.measure(&short).unwrap(), Measured::Len(20)));
    }

    #[test]
    fn an_incomplete_header_is_settled_whole() {
        // FEXTRA of 300 bytes, a plausible header inside it: not a member end
        let mut member = HEADER.to_vec();
        member[3] = 0x04;
        member.extend_from_slice(&300u16.to_le_bytes());
        member.extend_from_slice(&[0; 100]);
        member.extend_from_slice(&HEADER);
        member.resize(12 + 300, 0);
        let end = member.len() + 40;
        member.resize(end, 0);
        member.extend_from_slice(&HEADER);
        let mut ends = MemberEnds::new();
        for cut in [12, 200, 300] {
            assert!(matches!(ends.measure(&member[..cut]).unwrap(), Measured::NeedMore), "cut at {cut}");
            assert_eq!(ends.settled(&member[..cut]), cut);
        }
        assert!(matches!(ends.measure(&member).unwrap(), Measured::Len(len) if len == end));
    }

    #[test]
    fn the_magic_is_found_at_every_offset() {
        for len in [0, 1, 31, 32, 33, 64, 100] {
            let mut bytes = vec![0x8b; len];
            assert_eq!(find_magic(&bytes), None, "len {len}");
            for at in (0..len).rev() {
                bytes[at] = 0x1f;
                assert_eq!(find_magic(&bytes), Some(at), "len {len}, at {at}");
            }
        }
    }

    #[test]
    fn a_member_without_a_header_in_reach_is_left_to_the_caller() {
        let mut member = HEADER.to_vec();
        member.resize(SCAN_MAX + 1, 0x1f);
        let mut ends = MemberEnds::new();
        assert!(matches!(ends.measure(&member[..SCAN_MAX]).unwrap(), Measured::NeedMore));
        assert!(matches!(ends.measure(&member).unwrap(), Measured::Unknown));
        // not gzip at all
        assert!(matches!(MemberEnds::new().measure(&[0u8; 40]).unwrap(), Measured::Alone));
    }
}

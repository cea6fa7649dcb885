//! What comes after a member: the end-of-stream policy, sans-I/O, so that every decoder shape
//! applies the same rules.
//!
//! After a member ends, the next bytes are another member of the same format (decoded), xz
//! stream padding (null bytes in multiples of four, skipped), the end of the input (done), or
//! anything else: trailing data. A partial magic number at the end is a truncated member.

use crate::codec::spec::Match;
use crate::error::{Error, Result};
use crate::format::Format;

/// The decision at a boundary between members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Consume this many bytes of padding, then ask again.
    Skip(usize),
    /// Another member starts here: reset the codec and decode it.
    Member,
    /// The stream has ended cleanly.
    End,
    /// More input is needed to decide.
    NeedMore,
}

/// The state between two members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Boundary {
    format: Format,
    /// Padding bytes seen since the member ended.
    zeros: u64,
}

impl Boundary {
    pub fn new(format: Format) -> Self {
        Boundary { format, zeros: 0 }
    }

    /// Decide from `pending`, the bytes after the member read so far. `eof`: no more input
    /// will come. (A decision needs at most a magic number's length of `pending`; the shapes
    /// keep that much across their input slices.)
    pub fn next(&mut self, pending: &[u8], eof: bool) -> Result<Next> {
        if self.format.has_stream_padding() {
            let n = pending.iter().take_while(|&&b| b == 0).count();
            if n > 0 {
                self.zeros += n as u64;
                return Ok(Next::Skip(n));
            }
        }
        if pending.is_empty() {
            return if eof { self.padding_ends(Next::End) } else { Ok(Next::NeedMore) };
        }
        match self.format.next_member(pending) {
            Match::Yes => self.padding_ends(Next::Member),
            Match::No => Err(Error::TrailingData { format: self.format }),
            Match::NeedMore if eof => Err(Error::Truncated { format: self.format }),
            Match::NeedMore => Ok(Next::NeedMore),
        }
    }

    /// The padding before `next` is complete: it must be a multiple of four bytes.
    fn padding_ends(&self, next: Next) -> Result<Next> {
        if self.zeros.is_multiple_of(4) {
            Ok(next)
        } else {
            Err(Error::corrupt(self.format, "stream padding is not a multiple of four bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];

    #[test]
    fn end_member_trailing_and_truncated() {
        let mut b = Boundary::new(Format::Gzip);
        assert_eq!(b.next(&[], false).unwrap(), Next::NeedMore);
        assert_eq!(b.next(&[], true).unwrap(), Next::End);
        assert_eq!(b.next(&[0x1f, 0x8b, 8], false).unwrap(), Next::Member);
        assert!(matches!(b.next(b"garbage", false), Err(Error::TrailingData { .. })));
        assert_eq!(b.next(&[0x1f], false).unwrap(), Next::NeedMore);
        assert!(matches!(b.next(&[0x1f], true), Err(Error::Truncated { .. })));
        // gzip's method byte is part of the decision: the same verdict wherever reads end
        assert_eq!(b.next(&[0x1f, 0x8b], false).unwrap(), Next::NeedMore);
        assert!(matches!(b.next(&[0x1f, 0x8b, 0x11], false), Err(Error::TrailingData { .. })));
        assert!(matches!(b.next(&[0x1f, 0x8b], true), Err(Error::Truncated { .. })));
    }

    #[test]
    fn single_stream_formats_take_nothing_after_the_end() {
        for format in [Format::Zlib, Format::Deflate, Format::Lzma] {
            let mut b = Boundary::new(format);
            assert!(matches!(b.next(&[0x78, 0x9c], false), Err(Error::TrailingData { .. })), "{format}");
            assert!(matches!(b.next(&[0], false), Err(Error::TrailingData { .. })), "{format}");
        }
    }

    #[test]
    fn xz_padding_is_skipped_in_fours() {
        let mut b = Boundary::new(Format::Xz);
        assert_eq!(b.next(&[0, 0, 0], false).unwrap(), Next::Skip(3));
        assert_eq!(b.next(&[0], false).unwrap(), Next::Skip(1));
        assert_eq!(b.next(XZ, false).unwrap(), Next::Member);
        let mut odd = Boundary::new(Format::Xz);
        assert_eq!(odd.next(&[0, 0], false).unwrap(), Next::Skip(2));
        assert!(matches!(odd.next(&[], true), Err(Error::Corrupt { .. })));
        assert!(matches!(odd.next(XZ, false), Err(Error::Corrupt { .. })));
        // zero padding is xz's alone
        assert!(matches!(Boundary::new(Format::Zstd).next(&[0; 4], false), Err(Error::TrailingData { .. })));
    }

    #[test]
    fn skippable_frames_are_members_where_allowed() {
        let skippable = [0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0];
        assert_eq!(Boundary::new(Format::Zstd).next(&skippable, false).unwrap(), Next::Member);
        assert_eq!(Boundary::new(Format::Lz4).next(&skippable, false).unwrap(), Next::Member);
        assert!(matches!(
            Boundary::new(Format::Gzip).next(&skippable, false),
            Err(Error::TrailingData { .. })
        ));
    }
}

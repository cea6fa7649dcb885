//! zstd frames measured without decoding them, for the threaded decoder (`codec/frames.rs`):
//! the header's length comes from its descriptor, each block's from its 3-byte header (the
//! block walker that `decode.rs` also checks frames with), then the optional checksum.

use super::frame::{self, BlockWalker, MAX_HEADER};
use crate::codec::frames::{Measure, Measured};
use crate::codec::spec::{match_magic, Match};
use crate::codec::CodecResult;

/// Skippable frames: `0x184D2A50`-`0x184D2A5F`, little-endian, then a 4-byte length.
fn is_skippable(prefix: &[u8]) -> bool {
    prefix.len() >= 4 && prefix[0] & 0xf0 == 0x50 && prefix[1..4] == [0x2a, 0x4d, 0x18]
}

/// Measures one frame at a time.
pub(super) struct FrameLength {
    walker: BlockWalker,
    /// Bytes of the frame walked so far.
    walked: usize,
    /// Where the last block ends, once the walker has seen it.
    blocks_end: Option<usize>,
}

impl FrameLength {
    pub fn new() -> Self {
        FrameLength { walker: BlockWalker::new(), walked: 0, blocks_end: None }
    }
}

impl Measure for FrameLength {
    fn measure(&mut self, member: &[u8]) -> CodecResult<Measured> {
        if member.len() < 4 {
            return Ok(Measured::NeedMore);
        }
        if is_skippable(member) {
            if member.len() < 8 {
                return Ok(Measured::NeedMore);
            }
            let size = u32::from_le_bytes([member[4], member[5], member[6], member[7]]);
            return Ok(Measured::Skippable(8 + size as usize));
        }
        if member[..4] != frame::MAGIC {
            // not a frame at all: the one-thread decoder's to judge
            return Ok(Measured::Alone);
        }
        let header = &member[..member.len().min(MAX_HEADER)];
        if self.blocks_end.is_none() {
            let used = self.walker.walk(&member[self.walked..], header)?;
            self.walked += used;
            if self.walker.is_done() {
                self.blocks_end = Some(self.walked);
            }
        }
        let Some(end) = self.blocks_end else { return Ok(Measured::NeedMore) };
        let checksum = if frame::has_checksum(header) { 4 } else { 0 };
        let len = end + checksum;
        Ok(if member.len() >= len { Measured::Len(len) } else { Measured::NeedMore })
    }

    fn reset(&mut self) {
        *self = FrameLength::new();
    }

    fn content_size(head: &[u8]) -> Option<u64> {
        if !head.starts_with(&frame::MAGIC) {
            return None;
        }
        frame::content_size(head)
    }

    /// Another zstd frame, or a skippable frame (pzstd writes one before each frame).
    fn starts(prefix: &[u8]) -> Match {
        if is_skippable(prefix) {
            return Match::Yes;
        }
        // a skippable frame's first byte is 0x50-0x5f, then 2a 4d 18
        let maybe_skippable = prefix.len() < 4
            && prefix.first().is_some_and(|b| b & 0xf0 == 0x50)
            && [0x2a, 0x4d, 0x18].starts_with(&prefix[1..]);
        if maybe_skippable {
            return Match::NeedMore;
        }
        match_magic(prefix, &frame::MAGIC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_frames_in_any_chunking_and_leaves_skippable_frames_alone() {
        let data = b"frames of zstd, measured by their block headers ".repeat(5000);
        for (level, checksum) in [(1, true), (19, false)] {
            let mut encoder = zstd::bulk::Compressor::new(level).unwrap();
            encoder.include_checksum(checksum).unwrap();
            let frame = encoder.compress(&data).unwrap();
            let mut stream = frame.clone();
            stream.extend_from_slice(b"after");
            for chunk in [1, 7, 1000, stream.len()] {
                let mut m = FrameLength::new();
                let mut have = 0;
                let len = loop {
                    have = (have + chunk).min(stream.len());
                    if let Measured::Len(len) = m.measure(&stream[..have]).unwrap() {
                        break len;
                    }
                    assert!(have < stream.len(), "never measured");
                };
                assert_eq!(len, frame.len(), "level {level}, chunks of {chunk}");
            }
        }
        let skippable = [0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0];
        assert!(matches!(FrameLength::new().measure(&skippable), Ok(Measured::Skippable(11))));
        assert!(matches!(FrameLength::new().measure(&skippable[..6]), Ok(Measured::NeedMore)));
        assert!(matches!(FrameLength::new().measure(b"\x28\xb5\x2f\x00"), Ok(Measured::Alone)));
        assert_eq!(FrameLength::starts(&skippable), Match::Yes);
        assert_eq!(FrameLength::starts(&skippable[..2]), Match::NeedMore);
        assert_eq!(FrameLength::starts(b"abcd"), Match::No);
        assert_eq!(FrameLength::starts(&frame::MAGIC[..2]), Match::NeedMore);
        assert_eq!(FrameLength::starts(&frame::MAGIC), Match::Yes);
    }
}

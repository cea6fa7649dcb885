//! Pure parsing of the zstd frame format (RFC 8878): the frame header's layout, what a frame
//! needs before libzstd allocates for it, and a walker over block headers. No libzstd here,
//! so each piece is tested on its own against frames libzstd writes.

use crate::codec::{CodecResult, Fault};

/// A zstd frame starts with this (little-endian 0xFD2FB528).
pub(crate) const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The longest frame header: magic (4), descriptor (1), window (1), dictionary id (4),
/// content size (8).
pub(crate) const MAX_HEADER: usize = 18;

/// Where a frame header's fields are, from its descriptor byte (RFC 8878 3.1.1.1): magic (4),
/// descriptor (1), window descriptor (1, absent in single-segment frames), dictionary id
/// (0/1/2/4), content size (0/1/2/4/8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    single_segment: bool,
    dict_at: usize,
    dict_len: usize,
    fcs_at: usize,
    fcs_len: usize,
}

impl Layout {
    pub fn of(fhd: u8) -> Layout {
        let single_segment = fhd & 0x20 != 0;
        let dict_at = 5 + usize::from(!single_segment);
        let dict_len = [0, 1, 2, 4][usize::from(fhd & 3)];
        let fcs_len = match fhd >> 6 {
            0 => usize::from(single_segment),
            1 => 2,
            2 => 4,
            _ => 8,
        };
        Layout { single_segment, dict_at, dict_len, fcs_at: dict_at + dict_len, fcs_len }
    }

    /// The whole header's size.
    pub fn size(&self) -> usize {
        self.fcs_at + self.fcs_len
    }
}

/// A little-endian field of `len` bytes at `at`, if `header` holds it.
fn le(header: &[u8], at: usize, len: usize) -> Option<u64> {
    let mut bytes = [0u8; 8];
    bytes[..len].copy_from_slice(header.get(at..at + len)?);
    Some(u64::from_le_bytes(bytes))
}

/// The largest block any frame may hold (RFC 8878: 128 KiB).
const BLOCK_SIZE_MAX: u64 = 128 << 10;

/// What a frame asks of its decoder, known from the first bytes of its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Needs {
    /// The dictionary id (0: none).
    pub dict_id: u32,
    /// The window size in bytes.
    pub window: u64,
}

/// What the frame header starting `header` (with the magic number) declares, once all the
/// fields needed are present: the window descriptor, or for single-segment frames the
/// content size. `None` also for a header with the reserved bit set, which libzstd rejects
/// on every path itself.
pub(crate) fn needs(header: &[u8]) -> Option<Needs> {
    let fhd = *header.get(4)?;
    if fhd & 0x08 != 0 {
        return None;
    }
    let layout = Layout::of(fhd);
    let dict_id = le(header, layout.dict_at, layout.dict_len)? as u32;
    if !layout.single_segment {
        let wd = header[5];
        let base = 1u64 << (10 + (wd >> 3));
        return Some(Needs { dict_id, window: base + (base >> 3) * u64::from(wd & 7) });
    }
    let size = le(header, layout.fcs_at, layout.fcs_len)?;
    Some(Needs { dict_id, window: if layout.fcs_len == 2 { size + 256 } else { size } })
}

/// The content size the complete frame header `header` declares, or `None` if it declares
/// none (or `header` is incomplete).
pub(crate) fn content_size(header: &[u8]) -> Option<u64> {
    let layout = Layout::of(*header.get(4)?);
    if layout.fcs_len == 0 {
        return None;
    }
    let size = le(header, layout.fcs_at, layout.fcs_len)?;
    Some(if layout.fcs_len == 2 { size + 256 } else { size })
}

/// Whether the frame header `header` says the frame ends with a content checksum (the low 32
/// bits of XXH64 of the content).
pub(crate) fn has_checksum(header: &[u8]) -> bool {
    header.get(4).is_some_and(|fhd| fhd & 0x04 != 0)
}

/// The largest window log whose window plus libzstd's streaming buffers (two 128 KiB blocks
/// and the context) fit in `max_memory`. libzstd checks the frame header's window against it
/// before allocating anything.
pub(crate) fn window_log_max(max_memory: u64) -> u32 {
    const OVERHEAD: u64 = 2 * (128 << 10) + (160 << 10);
    // ZSTD_WINDOWLOG_ABSOLUTEMIN .. ZSTD_WINDOWLOG_MAX_64
    (10..=31).rev().find(|&log| (1u64 << log) + OVERHEAD <= max_memory).unwrap_or(10)
}

/// Where the block walker is in the current frame (see `BlockWalker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walk {
    Header,
    BlockHeader,
    Content { left: u32, last: bool },
    Done,
}

/// Follows the block structure of a frame's bytes, so that the verdict on a frame never
/// depends on the buffer sizes. libzstd decodes a frame in one of two ways: its one-shot path
/// when the caller's buffers hold the whole frame, its streaming path otherwise, and they
/// disagree on two kinds of block (libzstd 1.5.7), both found by fuzzing:
///
/// - a compressed block of size 0, which the spec does not allow (a compressed block holds at
///   least a literals section): the one-shot path rejects it, the streaming path treats it
///   as an empty block;
/// - a block whose content is larger than the frame's Block_Maximum_Size (the smaller of the
///   window and 128 KiB, RFC 8878 3.1.1.2), e.g. any RLE block (its content is one byte) in a
///   single-segment frame declaring 0 bytes of content: the streaming path rejects it ("Block
///   Size Exceeds Maximum"), the one-shot path does not check.
///
/// We reject both on every path. It costs a few comparisons per block: block contents are
/// skipped, not read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockWalker {
    state: Walk,
    /// Frame bytes walked so far (header phase).
    pos: usize,
    field: [u8; 3],
    have: usize,
    /// The frame's Block_Maximum_Size, known once its header has been walked.
    max_block: u64,
}

impl BlockWalker {
    pub const fn new() -> Self {
        BlockWalker { state: Walk::Header, pos: 0, field: [0; 3], have: 0, max_block: BLOCK_SIZE_MAX }
    }

    /// Whether the walker has seen the last block's end.
    pub fn is_done(&self) -> bool {
        self.state == Walk::Done
    }

    /// Walk `bytes`, the next bytes of the frame; `header` is the frame's start as kept so
    /// far (the header's length comes from its descriptor byte). Returns how many of them
    /// belong to the blocks: all, unless the last block ends among them.
    pub fn walk(&mut self, mut bytes: &[u8], header: &[u8]) -> CodecResult<usize> {
        let total = bytes.len();
        while !bytes.is_empty() {
            match self.state {
                Walk::Header => {
                    let Some(size) = header.get(4).map(|&fhd| Layout::of(fhd).size()) else {
                        self.pos += bytes.len();
                        return Ok(total);
                    };
                    let take = size.saturating_sub(self.pos).min(bytes.len());
                    self.pos += take;
                    bytes = &bytes[take..];
                    if self.pos >= size {
                        // a header with the reserved bit set is rejected by libzstd itself
                        let window = needs(header).map_or(BLOCK_SIZE_MAX, |n| n.window);
                        self.max_block = window.min(BLOCK_SIZE_MAX);
                        self.state = Walk::BlockHeader;
                    }
                }
                Walk::BlockHeader => {
                    let take = (3 - self.have).min(bytes.len());
                    self.field[self.have..self.have + take].copy_from_slice(&bytes[..take]);
                    self.have += take;
                    bytes = &bytes[take..];
                    if self.have == 3 {
                        self.have = 0;
                        let v = u32::from_le_bytes([self.field[0], self.field[1], self.field[2], 0]);
                        let (last, kind, size) = (v & 1 != 0, (v >> 1) & 3, v >> 3);
                        if kind == 2 && size == 0 {
                            return Err(Fault::corrupt("empty compressed block"));
                        }
                        // an RLE block holds one byte, whatever it expands to
                        let left = if kind == 1 { 1 } else { size };
                        if u64::from(left.max(if kind == 1 { size } else { 0 })) > self.max_block {
                            return Err(Fault::corrupt(format!(
                                "block of {size} bytes exceeds the frame's maximum block size {}",
                                self.max_block
                            )));
                        }
                        self.state = match (left, last) {
                            (0, true) => Walk::Done,
                            (0, false) => Walk::BlockHeader,
                            _ => Walk::Content { left, last },
                        };
                    }
                }
                Walk::Content { left, last } => {
                    let take = (left as usize).min(bytes.len());
                    bytes = &bytes[take..];
                    let left = left - take as u32;
                    self.state = match (left, last) {
                        (0, true) => Walk::Done,
                        (0, false) => Walk::BlockHeader,
                        _ => Walk::Content { left, last },
                    };
                }
                Walk::Done => return Ok(total - bytes.len()),
            }
        }
        Ok(total)
    }
}

#[cfg(all(test, feature = "zstd"))]
mod tests {
    use super::*;
    use zstd::zstd_safe;

    fn frame(data: &[u8], level: i32) -> Vec<u8> {
        zstd::bulk::compress(data, level).unwrap()
    }

    #[test]
    fn layout_follows_the_descriptor() {
        // single segment, no dictionary, 1-byte content size
        assert_eq!(Layout::of(0x20).size(), 4 + 1 + 1);
        // window descriptor, 4-byte dictionary id, 8-byte content size
        assert_eq!(Layout::of(0xc3).size(), 4 + 1 + 1 + 4 + 8);
        // window descriptor only
        assert_eq!(Layout::of(0x00).size(), 6);
        // 2-byte content size, 1-byte dictionary id, single segment
        assert_eq!(Layout::of(0x61).size(), 4 + 1 + 1 + 2);
    }

    #[test]
    fn needs_and_content_size_agree_with_libzstd() {
        for len in [0usize, 1, 255, 256, 300, 70_000, 1 << 20] {
            let data = vec![b'a'; len];
            let f = frame(&data, 3);
            let header = &f[..f.len().min(MAX_HEADER)];
            let declared = zstd_safe::get_frame_content_size(header).unwrap();
            assert_eq!(content_size(header), declared, "len {len}");
            let n = needs(header).unwrap();
            assert_eq!(n.dict_id, 0);
            assert!(n.window >= len.min(1 << 20) as u64, "len {len}: window {}", n.window);
        }
        // a streamed frame: no content size, a window descriptor
        let mut streamed = Vec::new();
        let mut enc = zstd::stream::Encoder::new(&mut streamed, 19).unwrap();
        std::io::Write::write_all(&mut enc, &[7u8; 100_000]).unwrap();
        enc.finish().unwrap();
        assert_eq!(content_size(&streamed[..MAX_HEADER]), None);
        assert_eq!(needs(&streamed[..MAX_HEADER]).unwrap().window, 8 << 20); // level 19
    }

    #[test]
    fn needs_waits_for_its_fields_and_ignores_reserved_headers() {
        let f = frame(&[1u8; 5000], 1);
        assert_eq!(needs(&f[..4]), None);
        assert_eq!(needs(&[0x28, 0xb5, 0x2f, 0xfd, 0x08, 0, 0]), None);
    }

    #[test]
    fn walker_reaches_the_end_of_real_frames_in_any_chunking() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8 ^ (i >> 9) as u8).collect();
        for level in [1, 19] {
            let f = frame(&data, level);
            for chunk in [1, 7, 4096, f.len()] {
                let mut walker = BlockWalker::new();
                let mut kept = Vec::new();
                for piece in f.chunks(chunk) {
                    let room = MAX_HEADER.saturating_sub(kept.len()).min(piece.len());
                    kept.extend_from_slice(&piece[..room]);
                    walker.walk(piece, &kept).unwrap();
                }
                assert!(walker.is_done(), "level {level}, chunks of {chunk}");
            }
        }
    }

    #[test]
    fn walker_rejects_an_empty_compressed_block() {
        // single segment, 1-byte content size 0, then a last compressed block of size 0
        let f = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0b101, 0, 0];
        let mut walker = BlockWalker::new();
        assert!(matches!(walker.walk(&f, &f), Err(Fault::Corrupt(_))));
        // the same with a raw block of size 0 is a valid empty frame
        let f = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0b001, 0, 0];
        let mut walker = BlockWalker::new();
        walker.walk(&f, &f).unwrap();
        assert!(walker.is_done());
    }

    #[test]
    fn walker_rejects_blocks_above_the_maximum_block_size() {
        // single segment declaring 0 bytes: Block_Maximum_Size is 0, so even an RLE block
        // repeating its byte 0 times (content: 1 byte) is too large
        let f = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0b011, 0, 0, 0x61];
        assert!(matches!(BlockWalker::new().walk(&f, &f), Err(Fault::Corrupt(_))));
        // declaring 4 bytes: an RLE block of 4 fits, one of 5 does not, nor a raw block of 5
        let f = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x04, 0b011 | 4 << 3, 0, 0, 0x61];
        BlockWalker::new().walk(&f, &f).unwrap();
        let f = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x04, 0b011 | 5 << 3, 0, 0, 0x61];
        assert!(matches!(BlockWalker::new().walk(&f, &f), Err(Fault::Corrupt(_))));
        let f = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x04, 0b001 | 5 << 3, 0, 0, 1, 2, 3, 4, 5];
        assert!(matches!(BlockWalker::new().walk(&f, &f), Err(Fault::Corrupt(_))));
        // a 1 KiB window (descriptor 0) caps blocks at 1 KiB
        let f = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0b011, 0x20, 0, 0x61];
        assert_eq!(1024, 0x2000 >> 3);
        BlockWalker::new().walk(&f, &f).unwrap();
        let f = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0b011 | 8, 0x20, 0, 0x61];
        assert!(matches!(BlockWalker::new().walk(&f, &f), Err(Fault::Corrupt(_))));
    }

    #[test]
    fn window_log_max_fits_the_limit() {
        assert_eq!(window_log_max(256 << 20), 27);
        assert_eq!(window_log_max(16 << 20), 23);
        assert_eq!(window_log_max(1), 10);
        assert!((1u64 << window_log_max(10 << 20)) + (416 << 10) <= 10 << 20);
    }
}

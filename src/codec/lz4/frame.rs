//! The LZ4 frame format, as pure functions: the frame descriptor (written by the encoder, parsed
//! by the decoder, so both sides share one definition), block headers, and the 64 KiB window
//! of linked blocks.
//!
//! ```text
//! frame     = magic(04 22 4d 18) descriptor block* endmark(00 00 00 00) [content xxh32]
//! descriptor= FLG BD [content size u64] [dict id u32] HC
//! block     = size u32 (high bit: stored uncompressed) data [block xxh32]
//! skippable = 5? 2a 4d 18, size u32, size bytes
//! ```

use xxhash_rust::xxh32::xxh32;

use crate::codec::{CodecResult, Fault};

/// The legacy format's magic (`lz4 -l`), which we recognise to say why we refuse it.
pub(crate) const LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];

const FLG_VERSION_MASK: u8 = 0b1100_0000;
const FLG_VERSION: u8 = 0b0100_0000;
const FLG_INDEPENDENT: u8 = 0b0010_0000;
const FLG_BLOCK_CHECKSUM: u8 = 0b0001_0000;
const FLG_CONTENT_SIZE: u8 = 0b0000_1000;
const FLG_CONTENT_CHECKSUM: u8 = 0b0000_0100;
const FLG_RESERVED: u8 = 0b0000_0010;
const FLG_DICT_ID: u8 = 0b0000_0001;
const BD_RESERVED: u8 = 0b1000_1111;

/// The high bit of a block's size field: the block is stored uncompressed.
pub(crate) const UNCOMPRESSED_BIT: u32 = 0x8000_0000;
/// Linked blocks may refer this far back into previous blocks.
pub(crate) const WINDOW: usize = 64 * 1024;
/// The longest descriptor: FLG, BD, content size (8), dictionary id (4), HC.
pub(crate) const MAX_DESCRIPTOR: usize = 15;

/// Block maximum sizes by BD code 4..=7: 64 KiB, 256 KiB, 1 MiB, 4 MiB.
pub(crate) fn block_max(code: u8) -> usize {
    1 << (8 + 2 * usize::from(code))
}

/// The most a block of `n` bytes takes in the frame: size field + worst-case compression.
pub(crate) fn block_bound(n: usize) -> usize {
    4 + lz4_flex::block::get_maximum_output_size(n)
}

/// What a frame descriptor says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Descriptor {
    /// Blocks may refer to the previous 64 KiB of output.
    pub linked: bool,
    pub block_checksum: bool,
    pub content_checksum: bool,
    pub content_size: Option<u64>,
    pub dict_id: Option<u32>,
    /// BD's block maximum size code, 4..=7.
    pub block_code: u8,
}

impl Descriptor {
    /// The descriptor's length, known from its first byte (FLG).
    pub fn len(flg: u8) -> usize {
        3 + if flg & FLG_CONTENT_SIZE != 0 { 8 } else { 0 } + if flg & FLG_DICT_ID != 0 { 4 } else { 0 }
    }

    /// Parse a whole descriptor (`Descriptor::len(d[0])` bytes), checking its checksum and
    /// every reserved bit.
    pub fn parse(d: &[u8]) -> CodecResult<Descriptor> {
        let (flg, bd) = (d[0], d[1]);
        debug_assert_eq!(d.len(), Self::len(flg));
        let len = d.len();
        if (xxh32(&d[..len - 1], 0) >> 8) as u8 != d[len - 1] {
            return Err(Fault::corrupt("frame descriptor checksum mismatch"));
        }
        if flg & FLG_VERSION_MASK != FLG_VERSION {
            return Err(Fault::corrupt("unsupported frame version"));
        }
        if flg & FLG_RESERVED != 0 || bd & BD_RESERVED != 0 {
            return Err(Fault::corrupt("reserved descriptor bits are set"));
        }
        let block_code = (bd >> 4) & 0b111;
        if block_code < 4 {
            return Err(Fault::corrupt("invalid block maximum size"));
        }
        let mut at = 2;
        let mut field = |n: usize| {
            let mut bytes = [0u8; 8];
            bytes[..n].copy_from_slice(&d[at..at + n]);
            at += n;
            u64::from_le_bytes(bytes)
        };
        let content_size = (flg & FLG_CONTENT_SIZE != 0).then(|| field(8));
        let dict_id = (flg & FLG_DICT_ID != 0).then(|| field(4) as u32);
        Ok(Descriptor {
            linked: flg & FLG_INDEPENDENT == 0,
            block_checksum: flg & FLG_BLOCK_CHECKSUM != 0,
            content_checksum: flg & FLG_CONTENT_CHECKSUM != 0,
            content_size,
            dict_id,
            block_code,
        })
    }

    /// Write the descriptor into `out`; returns its length.
    pub fn write(&self, out: &mut [u8; MAX_DESCRIPTOR]) -> usize {
        let mut flg = FLG_VERSION;
        for (on, bit) in [
            (!self.linked, FLG_INDEPENDENT),
            (self.block_checksum, FLG_BLOCK_CHECKSUM),
            (self.content_size.is_some(), FLG_CONTENT_SIZE),
            (self.content_checksum, FLG_CONTENT_CHECKSUM),
            (self.dict_id.is_some(), FLG_DICT_ID),
        ] {
            if on {
                flg |= bit;
            }
        }
        out[0] = flg;
        out[1] = self.block_code << 4;
        let mut len = 2;
        if let Some(size) = self.content_size {
            out[len..len + 8].copy_from_slice(&size.to_le_bytes());
            len += 8;
        }
        if let Some(id) = self.dict_id {
            out[len..len + 4].copy_from_slice(&id.to_le_bytes());
            len += 4;
        }
        out[len] = (xxh32(&out[..len], 0) >> 8) as u8;
        len + 1
    }

    pub fn block_max(&self) -> usize {
        block_max(self.block_code)
    }
}

/// What a block's 4-byte size field says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockHeader {
    /// The end mark (size 0).
    End,
    /// A block of `size` bytes of data; `stored`: uncompressed.
    Data { size: usize, stored: bool },
}

impl BlockHeader {
    pub fn parse(word: u32) -> BlockHeader {
        match word {
            0 => BlockHeader::End,
            w => BlockHeader::Data {
                size: (w & !UNCOMPRESSED_BIT) as usize,
                stored: w & UNCOMPRESSED_BIT != 0,
            },
        }
    }
}

/// What a one-thread decoder holds for a frame of blocks of up to `block_max`: one compressed
/// block (with its checksum), one decoded block, and the window of linked blocks.
pub(crate) fn one_thread_bytes(block_max: usize, linked: bool) -> usize {
    2 * block_max + 4 + if linked { WINDOW } else { 0 }
}

/// Keep the last `WINDOW` bytes of `history ++ data` in `history` (linked blocks).
pub(crate) fn remember(history: &mut Vec<u8>, data: &[u8]) {
    if data.len() >= WINDOW {
        history.clear();
        history.extend_from_slice(&data[data.len() - WINDOW..]);
    } else {
        let excess = (history.len() + data.len()).saturating_sub(WINDOW);
        history.drain(..excess);
        history.extend_from_slice(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_descriptor() -> Vec<Descriptor> {
        let mut all = Vec::new();
        for bits in 0..32u8 {
            for block_code in 4..=7 {
                all.push(Descriptor {
                    linked: bits & 1 != 0,
                    block_checksum: bits & 2 != 0,
                    content_checksum: bits & 4 != 0,
                    content_size: (bits & 8 != 0).then_some(0x0123_4567_89ab_cdef),
                    dict_id: (bits & 16 != 0).then_some(0xdead_beef),
                    block_code,
                });
            }
        }
        all
    }

    #[test]
    fn write_then_parse_is_the_identity() {
        for d in every_descriptor() {
            let mut out = [0u8; MAX_DESCRIPTOR];
            let len = d.write(&mut out);
            assert_eq!(len, Descriptor::len(out[0]), "{d:?}");
            assert_eq!(Descriptor::parse(&out[..len]).unwrap(), d);
        }
    }

    #[test]
    fn every_bad_descriptor_is_corrupt() {
        let d = Descriptor {
            linked: false,
            block_checksum: false,
            content_checksum: true,
            content_size: None,
            dict_id: None,
            block_code: 4,
        };
        let mut good = [0u8; MAX_DESCRIPTOR];
        let len = d.write(&mut good);
        let with_checksum = |mut bytes: [u8; MAX_DESCRIPTOR]| {
            bytes[len - 1] = (xxh32(&bytes[..len - 1], 0) >> 8) as u8;
            bytes
        };
        let mut bad_hc = good;
        bad_hc[len - 1] ^= 1;
        let mut version = good;
        version[0] ^= 0b1000_0000;
        let mut reserved_flg = good;
        reserved_flg[0] |= FLG_RESERVED;
        let mut reserved_bd = good;
        reserved_bd[1] |= 1;
        let mut small_block = good;
        small_block[1] = 3 << 4;
        for (what, bytes) in [
            ("checksum", bad_hc),
            ("version", with_checksum(version)),
            ("reserved FLG bit", with_checksum(reserved_flg)),
            ("reserved BD bit", with_checksum(reserved_bd)),
            ("block code 3", with_checksum(small_block)),
        ] {
            assert!(matches!(Descriptor::parse(&bytes[..len]), Err(Fault::Corrupt(_))), "{what}");
        }
    }

    #[test]
    fn parses_what_lz4_flex_writes() {
        let mut frame = Vec::new();
        let info = lz4_flex::frame::FrameInfo::new()
            .block_size(lz4_flex::frame::BlockSize::Max1MB)
            .block_mode(lz4_flex::frame::BlockMode::Linked)
            .content_checksum(true)
            .block_checksums(true)
            .content_size(Some(5));
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, &mut frame);
        std::io::Write::write_all(&mut enc, b"hello").unwrap();
        enc.finish().unwrap();
        assert_eq!(frame[..4], super::super::MAGIC);
        let d = Descriptor::parse(&frame[4..4 + Descriptor::len(frame[4])]).unwrap();
        assert!(d.linked && d.block_checksum && d.content_checksum);
        assert_eq!((d.content_size, d.dict_id, d.block_max()), (Some(5), None, 1 << 20));
    }

    #[test]
    fn block_headers() {
        assert_eq!(BlockHeader::parse(0), BlockHeader::End);
        assert_eq!(BlockHeader::parse(17), BlockHeader::Data { size: 17, stored: false });
        assert_eq!(BlockHeader::parse(0x8000_0011), BlockHeader::Data { size: 17, stored: true });
    }

    #[test]
    fn remember_keeps_the_last_64_kib() {
        let mut history = Vec::new();
        remember(&mut history, &[1; 40_000]);
        remember(&mut history, &[2; 40_000]);
        assert_eq!(history.len(), WINDOW);
        assert_eq!(history[..WINDOW - 40_000], [1; WINDOW - 40_000]);
        remember(&mut history, &[3; 70_000]);
        assert_eq!(history, vec![3; WINDOW]);
    }
}

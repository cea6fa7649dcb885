//! Cutting a bzip2 stream into its blocks without decoding it, and making each block a stream
//! of its own, for the threaded decoder (`threaded.rs`).
//!
//! bzip2 blocks are not byte-aligned and their lengths are written nowhere; each starts with
//! a 48-bit magic at any bit position (`BLOCK_MAGIC`), and the stream ends with another
//! (`END_MAGIC`), its combined CRC and padding. Like lbzip2, the splitter looks for the magics
//! at every bit position. A match is only a candidate: compressed data may hold the same 48
//! bits by chance (about once in 2^48 bit positions), so the decoder checks each piece by
//! decoding it and joins a piece with the next when it does not decode alone.
//!
//! A piece becomes a stream of its own: the header `BZhN`, the block's bits shifted to a byte
//! boundary, the end magic and a combined CRC equal to the block's own CRC (the combined CRC of
//! a one-block stream), so that libbz2 decodes it and checks the block's CRC as usual.

use super::{BLOCK_MAGIC, END_MAGIC, HEADER};

/// Which magic a candidate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Magic {
    Block,
    End,
}

const fn magic48(bytes: [u8; 6]) -> u64 {
    let mut v = 0u64;
    let mut i = 0;
    while i < 6 {
        v = (v << 8) | bytes[i] as u64;
        i += 1;
    }
    v
}

const BLOCK48: u64 = magic48(BLOCK_MAGIC);
const END48: u64 = magic48(END_MAGIC);
const MASK48: u64 = (1 << 48) - 1;

/// For a magic starting `s` bits into byte `i`, byte `i + 1` lies wholly inside it and is one
/// of 8 values per magic: `TABLE[byte]` has bit `s` set if `byte` is that value for the block
/// magic at shift `s`, bit `8 + s` for the end magic. The scan looks up every byte and checks
/// the whole 48 bits only where the table says so.
static TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut s = 0;
    while s < 8 {
        table[((BLOCK48 >> (32 + s)) & 0xff) as usize] |= 1 << s;
        table[((END48 >> (32 + s)) & 0xff) as usize] |= 1 << (8 + s);
        s += 1;
    }
    table
};

/// The first magic in `data` that starts in a byte of `from..` and at bit `min_bit` or later
/// (bit positions count from `data[0]`'s most significant bit). Only starts whose 8-byte
/// window lies inside `data` are looked at: the scan can resume at the returned `next` byte
/// once more data has arrived.
pub(super) fn find_magic(data: &[u8], from: usize, min_bit: u64) -> (Option<(u64, Magic)>, usize) {
    let limit = data.len().saturating_sub(7); // starts i with i + 8 <= len
    let mut i = from;
    while i < limit {
        let Some(skip) = data[i + 1..limit + 1].iter().position(|&b| TABLE[b as usize] != 0) else {
            i = limit;
            break;
        };
        i += skip;
        let mask = TABLE[data[i + 1] as usize];
        let window = u64::from_be_bytes([
            data[i],
            data[i + 1],
            data[i + 2],
            data[i + 3],
            data[i + 4],
            data[i + 5],
            data[i + 6],
            data[i + 7],
        ]);
        for s in 0..8u32 {
            let bits = (window >> (16 - s)) & MASK48;
            let bit = 8 * i as u64 + u64::from(s);
            if bit < min_bit {
                continue;
            }
            if mask & (1 << s) != 0 && bits == BLOCK48 {
                return (Some((bit, Magic::Block)), i);
            }
            if mask & (1 << (8 + s)) != 0 && bits == END48 {
                return (Some((bit, Magic::End)), i);
            }
        }
        i += 1;
    }
    (None, i.max(from))
}

/// `n` bits (at most 57) of `data` from bit `at`, most significant first; bits past the end
/// read as 0.
pub(super) fn read_bits(data: &[u8], at: u64, n: u32) -> u64 {
    debug_assert!(n <= 57);
    let byte = (at / 8) as usize;
    let mut window = [0u8; 8];
    let have = data.len().saturating_sub(byte).min(8);
    window[..have].copy_from_slice(&data[byte..byte + have]);
    let w = u64::from_be_bytes(window);
    let shifted = w << (at % 8);
    if n == 0 {
        0
    } else {
        shifted >> (64 - n)
    }
}

/// Appends bits, most significant first, to a byte vector.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter<'_> {
    fn put(&mut self, value: u64, bits: u32) {
        debug_assert!(self.n + bits <= 64);
        if bits > 0 {
            self.acc = (self.acc << bits) | (value & (u64::MAX >> (64 - bits)));
            self.n += bits;
        }
        while self.n >= 8 {
            self.n -= 8;
            self.out.push((self.acc >> self.n) as u8);
        }
    }

    fn pad(&mut self) {
        if self.n > 0 {
            let pad = 8 - self.n;
            self.put(0, pad);
        }
    }
}

/// The CRC a block stores right after its magic at bit `at`.
pub(super) fn block_crc(data: &[u8], at: u64) -> u32 {
    read_bits(data, at + 48, 32) as u32
}

/// Append to `out` a one-block stream of level `level` (1-9) holding `bits` bits of `data`
/// from bit `at` (a block, from its magic to where the next magic starts), with `crc` as the
/// stream's combined CRC. Without `crc`, the stream stops after the block's last whole byte
/// (the start of a block whose end the input does not reach: the input ended).
pub(super) fn one_block_stream(
    level: u8,
    data: &[u8],
    at: u64,
    bits: u64,
    crc: Option<u32>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&HEADER);
    out.push(b'0' + level);
    let start = (at / 8) as usize;
    let shift = (at % 8) as u32;
    let whole = (bits / 8) as usize;
    if shift == 0 {
        out.extend_from_slice(&data[start..start + whole]);
    } else {
        // byte k of the block is the low bits of one byte and the high bits of the next
        let src = &data[start..start + whole + 1];
        out.extend(src.windows(2).map(|w| (w[0] << shift) | (w[1] >> (8 - shift))));
    }
    let Some(crc) = crc else { return };
    let tail = (bits % 8) as u32;
    let mut w = BitWriter { out, acc: 0, n: 0 };
    w.put(read_bits(data, at + 8 * whole as u64, tail), tail);
    w.put(END48, 48);
    w.put(u64::from(crc), 32);
    w.pad();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes` shifted right by `shift` bits (zeros in front).
    fn shifted(bytes: &[u8], shift: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = BitWriter { out: &mut out, acc: 0, n: 0 };
        w.put(0, shift);
        for &b in bytes {
            w.put(u64::from(b), 8);
        }
        w.put(0xff, 8);
        w.pad();
        out
    }

    #[test]
    fn finds_both_magics_at_every_shift() {
        for shift in 0..8 {
            let mut data = vec![0u8; 3];
            data.extend(shifted(&[0x55, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0, 0], shift));
            data.extend([0u8; 8]);
            let (found, _) = find_magic(&data, 0, 0);
            assert_eq!(found, Some((24 + 8 + u64::from(shift), Magic::Block)), "shift {shift}");
            let mut data = shifted(&[0x17, 0x72, 0x45, 0x38, 0x50, 0x90], shift);
            data.extend([0u8; 8]);
            assert_eq!(find_magic(&data, 0, 0).0, Some((u64::from(shift), Magic::End)));
        }
    }

    #[test]
    fn respects_the_minimum_and_waits_for_a_full_window() {
        let data = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0, 0];
        assert_eq!(find_magic(&data, 0, 0).0, Some((0, Magic::Block)));
        assert_eq!(find_magic(&data, 0, 1).0, Some((48, Magic::Block)));
        // the second magic's window is not complete in 13 bytes: resume from `next` later
        let (found, next) = find_magic(&data[..13], 0, 1);
        assert_eq!(found, None);
        assert_eq!(find_magic(&data, next, 1).0, Some((48, Magic::Block)));
        // one bit different is no magic
        let mut near = data;
        near[3] ^= 0x10;
        assert_eq!(find_magic(&near[..12], 0, 0).0, None);
    }

    #[test]
    fn reads_and_rewrites_bits() {
        let data = [0b1010_1100, 0b0101_0011, 0xff];
        assert_eq!(read_bits(&data, 0, 4), 0b1010);
        assert_eq!(read_bits(&data, 6, 6), 0b00_0101);
        assert_eq!(read_bits(&data, 20, 8), 0b1111_0000); // past the end reads 0
        let mut out = Vec::new();
        one_block_stream(9, &data, 3, 13, Some(0xdead_beef), &mut out);
        assert_eq!(&out[..4], b"BZh9");
        // bits 3..16 of data, then the end magic's first 3 bits (0x17 = 0b000_10111)
        assert_eq!(out[4], 0b0110_0010);
        assert_eq!(read_bits(&out[5..], 0, 5), 0b10011);
        assert_eq!(read_bits(&out[5..], 5, 48), END48);
        assert_eq!(read_bits(&out[5..], 53, 32), 0xdead_beef);
        assert_eq!(out.len(), 4 + (13usize + 48 + 32).div_ceil(8));
        // without a CRC: the whole bytes only
        out.clear();
        one_block_stream(9, &data, 3, 13, None, &mut out);
        assert_eq!(out, [b'B', b'Z', b'h', b'9', 0b0110_0010]);
    }
}

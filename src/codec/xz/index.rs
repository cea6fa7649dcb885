//! The xz index, read from the end of a file for random access (the .xz file format 1.2.1,
//! sections 2.1.2 and 4). A file is one or more streams with stream padding between and after
//! them; each stream is `header · blocks · index · footer`. The footer gives the index's size,
//! the index lists each block's unpadded and uncompressed sizes, and the blocks' padded sizes
//! lead back to the stream's header — so the whole file is walked from its end, a few reads
//! per stream, and checked on the way: CRCs of footer, index and header, flags that agree,
//! and blocks that exactly fill the space between header and index.
//!
//! A block is decoded alone by presenting it as a stream of one block: its stream's header,
//! the block, an index of one record and a footer ([`frame_block`]). liblzma then checks
//! everything it checks in any stream, the block's own check included.

use crate::codec::seekable::{read_vec, Entry, Index, IndexError, Source};
use crate::codec::Fault;

use super::MAGIC;

const HEADER_LEN: u64 = 12;
const FOOTER_LEN: u64 = 12;
const FOOTER_MAGIC: [u8; 2] = [b'Y', b'Z'];
/// An entry's `aux`: the unpadded size in the low 56 bits, the check ID above.
const CHECK_SHIFT: u32 = 56;
const UNPADDED_MAX: u64 = (1 << CHECK_SHIFT) - 1;
/// Stream padding is skipped this many bytes at a time.
const PADDING_CHUNK: u64 = 64 * 1024;

fn corrupt(detail: &'static str) -> IndexError {
    Fault::corrupt(detail).into()
}

fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The size of the check a check ID stands for (IDs liblzma does not know have sizes too).
fn check_size(id: u8) -> u64 {
    match id {
        0 => 0,
        1..=3 => 4,
        4..=6 => 8,
        7..=9 => 16,
        10..=12 => 32,
        _ => 64,
    }
}

/// Stream flags: a null byte, then the check ID in the low four bits.
fn check_id(flags: &[u8]) -> Result<u8, IndexError> {
    if flags[0] != 0 || flags[1] & 0xf0 != 0 {
        return Err(Fault::unsupported("xz stream flags this version does not know").into());
    }
    Ok(flags[1])
}

/// A multibyte integer (up to 9 bytes of 7 bits, the last without the high bit, no
/// superfluous null byte) at `*at`.
fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, IndexError> {
    let mut value = 0u64;
    for i in 0..9 {
        let Some(&b) = bytes.get(*at) else { return Err(corrupt("xz index: cut off in a number")) };
        *at += 1;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(corrupt("xz index: a number with a superfluous null byte"));
            }
            return Ok(value);
        }
    }
    Err(corrupt("xz index: a number longer than 9 bytes"))
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// One stream's blocks: (start of the first block, check ID, [(unpadded, uncompressed)]).
type Stream = (u64, u8, Vec<(u64, u64)>);

/// Read one stream that ends (footer included) at `end`.
fn read_stream(source: &mut dyn Source, end: u64, max_memory: u64) -> Result<(u64, Stream), IndexError> {
    if end < HEADER_LEN + FOOTER_LEN + 8 {
        return Err(corrupt("xz: no stream footer at the end"));
    }
    let footer = read_vec(source, end - FOOTER_LEN, FOOTER_LEN, "the xz stream footer")?;
    if footer[10..12] != FOOTER_MAGIC {
        return Err(corrupt("xz: no stream footer at the end"));
    }
    if crc32(&footer[4..10]) != u32_at(&footer, 0) {
        return Err(corrupt("xz: stream footer CRC32 mismatch"));
    }
    let check = check_id(&footer[8..10])?;
    let index_len = (u64::from(u32_at(&footer, 4)) + 1) * 4;
    if index_len > max_memory {
        return Err(Fault::Limit(max_memory).into());
    }
    let index_start = (end - FOOTER_LEN)
        .checked_sub(index_len)
        .filter(|&s| s >= HEADER_LEN)
        .ok_or_else(|| corrupt("xz: the index is larger than the stream"))?;
    let index = read_vec(source, index_start, index_len, "the xz index")?;
    let body = index.len() - 4;
    if crc32(&index[..body]) != u32_at(&index, body) {
        return Err(corrupt("xz index: CRC32 mismatch"));
    }
    if index[0] != 0 {
        return Err(corrupt("xz index: no index indicator"));
    }
    let mut at = 1;
    let count = varint(&index, &mut at)?;
    // each record takes at least two bytes: the count cannot ask for more than the index holds
    if count > (body as u64) / 2 {
        return Err(corrupt("xz index: more records than it has room for"));
    }
    let mut records = Vec::with_capacity(count as usize);
    let mut blocks_len = 0u64;
    for _ in 0..count {
        let unpadded = varint(&index, &mut at)?;
        let uncompressed = varint(&index, &mut at)?;
        if !(5..=UNPADDED_MAX).contains(&unpadded) || uncompressed >> 63 != 0 {
            return Err(corrupt("xz index: a record with an impossible size"));
        }
        if unpadded < check_size(check) + 5 {
            return Err(corrupt("xz index: a block smaller than its check"));
        }
        blocks_len = blocks_len
            .checked_add(unpadded.next_multiple_of(4))
            .ok_or_else(|| corrupt("xz index: block sizes overflow"))?;
        records.push((unpadded, uncompressed));
    }
    if at > body || body - at > 3 || index[at..body].iter().any(|&b| b != 0) || !body.is_multiple_of(4) {
        return Err(corrupt("xz index: its records do not fill it"));
    }
    let start = index_start
        .checked_sub(blocks_len)
        .and_then(|s| s.checked_sub(HEADER_LEN))
        .ok_or_else(|| corrupt("xz index: the blocks are larger than the stream"))?;
    let header = read_vec(source, start, HEADER_LEN, "the xz stream header")?;
    if header[..6] != MAGIC {
        return Err(corrupt("xz index: the blocks do not end at a stream header"));
    }
    if crc32(&header[6..8]) != u32_at(&header, 8) {
        return Err(corrupt("xz: stream header CRC32 mismatch"));
    }
    if header[6..8] != footer[8..10] {
        return Err(corrupt("xz: stream header and footer flags differ"));
    }
    Ok((start, (start + HEADER_LEN, check, records)))
}

/// Where the stream padding before `end` starts.
fn skip_padding(source: &mut dyn Source, mut end: u64) -> Result<u64, IndexError> {
    if !end.is_multiple_of(4) {
        return Err(corrupt("xz: the file's size is not a multiple of four"));
    }
    while end > 0 {
        let n = end.min(PADDING_CHUNK);
        let chunk = read_vec(source, end - n, n, "xz stream padding")?;
        let zeros = chunk.iter().rev().take_while(|&&b| b == 0).count() as u64 / 4 * 4;
        end -= zeros;
        if zeros < n {
            break;
        }
    }
    Ok(end)
}

/// Read the indexes of every stream in the file, from its end.
pub(super) fn read_index(source: &mut dyn Source, max_memory: u64) -> Result<Index, IndexError> {
    let mut streams: Vec<Stream> = Vec::new();
    let mut end = source.len();
    let mut used = 0u64;
    loop {
        end = skip_padding(source, end)?;
        if end == 0 {
            // padding may not stand first
            return Err(corrupt("xz: stream padding at the start of the file"));
        }
        let (start, stream) = read_stream(source, end, max_memory.saturating_sub(used))?;
        used += stream.2.len() as u64 * 16;
        streams.push(stream);
        if start == 0 {
            break;
        }
        end = start;
    }
    let mut index = Index::new(max_memory);
    let blocks = streams.iter().map(|s| s.2.len() as u64).sum();
    index.reserve(blocks)?;
    let mut declared = false;
    for (first, check, records) in streams.into_iter().rev() {
        let mut at = first;
        for (unpadded, uncompressed) in records {
            let padded = unpadded.next_multiple_of(4);
            declared |= check_block_header(source, at, unpadded, check_size(check), uncompressed)?;
            index.push(at, padded, uncompressed, None, u64::from(check) << CHECK_SHIFT | unpadded)?;
            at += padded;
        }
    }
    // one block that does not even declare its size: xz's default single-threaded output, a
    // tape with nothing to seek by (a block written for random access — xz -T2,
    // --block-size, ours — declares it, and opens even when the input fit in one block)
    if blocks == 1 && !declared {
        return Err(Fault::unsupported(
            "no index: an xz stream of one block (compress with xz -T2, xz --block-size or Config::seekable)",
        )
        .into());
    }
    Ok(index)
}

/// The sizes a block header declares (liblzma's multithreaded encoder writes both) must be
/// the index's: a lying uncompressed size would shift every later block's content offset.
/// Returns whether it declares its uncompressed size.
fn check_block_header(
    source: &mut dyn Source,
    at: u64,
    unpadded: u64,
    check_len: u64,
    uncompressed: u64,
) -> Result<bool, IndexError> {
    let header = read_vec(source, at, unpadded.min(2 + 9 + 9), "an xz block header")?;
    let header_len = (u64::from(header[0]) + 1) * 4;
    let flags = header[1];
    let mut pos = 2;
    let compressed = if flags & 0x40 != 0 { Some(varint(&header, &mut pos)?) } else { None };
    let declared = if flags & 0x80 != 0 { Some(varint(&header, &mut pos)?) } else { None };
    let fits = compressed
        .is_none_or(|c| header_len.checked_add(c).and_then(|n| n.checked_add(check_len)) == Some(unpadded));
    if header[0] == 0 || !fits || declared.is_some_and(|d| d != uncompressed) {
        return Err(corrupt("xz index: a block header's sizes differ from the index"));
    }
    Ok(declared.is_some())
}

/// Present one block as a stream of its own: header, the block, an index of one record,
/// footer.
pub(super) fn frame_block(entry: &Entry, block: &[u8], out: &mut Vec<u8>) {
    let check = (entry.aux >> CHECK_SHIFT) as u8;
    let unpadded = entry.aux & UNPADDED_MAX;
    let flags = [0, check];
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&flags);
    out.extend_from_slice(&crc32(&flags).to_le_bytes());
    out.extend_from_slice(block);
    let index_start = out.len();
    out.extend_from_slice(&[0, 1]);
    put_varint(unpadded, out);
    put_varint(entry.d_len, out);
    while !(out.len() - index_start).is_multiple_of(4) {
        out.push(0);
    }
    let crc = crc32(&out[index_start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    let backward = ((out.len() - index_start) / 4 - 1) as u32;
    let mut tail = [0u8; 6];
    tail[..4].copy_from_slice(&backward.to_le_bytes());
    tail[4..].copy_from_slice(&flags);
    out.extend_from_slice(&crc32(&tail).to_le_bytes());
    out.extend_from_slice(&tail);
    out.extend_from_slice(&FOOTER_MAGIC);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_bad_encodings() {
        for v in [0u64, 1, 127, 128, 300, 1 << 35, (1 << 63) - 1] {
            let mut buf = Vec::new();
            put_varint(v, &mut buf);
            let mut at = 0;
            assert_eq!(varint(&buf, &mut at).unwrap(), v);
            assert_eq!(at, buf.len());
        }
        assert!(varint(&[0x80, 0x00], &mut 0).is_err()); // superfluous null byte
        assert!(varint(&[0xff; 10], &mut 0).is_err()); // too long
        assert!(varint(&[0x80], &mut 0).is_err()); // cut off
    }
}

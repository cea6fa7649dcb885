//! The LZ4 frame format, written over lz4_flex's block API with xxh32 checksums.
//!
//! lz4_flex's own `FrameDecoder` accepts truncated frames and stops after the first frame, and
//! its `FrameEncoder` corrupts its output when the writer returns `WouldBlock`; its block
//! functions are solid, so the (small) frame format is ours:
//!
//! ```text
//! frame     = magic(04 22 4d 18) descriptor block* endmark(00 00 00 00) [content xxh32]
//! descriptor= FLG BD [content size u64] [dict id u32] HC
//! block     = size u32 (high bit: stored uncompressed) data [block xxh32]
//! skippable = 5? 2a 4d 18, size u32, size bytes
//! ```
//!
//! Blocks are compressed straight from the caller's slice and decompressed straight into the
//! caller's buffer when they fit; otherwise they go through one block-sized staging buffer,
//! sized from the frame header (checked against the memory limit first).

use lz4_flex::block::{self, CompressTable};
use xxhash_rust::xxh32::{xxh32, Xxh32};

use crate::buf::{InBuf, OutBuf, Status};
use crate::codec::parallel::{BlockCompressor, Parallel, ParallelStream};
use crate::codec::{Decode, Encode};
use crate::config::Settings;
use crate::{Error, Format, Result};

const MAGIC: u32 = 0x184D_2204;
const SKIPPABLE_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
const LEGACY_MAGIC: u32 = 0x184C_2102;
const FLG_VERSION_MASK: u8 = 0b1100_0000;
const FLG_VERSION: u8 = 0b0100_0000;
const FLG_INDEPENDENT: u8 = 0b0010_0000;
const FLG_BLOCK_CHECKSUM: u8 = 0b0001_0000;
const FLG_CONTENT_SIZE: u8 = 0b0000_1000;
const FLG_CONTENT_CHECKSUM: u8 = 0b0000_0100;
const FLG_RESERVED: u8 = 0b0000_0010;
const FLG_DICT_ID: u8 = 0b0000_0001;
const UNCOMPRESSED_BIT: u32 = 0x8000_0000;
/// Linked blocks may refer this far back into previous blocks.
const WINDOW: usize = 64 * 1024;
/// Block maximum sizes by BD code 4..=7: 64 KiB, 256 KiB, 1 MiB, 4 MiB.
fn block_max(code: u8) -> usize {
    1 << (8 + 2 * usize::from(code))
}

/// Keep the last `WINDOW` bytes of `history ++ data` in `history` (linked blocks).
fn remember(history: &mut Vec<u8>, data: &[u8]) {
    if data.len() >= WINDOW {
        history.clear();
        history.extend_from_slice(&data[data.len() - WINDOW..]);
    } else {
        let excess = (history.len() + data.len()).saturating_sub(WINDOW);
        history.drain(..excess);
        history.extend_from_slice(data);
    }
}

fn compressor_error(e: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!("lz4: compressor failed: {e}")))
}

/// The most a block of `n` bytes takes in the frame: size field + worst-case compression.
pub(crate) fn block_bound(n: usize) -> usize {
    4 + block::get_maximum_output_size(n)
}

/// Write one frame block (size field + data) for `data` into `dst` (at least
/// `block_bound(data.len())` long); returns its length. Compressed against `dict` (linked
/// blocks) or with `table` (independent blocks); stored when compression does not help.
fn write_block(data: &[u8], dst: &mut [u8], dict: &[u8], table: &mut CompressTable) -> Result<usize> {
    let compressed = if dict.is_empty() {
        block::compress_into_with_table(data, &mut dst[4..], table)
    } else {
        block::compress_into_with_dict(data, &mut dst[4..], dict)
    }
    .map_err(compressor_error)?;
    Ok(if compressed < data.len() {
        dst[..4].copy_from_slice(&(compressed as u32).to_le_bytes());
        4 + compressed
    } else {
        // incompressible: store it (the frame format's uncompressed block)
        dst[..4].copy_from_slice(&(data.len() as u32 | UNCOMPRESSED_BIT).to_le_bytes());
        dst[4..4 + data.len()].copy_from_slice(data);
        4 + data.len()
    })
}

/// Independent blocks compressed by a worker thread: a job is a run of whole blocks (the last
/// one partial after a flush), cut exactly where the single-threaded encoder cuts them, so the
/// frame is byte-for-byte the same.
struct Lz4Job {
    block_size: usize,
    table: CompressTable,
}

impl BlockCompressor for Lz4Job {
    type Summary = ();

    fn compress_block(&mut self, _dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let bound = input.chunks(self.block_size).map(|b| block_bound(b.len())).sum();
        out.resize(bound, 0);
        let mut len = 0;
        for data in input.chunks(self.block_size) {
            len += write_block(data, &mut out[len..], &[], &mut self.table)?;
        }
        out.truncate(len);
        Ok(())
    }
}

/// Input per parallel job: whole blocks, at least 512 KiB so that a job's hand-over cost
/// (~20 µs) is noise next to compressing it (~1 ms).
pub(crate) fn job_size(block_size: usize) -> usize {
    block_size.max(512 << 10)
}

/// lz4 frame compressor.
pub(crate) struct Lz4Encoder {
    linked: bool,
    content_checksum: bool,
    block_size: usize,
    header: [u8; 7],
    header_pos: usize,
    /// Input of the block being assembled when the caller's writes are smaller than a block.
    pending: Vec<u8>,
    /// A compressed block (or the end mark and checksum) waiting for output space: bytes
    /// `staged_pos..staged_end`. Its length only grows, so it is zeroed once, not per block.
    staged: Vec<u8>,
    staged_pos: usize,
    staged_end: usize,
    hasher: Xxh32,
    table: CompressTable,
    /// Linked blocks: the last 64 KiB of input.
    history: Vec<u8>,
    finished: bool,
    /// `threads(n)` with independent blocks: the blocks are compressed by workers...
    parallel: Option<ParallelStream<Lz4Job>>,
    /// ...once the first job's worth of input has shown that it compresses (see `probe`).
    use_parallel: bool,
    /// Raw and framed bytes of the blocks written so far on this thread, while probing.
    probe: (u64, u64),
}

/// A multithreaded lz4 encoder starts on the caller's thread and hands over to the workers
/// after one job's worth of input if that input compressed by at least 3 %. On data that does
/// not compress, lz4 runs at memory speed (6 GB/s here) and the workers' extra copies would
/// only slow it down. Both paths cut the same blocks, so the frame is the same either way.
const PROBE_SAVING_PERCENT: u64 = 3;

impl Lz4Encoder {
    pub fn new(settings: &Settings) -> Result<Self> {
        // level 2 = linked blocks (Level::Best); 1 = independent (see the Level table)
        let linked = settings.level >= 2;
        // 64 KiB blocks by default (lz4_flex's own default, small and fast); larger with a
        // higher memory level
        let bd_code = crate::memory::lz4_block_code(settings);
        let mut flg = FLG_VERSION;
        if !linked {
            flg |= FLG_INDEPENDENT;
        }
        if settings.checksum {
            flg |= FLG_CONTENT_CHECKSUM;
        }
        let bd = bd_code << 4;
        let mut header = [0x04, 0x22, 0x4d, 0x18, flg, bd, 0];
        header[6] = (xxh32(&header[4..6], 0) >> 8) as u8;
        let block_size = block_max(bd_code);
        let parallel = match settings.threads {
            Some(threads) if !linked => {
                Some(ParallelStream::new(Parallel::new(threads, job_size(block_size), 0, || Lz4Job {
                    block_size,
                    table: CompressTable::large(),
                })?))
            }
            _ => None, // linked blocks depend on each other: one thread
        };
        Ok(Lz4Encoder {
            linked,
            content_checksum: settings.checksum,
            block_size,
            header,
            header_pos: 0,
            pending: Vec::with_capacity(block_size),
            staged: Vec::new(),
            staged_pos: 0,
            staged_end: 0,
            hasher: Xxh32::new(0),
            table: CompressTable::large(),
            history: Vec::with_capacity(if linked { WINDOW } else { 0 }),
            finished: false,
            parallel,
            use_parallel: false,
            probe: (0, 0),
        })
    }

    /// Output what is already prepared (header, staged block); false while some remains.
    fn drain(&mut self, output: &mut OutBuf<'_>) -> bool {
        if !output.drain(&self.header, &mut self.header_pos) {
            return false;
        }
        if self.staged_pos < self.staged_end
            && !output.drain(&self.staged[..self.staged_end], &mut self.staged_pos)
        {
            return false;
        }
        self.staged_pos = 0;
        self.staged_end = 0;
        true
    }

    /// Compress one block: straight into `output` when the worst case fits, else into `staged`.
    fn emit_block(&mut self, data: &[u8], output: &mut OutBuf<'_>) -> Result<()> {
        debug_assert!(self.staged_end == 0 && !data.is_empty() && data.len() <= self.block_size);
        if self.content_checksum {
            self.hasher.update(data);
        }
        let bound = block_bound(data.len());
        let direct = output.spare_len() >= bound;
        let dst: &mut [u8] = if direct {
            output.spare()
        } else {
            if self.staged.len() < bound {
                self.staged.reserve_exact(bound - self.staged.len());
                self.staged.resize(bound, 0);
            }
            &mut self.staged
        };
        let len = write_block(data, dst, &self.history, &mut self.table)?;
        if self.parallel.is_some() {
            self.probe.0 += data.len() as u64;
            self.probe.1 += len as u64;
        }
        if direct {
            output.advance(len);
        } else {
            self.staged_end = len;
        }
        if self.linked {
            remember(&mut self.history, data);
        }
        Ok(())
    }

    /// Compress the partially filled block, if any.
    fn emit_pending(&mut self, output: &mut OutBuf<'_>) -> Result<()> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let result = self.emit_block(&pending, output);
            self.pending = pending;
            self.pending.clear();
            result?;
        }
        Ok(())
    }
}

impl Encode for Lz4Encoder {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<()> {
        if self.use_parallel {
            if let Some(parallel) = &mut self.parallel {
                let start = input.pos;
                parallel.encode(input, output, &mut |_| {})?;
                if self.content_checksum {
                    self.hasher.update(&input.data[start..input.pos]);
                }
                return Ok(());
            }
        }
        while self.drain(output) && !input.is_empty() {
            if self.parallel.is_some()
                && self.pending.is_empty()
                && self.probe.0 >= job_size(self.block_size) as u64
            {
                // probed: hand over on a block boundary (nothing pending, nothing staged)
                let (raw, framed) = self.probe;
                if framed * 100 < raw * (100 - PROBE_SAVING_PERCENT) {
                    self.use_parallel = true;
                    return self.encode(input, output);
                }
            }
            if self.pending.is_empty() && input.rest().len() >= self.block_size {
                // a whole block in the caller's slice: compress it in place, no copy
                let data = &input.rest()[..self.block_size];
                self.emit_block(data, output)?;
                input.advance(self.block_size);
            } else {
                let take = (self.block_size - self.pending.len()).min(input.rest().len());
                self.pending.extend_from_slice(&input.rest()[..take]);
                input.advance(take);
                if self.pending.len() == self.block_size {
                    self.emit_pending(output)?;
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        if !self.drain(output) {
            return Ok(Status::Ongoing);
        }
        if let (true, Some(parallel)) = (self.use_parallel, &mut self.parallel) {
            return parallel.flush(output, &mut |_| {});
        }
        self.emit_pending(output)?;
        Ok(if self.drain(output) { Status::Done } else { Status::Ongoing })
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        if !self.drain(output) {
            return Ok(Status::Ongoing);
        }
        if !self.finished {
            if let (true, Some(parallel)) = (self.use_parallel, &mut self.parallel) {
                if parallel.flush(output, &mut |_| {})? == Status::Ongoing {
                    return Ok(Status::Ongoing);
                }
            }
            self.emit_pending(output)?;
            if !self.drain(output) {
                return Ok(Status::Ongoing);
            }
            let mut trailer = [0u8; 8];
            let mut len = 4; // the end mark: a zero block size
            if self.content_checksum {
                let digest = std::mem::replace(&mut self.hasher, Xxh32::new(0)).digest();
                trailer[4..].copy_from_slice(&digest.to_le_bytes());
                len = 8;
            }
            if self.staged.len() < len {
                self.staged.resize(len, 0);
            }
            self.staged[..len].copy_from_slice(&trailer[..len]);
            self.staged_end = len;
            self.finished = true;
        }
        Ok(if self.drain(output) { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> Result<()> {
        self.header_pos = 0;
        self.pending.clear();
        self.staged_pos = 0;
        self.staged_end = 0;
        self.hasher = Xxh32::new(0);
        self.history.clear();
        self.finished = false;
        self.use_parallel = false;
        self.probe = (0, 0);
        match &mut self.parallel {
            Some(parallel) => parallel.reset(),
            None => Ok(()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Magic,
    SkippableSize,
    Skip(u32),
    Descriptor,
    BlockHeader,
    BlockData { size: usize, stored: bool },
    ContentChecksum,
    Done,
}

/// What the frame descriptor said.
#[derive(Clone, Copy, Debug, Default)]
struct Frame {
    linked: bool,
    block_checksum: bool,
    content_checksum: bool,
    content_size: Option<u64>,
    block_max: usize,
}

/// lz4 frame decompressor; a frame or a skippable frame per member.
pub(crate) struct Lz4Decoder {
    max_memory: u64,
    state: State,
    /// Fixed fields assembled across calls (magic, descriptor up to 15 bytes, sizes, checksums).
    field: [u8; 16],
    have: usize,
    frame: Frame,
    /// A compressed block (plus its checksum) assembled across calls.
    block: Vec<u8>,
    /// Decompressed output waiting for space in the caller's buffer: `decoded_pos..decoded_end`.
    /// Its length only grows (to the frame's block maximum), so it is zeroed once.
    decoded: Vec<u8>,
    decoded_pos: usize,
    decoded_end: usize,
    hasher: Xxh32,
    produced: u64,
    /// Linked blocks: the last 64 KiB of output.
    history: Vec<u8>,
    /// The current member is a skippable frame.
    skippable: bool,
}

impl Lz4Decoder {
    pub fn new(settings: &Settings) -> Self {
        Lz4Decoder {
            max_memory: settings.max_memory,
            state: State::Magic,
            field: [0; 16],
            have: 0,
            frame: Frame::default(),
            block: Vec::new(),
            decoded: Vec::new(),
            decoded_pos: 0,
            decoded_end: 0,
            hasher: Xxh32::new(0),
            produced: 0,
            history: Vec::new(),
            skippable: false,
        }
    }

    fn corrupt(detail: &str) -> Error {
        Error::corrupt(Format::Lz4, detail)
    }

    /// Assemble a little-endian u32 field across calls; `None` until all 4 bytes are in.
    fn read_u32(&mut self, input: &mut InBuf<'_>) -> Option<u32> {
        if !input.fill(&mut self.field, &mut self.have, 4) {
            return None;
        }
        self.have = 0;
        Some(u32::from_le_bytes([self.field[0], self.field[1], self.field[2], self.field[3]]))
    }

    fn parse_descriptor(&mut self, len: usize) -> Result<()> {
        let d = &self.field[..len];
        let (flg, bd) = (d[0], d[1]);
        if (xxh32(&d[..len - 1], 0) >> 8) as u8 != d[len - 1] {
            return Err(Self::corrupt("frame descriptor checksum mismatch"));
        }
        if flg & FLG_VERSION_MASK != FLG_VERSION {
            return Err(Self::corrupt("unsupported frame version"));
        }
        if flg & FLG_RESERVED != 0 || bd & 0b1000_1111 != 0 {
            return Err(Self::corrupt("reserved descriptor bits are set"));
        }
        if flg & FLG_DICT_ID != 0 {
            return Err(Error::unsupported(Format::Lz4, "frame needs a dictionary"));
        }
        let code = (bd >> 4) & 0b111;
        if code < 4 {
            return Err(Self::corrupt("invalid block maximum size"));
        }
        let content_size = (flg & FLG_CONTENT_SIZE != 0).then(|| {
            let mut size = [0u8; 8];
            size.copy_from_slice(&d[2..10]);
            u64::from_le_bytes(size)
        });
        let frame = Frame {
            linked: flg & FLG_INDEPENDENT == 0,
            block_checksum: flg & FLG_BLOCK_CHECKSUM != 0,
            content_checksum: flg & FLG_CONTENT_CHECKSUM != 0,
            content_size,
            block_max: block_max(code),
        };
        // memory this frame needs, checked before allocating it: one compressed block (with
        // its checksum), one decoded block, and the 64 KiB window of linked frames
        let needed = 2 * frame.block_max as u64 + 4 + if frame.linked { WINDOW as u64 } else { 0 };
        if needed > self.max_memory {
            return Err(Error::LimitExceeded { limit: self.max_memory });
        }
        // exact reservations: amortised growth could double them
        let block_bytes = frame.block_max + 4;
        self.block.reserve_exact(block_bytes.saturating_sub(self.block.len()));
        if frame.linked {
            self.history.reserve_exact(WINDOW.saturating_sub(self.history.len()));
        }
        self.frame = frame;
        self.hasher = Xxh32::new(0);
        self.produced = 0;
        self.history.clear();
        Ok(())
    }

    /// Decompress (or copy) one complete block into `output` if a whole block fits there,
    /// else into `decoded`.
    fn decode_block(&mut self, data: &[u8], stored: bool, output: &mut OutBuf<'_>) -> Result<()> {
        let max = self.frame.block_max;
        let direct = output.spare_len() >= max || (stored && output.spare_len() >= data.len());
        let dst: &mut [u8] = if direct {
            let room = max.min(output.spare_len());
            &mut output.spare()[..room]
        } else {
            if self.decoded.len() < max {
                self.decoded.reserve_exact(max - self.decoded.len());
                self.decoded.resize(max, 0);
            }
            &mut self.decoded[..max]
        };
        let n = if stored {
            dst[..data.len()].copy_from_slice(data);
            data.len()
        } else if self.frame.linked && !self.history.is_empty() {
            block::decompress_into_with_dict(data, dst, &self.history)
                .map_err(|e| Error::corrupt(Format::Lz4, format!("invalid block: {e}")))?
        } else {
            block::decompress_into(data, dst)
                .map_err(|e| Error::corrupt(Format::Lz4, format!("invalid block: {e}")))?
        };
        let out = &dst[..n];
        if self.frame.content_checksum {
            self.hasher.update(out);
        }
        if self.frame.linked {
            remember(&mut self.history, out);
        }
        self.produced += n as u64;
        if self.frame.content_size.is_some_and(|size| self.produced > size) {
            return Err(Self::corrupt("frame is longer than its declared content size"));
        }
        if direct {
            output.advance(n);
        } else {
            self.decoded_end = n;
            self.decoded_pos = 0;
        }
        Ok(())
    }

    /// Check the whole block (in `data`, checksum after it) and decode it.
    fn finish_block(
        &mut self,
        data: &[u8],
        size: usize,
        stored: bool,
        output: &mut OutBuf<'_>,
    ) -> Result<()> {
        if self.frame.block_checksum {
            let stored_sum = u32::from_le_bytes([data[size], data[size + 1], data[size + 2], data[size + 3]]);
            if xxh32(&data[..size], 0) != stored_sum {
                return Err(Self::corrupt("block checksum mismatch"));
            }
        }
        self.decode_block(&data[..size], stored, output)
    }

    fn end_frame(&mut self) -> Result<()> {
        if self.frame.content_size.is_some_and(|size| size != self.produced) {
            return Err(Self::corrupt("frame is shorter than its declared content size"));
        }
        self.state = State::Done;
        Ok(())
    }
}

impl Decode for Lz4Decoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<Status> {
        loop {
            if self.decoded_pos < self.decoded_end {
                if !output.drain(&self.decoded[..self.decoded_end], &mut self.decoded_pos) {
                    return Ok(Status::Ongoing);
                }
                self.decoded_pos = 0;
                self.decoded_end = 0;
            }
            match self.state {
                State::Magic => {
                    let Some(magic) = self.read_u32(input) else {
                        return Ok(Status::Ongoing);
                    };
                    self.state = if magic == MAGIC {
                        State::Descriptor
                    } else if magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC {
                        self.skippable = true;
                        State::SkippableSize
                    } else if magic == LEGACY_MAGIC {
                        return Err(Error::unsupported(Format::Lz4, "legacy lz4 frame format (lz4 -l)"));
                    } else {
                        return Err(Self::corrupt("not an lz4 frame (bad magic number)"));
                    };
                }
                State::SkippableSize => {
                    let Some(size) = self.read_u32(input) else {
                        return Ok(Status::Ongoing);
                    };
                    self.state = State::Skip(size);
                }
                State::Skip(left) => {
                    let n = (left as usize).min(input.rest().len());
                    input.advance(n);
                    let left = left - n as u32;
                    if left > 0 {
                        self.state = State::Skip(left);
                        return Ok(Status::Ongoing);
                    }
                    self.state = State::Done;
                }
                State::Descriptor => {
                    // FLG decides the length: 3 bytes, +8 content size, +4 dictionary id
                    if self.have == 0 && !input.fill(&mut self.field, &mut self.have, 1) {
                        return Ok(Status::Ongoing);
                    }
                    let flg = self.field[0];
                    let len = 3
                        + if flg & FLG_CONTENT_SIZE != 0 { 8 } else { 0 }
                        + if flg & FLG_DICT_ID != 0 { 4 } else { 0 };
                    if !input.fill(&mut self.field, &mut self.have, len) {
                        return Ok(Status::Ongoing);
                    }
                    self.have = 0;
                    self.parse_descriptor(len)?;
                    self.state = State::BlockHeader;
                }
                State::BlockHeader => {
                    let Some(word) = self.read_u32(input) else {
                        return Ok(Status::Ongoing);
                    };
                    if word == 0 {
                        if self.frame.content_checksum {
                            self.state = State::ContentChecksum;
                        } else {
                            self.end_frame()?;
                        }
                        continue;
                    }
                    let size = (word & !UNCOMPRESSED_BIT) as usize;
                    if size > self.frame.block_max {
                        return Err(Self::corrupt("block is larger than the frame's block maximum size"));
                    }
                    self.block.clear();
                    self.state = State::BlockData { size, stored: word & UNCOMPRESSED_BIT != 0 };
                }
                State::BlockData { size, stored } => {
                    // a block decodes straight into the caller's buffer when it fits there;
                    // once this call has produced something and the next block no longer
                    // fits, return what there is rather than decode into `decoded` and copy
                    // it out later (staging is for callers whose buffers are smaller than a
                    // block)
                    let fits =
                        output.spare_len() >= self.frame.block_max || (stored && output.spare_len() >= size);
                    if !fits && output.pos > 0 {
                        return Ok(Status::Ongoing);
                    }
                    let total = size + if self.frame.block_checksum { 4 } else { 0 };
                    if self.block.is_empty() && input.rest().len() < total && total <= input.room {
                        // let the adapter complete the block in its own buffer: moving the
                        // partial block to the front copies less than staging all of it
                        return Ok(Status::Ongoing);
                    }
                    if self.block.is_empty() && input.rest().len() >= total {
                        // the whole block is in the caller's buffer: no copy
                        let data = &input.rest()[..total];
                        self.finish_block(data, size, stored, output)?;
                        input.advance(total);
                    } else {
                        let take = (total - self.block.len()).min(input.rest().len());
                        self.block.extend_from_slice(&input.rest()[..take]);
                        input.advance(take);
                        if self.block.len() < total {
                            return Ok(Status::Ongoing);
                        }
                        let block = std::mem::take(&mut self.block);
                        let result = self.finish_block(&block, size, stored, output);
                        self.block = block;
                        self.block.clear();
                        result?;
                    }
                    self.state = State::BlockHeader;
                }
                State::ContentChecksum => {
                    let Some(stored_sum) = self.read_u32(input) else {
                        return Ok(Status::Ongoing);
                    };
                    if std::mem::replace(&mut self.hasher, Xxh32::new(0)).digest() != stored_sum {
                        return Err(Self::corrupt("content checksum mismatch"));
                    }
                    self.end_frame()?;
                }
                State::Done => return Ok(Status::Done),
            }
        }
    }

    fn ended_skippable(&self) -> bool {
        self.skippable
    }

    fn reset(&mut self) -> Result<()> {
        self.state = State::Magic;
        self.skippable = false;
        self.have = 0;
        self.block.clear();
        self.decoded_pos = 0;
        self.decoded_end = 0;
        self.history.clear();
        Ok(())
    }
}

//! The lz4 frame compressor over lz4_flex's block API: blocks compressed straight from the
//! caller's slice when a whole block is there, linked or independent, on one thread or on
//! the block engine's workers.

use lz4_flex::block::{self, CompressTable};
use xxhash_rust::xxh32::Xxh32;

use super::frame::{self, block_bound, remember, Descriptor, UNCOMPRESSED_BIT, WINDOW};
use super::{block_code, MAGIC};
use crate::codec::parallel::{self, BlockCompressor, Parallel, ParallelStream};
use crate::codec::{grow_zeroed, CodecResult, Encode, Fault, InBuf, OutBuf, Status};
use crate::settings::Settings;
use crate::Dictionary;

fn compressor_error(e: impl std::fmt::Display) -> Fault {
    Fault::backend(format!("lz4 compressor failed: {e}"))
}

/// Write one frame block (size field + data) for `data` into `dst` (at least
/// `block_bound(data.len())` long); returns its length. Compressed against `dict` (linked
/// blocks) or with `table` (independent blocks); stored when compression does not help.
fn write_block(data: &[u8], dst: &mut [u8], dict: &[u8], table: &mut CompressTable) -> CodecResult<usize> {
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
    /// Every block starts from the dictionary's window, if there is one.
    dict: Option<Dictionary>,
}

impl BlockCompressor for Lz4Job {
    type Summary = ();

    fn compress_block(&mut self, _dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> CodecResult<()> {
        let bound = input.chunks(self.block_size).map(|b| block_bound(b.len())).sum();
        out.resize(bound, 0);
        let mut len = 0;
        let window = self.dict.as_ref().map_or(&[][..], super::dict_window);
        for data in input.chunks(self.block_size) {
            len += write_block(data, &mut out[len..], window, &mut self.table)?;
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
    /// Magic number and frame descriptor: `header[header_pos..header_len]` is still to go out.
    header: [u8; 4 + frame::MAX_DESCRIPTOR],
    header_len: usize,
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
    /// Linked blocks: the last 64 KiB of input (at the start, the dictionary's window).
    history: Vec<u8>,
    /// The dictionary: the first block's history (linked), every block's (independent).
    dict: Option<Dictionary>,
    finished: bool,
    /// `threads(n)` with independent blocks: the blocks are compressed by workers...
    parallel: Option<ParallelStream<Lz4Job>>,
    /// ...once the first job's worth of input has shown that it compresses (see `probe`).
    use_parallel: bool,
    /// Raw and framed bytes of the blocks written so far on this thread, while probing.
    probe: (u64, u64),
}

impl Lz4Encoder {
    pub fn new(settings: &Settings) -> CodecResult<Self> {
        let linked = super::linked(settings);
        let descriptor = Descriptor {
            linked,
            block_checksum: false,
            content_checksum: settings.checksum,
            content_size: None,
            // the frame names a dictionary by its zstd-style ID; raw content has none
            dict_id: settings.dictionary().map(Dictionary::id).filter(|&id| id != 0),
            block_code: block_code(settings),
        };
        let dict = settings.dictionary().cloned();
        let mut header = [0u8; 4 + frame::MAX_DESCRIPTOR];
        header[..4].copy_from_slice(&MAGIC);
        let mut desc = [0u8; frame::MAX_DESCRIPTOR];
        let desc_len = descriptor.write(&mut desc);
        header[4..4 + desc_len].copy_from_slice(&desc[..desc_len]);
        let block_size = descriptor.block_max();
        let parallel = match settings.threads {
            Some(threads) if !linked => {
                // threads - 1 workers and the caller's thread, which hashes the content and
                // compresses a job itself whenever the workers have two each
                Some(ParallelStream::new(Parallel::sharing(threads, job_size(block_size), 0, || {
                    Ok(Lz4Job { block_size, table: CompressTable::large(), dict: dict.clone() })
                })?))
            }
            _ => None, // linked blocks depend on each other: one thread
        };
        Ok(Lz4Encoder {
            linked,
            content_checksum: settings.checksum,
            block_size,
            header,
            header_len: 4 + desc_len,
            header_pos: 0,
            pending: Vec::with_capacity(block_size),
            staged: Vec::new(),
            staged_pos: 0,
            staged_end: 0,
            hasher: Xxh32::new(0),
            table: CompressTable::large(),
            history: Vec::with_capacity(if linked { WINDOW } else { 0 }),
            dict,
            finished: false,
            parallel,
            use_parallel: false,
            probe: (0, 0),
        }
        .primed())
    }

    /// Linked blocks start from the dictionary's window.
    fn primed(mut self) -> Self {
        self.history.clear();
        if let (true, Some(dict)) = (self.linked, &self.dict) {
            self.history.extend_from_slice(super::dict_window(dict));
        }
        self
    }

    /// Output what is already prepared (header, staged block); false while some remains.
    fn drain(&mut self, output: &mut OutBuf<'_>) -> bool {
        if !output.drain(&self.header[..self.header_len], &mut self.header_pos) {
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
    fn emit_block(&mut self, data: &[u8], output: &mut OutBuf<'_>) -> CodecResult<()> {
        debug_assert!(self.staged_end == 0 && !data.is_empty() && data.len() <= self.block_size);
        if self.content_checksum {
            self.hasher.update(data);
        }
        let bound = block_bound(data.len());
        let direct = output.spare_len() >= bound;
        let dst: &mut [u8] = if direct {
            output.spare()
        } else {
            grow_zeroed(&mut self.staged, bound, bound);
            &mut self.staged
        };
        let prefix: &[u8] = match (self.linked, &self.dict) {
            (true, _) => &self.history,
            (false, Some(dict)) => super::dict_window(dict),
            (false, None) => &[],
        };
        let len = write_block(data, dst, prefix, &mut self.table)?;
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
    fn emit_pending(&mut self, output: &mut OutBuf<'_>) -> CodecResult<()> {
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
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
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
                // probed: hand over on a block boundary (nothing pending, nothing staged). On
                // data that does not compress, lz4 runs at memory speed (6 GB/s here) and the
                // workers' extra copies would only slow it down; both paths cut the same
                // blocks, so the frame is the same either way.
                let (raw, framed) = self.probe;
                if parallel::worth_it(raw, framed) {
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

    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if !self.drain(output) {
            return Ok(Status::Ongoing);
        }
        if let (true, Some(parallel)) = (self.use_parallel, &mut self.parallel) {
            return parallel.flush(output, &mut |_| {});
        }
        self.emit_pending(output)?;
        Ok(if self.drain(output) { Status::Done } else { Status::Ongoing })
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
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

    fn reset(&mut self) -> CodecResult<()> {
        self.header_pos = 0;
        self.pending.clear();
        self.staged_pos = 0;
        self.staged_end = 0;
        self.hasher = Xxh32::new(0);
        self.history.clear();
        if let (true, Some(dict)) = (self.linked, &self.dict) {
            self.history.extend_from_slice(super::dict_window(dict));
        }
        self.finished = false;
        self.use_parallel = false;
        self.probe = (0, 0);
        match &mut self.parallel {
            Some(parallel) => parallel.reset(),
            None => Ok(()),
        }
    }
}

//! Parallel decoding of an lz4 frame's independent blocks (`Config::threads` on a decoder).
//!
//! The decoder (`decode.rs`) walks the frame as always and, instead of decoding each block,
//! appends it to a batch of about 1 MiB of blocks; full batches go to the worker threads of
//! the parallel engine (`codec/parallel.rs`), which hands them back decoded and in order. The
//! decoder then does what it does for one block over each batch's output: the content size
//! before the caller sees a byte of it, the content checksum over its bytes as they are copied
//! out (checked at the frame's end, as on one thread). So a bad block is reported where one
//! thread reports it, with no output from it or after it. Batches amortise the per-message
//! costs over lz4's small blocks (64 KiB by default: a block takes about 20 µs to decode).
//!
//! The caller's thread helps: when it would wait for the oldest batch, it decodes one still
//! queued for the worker, but only while the worker keeps another queued (`Parallel::helping`,
//! four batches in flight). Decoding is the worker's share and the larger one; copying and
//! hashing the caller's (64 MiB of text in 4 MiB blocks, CPU seconds over 20 decodes: worker
//! 0.54–0.58 and caller 0.39–0.40 before, 0.44–0.46 and 0.51–0.55 with help; 3–15 % faster).
//! Taking the worker's last queued batch idled it until the caller had written the oldest out
//! and submitted another: leaving it one made threads(2) 5 % faster (median of 40 alternating
//! runs, 2743 → 2887 MB/s).
//!
//! Only frames of independent blocks without a dictionary go this way; linked blocks depend
//! on the previous 64 KiB of output and stay on one thread. The threads start with the first
//! full batch: a frame of less than a batch (a small message) is decoded on the caller's
//! thread, as without threads.

use lz4_flex::block;
use xxhash_rust::xxh32::xxh32;

use crate::codec::parallel::{drain_block, Block, BlockCompressor, Parallel};
use crate::codec::{CodecResult, Fault, InBuf, OutBuf};

/// Frames whose blocks are smaller than this stay on one thread: only 4 MiB blocks (the lz4
/// CLI's default) go to the workers. lz4 decodes at about the speed of a memory copy, so the
/// reading thread's share — copying the compressed blocks into batches, hashing the content
/// (the frame's checksum is sequential) and copying it out — is nearly the whole
/// single-threaded cost. Measured on 128 MiB of text, two threads against one
/// (examples/decode_threads): 64 KiB blocks 0.84×, 1 MiB blocks 0.87×, 4 MiB blocks (which one
/// thread must stage and copy too) 1.12–1.15×. With one worker (see `workers`), 512 MiB of
/// lz4 -1 text through the CLI: 64 KiB and 1 MiB blocks 1.00×, 4 MiB blocks 1.5–1.7×.
pub(super) const MIN_BLOCK: usize = 4 << 20;

/// The workers for `Config::threads(threads)`: one fewer, since the caller's thread is busy
/// too. It hashes every batch's content for the frame's checksum (sequential, at about
/// 7 GB/s), copies compressed blocks into batches and copies the output out: about half the
/// CPU time of a threads(2) decode of 4 MiB blocks of text. With two workers the three threads
/// shared two cores and the caller's got two thirds of one (512 MiB of lz4 -1 text through
/// the CLI: 0.31 s on one thread, 0.28 s with two workers, 0.19–0.22 s with one).
fn workers(threads: usize) -> usize {
    threads.saturating_sub(1).max(1)
}

/// The most batches in flight for `threads`: the engine's `2 × workers`, and at least 4, so
/// that the worker still has one queued while the caller, helping, decodes another
/// (`Parallel::helping`).
fn outstanding(threads: usize) -> usize {
    (2 * workers(threads)).max(4)
}

/// A batch is submitted once its blocks may decode to this much.
const BATCH: usize = 1 << 20;
/// Each block in a batch: flags (stored, checksum), the frame's block maximum, its size.
const RECORD_HEADER: usize = 9;
const STORED: u8 = 1;
const CHECKSUM: u8 = 2;

/// A worker: decodes a batch of block records into their concatenated content.
pub(super) struct BatchDecoder;

impl BlockCompressor for BatchDecoder {
    /// The first bad block's fault; the output then holds the blocks before it.
    type Summary = Option<Fault>;

    fn compress_block(
        &mut self,
        _dict: &[u8],
        batch: &[u8],
        out: &mut Vec<u8>,
    ) -> CodecResult<Option<Fault>> {
        let mut at = 0;
        let result = decode_batch(batch, out, &mut at);
        out.truncate(at);
        Ok(result.err())
    }

    const KEEP_OUTPUT: bool = true;
}

/// Decode a batch's blocks into `out[*at..]`, up to the first bad one; `*at` ends after the
/// last good block. `out` is only grown (zeroing just the growth), never cleared: its old bytes
/// are overwritten.
fn decode_batch(mut batch: &[u8], out: &mut Vec<u8>, at: &mut usize) -> CodecResult<()> {
    while !batch.is_empty() {
        let flags = batch[0];
        let max = u32::from_le_bytes([batch[1], batch[2], batch[3], batch[4]]) as usize;
        let size = u32::from_le_bytes([batch[5], batch[6], batch[7], batch[8]]) as usize;
        let data = &batch[RECORD_HEADER..RECORD_HEADER + size];
        let total = size + if flags & CHECKSUM != 0 { 4 } else { 0 };
        if flags & CHECKSUM != 0 {
            let sum = &batch[RECORD_HEADER + size..RECORD_HEADER + total];
            if xxh32(data, 0) != u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]) {
                return Err(Fault::corrupt("block checksum mismatch"));
            }
        }
        let room = if flags & STORED != 0 { size } else { max };
        if out.len() < *at + room {
            out.resize(*at + room, 0);
        }
        let dst = &mut out[*at..*at + room];
        *at += if flags & STORED != 0 {
            dst.copy_from_slice(data);
            size
        } else {
            block::decompress_into(data, dst).map_err(|e| Fault::corrupt(format!("invalid block: {e}")))?
        };
        batch = &batch[RECORD_HEADER + total..];
    }
    Ok(())
}

/// What the decoder checks of the content coming out of the batches.
pub(super) trait Content {
    /// A decoded batch of `len` bytes is about to be written out (its declared size).
    fn count(&mut self, len: usize) -> CodecResult<()>;
    /// Bytes as they are written out, in order (its checksum). Hashing each piece just before
    /// it is copied out reads the batch, which another core wrote, from memory once, not twice.
    fn hash(&mut self, content: &[u8]);
}

/// The batches of one decoder: the one being filled, those in flight, the one being written.
pub(super) struct ParallelBlocks {
    /// Held back (batches decoded on the caller's thread) until the first full batch: a
    /// frame smaller than a batch never starts a thread.
    engine: Parallel<BatchDecoder>,
    /// How much content the batch being filled may decode to.
    batch_content: usize,
    writing: Option<Block<Option<Fault>>>,
    /// The block at the batch's end that `fill` has not completed, if any.
    open: Option<OpenBlock>,
}

/// A block partly copied into the batch being filled.
struct OpenBlock {
    /// How much of it (data, then checksum) is still to come.
    left: usize,
    /// Where its record starts in the batch.
    at: usize,
    /// What it adds to `batch_content`.
    content: usize,
}

impl ParallelBlocks {
    pub fn new(threads: usize) -> CodecResult<Self> {
        let batch = || Ok(BatchDecoder);
        Ok(ParallelBlocks {
            engine: Parallel::new(workers(threads), BATCH, 0, batch)?
                .hold(batch)?
                .helping(outstanding(threads)),
            batch_content: 0,
            writing: None,
            open: None,
        })
    }

    /// The engine's buffers for `threads` threads and blocks of up to `block_max`.
    pub fn memory(threads: usize, block_max: usize) -> usize {
        let batch = BATCH.max(block_max) + block_max;
        // (`buffer_bytes` counts `2 × n + 1` slots for n workers: `outstanding` is even)
        crate::codec::parallel::buffer_bytes(outstanding(threads) / 2, batch, 0, batch)
    }

    /// Whether the batch being filled should be submitted before another block is added.
    pub fn batch_full(&self) -> bool {
        self.batch_content >= BATCH
    }

    /// Copy what `input` holds of a block (`size` bytes, then its checksum when `checksum`)
    /// into the batch being filled, straight from the input: a block larger than the input
    /// buffer (4 MiB blocks always are) is not staged elsewhere first. True once the whole
    /// block is in; until then the batch is not submitted (`open`).
    pub fn fill(
        &mut self,
        input: &mut InBuf<'_>,
        size: usize,
        stored: bool,
        checksum: bool,
        block_max: usize,
    ) -> bool {
        let batch = self.engine.current_mut();
        let open = self.open.get_or_insert_with(|| {
            let at = batch.len();
            let flags = if stored { STORED } else { 0 } | if checksum { CHECKSUM } else { 0 };
            batch.push(flags);
            batch.extend_from_slice(&(block_max as u32).to_le_bytes());
            batch.extend_from_slice(&(size as u32).to_le_bytes());
            // (at least 1: a batch holding only empty blocks still has to be checked)
            let content = if stored { size.max(1) } else { block_max };
            self.batch_content += content;
            OpenBlock { left: size + if checksum { 4 } else { 0 }, at, content }
        });
        let take = open.left.min(input.rest().len());
        batch.extend_from_slice(&input.rest()[..take]);
        input.advance(take);
        open.left -= take;
        if open.left > 0 {
            return false;
        }
        self.open = None;
        true
    }

    /// Whether a block is partly in the batch being filled (`fill` has not completed it).
    pub fn filling(&self) -> bool {
        self.open.is_some()
    }

    /// Take the partly added block back out of the batch: the input ended inside it.
    pub fn drop_open(&mut self) {
        if let Some(open) = self.open.take() {
            self.engine.current_mut().truncate(open.at);
            self.batch_content -= open.content;
        }
    }

    /// Submit the batch being filled, if there is room in flight; false if not.
    pub fn submit(&mut self) -> CodecResult<bool> {
        if self.open.is_some() {
            // a batch goes out with whole blocks only
            return Err(Fault::backend("lz4 batch submitted with a block half in"));
        }
        if self.batch_full() {
            // a frame of more than one batch: from here on, the workers
            self.engine.release();
        }
        if !self.engine.has_room() {
            return Ok(false);
        }
        self.engine.submit()?;
        self.batch_content = 0;
        Ok(true)
    }

    /// Whether a decoded batch is partly written out (the output ran out).
    pub fn is_writing(&self) -> bool {
        self.writing.is_some()
    }

    /// Whether every batch has been submitted, decoded and written out.
    pub fn is_idle(&self) -> bool {
        self.batch_content == 0 && self.writing.is_none() && self.engine.is_idle()
    }

    /// Write decoded batches out in order, as far as `output` allows (`wait`: wait for the
    /// next one if none is ready). `check` counts each batch before any of it is written out
    /// and hashes its bytes as they go, in order. A batch with a bad block is written out up
    /// to that block, and then its fault is returned.
    pub fn drain(&mut self, output: &mut OutBuf<'_>, wait: bool, check: &mut dyn Content) -> CodecResult<()> {
        let result = self.write_out(output, wait, check);
        if result.is_err() {
            // the stream ends here: nothing after the bad block may come out
            let _ = self.reset();
        }
        result
    }

    fn write_out(
        &mut self,
        output: &mut OutBuf<'_>,
        mut wait: bool,
        check: &mut dyn Content,
    ) -> CodecResult<()> {
        loop {
            if let Some(block) = &mut self.writing {
                let (from, room) = (block.pos, output.spare_len());
                check.hash(&block.output[from..block.output.len().min(from + room)]);
                if !drain_block(block, output) {
                    return Ok(());
                }
                if let Some(mut done) = self.writing.take() {
                    let fault = done.summary.take();
                    self.engine.recycle(done);
                    if let Some(fault) = fault {
                        return Err(fault);
                    }
                }
            }
            match self.engine.next_block(wait)? {
                Some(block) => {
                    check.count(block.output.len())?;
                    self.writing = Some(block);
                    wait = false;
                }
                None => return Ok(()),
            }
        }
    }

    /// Drop everything in progress (the workers stay).
    pub fn reset(&mut self) -> CodecResult<()> {
        if let Some(block) = self.writing.take() {
            self.engine.recycle(block);
        }
        self.engine.current_mut().clear();
        self.batch_content = 0;
        self.open = None;
        self.engine.reset()
    }
}

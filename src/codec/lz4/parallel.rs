//! Parallel decoding of an lz4 frame's independent blocks (`Config::threads` on a decoder).
//!
//! The decoder (`decode.rs`) walks the frame as always and, instead of decoding each block,
//! appends it to a batch of about 1 MiB of blocks; full batches go to the worker threads of
//! the parallel engine (`codec/parallel.rs`), which hands them back decoded and in order. The
//! thread that decodes a batch also adds it to the content checksum, in order (`Turn`). The
//! decoder then checks each batch's output as it checks one block's: the content size before
//! the caller sees a byte of it, the content checksum at the frame's end, as on one thread. So
//! a bad block is reported where one thread reports it, with no output from it or after it.
//! Batches amortise the per-message costs over lz4's small blocks (64 KiB by default: a block
//! takes about 20 µs to decode).
//!
//! A frame goes to the batches once it has shown a batch's worth of content (`worth_it`): a
//! small message decodes on the caller's thread, straight into the caller's buffer. Only
//! frames of independent blocks without a dictionary go this way; linked blocks depend on the
//! previous 64 KiB of output and stay on one thread.
//!
//! lz4 decodes at a few GB/s, so the reading thread's share — copying compressed blocks into
//! batches and the output out — is large, and where the second core idles was found by
//! reading each thread's CPU time (`/proc/self/task`; 64 MiB of text, 64 KiB reads):
//! - The caller's thread helps: when it would wait for the oldest batch, it decodes one still
//!   queued for the worker (`Parallel::helping`, four batches in flight).
//! - The content checksum (xxh32, sequential, about 7 GB/s here) was the caller's: hashing
//!   each piece as it was copied out. Hashed by the decoding thread instead, while the batch
//!   is in its cache, it left the caller the copies and the decoding it helps with, and the
//!   two threads' CPU times even (4 MiB blocks, 30 decodes: caller 0.83–0.91 s and worker
//!   0.74–0.77 s before, 0.74–0.77 s and 0.71–0.75 s after; threads(2) 2185–2321 →
//!   2489–2633 MB/s under `perf`; median pair ratio of 15 alternating runs 1.09×, of
//!   another 40 runs 0.99×). Smaller blocks, which had stayed on one thread (two threads
//!   0.84–1.00× there), gained most: 64 KiB and 1 MiB blocks went from about 1.0× to
//!   1.5–1.8× of one thread.
//! - With the caller hashing, it helped only while the worker kept another batch queued
//!   (taking the worker's last one idled it: +5 %, median of 40 runs). With the worker
//!   hashing, that rule no longer paid (against taking any queued batch: medians of 40 runs
//!   2835 and 3056 MB/s, pair ratios to the old code 1.02× and 1.09× in 15 runs, 0.99× and
//!   0.99× in another 40), and the caller takes any queued batch.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use lz4_flex::block;
use xxhash_rust::xxh32::{xxh32, Xxh32};

use crate::codec::parallel::{drain_block, Block, BlockCompressor, Parallel};
use crate::codec::{grow_zeroed, CodecResult, Fault, InBuf, OutBuf};

/// Whether a frame that may decode in parallel, with blocks of up to `block_max` and
/// `produced` bytes of content so far, should go on in parallel: at once when one block fills
/// a batch, else once it has decoded a batch's worth on one thread. So a small message (a
/// frame of less than a batch) never pays for batches: on one thread a block decodes straight
/// into the caller's buffer, where a batch is copied in, decoded and copied out.
///
/// Fuzzing builds (`cargo fuzz` sets `cfg(fuzzing)`) go to the batches at once: fuzz inputs
/// are kilobytes, and would otherwise reach them only through frames of 4 MiB blocks or runs
/// that expand past 1 MiB.
pub(super) fn worth_it(block_max: usize, produced: u64) -> bool {
    cfg!(fuzzing) || block_max >= BATCH || produced >= BATCH as u64
}

/// The threads a frame of blocks of up to `block_max` decodes with, for `threads(asked)`: the
/// most whose batches fit in `max_memory` beside the one-thread decoder's `needed`.
pub(super) fn threads_for(asked: usize, block_max: usize, needed: u64, max_memory: u64) -> Option<usize> {
    let fits = |n| needed.saturating_add(ParallelBlocks::memory(n, block_max) as u64) <= max_memory;
    crate::codec::parallel::most_threads(asked, fits)
}

/// The workers for `Config::threads(threads)`: one fewer, since the caller's thread is busy
/// too, copying compressed blocks into batches and the output out, and decoding when it would
/// wait. With two workers the three threads shared two cores and the caller's got two thirds
/// of one (512 MiB of lz4 -1 text through the CLI: 0.31 s on one thread, 0.28 s with two
/// workers, 0.19–0.22 s with one; the caller then hashed the content too).
fn workers(threads: usize) -> usize {
    threads.saturating_sub(1).max(1)
}

/// The most batches in flight for `threads`: the engine's `2 × workers`, and at least 4, so
/// that the worker still has one queued while the caller decodes the oldest queued one
/// (`Parallel::helping`) and another is written out.
fn outstanding(threads: usize) -> usize {
    (2 * workers(threads)).max(4)
}

/// A batch is submitted once its blocks may decode to this much.
const BATCH: usize = 1 << 20;
/// Each batch starts with its number in the stream, for its turn at the content checksum
/// (`Turn`), or `UNHASHED`: a frame without one.
const BATCH_HEADER: usize = 8;
const UNHASHED: u64 = u64::MAX;
/// Each block in a batch: flags (stored, checksum), the frame's block maximum, its size.
const RECORD_HEADER: usize = 9;

/// The most a batch of blocks of up to `block_max` holds: under `BATCH` bytes before its last
/// block (`batch_full`), then that block's record, data and checksum.
fn batch_bytes(block_max: usize) -> usize {
    BATCH + RECORD_HEADER + block_max + 4
}
const STORED: u8 = 1;
const CHECKSUM: u8 = 2;

/// The frame's content checksum while batches are in flight. The thread that decodes a batch
/// (a worker, or the caller when it helps or the workers are held) hashes it too, in its turn:
/// as soon as the batch before it is hashed, while its output is still in that core's cache.
/// The reading thread then only copies the output out. A thread whose batch is decoded before
/// its turn waits for it; every batch before it is with a thread that is decoding or hashing
/// it (batches are taken from the queue in order, each decoded and hashed in one go), so the
/// wait always ends: the oldest unhashed batch never waits.
struct Turn {
    state: Mutex<TurnState>,
    moved: Condvar,
}

struct TurnState {
    /// The number of the next batch to hash.
    next: u64,
    hasher: Xxh32,
    /// A batch was not hashed (it has a bad block; or its thread panicked): no batch after it
    /// is, and no thread waits for a turn. The frame ends at that batch's fault.
    stopped: bool,
}

impl Turn {
    fn new() -> Self {
        Turn {
            state: Mutex::new(TurnState { next: 0, hasher: Xxh32::new(0), stopped: false }),
            moved: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TurnState> {
        // (nothing panics while holding it; if something did, the state is still whole)
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Batch `seq`, decoded: hash `content` in its turn.
    fn hash(&self, seq: u64, content: &[u8]) {
        let mut state = self.lock();
        while !state.stopped && state.next < seq {
            state = self.moved.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        if !state.stopped && state.next == seq {
            state.hasher.update(content);
            state.next += 1;
        } else {
            state.stopped = true;
        }
        drop(state);
        self.moved.notify_all();
    }

    /// A batch that will not be hashed (a bad block, a panic): no batch waits for its turn.
    fn stop(&self) {
        self.lock().stopped = true;
        self.moved.notify_all();
    }

    /// Nothing is in flight: the batches from `seq` on continue from `hasher`.
    fn seed(&self, hasher: &Xxh32, seq: u64) {
        let mut state = self.lock();
        state.hasher = hasher.clone();
        state.next = seq;
        state.stopped = false;
    }

    /// Nothing is in flight and every batch was good: the checksum over all of them.
    fn settled(&self) -> CodecResult<Xxh32> {
        let state = self.lock();
        if state.stopped {
            return Err(Fault::backend("an lz4 batch missed its turn at the content checksum"));
        }
        Ok(state.hasher.clone())
    }
}

/// Stops the hashing if the thread decoding a batch panics, so that no other waits for it.
struct StopOnPanic<'a>(&'a Turn);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// A worker: decodes a batch of block records into their concatenated content, and hashes it
/// in its turn.
pub(super) struct BatchDecoder {
    turn: Arc<Turn>,
}

impl BlockCompressor for BatchDecoder {
    /// The first bad block's fault; the output then holds the blocks before it.
    type Summary = Option<Fault>;

    fn compress_block(
        &mut self,
        _dict: &[u8],
        batch: &[u8],
        out: &mut Vec<u8>,
    ) -> CodecResult<Option<Fault>> {
        let (head, blocks) = batch.split_at(BATCH_HEADER);
        let seq =
            u64::from_le_bytes([head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7]]);
        let _stop = StopOnPanic(&self.turn);
        let mut at = 0;
        let result = decode_batch(blocks, out, &mut at);
        out.truncate(at);
        match (seq, &result) {
            (UNHASHED, _) => {}
            (_, Ok(())) => self.turn.hash(seq, out),
            (_, Err(_)) => self.turn.stop(),
        }
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
        // doubling up to a batch's worth, then only what is needed: `BATCH + max` is the
        // most a batch decodes to (under `BATCH` before its last block, as `batch_content`
        // counts at least what each block decodes to)
        grow_zeroed(out, *at + room, BATCH);
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
    /// The content checksum so far, if the frame has one: when nothing is in flight, the next
    /// batch continues from it.
    fn hasher(&self) -> Option<&Xxh32>;
    /// Every batch in flight is written out: the content checksum continues from `hash`.
    fn settle(&mut self, hash: Xxh32);
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
    /// The content checksum of the batches in flight, shared with the threads that decode them.
    turn: Arc<Turn>,
    /// The number of the batch being filled.
    next_batch: u64,
    /// The threads it was built for (`new`'s `threads`).
    threads: usize,
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
        let turn = Arc::new(Turn::new());
        let batch = || Ok(BatchDecoder { turn: Arc::clone(&turn) });
        Ok(ParallelBlocks {
            engine: Parallel::new(workers(threads), BATCH, 0, batch)?
                .hold(batch)?
                .helping(outstanding(threads)),
            batch_content: 0,
            writing: None,
            open: None,
            turn,
            next_batch: 0,
            threads,
        })
    }

    /// The threads it decodes with (`new`'s `threads`).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The engine's buffers for `threads` threads and blocks of up to `block_max`.
    pub fn memory(threads: usize, block_max: usize) -> usize {
        // (`buffer_bytes` counts `2 × n + 1` slots for n workers: `outstanding` is even)
        crate::codec::parallel::buffer_bytes(
            outstanding(threads) / 2,
            batch_bytes(block_max),
            0,
            BATCH + block_max,
        )
    }

    /// Whether the batch being filled should be submitted before another block is added: it
    /// may decode to a batch's worth, or holds a batch's worth of bytes (empty blocks with
    /// checksums are 8 bytes of input and decode to nothing).
    pub fn batch_full(&self) -> bool {
        self.batch_content >= BATCH || self.engine.current_len() >= BATCH
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
        if batch.is_empty() {
            // its number, written in by `submit`
            batch.extend_from_slice(&[0; BATCH_HEADER]);
        }
        let open = self.open.get_or_insert_with(|| {
            let at = batch.len();
            let left = size + if checksum { 4 } else { 0 };
            // room for the whole record at once, and no more: amortised growth could double
            // a batch past `batch_bytes`, and growing as the input comes would copy a 4 MiB
            // block many times
            batch.reserve_exact(RECORD_HEADER + left);
            let flags = if stored { STORED } else { 0 } | if checksum { CHECKSUM } else { 0 };
            batch.push(flags);
            batch.extend_from_slice(&(block_max as u32).to_le_bytes());
            batch.extend_from_slice(&(size as u32).to_le_bytes());
            // (at least 1: a batch holding only empty blocks still has to be checked)
            let content = if stored { size.max(1) } else { block_max };
            self.batch_content += content;
            OpenBlock { left, at, content }
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
            // (a batch of no block at all is no batch)
            let at = if open.at == BATCH_HEADER { 0 } else { open.at };
            self.engine.current_mut().truncate(at);
            self.batch_content -= open.content;
        }
    }

    /// Submit the batch being filled, if there is room in flight; false if not. `check` gives
    /// the content checksum the batch continues from, when nothing is in flight.
    pub fn submit(&mut self, check: &dyn Content) -> CodecResult<bool> {
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
        if self.engine.current_mut().is_empty() {
            return Ok(true);
        }
        // (batches never span frames: the frame being decoded is theirs)
        let seq = match check.hasher() {
            Some(hasher) => {
                if self.writing.is_none() && self.engine.is_idle() {
                    // the first batch since everything was written out: the decoder's
                    // checksum (which stored blocks between batches add to) is where the
                    // batches go on
                    self.turn.seed(hasher, self.next_batch);
                }
                self.next_batch
            }
            None => UNHASHED,
        };
        self.engine.current_mut()[..BATCH_HEADER].copy_from_slice(&seq.to_le_bytes());
        self.next_batch += 1;
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
    /// next one if none is ready). `check` counts each batch before any of it is written out,
    /// and gets the content checksum when the last one in flight is written out. A batch with
    /// a bad block is written out up to that block, and then its fault is returned.
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
                if !drain_block(block, output) {
                    return Ok(());
                }
                if let Some(mut done) = self.writing.take() {
                    let fault = done.summary.take();
                    self.engine.recycle(done);
                    if let Some(fault) = fault {
                        return Err(fault);
                    }
                    if check.hasher().is_some() && self.engine.is_idle() {
                        check.settle(self.turn.settled()?);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_decoded_out_of_order_are_hashed_in_order() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let pieces: Vec<&[u8]> = data.chunks(70_000).collect();
        let mut start = Xxh32::new(0);
        start.update(&data[..5]);
        let turn = Arc::new(Turn::new());
        // a checksum carried over from before (a stored block), the batches numbered from 10
        turn.seed(&start, 10);
        std::thread::scope(|scope| {
            // the last batch first: each waits for the one before it
            for (i, piece) in pieces.iter().enumerate().rev() {
                let turn = &turn;
                scope.spawn(move || turn.hash(10 + i as u64, &piece[if i == 0 { 5 } else { 0 }..]));
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        assert_eq!(turn.settled().unwrap().digest(), xxh32(&data, 0));
    }

    #[test]
    fn a_stopped_turn_lets_every_later_batch_go_unhashed() {
        for panics in [false, true] {
            let turn = Arc::new(Turn::new());
            turn.seed(&Xxh32::new(0), 0);
            std::thread::scope(|scope| {
                // batches 1 and 2 wait for batch 0, which has a bad block (or whose thread
                // panics while decoding it)
                let waiting: Vec<_> = (1..3)
                    .map(|seq| {
                        scope.spawn({
                            let turn = &turn;
                            move || turn.hash(seq, b"later")
                        })
                    })
                    .collect();
                std::thread::sleep(std::time::Duration::from_millis(20));
                let bad = scope.spawn(|| {
                    let _stop = StopOnPanic(&turn);
                    if panics {
                        panic!("a decoder bug");
                    }
                    turn.stop();
                });
                assert_eq!(bad.join().is_err(), panics);
                for thread in waiting {
                    thread.join().unwrap();
                }
            });
            assert!(turn.settled().is_err(), "panics: {panics}");
            // the next frame starts over
            turn.seed(&Xxh32::new(0), 3);
            turn.hash(3, b"new");
            assert_eq!(turn.settled().unwrap().digest(), xxh32(b"new", 0));
        }
    }
}

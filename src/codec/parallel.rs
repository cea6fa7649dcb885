//! Parallel block compression: the input cut into fixed-size blocks, compressed by worker
//! threads, emitted in order.
//!
//! Used where the format allows independent pieces that concatenate into one valid stream:
//! pigz-style deflate (each block primed with the previous 32 KiB as its dictionary and ended
//! with a sync flush, so the pieces join into one deflate stream) and lz4 frames with
//! independent blocks. The block boundaries depend only on the block size, never on the
//! number of threads or on scheduling, so the output is deterministic. With
//! [`Parallel::sharing`] the caller's thread is one of the `threads`: it compresses a block
//! itself whenever the workers are busy, and the bytes are the same whoever made them.
//!
//! Memory is bounded: at most `2 × threads` full blocks are outstanding — submitted and not
//! yet handed back — each an input block, its dictionary and its compressed output (a flush
//! adds at most one partial block). When the limit is reached, `push` stops taking input until
//! the caller has written the oldest block out. Besides those, the block being filled and the
//! output being written out: see [`buffer_bytes`]. Buffers are recycled, so a long stream
//! allocates nothing after warm-up.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use crate::codec::{CodecResult, Fault, InBuf, OutBuf, Status};

/// What a worker does to one block.
pub(crate) trait BlockCompressor: Send + 'static {
    /// Per-block information the stream needs besides the bytes (gzip: the block's CRC-32).
    type Summary: Send + 'static;

    /// Compress `input` into `out` (empty on entry) as a self-contained, byte-aligned piece
    /// of the stream; `dict` holds the input that precedes the block (empty for the first
    /// block, and always empty when `dict_size` is 0).
    fn compress_block(&mut self, dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> CodecResult<Self::Summary>;

    /// `out` arrives with the previous block's bytes still in it (its length kept) rather than
    /// cleared: for a worker that overwrites it and truncates, so that a reused buffer is not
    /// zeroed again before it is overwritten.
    const KEEP_OUTPUT: bool = false;
}

/// What starting the workers takes (see `Parallel::unstarted`).
struct Unstarted<C: BlockCompressor> {
    compressors: Vec<C>,
    jobs: std::sync::Arc<std::sync::Mutex<Receiver<Job>>>,
    done: Sender<Done<C::Summary>>,
}

impl<C: BlockCompressor> Unstarted<C> {
    /// One thread per compressor, each taking the next job from the shared queue.
    fn start(self) -> CodecResult<Vec<JoinHandle<()>>> {
        let mut workers = Vec::with_capacity(self.compressors.len());
        for (i, mut compressor) in self.compressors.into_iter().enumerate() {
            let jobs = self.jobs.clone();
            let done = self.done.clone();
            let worker = std::thread::Builder::new()
                .name(format!("compressio-{i}"))
                .spawn(move || loop {
                    // one worker takes the next job; the lock is held only while receiving
                    let job = match jobs.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    if done.send(job.run(&mut compressor)).is_err() {
                        return;
                    }
                })
                .map_err(|e| Fault::backend(format!("cannot start a worker thread: {e}")))?;
            workers.push(worker);
        }
        Ok(workers)
    }
}

struct Job {
    seq: u64,
    dict: Vec<u8>,
    input: Vec<u8>,
    output: Vec<u8>,
}

impl Job {
    /// Compress the block with `compressor` (a worker's, or the caller's when it helps).
    fn run<C: BlockCompressor>(mut self, compressor: &mut C) -> Done<C::Summary> {
        if !C::KEEP_OUTPUT {
            self.output.clear();
        }
        let result = compressor.compress_block(&self.dict, &self.input, &mut self.output);
        Done { seq: self.seq, dict: self.dict, input: self.input, output: self.output, result }
    }
}

struct Done<S> {
    seq: u64,
    dict: Vec<u8>,
    input: Vec<u8>,
    output: Vec<u8>,
    result: CodecResult<S>,
}

/// A finished block, ready to be written out in order.
pub(crate) struct Block<S> {
    pub output: Vec<u8>,
    pub summary: S,
    /// How much of `output` has been written out.
    pub pos: usize,
}

/// The engine: fills blocks from the caller's input, hands them to the workers, and returns
/// them compressed, in order.
pub(crate) struct Parallel<C: BlockCompressor> {
    block_size: usize,
    dict_size: usize,
    /// The block being filled.
    current: Vec<u8>,
    /// The last `dict_size` bytes before `current`.
    history: Vec<u8>,
    jobs: Option<Sender<Job>>,
    /// The workers' end of `jobs`, for a caller that helps (see [`Parallel::helping`]).
    queue: std::sync::Arc<std::sync::Mutex<Receiver<Job>>>,
    /// Set by [`Parallel::helping`].
    helps: bool,
    results: Receiver<Done<C::Summary>>,
    workers: Vec<JoinHandle<()>>,
    /// The workers' compressors and channel ends until the first block goes to a worker: the
    /// threads start then, so that a stream that never hands a block over (a small message,
    /// lz4 on data that does not compress) never pays for starting and joining them (1–2 ms
    /// here, against 10 ms for compressing 16 MiB of random bytes with lz4).
    unstarted: Option<Box<Unstarted<C>>>,
    /// The caller's own compressor, run by `submit` itself: with no worker threads (`threads`
    /// 0) for every block, and with [`Parallel::sharing`] whenever the workers have
    /// `queue_limit` blocks between them.
    inline: Option<C>,
    /// With `inline` and workers: how many blocks the workers may have at once before the
    /// caller compresses the next one itself (0: the caller does them all).
    queue_limit: usize,
    /// Held back by [`Parallel::hold`] until [`Parallel::release`]; `Some(made)`, where
    /// `made` says that `inline` was made for the wait (dropped on release).
    held: Option<bool>,
    next_seq: u64,
    next_out: u64,
    /// The most blocks outstanding at once (`2 × threads`).
    max_outstanding: usize,
    /// Finished blocks that came back out of order.
    waiting: BTreeMap<u64, Done<C::Summary>>,
    /// Recycled buffers, one pool per role so that each keeps its own size (dictionaries are
    /// small, outputs a little larger than inputs).
    spare_dicts: Vec<Vec<u8>>,
    spare_inputs: Vec<Vec<u8>>,
    spare_outputs: Vec<Vec<u8>>,
}

impl<C: BlockCompressor> Parallel<C> {
    /// `threads` workers, each with its own compressor from `make` (whose failure is
    /// returned), started when the first block goes to them; with 0, no thread: each block is
    /// compressed when it is submitted, by the caller's thread (the same blocks and bytes, one
    /// block outstanding at a time).
    pub fn new(
        threads: usize,
        block_size: usize,
        dict_size: usize,
        mut make: impl FnMut() -> CodecResult<C>,
    ) -> CodecResult<Self> {
        let inline = if threads == 0 { Some(make()?) } else { None };
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let job_rx = std::sync::Arc::new(std::sync::Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel();
        let compressors = (0..threads).map(|_| make()).collect::<CodecResult<Vec<C>>>()?;
        let unstarted =
            (threads > 0).then(|| Box::new(Unstarted { compressors, jobs: job_rx.clone(), done: done_tx }));
        Ok(Parallel {
            block_size,
            dict_size,
            current: Vec::with_capacity(block_size),
            history: Vec::with_capacity(dict_size),
            jobs: Some(job_tx),
            queue: job_rx,
            helps: false,
            results: done_rx,
            workers: Vec::new(),
            unstarted,
            inline,
            queue_limit: 0,
            held: None,
            next_seq: 0,
            next_out: 0,
            max_outstanding: (2 * threads).max(1),
            waiting: BTreeMap::new(),
            spare_dicts: Vec::new(),
            spare_inputs: Vec::new(),
            spare_outputs: Vec::new(),
        })
    }

    /// `threads` in all, the caller's among them: `threads - 1` workers, and the caller's
    /// thread compresses a block itself whenever the workers hold two each (one at work, one
    /// queued) — so that on `threads` cores no thread only copies and waits, and `threads(1)`
    /// is one thread. Used where `threads` workers beside a busy caller would compete for the
    /// cores: lz4's encoder (its caller hashes the content) and the threaded member decoders
    /// (BGZF, zstd frames: their caller measures members and copies the output out). Where
    /// the caller's own share is already half the work (lz4's decoder) it should not take
    /// blocks by this rule (1.27× against 1.62× for two threads): it helps only when it would
    /// wait instead ([`Parallel::helping`]).
    pub fn sharing(
        threads: usize,
        block_size: usize,
        dict_size: usize,
        mut make: impl FnMut() -> CodecResult<C>,
    ) -> CodecResult<Self> {
        let threads = threads.max(1);
        let workers = threads - 1;
        let mut engine = Self::new(workers, block_size, dict_size, &mut make)?;
        if engine.inline.is_none() {
            engine.inline = Some(make()?);
        }
        engine.queue_limit = 2 * workers;
        // alone, the caller writes each block out before it compresses the next
        engine.max_outstanding = if workers == 0 { 1 } else { 2 * threads };
        Ok(engine)
    }

    /// Hold the workers back: until [`Parallel::release`], every block is compressed by the
    /// caller's thread when it is submitted, one outstanding at a time, as with no threads —
    /// for a decoder that first learns whether threads are worth it (a frame of more than one
    /// batch, members that decode to much more than their size). Releasing needs no pause:
    /// the blocks done meanwhile wait in order like any other. `make` makes the caller's
    /// compressor where the engine has none (not [`Parallel::sharing`]).
    pub fn hold(mut self, make: impl FnOnce() -> CodecResult<C>) -> CodecResult<Self> {
        let made = self.inline.is_none();
        if made {
            self.inline = Some(make()?);
        }
        self.held = Some(made);
        Ok(self)
    }

    /// Let the caller's thread help: when `next_block` would wait for the workers, the caller
    /// takes a block still queued for them and compresses it itself (with the compressor
    /// [`Parallel::hold`] made, kept after release), `outstanding` blocks in flight at most.
    /// For a caller whose own share of the work is less than the workers' (lz4's decoder: it
    /// copies out what the worker decodes and hashes), so that it fills its idle time rather
    /// than taking blocks by a fixed rule. The order and bytes are the same whoever makes a
    /// block.
    pub fn helping(mut self, outstanding: usize) -> Self {
        self.helps = self.inline.is_some();
        self.max_outstanding = self.max_outstanding.max(outstanding);
        self
    }

    /// Let the workers take blocks from the next `submit` on (their threads start with the
    /// first one handed to them).
    pub fn release(&mut self) {
        if let Some(made) = self.held.take() {
            if made && !self.helps {
                self.inline = None;
            }
        }
    }

    /// As a helping caller about to wait: take the oldest block still queued for the workers
    /// and compress it here. False when there is none (or the queue is busy: a worker waiting
    /// for a job holds it, so then nothing is queued). It takes a worker's last queued block
    /// too: leaving each worker one queued paid while lz4's caller hashed the content, and no
    /// longer once the decoding thread hashes it (the figures are in `codec/lz4/parallel.rs`,
    /// the one user).
    fn help(&mut self) -> bool {
        let (true, Some(compressor)) = (self.helps && self.held.is_none(), &mut self.inline) else {
            return false;
        };
        let job = match self.queue.try_lock() {
            Ok(queue) => queue.try_recv().ok(),
            Err(_) => None,
        };
        let Some(job) = job else { return false };
        let done = job.run(compressor);
        self.waiting.insert(done.seq, done);
        true
    }

    /// Whether the workers are held back (see [`Parallel::hold`]).
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// The most blocks outstanding at once now: one while held back.
    fn limit(&self) -> usize {
        if self.held.is_some() {
            1
        } else {
            self.max_outstanding
        }
    }

    /// Blocks submitted and not yet handed back by `next_block` (in flight or finished).
    fn outstanding(&self) -> usize {
        (self.next_seq - self.next_out) as usize
    }

    /// Blocks with the workers (sent and not yet received back): every outstanding block
    /// that is not finished and waiting (blocks the caller compresses go straight there).
    fn in_flight(&self) -> usize {
        self.outstanding() - self.waiting.len()
    }

    /// Whether another block may be submitted within the bound.
    pub fn has_room(&self) -> bool {
        self.outstanding() < self.limit()
    }

    /// The block being filled, for callers that assemble blocks themselves (a decoder's
    /// batches of compressed blocks) and then `submit` it.
    pub fn current_mut(&mut self) -> &mut Vec<u8> {
        &mut self.current
    }

    /// How many bytes the block being filled holds.
    pub fn current_len(&self) -> usize {
        self.current.len()
    }

    /// Take input into the current block and send full blocks to the workers. Stops (having
    /// consumed what it could) when `2 × threads` blocks are outstanding: the caller must
    /// write some out first. That is the memory bound.
    pub fn push(&mut self, input: &mut InBuf<'_>) -> CodecResult<()> {
        while !input.is_empty() {
            if self.current.len() == self.block_size {
                if self.outstanding() >= self.limit() {
                    return Ok(());
                }
                self.submit()?;
            }
            let take = (self.block_size - self.current.len()).min(input.rest().len());
            self.current.extend_from_slice(&input.rest()[..take]);
            input.advance(take);
        }
        if self.current.len() == self.block_size && self.has_room() {
            self.submit()?;
        }
        Ok(())
    }

    /// Send the current block (full or not) to the workers. `push` keeps full blocks within
    /// the bound; a flush may add its one partial block on top: at most `2 × threads + 1`.
    pub fn submit(&mut self) -> CodecResult<()> {
        if self.current.is_empty() {
            return Ok(());
        }
        let mut dict = self.spare_dicts.pop().unwrap_or_default();
        dict.clear();
        dict.extend_from_slice(&self.history);
        let mut fresh = self.spare_inputs.pop().unwrap_or_else(|| Vec::with_capacity(self.block_size));
        fresh.clear();
        let input = std::mem::replace(&mut self.current, fresh);
        if self.dict_size > 0 {
            // the next block's dictionary: the last dict_size bytes of history + this block
            let keep = self.dict_size.saturating_sub(input.len()).min(self.history.len());
            self.history.drain(..self.history.len() - keep);
            let from = input.len().saturating_sub(self.dict_size);
            self.history.extend_from_slice(&input[from..]);
        }
        let output = self.spare_outputs.pop().unwrap_or_default();
        if self.inline.is_some() && self.queue_limit > 0 && self.held.is_none() {
            // count what the workers have finished, to see whether one of them is free
            while let Ok(done) = self.results.try_recv() {
                self.waiting.insert(done.seq, done);
            }
        }
        // (a helping caller takes blocks only when it would wait: `help`)
        let workers_full = self.held.is_some() || (!self.helps && self.in_flight() >= self.queue_limit);
        let job = Job { seq: self.next_seq, dict, input, output };
        if let (Some(compressor), true) = (&mut self.inline, workers_full) {
            self.waiting.insert(job.seq, job.run(compressor));
            self.next_seq += 1;
            return Ok(());
        }
        if let Some(unstarted) = self.unstarted.take() {
            self.workers = (*unstarted).start()?;
        }
        match &self.jobs {
            Some(tx) if tx.send(job).is_ok() => {}
            _ => return Err(Fault::backend("compression worker threads are gone")),
        }
        self.next_seq += 1;
        Ok(())
    }

    fn receive_one(&mut self) -> CodecResult<()> {
        let done = self.results.recv().map_err(|_| Fault::backend("a compression worker thread panicked"))?;
        self.waiting.insert(done.seq, done);
        Ok(())
    }

    /// The next block in order, if it is finished (`wait`: wait for it if it is in flight).
    pub fn next_block(&mut self, wait: bool) -> CodecResult<Option<Block<C::Summary>>> {
        loop {
            if let Some(done) = self.waiting.remove(&self.next_out) {
                self.next_out += 1;
                let Done { dict, input, output, result, .. } = done;
                self.spare_dicts.push(dict);
                self.spare_inputs.push(input);
                return Ok(Some(Block { output, summary: result?, pos: 0 }));
            }
            if self.next_out == self.next_seq {
                return Ok(None); // nothing in flight
            }
            match self.results.try_recv() {
                Ok(done) => {
                    self.waiting.insert(done.seq, done);
                }
                Err(mpsc::TryRecvError::Empty) if !wait => return Ok(None),
                Err(mpsc::TryRecvError::Empty) if self.help() => {}
                Err(_) => self.receive_one()?,
            }
        }
    }

    /// The input of the block `next_block` returned last, until the next `submit` (a decoder
    /// that must go over a batch's bytes again on its own thread reads them here).
    pub fn last_input(&self) -> &[u8] {
        self.spare_inputs.last().map_or(&[], Vec::as_slice)
    }

    /// Take the input of the block `next_block` returned last (see `last_input`) out of the
    /// engine, for a caller that goes on reading it after the next `submit`; `give_input`
    /// hands it back.
    pub fn take_last_input(&mut self) -> Vec<u8> {
        self.spare_inputs.pop().unwrap_or_default()
    }

    /// Hand an input buffer taken with `take_last_input` back for reuse.
    pub fn give_input(&mut self, input: Vec<u8>) {
        self.spare_inputs.push(input);
    }

    /// Hand a written-out block's buffer back for reuse.
    pub fn recycle(&mut self, block: Block<C::Summary>) {
        self.spare_outputs.push(block.output);
    }

    /// Whether every submitted block has been returned by `next_block`.
    pub fn is_idle(&self) -> bool {
        self.next_out == self.next_seq
    }

    /// Forget everything in progress and start a new stream (the workers stay).
    pub fn reset(&mut self) -> CodecResult<()> {
        let mut first_error = Ok(());
        loop {
            match self.next_block(true) {
                Ok(Some(block)) => self.recycle(block),
                Ok(None) => break,
                Err(e) => {
                    if first_error.is_ok() {
                        first_error = Err(e);
                    }
                }
            }
        }
        self.current.clear();
        self.history.clear();
        first_error
    }
}

/// Write `block` out; true when all of it has been written.
pub(crate) fn drain_block<S>(block: &mut Block<S>, output: &mut OutBuf<'_>) -> bool {
    output.drain(&block.output, &mut block.pos)
}

impl<C: BlockCompressor> Drop for Parallel<C> {
    fn drop(&mut self) {
        self.jobs = None; // closing the channel stops the workers
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// The most threads, from 2 up to `asked`, for which `fits` holds (it must hold up to some
/// count and not past it: buffers grow with the threads), or `None` when not even two fit.
/// So a decoder asked for more threads than its memory limit allows (`threads(0)` on a
/// machine with many cores, say) runs with as many as fit rather than with one. At most
/// 4096, whatever the limit: `asked` may be `usize::MAX`, and the memory sums must not
/// overflow.
pub(crate) fn most_threads(asked: usize, fits: impl Fn(usize) -> bool) -> Option<usize> {
    if asked < 2 || !fits(2) {
        return None;
    }
    // by bisection
    let (mut fit, mut over) = (2, asked.min(1 << 12) + 1);
    while over - fit > 1 {
        let mid = fit + (over - fit) / 2;
        if fits(mid) {
            fit = mid;
        } else {
            over = mid;
        }
    }
    Some(fit)
}

/// The most the engine's buffers hold for `threads` workers: `2 × threads + 1` outstanding
/// blocks (input, dictionary, output), plus the block being filled, the history and the
/// output being written out. `output_bound` is the largest compressed block.
pub(crate) fn buffer_bytes(
    threads: usize,
    block_size: usize,
    dict_size: usize,
    output_bound: usize,
) -> usize {
    let slots = 2 * threads + 1;
    slots * (block_size + dict_size + output_bound) + block_size + dict_size + output_bound
}

/// [`buffer_bytes`] for [`Parallel::sharing`] with `threads` in all: the classic engine's
/// slots for `threads` workers, or one slot when the caller is alone.
pub(crate) fn sharing_buffer_bytes(
    threads: usize,
    block_size: usize,
    dict_size: usize,
    output_bound: usize,
) -> usize {
    buffer_bytes(if threads > 1 { threads } else { 0 }, block_size, dict_size, output_bound)
}

/// The engine plus the block being written out: the part every parallel encoder shares.
pub(crate) struct ParallelStream<C: BlockCompressor> {
    engine: Parallel<C>,
    writing: Option<Block<C::Summary>>,
}

impl<C: BlockCompressor> ParallelStream<C> {
    pub fn new(engine: Parallel<C>) -> Self {
        ParallelStream { engine, writing: None }
    }

    /// Write finished blocks out in order, as far as the output allows; `fold` sees each
    /// block's summary, in stream order. With `wait`, wait for the next block if none is
    /// finished yet.
    fn write_ready(
        &mut self,
        output: &mut OutBuf<'_>,
        mut wait: bool,
        fold: &mut impl FnMut(&C::Summary),
    ) -> CodecResult<()> {
        loop {
            if let Some(block) = &mut self.writing {
                if !drain_block(block, output) {
                    return Ok(());
                }
                if let Some(done) = self.writing.take() {
                    self.engine.recycle(done);
                }
            }
            match self.engine.next_block(wait)? {
                Some(block) => {
                    fold(&block.summary);
                    self.writing = Some(block);
                    wait = false;
                }
                None => return Ok(()),
            }
        }
    }

    /// Take input and write out finished blocks; makes progress on every call that has
    /// input and output space (waiting for a worker when all slots are taken).
    pub fn encode(
        &mut self,
        input: &mut InBuf<'_>,
        output: &mut OutBuf<'_>,
        fold: &mut impl FnMut(&C::Summary),
    ) -> CodecResult<()> {
        loop {
            self.write_ready(output, false, fold)?;
            if output.is_full() || input.is_empty() {
                return Ok(());
            }
            let before = input.pos;
            self.engine.push(input)?;
            if input.pos == before {
                // every slot is taken: wait for the oldest block and write it out
                self.write_ready(output, true, fold)?;
            }
        }
    }

    /// Send the partial block and write out everything: `Done` once all input so far is in
    /// the output.
    pub fn flush(
        &mut self,
        output: &mut OutBuf<'_>,
        fold: &mut impl FnMut(&C::Summary),
    ) -> CodecResult<Status> {
        self.engine.submit()?;
        loop {
            self.write_ready(output, true, fold)?;
            if self.writing.is_some() || output.is_full() {
                return Ok(Status::Ongoing);
            }
            if self.engine.is_idle() {
                return Ok(Status::Done);
            }
        }
    }

    /// Drop what is in progress and start a new stream.
    pub fn reset(&mut self) -> CodecResult<()> {
        if let Some(block) = self.writing.take() {
            self.engine.recycle(block);
        }
        self.engine.reset()
    }
}

/// Whether a sample of the input (`raw` bytes, `packed` once compressed) compresses enough for
/// worker threads to pay off: at least 3 % smaller. On data that does not compress (already
/// compressed or encrypted) the fast codecs run at memory speed on one thread, and handing
/// blocks to workers only adds copies and waiting (libzstd's workers ran at 0.35× one thread
/// there, `../shared/corpus/BASELINE.md`). One rule for every encoder that probes.
pub(crate) fn worth_it(raw: u64, packed: u64) -> bool {
    packed.saturating_mul(100) < raw.saturating_mul(97)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::ThreadId;

    /// "Compresses" a block by copying it, slowly enough that the workers fall behind; its
    /// summary says which thread did it.
    struct Copy;

    impl BlockCompressor for Copy {
        type Summary = ThreadId;

        fn compress_block(&mut self, _dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> CodecResult<ThreadId> {
            std::thread::sleep(std::time::Duration::from_millis(2));
            out.extend_from_slice(input);
            Ok(std::thread::current().id())
        }
    }

    /// Push `data` through `engine` in 1000-byte blocks; the output and who compressed each.
    fn run(mut engine: Parallel<Copy>, data: &[u8]) -> (Vec<u8>, Vec<ThreadId>) {
        let (mut out, mut who) = (Vec::new(), Vec::new());
        let mut take = |block: Block<ThreadId>, engine: &mut Parallel<Copy>| {
            out.extend_from_slice(&block.output);
            who.push(block.summary);
            engine.recycle(block);
        };
        let mut input = InBuf::new(data);
        while !input.is_empty() {
            engine.push(&mut input).unwrap();
            assert!(engine.outstanding() <= engine.max_outstanding);
            while let Some(block) = engine.next_block(!engine.has_room()).unwrap() {
                take(block, &mut engine);
            }
        }
        engine.submit().unwrap();
        while let Some(block) = engine.next_block(true).unwrap() {
            take(block, &mut engine);
        }
        (out, who)
    }

    #[test]
    fn most_threads_finds_the_largest_count_that_fits() {
        // fits up to 7
        assert_eq!(most_threads(4, |n| n <= 7), Some(4));
        assert_eq!(most_threads(7, |n| n <= 7), Some(7));
        assert_eq!(most_threads(8, |n| n <= 7), Some(7));
        assert_eq!(most_threads(usize::MAX, |n| n <= 7), Some(7));
        assert_eq!(most_threads(usize::MAX, |n| n <= 1_000), Some(1_000));
        // capped at 4096 when everything fits
        assert_eq!(most_threads(usize::MAX, |_| true), Some(4096));
        // one thread: not asked for more, or not even two fit
        assert_eq!(most_threads(0, |_| true), None);
        assert_eq!(most_threads(1, |_| true), None);
        assert_eq!(most_threads(8, |n| n < 2), None);
        assert_eq!(most_threads(2, |n| n <= 2), Some(2));
    }

    #[test]
    fn sharing_runs_threads_minus_one_workers_and_the_caller_compresses_too() {
        let data: Vec<u8> = (0..40_500u32).map(|i| (i * 7 % 251) as u8).collect();
        let caller = std::thread::current().id();

        // threads(1): no worker at all, every block on the caller's thread
        let one = Parallel::sharing(1, 1000, 0, || Ok(Copy)).unwrap();
        assert!(one.workers.is_empty() && one.unstarted.is_none());
        let (out, who) = run(one, &data);
        assert_eq!(out, data);
        assert_eq!(who.len(), 41);
        assert!(who.iter().all(|&id| id == caller));

        // threads(3): two workers, and the caller takes blocks whenever they hold four
        let three = Parallel::sharing(3, 1000, 0, || Ok(Copy)).unwrap();
        // (their threads start with the first block handed to them)
        assert!(three.workers.is_empty());
        assert_eq!(three.unstarted.as_ref().map(|u| u.compressors.len()), Some(2));
        assert_eq!(three.max_outstanding, 6);
        assert_eq!(Parallel::sharing(1, 1000, 0, || Ok(Copy)).unwrap().max_outstanding, 1);
        let (out, who) = run(three, &data);
        assert_eq!(out, data, "in order, whoever compressed each block");
        assert!(who.contains(&caller), "the caller compressed none");
        assert!(who.iter().any(|&id| id != caller), "no worker compressed any");

        // the classic engine leaves the caller to copy and wait
        let (out, who) = run(Parallel::new(2, 1000, 0, || Ok(Copy)).unwrap(), &data);
        assert_eq!(out, data);
        assert!(!who.contains(&caller));
    }

    #[test]
    fn a_helping_caller_takes_queued_blocks_only_when_it_would_wait() {
        let data: Vec<u8> = (0..40_500u32).map(|i| (i * 11 % 253) as u8).collect();
        let caller = std::thread::current().id();
        let engine = Parallel::new(1, 1000, 0, || Ok(Copy)).unwrap().hold(|| Ok(Copy)).unwrap().helping(4);
        assert_eq!(engine.max_outstanding, 4);
        let mut engine = engine;
        engine.release();
        assert!(engine.inline.is_some(), "the compressor made for the wait stays, to help");
        // with one slow worker and four blocks in flight, the caller waits in `next_block`,
        // and meanwhile makes blocks still queued for the worker
        let (out, who) = run(engine, &data);
        assert_eq!(out, data, "in order, whoever made each block");
        assert_eq!(who.len(), 41);
        assert!(who.contains(&caller), "the caller never helped");
        assert!(who.iter().any(|&id| id != caller), "the worker made none");
        // without `helping`, a released engine leaves every block to the worker
        let mut engine = Parallel::new(1, 1000, 0, || Ok(Copy)).unwrap().hold(|| Ok(Copy)).unwrap();
        engine.release();
        let (out, who) = run(engine, &data);
        assert_eq!(out, data);
        assert!(!who.contains(&caller));
    }

    /// Whether the gate is open, and how many blocks have reached it.
    type Gate = std::sync::Arc<(std::sync::Mutex<(bool, usize)>, std::sync::Condvar)>;

    /// Copies a block; a worker's copy first waits for the gate to open (the caller's, with
    /// no gate, does not).
    struct Gated(Option<Gate>);

    /// Opens the gate when dropped: also when an assertion fails, so that dropping the engine
    /// (which joins its workers) does not hang on a stalled worker.
    struct Opener(Gate);

    impl Drop for Opener {
        fn drop(&mut self) {
            let (gate, moved) = &*self.0;
            gate.lock().unwrap_or_else(|e| e.into_inner()).0 = true;
            moved.notify_all();
        }
    }

    impl BlockCompressor for Gated {
        type Summary = ThreadId;

        fn compress_block(&mut self, _dict: &[u8], input: &[u8], out: &mut Vec<u8>) -> CodecResult<ThreadId> {
            if let Some(gate) = &self.0 {
                let (gate, moved) = &**gate;
                let mut state = gate.lock().unwrap();
                state.1 += 1;
                moved.notify_all();
                while !state.0 {
                    state = moved.wait(state).unwrap();
                }
            }
            out.extend_from_slice(input);
            Ok(std::thread::current().id())
        }
    }

    #[test]
    fn a_helping_caller_takes_the_workers_last_queued_block() {
        let gate: Gate = std::sync::Arc::new((std::sync::Mutex::new((false, 0)), std::sync::Condvar::new()));
        let worker_gate = gate.clone();
        let mut engine = Parallel::new(1, 1000, 0, move || Ok(Gated(Some(worker_gate.clone()))))
            .unwrap()
            .hold(|| Ok(Gated(None)))
            .unwrap()
            .helping(4);
        // (declared after the engine: dropped before it, so the gate opens before the join)
        let opener = Opener(gate.clone());
        engine.release();
        let submit = |engine: &mut Parallel<Gated>, byte: u8| {
            engine.current_mut().extend_from_slice(&[byte; 1000]);
            engine.submit().unwrap();
        };
        submit(&mut engine, 0);
        {
            // the worker has the first block, stalled at the gate
            let (state, moved) = &*gate;
            let mut state = state.lock().unwrap();
            while state.1 == 0 {
                state = moved.wait(state).unwrap();
            }
        }
        submit(&mut engine, 1);
        // the second is the worker's only queued block: the caller, about to wait, takes it
        assert!(engine.help(), "the caller left the worker's queued block");
        assert!(!engine.help(), "nothing left in the queue");
        drop(opener);
        let caller = std::thread::current().id();
        let mut makers = Vec::new();
        for byte in 0..2u8 {
            let block = engine.next_block(true).unwrap().expect("two blocks in order");
            assert_eq!(block.output, [byte; 1000]);
            makers.push(block.summary == caller);
            engine.recycle(block);
        }
        assert_eq!(makers, [false, true], "the worker made the first, the caller the second");
        assert!(engine.next_block(true).unwrap().is_none());
    }

    #[test]
    fn worker_threads_start_with_the_first_block_handed_to_them() {
        let mut engine = Parallel::new(2, 1000, 0, || Ok(Copy)).unwrap();
        assert!(engine.workers.is_empty(), "started before any block");
        engine.submit().unwrap(); // nothing to submit: still none
        assert!(engine.workers.is_empty() && engine.unstarted.is_some());
        let data = [7u8; 1500];
        engine.push(&mut InBuf::new(&data)).unwrap(); // one full block goes out
        assert_eq!(engine.workers.len(), 2);
        assert!(engine.unstarted.is_none());
        let block = engine.next_block(true).unwrap().expect("the block");
        assert_eq!(block.output, &data[..1000]);
        // dropping an engine whose workers never started does not hang
        drop(Parallel::new(3, 1000, 0, || Ok(Copy)).unwrap());
    }

    #[test]
    fn a_held_engine_runs_on_the_callers_thread_until_released() {
        let caller = std::thread::current().id();
        let data: Vec<u8> = (0..6000u32).map(|i| (i * 13 % 241) as u8).collect();
        for sharing in [false, true] {
            let engine = match sharing {
                false => Parallel::new(2, 1000, 0, || Ok(Copy)),
                true => Parallel::sharing(3, 1000, 0, || Ok(Copy)),
            };
            let mut engine = engine.unwrap().hold(|| Ok(Copy)).unwrap();
            assert!(engine.is_held());
            // one block outstanding at a time, done by the caller when submitted
            let mut input = InBuf::new(&data);
            engine.push(&mut input).unwrap();
            assert_eq!((input.pos, engine.outstanding()), (2000, 1), "sharing: {sharing}");
            assert!(!engine.has_room() && engine.workers.is_empty());
            // released with that block still waiting: the order holds across the switch
            engine.release();
            assert!(!engine.is_held() && engine.has_room());
            assert_eq!(engine.inline.is_some(), sharing, "the compressor made for the wait stays");
            engine.push(&mut input).unwrap();
            assert!(!engine.workers.is_empty(), "released, and no worker started");
            let (mut out, mut who) = (Vec::new(), Vec::new());
            loop {
                while let Some(block) = engine.next_block(!engine.has_room()).unwrap() {
                    out.extend_from_slice(&block.output);
                    who.push(block.summary);
                    engine.recycle(block);
                }
                if input.is_empty() {
                    break;
                }
                engine.push(&mut input).unwrap();
            }
            engine.submit().unwrap();
            while let Some(block) = engine.next_block(true).unwrap() {
                out.extend_from_slice(&block.output);
                who.push(block.summary);
                engine.recycle(block);
            }
            assert_eq!(out, data, "sharing: {sharing}");
            assert_eq!(who[0], caller);
            assert!(who[1..].iter().any(|&id| id != caller), "no worker took a block after release");
            if !sharing {
                assert!(who[1..].iter().all(|&id| id != caller));
            }
        }
    }
}

//! `SeekableDecoder`: random access into seekable streams (zstd seekable format, BGZF, xz
//! with several blocks) through their index; see [`SeekableDecoder`].
//!
//! Opening reads only the index (the format's module knows where it is: `codec/seekable.rs`
//! has the shared types). A read finds the blocks it touches by binary search, reads each
//! one's compressed bytes with one positioned read and decodes it with the format's ordinary,
//! strict decoder (`DecodeCore`, reset and reused), so a block is checked like any member:
//! its checksum, its exact length, nothing after it. Decoded blocks stay in a small cache.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{mpsc, Arc, Mutex};

use crate::codec::seekable::{Entry, Index, IndexError, RandomAccess, Source};
use crate::codec::spec::{skippable, Match};
use crate::codec::{reserve_within, InBuf};
use crate::config::{Config, Direction};
use crate::decode::{DecodeCore, Step};
use crate::error::{Error, Result};
use crate::format::Format;

/// Reads any range of a seekable stream without decoding from the start: `Read + Seek` over
/// the uncompressed content of a compressed file.
///
/// Opens zstd seekable-format files (ours, from [`Config::seekable`], or from any writer of
/// facebook/zstd's `contrib/seekable_format`), BGZF files (bgzip, htslib, noodles, ours) and
/// xz files with their index (every xz file has one; with several blocks — `xz -T2`,
/// `xz --block-size`, ours — it is useful). A stream without an index (plain gzip, a normal
/// zstd frame, lz4) is [`Error::Unsupported`] ("no index: …"): never a silent scan from the
/// start.
///
/// - Opening reads only the index, which is validated against the file: blocks that do not
///   tile the file where the index says, sizes that overflow, an index larger than
///   [`Config::max_memory`] are [`Error::Corrupt`] or [`Error::LimitExceeded`] before
///   anything large is allocated.
/// - A read decodes only the blocks it touches, each checked like any stream (checksums,
///   exact length, the seek table's own checksum). A block that decodes to another length than
///   the index says is [`Error::Corrupt`].
/// - Decoded blocks are kept in a cache of [`cache_blocks`](SeekableDecoder::cache_blocks)
///   blocks (default 1), so that sequential reads after a seek cost nothing extra. Memory:
///   the index, the cache (blocks × block size), one block's compressed bytes and the codec.
/// - With [`Config::threads`] `(n)`, reads that go on past a block (sequential reading, or a
///   large read) decode the blocks after it in parallel, a few MiB per thread ahead. All of
///   it — the blocks decoded ahead and their compressed bytes, the workers' decoders (each
///   counted as a block's window), the cache and the index — stays within
///   [`Config::max_memory`]: large blocks get fewer blocks ahead and fewer workers, and when
///   not even two blocks fit, reads decode on the reading thread alone.
///
/// ```
/// use std::io::{Cursor, Read, Seek, SeekFrom};
/// use compressio::{Config, Encoder, Format, SeekableDecoder};
///
/// let log: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
/// let mut encoder = Encoder::with_config(Vec::new(), Format::Gzip, &Config::default().seekable(65280))?;
/// std::io::Write::write_all(&mut encoder, log.as_bytes())?;
/// let bgzf = encoder.finish()?;
///
/// let mut file = SeekableDecoder::new(Cursor::new(bgzf))?;
/// assert_eq!(file.format(), Format::Gzip);
/// assert!(file.block_count() > 1);
/// let at = log.find("line 40000\n").unwrap() as u64;
/// let mut line = [0u8; 11];
/// file.read_at(at, &mut line)?;
/// assert_eq!(&line, b"line 40000\n");
///
/// file.seek(SeekFrom::End(-11))?;
/// let mut last = String::new();
/// file.read_to_string(&mut last)?;
/// assert_eq!(last, "line 49999\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SeekableDecoder<R> {
    inner: R,
    file_len: u64,
    format: Format,
    index: Index,
    /// What each block's decoder is built from (one thread, no output limit).
    recipe: Recipe,
    max_memory: u64,
    threads: usize,
    pos: u64,
    cache: Vec<Cached>,
    cache_blocks: usize,
    /// Age counter for the cache's least-recently-used eviction.
    tick: u64,
    /// The block after the last one read: reading it next is sequential.
    next_block: usize,
    /// The decoder the reading thread uses.
    inline: Worker,
    /// With threads: the workers that decode ahead of a sequential reader.
    ahead: Option<ReadAhead>,
    /// The compressed bytes of the block being decoded inline.
    raw: Vec<u8>,
    /// Buffers of evicted blocks, for the next ones.
    spare: Vec<Vec<u8>>,
    /// Compressed-bytes buffers back from the read-ahead workers.
    spare_raw: Vec<Vec<u8>>,
}

struct Cached {
    block: usize,
    data: Vec<u8>,
    used: u64,
}

struct Worker {
    core: Option<DecodeCore>,
    /// The block presented as a complete stream, for formats that need it (xz).
    framed: Vec<u8>,
}

impl Worker {
    fn new() -> Self {
        Worker { core: None, framed: Vec::new() }
    }
}

/// What a read-ahead worker needs to decode any block of the stream.
#[derive(Clone)]
struct Recipe {
    format: Format,
    access: RandomAccess,
    config: Config,
    /// The largest block's content and compressed sizes: no buffer grows past them.
    largest: (usize, usize),
}

/// A block for a worker: its entry, its compressed bytes, the buffer to decode into.
/// Small blocks (BGZF's 64 KiB) go in batches of consecutive blocks, one read of the file and
/// one message each: per-block costs stay off the reading thread.
struct Job {
    /// The first block's number, and each block's entry and output buffer.
    first: usize,
    entries: Vec<Entry>,
    outs: Vec<Vec<u8>>,
    /// The compressed bytes, from the first block's start to the last one's end.
    raw: Vec<u8>,
}

/// A worker's answer: each block's result, in order, up to the first failure (the blocks
/// after it are left undecoded).
struct Done {
    job: Job,
    decoded: Vec<Result<()>>,
}

/// A batch holds blocks until it has this much content.
const BATCH_CONTENT: u64 = 1 << 20;

/// Worker threads decoding the blocks after the one being read, so that a sequential reader
/// finds them decoded: the reading thread reads their compressed bytes (the inner reader
/// stays on its thread) and copies out, the workers decode. At most `depth` blocks are in
/// flight; their results wait in the cache.
struct ReadAhead {
    jobs: Option<mpsc::Sender<Job>>,
    /// The workers' queue, which the reading thread also takes jobs from while it waits.
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    done: mpsc::Receiver<Done>,
    threads: Vec<std::thread::JoinHandle<()>>,
    in_flight: Vec<usize>,
    /// Jobs (batches) sent and not yet received.
    jobs_out: usize,
    /// The most blocks in flight or decoded ahead: the window is `[block, block + depth)`.
    depth: usize,
    /// The most jobs out at once (each holds a compressed-bytes buffer).
    max_jobs: usize,
    /// The most a job's compressed bytes span.
    span: usize,
    /// The next block to hand out.
    horizon: usize,
}

/// How far a read-ahead goes: blocks ahead, worker threads, jobs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan {
    depth: usize,
    workers: usize,
    max_jobs: usize,
    /// The most a job's compressed bytes span.
    span: usize,
}

/// What one decoder is counted as beyond its block's window (its state, xz's framed copy of
/// the block is counted with the block's compressed bytes).
const CODEC_STATE: u64 = 512 << 10;

impl Plan {
    /// The deepest read-ahead (at least two blocks: the one read and one ahead) whose memory
    /// fits in `max_memory` with the index and a cache of `cache_blocks`; `None` when none
    /// does. Aims at a few MiB per thread ahead (`2 × threads` blocks at least, 256 at most).
    ///
    /// Memory, with `d` and `c` the largest block's content and compressed sizes (buffers
    /// grow exactly, to one block's size at most):
    /// - decoded blocks: the cache and the blocks in flight together are at most
    ///   `max(cache_blocks, depth + 1)` buffers (see `make_room_for`);
    /// - compressed bytes: one buffer per job out, each at most a batch's span (under
    ///   `BATCH_CONTENT` and a block, or `depth` blocks), and the reading thread's one;
    /// - decoders: each worker's and the reading thread's, a window (a block) and its state,
    ///   and xz's copy of the block framed as a stream.
    fn fit(
        threads: usize,
        cache_blocks: usize,
        entries: &[Entry],
        (d, c): (usize, usize),
        max_memory: u64,
    ) -> Option<Plan> {
        let (d, c) = (d.max(1) as u64, c.max(1) as u64);
        let typical = entries.iter().take(8).map(|e| e.d_len).max().unwrap_or(1).max(1);
        let aim = (2 * threads).max(((4 << 20) * threads as u64 / typical) as usize).min(256);
        let index = std::mem::size_of_val(entries) as u64;
        let plan = |depth: usize| {
            let workers = threads.min(depth);
            let span = BATCH_CONTENT.saturating_add(c).min((depth as u64).saturating_mul(c));
            // jobs enough to cover the window in batches of `BATCH_CONTENT` (small blocks), and
            // one block each at most (large ones)
            let batches = (depth as u64).saturating_mul(typical).div_ceil(BATCH_CONTENT) as usize;
            Plan { depth, workers, max_jobs: (batches + workers).min(depth), span: span as usize }
        };
        let bytes = |p: Plan| -> u64 {
            let decoded = (cache_blocks.max(p.depth + 1) as u64).saturating_mul(d);
            let raw = (p.max_jobs as u64).saturating_mul(p.span as u64).saturating_add(c);
            let codecs =
                (p.workers as u64 + 1).saturating_mul(d.saturating_add(c).saturating_add(CODEC_STATE));
            index.saturating_add(decoded).saturating_add(raw).saturating_add(codecs)
        };
        (2..=aim.max(2)).rev().map(plan).find(|&p| bytes(p) <= max_memory)
    }
}

impl ReadAhead {
    fn new(plan: Plan, recipe: &Recipe) -> Result<Self> {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel();
        let mut handles = Vec::with_capacity(plan.workers);
        for i in 0..plan.workers {
            let (jobs, done, mine) = (job_rx.clone(), done_tx.clone(), recipe.clone());
            let handle = std::thread::Builder::new()
                .name(format!("compressio-seek-{i}"))
                .spawn(move || {
                    let mut worker = Worker::new();
                    loop {
                        let job = match jobs.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        if done.send(run_job(&mut worker, &mine, job)).is_err() {
                            return;
                        }
                    }
                })
                .map_err(|e| Error::backend(recipe.format, format!("cannot start a thread: {e}")))?;
            handles.push(handle);
        }
        Ok(ReadAhead {
            jobs: Some(job_tx),
            queue: job_rx,
            done: done_rx,
            threads: handles,
            in_flight: Vec::new(),
            jobs_out: 0,
            depth: plan.depth,
            max_jobs: plan.max_jobs,
            span: plan.span,
            horizon: 0,
        })
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.jobs = None; // the workers stop at the closed channel
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

/// `R` as a [`Source`]: seek, then read exactly.
struct SourceOf<'a, R> {
    inner: &'a mut R,
    len: u64,
}

impl<R: Read + Seek> Source for SourceOf<'_, R> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(pos))?;
        self.inner.read_exact(buf)
    }
}

fn index_error(format: Format, e: IndexError) -> Error {
    match e {
        IndexError::Io(e) => Error::Io(e),
        IndexError::Data(fault) => Error::from_fault(format, fault),
    }
}

impl<R: Read + Seek> SeekableDecoder<R> {
    /// Open a seekable stream, its format detected from its first bytes, with the default
    /// [`Config`].
    pub fn new(inner: R) -> Result<Self> {
        Self::with_config(inner, &Config::default())
    }

    /// Open a seekable stream with `config`'s limits ([`max_memory`](Config::max_memory)
    /// bounds the index and each block), [`threads`](Config::threads) and buffer pool.
    pub fn with_config(mut inner: R, config: &Config) -> Result<Self> {
        let file_len = inner.seek(SeekFrom::End(0))?;
        let mut prefix = [0u8; 16];
        let n = prefix.len().min(usize::try_from(file_len).unwrap_or(usize::MAX));
        inner.seek(SeekFrom::Start(0))?;
        inner.read_exact(&mut prefix[..n])?;
        let format = match Format::detect(&prefix[..n]) {
            Some(format) => format,
            // an empty seekable zstd stream is its seek table alone
            None if skippable::matches(&prefix[..n]) == Match::Yes => {
                Format::skippable_owner().ok_or(Error::UnknownFormat)?
            }
            None => return Err(Error::UnknownFormat),
        };
        let settings = config.resolve(format, Direction::Decompress)?;
        let access = format.spec().codec.and_then(|c| c.random_access).ok_or_else(|| {
            Error::unsupported(format, format!("no index: {format} streams have no seekable layout"))
        })?;
        let mut source = SourceOf { inner: &mut inner, len: file_len };
        let index =
            (access.read_index)(&mut source, settings.max_memory).map_err(|e| index_error(format, e))?;
        let mut block_config = config.clone();
        block_config.threads = None;
        block_config.max_output = None;
        block_config.single_stream = false;
        block_config.seekable = None;
        let threads = settings.threads.unwrap_or(1).max(1);
        let largest = |size: fn(&Entry) -> u64| {
            let most = index.entries.iter().map(size).max().unwrap_or(0);
            usize::try_from(most).unwrap_or(usize::MAX)
        };
        let largest = (largest(|e| e.d_len), largest(|e| e.c_len));
        Ok(SeekableDecoder {
            inner,
            file_len,
            format,
            index,
            recipe: Recipe { format, access, config: block_config, largest },
            max_memory: settings.max_memory,
            threads,
            pos: 0,
            cache: Vec::new(),
            cache_blocks: 1,
            tick: 0,
            next_block: 0,
            inline: Worker::new(),
            ahead: None,
            raw: Vec::new(),
            spare: Vec::new(),
            spare_raw: Vec::new(),
        })
    }

    /// The uncompressed size, from the index.
    pub fn len(&self) -> u64 {
        self.index.len
    }

    /// Whether the content is empty.
    pub fn is_empty(&self) -> bool {
        self.index.len == 0
    }

    /// The format, detected when opening.
    pub fn format(&self) -> Format {
        self.format
    }

    /// How many blocks the index lists.
    pub fn block_count(&self) -> usize {
        self.index.entries.len()
    }

    /// The compressed file's size.
    pub fn compressed_len(&self) -> u64 {
        self.file_len
    }

    /// Keep up to `blocks` decoded blocks (at least 1; default 1). With threads, the blocks
    /// decoded ahead of a sequential reader are kept too, as many as fit in
    /// [`Config::max_memory`] beside these.
    pub fn cache_blocks(mut self, blocks: usize) -> Self {
        self.cache_blocks = blocks.max(1);
        self
    }

    /// Read from content offset `pos` into `buf`, without moving the cursor that `Read` and
    /// `Seek` use: as many bytes as `buf` holds or the content has (0 at or past the end).
    pub fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let at = pos + done as u64;
            let Some(block) = self.index.find(at) else { break };
            let slot = self.cached(block, buf.len() - done)?;
            let entry = self.index.entries[block];
            let data = &self.cache[slot].data;
            let from = (at - entry.d_off) as usize;
            let n = (data.len() - from).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&data[from..from + n]);
            done += n;
        }
        Ok(done)
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader. Reading or seeking it is harmless: every read seeks first.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader back.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The cache slot holding `block`, decoding it first if needed; a sequential reader (or a
    /// read larger than the block) with threads also gets the next blocks decoded ahead.
    /// `wanted`: how much the read still wants from here on.
    fn cached(&mut self, block: usize, wanted: usize) -> Result<usize> {
        let entry = self.index.entries[block];
        let reading_on = block == self.next_block || wanted as u64 > entry.d_len;
        self.next_block = block + 1;
        if self.threads > 1 && reading_on {
            self.read_ahead(block)?;
        }
        self.tick += 1;
        if let Some(slot) = self.slot(block) {
            self.cache[slot].used = self.tick;
            return Ok(slot);
        }
        if self.ahead.as_ref().is_some_and(|a| a.in_flight.contains(&block)) {
            self.receive_until(block)?;
            if let Some(slot) = self.slot(block) {
                return Ok(slot);
            }
            // its worker failed: decode it here, for the error and where it was
        }
        self.decode_inline(block)
    }

    fn slot(&self, block: usize) -> Option<usize> {
        self.cache.iter().position(|c| c.block == block)
    }

    /// Make room for `more` blocks (decoded here, or sent ahead): the cache and the blocks in
    /// flight stay within `max(cache_blocks, depth + 1)` buffers. Blocks outside the read-ahead
    /// window (from the block being read to the last one handed out) go first, least recently
    /// used first, so that blocks decoded ahead and not read yet stay.
    fn make_room_for(&mut self, more: usize) {
        let (depth, in_flight, window) = match &self.ahead {
            Some(a) => (a.depth, a.in_flight.len(), self.next_block.saturating_sub(1)..a.horizon),
            None => (0, 0, 0..0),
        };
        let cap = self.cache_blocks.max(depth + 1);
        while !self.cache.is_empty() && self.cache.len() + in_flight + more > cap {
            let victim = (0..self.cache.len())
                .min_by_key(|&i| (window.contains(&self.cache[i].block), self.cache[i].used))
                .unwrap_or(0);
            self.spare.push(self.cache.swap_remove(victim).data);
        }
    }

    fn insert(&mut self, block: usize, data: Vec<u8>) -> usize {
        self.make_room_for(1);
        self.tick += 1;
        self.cache.push(Cached { block, data, used: self.tick });
        self.cache.len() - 1
    }

    /// Check a block's size against the memory limit before its buffers exist.
    fn check_size(&self, entry: &Entry) -> Result<()> {
        if entry.c_len.saturating_add(entry.d_len) > self.max_memory {
            return Err(Error::LimitExceeded { limit: self.max_memory });
        }
        Ok(())
    }

    /// Read the compressed bytes `start..end` of the file (one block's, or a batch's) into
    /// `raw`.
    /// `raw` grows within `max`.
    fn read_raw(&mut self, start: u64, end: u64, raw: &mut Vec<u8>, max: usize) -> Result<()> {
        let len = (end - start) as usize;
        reserve_within(raw, len.saturating_sub(raw.len()), max);
        raw.resize(len, 0);
        self.inner.seek(SeekFrom::Start(start))?;
        self.inner.read_exact(raw)?;
        Ok(())
    }

    /// Decode `block` on this thread into the cache.
    fn decode_inline(&mut self, block: usize) -> Result<usize> {
        let entry = self.index.entries[block];
        self.check_size(&entry)?;
        let mut raw = std::mem::take(&mut self.raw);
        let read = self.read_raw(entry.c_off, entry.c_off + entry.c_len, &mut raw, self.recipe.largest.1);
        self.raw = raw;
        read?;
        self.make_room_for(1); // first, so that the evicted block's buffer is the one reused
        let mut data = self.spare.pop().unwrap_or_default();
        let blocks = self.index.entries.len();
        if let Err(e) = decode_block(&mut self.inline, &self.recipe, &entry, &self.raw, &mut data) {
            self.spare.push(data);
            return Err(block_error(self.format, block, blocks, e));
        }
        Ok(self.insert(block, data))
    }

    /// Keep the blocks after `block` decoded or in flight, up to the read-ahead depth.
    fn read_ahead(&mut self, block: usize) -> Result<()> {
        if self.ahead.is_none() {
            let (entries, largest) = (&self.index.entries, self.recipe.largest);
            match Plan::fit(self.threads, self.cache_blocks, entries, largest, self.max_memory) {
                Some(plan) => self.ahead = Some(ReadAhead::new(plan, &self.recipe)?),
                None => {
                    // not even two blocks fit: read on this thread alone
                    self.threads = 1;
                    return Ok(());
                }
            }
        }
        let Some(ahead) = &mut self.ahead else { return Ok(()) };
        // blocks before `horizon` were handed out already (unless the reader jumped)
        if ahead.horizon < block || ahead.horizon > block + ahead.depth {
            ahead.horizon = block;
        }
        let end = (block + ahead.depth).min(self.index.entries.len());
        loop {
            let Some(ahead) = self.ahead.as_mut().filter(|a| a.horizon < end) else { return Ok(()) };
            let room = ahead.depth.saturating_sub(ahead.in_flight.len());
            if room == 0 || ahead.jobs_out >= ahead.max_jobs {
                // full: blocks from before a seek are collected (oldest first) to make room;
                // otherwise the window fills as the reader moves on
                match ahead.in_flight.iter().copied().find(|b| !(block..end).contains(b)) {
                    Some(stale) => {
                        self.receive_until(stale)?;
                        continue;
                    }
                    None => return Ok(()),
                }
            }
            // the next batch: consecutive blocks neither cached nor in flight, up to
            // `BATCH_CONTENT` of content and of compressed bytes
            let first = ahead.horizon;
            let mut last = first;
            let mut content = 0u64;
            let start = self.index.entries[first].c_off;
            while last < end
                && last - first < room
                && content < BATCH_CONTENT
                && self.index.entries[last].c_off - start < BATCH_CONTENT
                && !ahead.in_flight.contains(&last)
            {
                let e = self.index.entries[last];
                let bytes = (e.c_off + e.c_len).saturating_sub(start).saturating_add(content + e.d_len);
                if self.cache.iter().any(|c| c.block == last) || bytes > self.max_memory {
                    break;
                }
                content += e.d_len;
                last += 1;
            }
            if last == end && end < self.index.entries.len() && content < BATCH_CONTENT && ahead.jobs_out > 0
            {
                // a small batch only because the window ends here: wait until a whole one
                // fits, so that jobs stay large (a sequential reader moves the window on by a
                // block at a time)
                return Ok(());
            }
            ahead.horizon = last.max(first + 1);
            if last == first {
                // cached or in flight already, or too large for memory (read inline, to report
                // it there)
                continue;
            }
            let span = ahead.span;
            let entries: Vec<Entry> = self.index.entries[first..last].to_vec();
            let stop = entries[entries.len() - 1].c_off + entries[entries.len() - 1].c_len;
            self.make_room_for(last - first);
            let mut raw = self.spare_raw.pop().unwrap_or_default();
            self.read_raw(start, stop, &mut raw, span)?;
            let outs = (first..last).map(|_| self.spare.pop().unwrap_or_default()).collect();
            let Some(ahead) = &mut self.ahead else { return Ok(()) };
            let job = Job { first, entries, outs, raw };
            if ahead.jobs.as_ref().is_none_or(|jobs| jobs.send(job).is_err()) {
                return Err(Error::backend(self.format, "the read-ahead threads are gone"));
            }
            ahead.in_flight.extend(first..last);
            ahead.jobs_out += 1;
        }
    }

    /// Collect workers' results into the cache until `block`'s has come.
    fn receive_until(&mut self, block: usize) -> Result<()> {
        loop {
            let Some(ahead) = &mut self.ahead else { return Ok(()) };
            if !ahead.in_flight.contains(&block) {
                return Ok(());
            }
            // rather than wait idle, decode a queued batch here (the workers may be busy with
            // the one awaited)
            let stolen = match ahead.done.try_recv() {
                Ok(done) => Some(done),
                Err(_) => {
                    let job = ahead.queue.try_lock().ok().and_then(|queue| queue.try_recv().ok());
                    job.map(|job| run_job(&mut self.inline, &self.recipe, job))
                }
            };
            let done = match stolen {
                Some(done) => done,
                None => ahead
                    .done
                    .recv()
                    .map_err(|_| Error::backend(self.format, "a read-ahead thread panicked"))?,
            };
            let Some(ahead) = &mut self.ahead else { return Ok(()) };
            let Done { job, decoded } = done;
            let blocks = job.first..job.first + job.entries.len();
            ahead.in_flight.retain(|b| !blocks.contains(b));
            ahead.jobs_out -= 1;
            self.spare_raw.push(job.raw);
            for (k, out) in job.outs.into_iter().enumerate() {
                match decoded.get(k) {
                    Some(Ok(())) => {
                        self.insert(job.first + k, out);
                    }
                    // failed or not reached: decoded again on the reading thread when read,
                    // which reports the error there
                    _ => self.spare.push(out),
                }
            }
        }
    }
}

/// Decode a batch's blocks in order, up to the first failure.
fn run_job(worker: &mut Worker, recipe: &Recipe, mut job: Job) -> Done {
    let base = job.entries.first().map_or(0, |e| e.c_off);
    let mut decoded = Vec::with_capacity(job.entries.len());
    for (entry, out) in job.entries.iter().zip(job.outs.iter_mut()) {
        let from = (entry.c_off - base) as usize;
        let result = decode_block(worker, recipe, entry, &job.raw[from..from + entry.c_len as usize], out);
        let failed = result.is_err();
        decoded.push(result);
        if failed {
            break;
        }
    }
    Done { job, decoded }
}

/// A block's data error, naming the block; other errors as they are.
fn block_error(format: Format, block: usize, blocks: usize, e: Error) -> Error {
    match e {
        Error::Io(_) | Error::LimitExceeded { .. } | Error::Backend { .. } => e,
        e => Error::corrupt(format, format!("block {block} of {blocks}: {e}")),
    }
}

/// Decode one block into `out`, exactly `entry.d_len` bytes of it.
fn decode_block(
    worker: &mut Worker,
    recipe: &Recipe,
    entry: &Entry,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let format = recipe.format;
    let input: &[u8] = match recipe.access.frame_block {
        Some(frame) => {
            frame(entry, bytes, &mut worker.framed);
            &worker.framed
        }
        None => bytes,
    };
    let core = match &mut worker.core {
        Some(core) => {
            core.reset();
            core
        }
        None => worker.core.insert(DecodeCore::new(Some(format), &recipe.config)?),
    };
    // every byte is overwritten by the decoder (checked below): no need to zero a reused buffer
    let len = entry.d_len as usize;
    if out.len() < len {
        reserve_within(out, len - out.len(), recipe.largest.0);
        out.resize(len, 0);
    }
    out.truncate(len);
    let mut input = InBuf::new(input);
    let mut filled = 0;
    let mut probe = [0u8; 1];
    loop {
        let dst = if filled < len { &mut out[filled..] } else { &mut probe[..] };
        match core.step(&mut input, true, dst)? {
            Step::Produced(n) if filled < len => filled += n,
            Step::Produced(_) => {
                return Err(Error::corrupt(format, "the block holds more than the index says"))
            }
            Step::End => break,
            Step::NeedInput => return Err(Error::Truncated { format }),
        }
    }
    if filled != len {
        return Err(Error::corrupt(format, format!("the block holds {filled} bytes, the index says {len}")));
    }
    if let (Some(expected), Some(check)) = (entry.checksum, recipe.access.check_block) {
        if !check(expected, bytes, out) {
            return Err(Error::corrupt(format, "the block's checksum in the index does not match"));
        }
    }
    Ok(())
}

impl<R: Read + Seek> Read for SeekableDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SeekableDecoder<R> {
    /// Moves the cursor over the content; past the end is allowed (reads there return 0).
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.index.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos =
            target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

impl<R> std::fmt::Debug for SeekableDecoder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeekableDecoder")
            .field("format", &self.format)
            .field("len", &self.index.len)
            .field("blocks", &self.index.entries.len())
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

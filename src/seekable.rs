//! `SeekableDecoder`: random access into seekable streams (zstd seekable format, BGZF, xz
//! with several blocks) through their index; see [`SeekableDecoder`].
//!
//! Opening reads only the index (the format's module knows where it is: `codec/seekable.rs`
//! has the shared types). A read finds the blocks it touches by binary search, reads each
//! one's compressed bytes with one positioned read and decodes it with the format's ordinary,
//! strict decoder (`DecodeCore`, reset and reused), so a block is checked like any member:
//! its checksum, its exact length, nothing after it. Decoded blocks stay in a small cache.

use std::io::{self, Read, Seek, SeekFrom};

use crate::codec::seekable::{Entry, Index, IndexError, RandomAccess, Source};
use crate::codec::spec::{skippable, Match};
use crate::codec::InBuf;
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
///   large read) decode the next `2 × n` blocks in parallel.
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
    access: RandomAccess,
    index: Index,
    /// What each block's decoder is built from (one thread, no output limit).
    block_config: Config,
    max_memory: u64,
    threads: usize,
    pos: u64,
    cache: Vec<Cached>,
    cache_blocks: usize,
    /// Age counter for the cache's least-recently-used eviction.
    tick: u64,
    /// The block after the last one read: reading it next is sequential.
    next_block: usize,
    /// One per thread: a decoder and its scratch.
    workers: Vec<Worker>,
    /// The compressed bytes of the blocks being decoded.
    raw: Vec<u8>,
    /// Buffers of evicted blocks, for the next ones.
    spare: Vec<Vec<u8>>,
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
        Ok(SeekableDecoder {
            inner,
            file_len,
            format,
            access,
            index,
            block_config,
            max_memory: settings.max_memory,
            threads,
            pos: 0,
            cache: Vec::new(),
            cache_blocks: 1,
            tick: 0,
            next_block: 0,
            workers: (0..threads).map(|_| Worker { core: None, framed: Vec::new() }).collect(),
            raw: Vec::new(),
            spare: Vec::new(),
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

    /// Keep up to `blocks` decoded blocks (at least 1; default 1). With threads, reads ahead
    /// keep `2 × threads` at least.
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

    /// The cache slot holding `block`, decoding it first (and, reading on, the blocks after
    /// it, with threads) if needed. `wanted`: how much the read still wants from here on.
    fn cached(&mut self, block: usize, wanted: usize) -> Result<usize> {
        self.tick += 1;
        if let Some(slot) = self.cache.iter().position(|c| c.block == block) {
            self.cache[slot].used = self.tick;
            self.next_block = block + 1;
            return Ok(slot);
        }
        let entry = self.index.entries[block];
        let reading_on = block == self.next_block || wanted as u64 > entry.d_len;
        let batch = if self.threads > 1 && reading_on { 2 * self.threads } else { 1 };
        let end = (block + batch).min(self.index.entries.len());
        // the blocks of the batch that are not cached yet, as one run of the file
        let mut last = block + 1;
        while last < end && !self.cache.iter().any(|c| c.block == last) {
            last += 1;
        }
        self.decode_run(block, last)?;
        self.next_block = block + 1;
        self.cache.iter().position(|c| c.block == block).ok_or_else(|| Error::backend(self.format, "cache"))
    }

    /// Decode blocks `first..last` (consecutive in the file) into the cache.
    fn decode_run(&mut self, first: usize, last: usize) -> Result<()> {
        let entries = &self.index.entries[first..last];
        let (start, end) =
            (entries[0].c_off, entries[entries.len() - 1].c_off + entries[entries.len() - 1].c_len);
        let content: u64 = entries.iter().map(|e| e.d_len).sum();
        if (end - start).saturating_add(content) > self.max_memory {
            if last - first > 1 {
                return self.decode_run(first, first + 1);
            }
            return Err(Error::LimitExceeded { limit: self.max_memory });
        }
        self.raw.resize((end - start) as usize, 0);
        self.inner.seek(SeekFrom::Start(start))?;
        self.inner.read_exact(&mut self.raw)?;
        // room in the cache: evict the least recently used, keeping their buffers for reuse
        let keep = self.cache_blocks.max(last - first);
        while self.cache.len() + (last - first) > keep {
            let oldest = (0..self.cache.len()).min_by_key(|&i| self.cache[i].used).unwrap_or(0);
            self.spare.push(self.cache.swap_remove(oldest).data);
        }
        let (format, access, config, raw) = (self.format, self.access, &self.block_config, &self.raw[..]);
        if self.workers.len() == 1 || last - first == 1 {
            // one thread: straight into the cache, no allocation once the buffers exist
            for (i, entry) in entries.iter().enumerate() {
                let mut data = self.spare.pop().unwrap_or_default();
                let bytes =
                    &raw[(entry.c_off - start) as usize..(entry.c_off - start + entry.c_len) as usize];
                if let Err(e) =
                    decode_block(&mut self.workers[0], format, &access, config, entry, bytes, &mut data)
                {
                    self.spare.push(data);
                    return if i == 0 {
                        Err(block_error(format, first, self.index.entries.len(), e))
                    } else {
                        Ok(())
                    };
                }
                self.tick += 1;
                self.cache.push(Cached { block: first + i, data, used: self.tick });
            }
            return Ok(());
        }
        let mut outputs: Vec<Vec<u8>> = (first..last).map(|_| self.spare.pop().unwrap_or_default()).collect();
        let results: Vec<(usize, Result<()>)> = {
            let n = self.workers.len();
            let mut jobs: Vec<Vec<(usize, &Entry, &mut Vec<u8>)>> = (0..n).map(|_| Vec::new()).collect();
            for (i, (entry, out)) in entries.iter().zip(outputs.iter_mut()).enumerate() {
                jobs[i % n].push((i, entry, out));
            }
            std::thread::scope(|scope| {
                let handles: Vec<_> = self
                    .workers
                    .iter_mut()
                    .zip(jobs)
                    .map(|(worker, jobs)| {
                        scope.spawn(move || {
                            let mut results = Vec::new();
                            for (i, entry, out) in jobs {
                                let from = (entry.c_off - start) as usize;
                                let bytes = &raw[from..from + entry.c_len as usize];
                                results.push((
                                    i,
                                    decode_block(worker, format, &access, config, entry, bytes, out),
                                ));
                            }
                            results
                        })
                    })
                    .collect();
                let mut all = Vec::new();
                for handle in handles {
                    match handle.join() {
                        Ok(results) => all.extend(results),
                        Err(_) => all.push((0, Err(Error::backend(format, "a decoding thread panicked")))),
                    }
                }
                all.sort_by_key(|(i, _)| *i);
                all
            })
        };
        // blocks before the first failure are cached; the failure is reported if it is the
        // block asked for (a read-ahead block's is reported when that block is read)
        let mut outcome = Ok(());
        for (k, (i, result)) in results.into_iter().enumerate() {
            match result {
                Ok(()) if k == i => {
                    self.tick += 1;
                    let data = std::mem::take(&mut outputs[i]);
                    self.cache.push(Cached { block: first + i, data, used: self.tick });
                }
                // a gap (k != i): a thread panicked, and its report sorted first
                Ok(()) => break,
                Err(e) => {
                    if k == 0 {
                        outcome = Err(block_error(format, first + i, self.index.entries.len(), e));
                    }
                    break;
                }
            }
        }
        self.spare.extend(outputs.into_iter().filter(|o| o.capacity() > 0));
        outcome
    }
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
    format: Format,
    access: &RandomAccess,
    config: &Config,
    entry: &Entry,
    bytes: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let input: &[u8] = match access.frame_block {
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
        None => worker.core.insert(DecodeCore::new(Some(format), config)?),
    };
    out.clear();
    out.resize(entry.d_len as usize, 0);
    let mut input = InBuf::new(input);
    let mut filled = 0;
    let mut probe = [0u8; 1];
    loop {
        let dst = if filled < out.len() { &mut out[filled..] } else { &mut probe[..] };
        match core.step(&mut input, true, dst)? {
            Step::Produced(n) if filled < out.len() => filled += n,
            Step::Produced(_) => {
                return Err(Error::corrupt(format, "the block holds more than the index says"))
            }
            Step::End => break,
            Step::NeedInput => return Err(Error::Truncated { format }),
        }
    }
    if filled != out.len() {
        return Err(Error::corrupt(
            format,
            format!("the block holds {filled} bytes, the index says {}", out.len()),
        ));
    }
    if let (Some(expected), Some(checksum)) = (entry.checksum, access.block_checksum) {
        if checksum(out) != expected {
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

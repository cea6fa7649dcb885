//! Threaded bzip2 decoding (`Config::threads(n)` on a decoder, n ≥ 2), of every stream:
//! single-stream files (`bzip2`, `lbzip2`) and many-stream files (`pbzip2`, our own
//! `threads(n)` encoder) alike.
//!
//! The caller's thread splits the input into blocks by their magics (`split.rs`) and hands
//! each block, with the block after it as a lookahead, to the parallel engine's workers
//! (`codec/parallel.rs`). A worker decodes the block as a one-block stream with libbz2 — the
//! same decoder, with the same checks, as one thread uses — and, if it does not decode alone
//! (a magic that was only a chance match in the compressed data cut it short), the block
//! joined with its lookahead. Results come back in order; the caller's thread checks each
//! stream's combined CRC from its blocks' CRCs and writes the output out.
//!
//! - **Same output, same errors.** A bad block is reported after exactly the output one
//!   thread gives before it (libbz2's output for the blocks before it, and whatever libbz2
//!   makes of the bad block itself); errors found while splitting (a bad next stream header,
//!   a block longer than any valid block) wait in line behind the blocks before them.
//! - **Members.** Unless `single_stream` is set, a stream that ends and is followed directly
//!   by another bzip2 stream header goes on in the same call, so that the blocks of
//!   one-block streams (pbzip2) decode in parallel too; the decoder stops at the end of the
//!   last stream having consumed exactly its bytes, and what follows is the adapter's.
//! - **Memory.** At most `2 × threads` blocks in flight, each a block and its lookahead in and
//!   at most twice the level's block size out: a block that decodes to more (long runs) is
//!   handed back, libbz2 and all, and finished on the caller's thread. The input is held
//!   from the oldest block in flight on (a fallback may start there). No thread starts before
//!   a stream turns out to hold more than one block, or a second stream follows: a one-block
//!   message decodes on the caller's thread.
//! - **Chance magics.** A block magic inside a block's data cuts it in two: the first part does
//!   not decode alone, so the worker joins it with its lookahead, and the second part's job is
//!   dropped. An end magic inside a stream's data ends the stream early: its last block then
//!   does not decode, and the splitter takes the stream up again from that block, the magic
//!   counted as data. Whenever libbz2 reads past a block into the bits a job added (a corrupt
//!   block, mostly), what it would make of the real bits that follow decides the verdict: the
//!   caller's thread decodes on from that block as one thread does (`Fallback`). Left as an
//!   error: two chance block magics in one block within a lookahead (about 2^-96 per bit),
//!   and a stream end that a fallback reaches (a chance end magic that the splitter could not
//!   take back, because it had gone on past it).

use std::collections::VecDeque;

use bzip2::Decompress;

use super::replay::{Fallback, Replay, Staging, SCRATCH};
use super::split::{find_magic, read_bits, Magic};
use super::stream::DATA_ERROR;
use super::worker::{output_cap, piece_max, Piece, PieceDecoder, CHANCE_END, JOB_HEADER, SMALL, TAIL};
use super::{decompressor_bytes, matches, small_mode, BLOCK_MAGIC, END_MAGIC, HEADER};
use crate::codec::parallel::{buffer_bytes, drain_block, Block, Parallel};
use crate::codec::spec::Match;
use crate::codec::{CodecResult, Decode, Decoded, Fault, HoldsOutput, InBuf, OutBuf};
use crate::settings::Settings;

/// Input is taken at most this much at a time.
const CHUNK: usize = 256 << 10;
/// What the caller's thread does next with the results, in stream order.
enum Event {
    /// The next job's result: the block from bit `start`, of a level-`level` stream.
    Piece { start: u64, level: u8, small: bool },
    /// A stream ended with this combined CRC.
    StreamEnd { stored: u32, end_bit: u64 },
    /// The splitter found the input bad here.
    Fault(Fault),
}

/// Where the splitter is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scan {
    /// At a stream header (the first of the member, or one that `Between` found).
    Header,
    /// Inside a stream, looking for magics.
    Blocks,
    /// After the end magic, for the combined CRC.
    Trailer,
    /// A stream has ended: is another one next?
    Between,
    /// Done: no more input is taken.
    Stopped,
}

/// The threaded decoder.
pub(super) struct ThreadedDecoder {
    settings: Settings,
    /// Go on through directly following streams (not `single_stream`).
    follow: bool,
    /// Held back (jobs decoded on the caller's thread) until the threads are worth starting
    /// (see the module docs).
    engine: Parallel<PieceDecoder>,
    /// Jobs submitted since the member began.
    jobs: u64,

    // the splitter; positions count from the member's first byte
    /// The input from byte `base` on that the next jobs need.
    raw: Vec<u8>,
    base: u64,
    scan: Scan,
    /// Where the magic search resumes (byte) and the first bit a magic may start at.
    next_byte: u64,
    min_bit: u64,
    /// The current stream's header (byte), level and libbz2 mode.
    stream_start: u64,
    level: u32,
    small: bool,
    /// Block magics found and not yet submitted as the start of a job.
    bounds: VecDeque<u64>,
    /// The current stream's end magic, once found.
    end_bit: Option<u64>,
    /// No more bounds come for the current stream (it ended, or the splitter failed, or the
    /// input did); `tail` goes in line after its last job.
    closed: bool,
    tail: Option<Event>,
    /// The input ended inside the member (`end_of_input`).
    input_ended: bool,

    // the results, in order
    events: VecDeque<Event>,
    combined: u32,
    /// The next result belongs to a block that the previous one was joined with.
    swallow: bool,
    writing: Option<(Block<Piece>, Option<Fault>)>,
    replay: Option<Replay>,
    fallback: Option<Fallback>,
    deferred: Option<Fault>,
    /// Block magics the splitter pretends to find (chance matches, for the tests).
    #[cfg(test)]
    fakes: Vec<(u64, Magic)>,
}

fn engine(threads: usize) -> CodecResult<Parallel<PieceDecoder>> {
    let piece = || Ok(PieceDecoder { stream: Vec::new() });
    Parallel::new(threads, CHUNK, 0, piece)?.hold(piece)
}

/// The most the threaded decoder holds for `threads` workers at level `level`.
pub(super) fn memory(level: u32, threads: usize) -> usize {
    let piece = piece_max(level);
    let job = JOB_HEADER + 2 * piece;
    let out = output_cap(level).max(2 * piece + 64);
    // the input held: every block in flight, the next two, and as much again before a trim
    let held = 2 * (2 * threads + 3) * piece + CHUNK;
    buffer_bytes(threads, job, 0, out)
        + threads * (decompressor_bytes(level, false) + 2 * piece)
        + held
        + decompressor_bytes(level, false)
        + 2 * SCRATCH
}

impl ThreadedDecoder {
    pub fn new(settings: &Settings, threads: usize) -> CodecResult<Self> {
        Ok(ThreadedDecoder {
            settings: settings.clone(),
            follow: !settings.single_stream,
            engine: engine(threads)?,
            jobs: 0,
            raw: Vec::new(),
            base: 0,
            scan: Scan::Header,
            next_byte: 0,
            min_bit: 0,
            stream_start: 0,
            level: 9,
            small: false,
            bounds: VecDeque::new(),
            end_bit: None,
            closed: false,
            tail: None,
            input_ended: false,
            events: VecDeque::new(),
            combined: 0,
            swallow: false,
            writing: None,
            replay: None,
            fallback: None,
            deferred: None,
            #[cfg(test)]
            fakes: Vec::new(),
        })
    }

    /// A fake magic before what the scan found, if any (and the scan resumes after it).
    #[cfg(test)]
    fn fake_magic(&mut self, found: Option<(u64, Magic)>) -> Option<(u64, Magic)> {
        let scanned = 8 * (self.base + self.raw.len() as u64 - 7);
        let before = found.map_or(scanned, |(bit, _)| bit);
        let fake = self
            .fakes
            .iter()
            .copied()
            .filter(|&(f, _)| f >= self.min_bit && f < before)
            .min_by_key(|&(f, _)| f);
        match fake {
            Some((bit, magic)) => {
                self.next_byte = bit / 8;
                Some((bit, magic))
            }
            None => found,
        }
    }

    /// Index into `raw` of absolute byte `at`.
    fn rel(&self, at: u64) -> usize {
        (at - self.base) as usize
    }

    /// The splitter failed: the blocks before this point still decode, then `fault`.
    fn fail(&mut self, fault: Fault) {
        self.closed = true;
        self.tail = Some(Event::Fault(fault));
        self.scan = Scan::Stopped;
    }

    /// Take input into the splitter. True if anything changed.
    fn take(&mut self, input: &mut InBuf<'_>) -> CodecResult<bool> {
        match self.scan {
            Scan::Stopped => Ok(false),
            Scan::Between => {
                if !self.bounds.is_empty() || self.end_bit.is_some() {
                    return Ok(false); // the last stream's jobs first
                }
                let rest = input.rest();
                if !self.follow {
                    self.scan = Scan::Stopped;
                } else if rest.len() >= 10 {
                    let next = matches(&rest[..10]) == Match::Yes;
                    self.scan = if next { Scan::Header } else { Scan::Stopped };
                } else if input.last || input.room < 10 {
                    self.scan = Scan::Stopped;
                } else {
                    return Ok(false); // wait for enough to decide
                }
                Ok(true)
            }
            Scan::Header | Scan::Blocks | Scan::Trailer => {
                let n = input.rest().len().min(CHUNK);
                if n == 0 {
                    return Ok(false);
                }
                let before = self.raw.len();
                self.raw.extend_from_slice(&input.rest()[..n]);
                let used = self.split(before)?;
                input.advance(used);
                Ok(true)
            }
        }
    }

    /// Look through the bytes from `raw[before..]` on; returns how many of them belong to
    /// the member (all, unless a stream ended among them).
    fn split(&mut self, before: usize) -> CodecResult<usize> {
        let all = self.raw.len() - before;
        loop {
            match self.scan {
                Scan::Header => {
                    let at = self.rel(self.stream_start);
                    let head = &self.raw[at..self.raw.len().min(at + 10)];
                    // judged as one thread judges it: the first 4 bytes at once, then the
                    // magic byte by byte, as libbz2 reads it
                    let magic = |m: &[u8]| head.len() > 4 && head[4..] == m[..head.len() - 4];
                    let bad = head.len() >= 4 && head[..3] != HEADER;
                    let bad_level = head.len() >= 4 && !(b'1'..=b'9').contains(&head[3]);
                    let bad_magic = head.len() > 4 && !magic(&BLOCK_MAGIC) && !magic(&END_MAGIC);
                    if head.len() < 10 && !bad && !bad_level && !bad_magic {
                        return Ok(all);
                    }
                    if bad {
                        self.fail(Fault::corrupt("not a bzip2 stream (bad magic bytes)"));
                        return Ok(all);
                    }
                    if bad_level {
                        self.fail(Fault::corrupt("invalid block size in the stream header"));
                        return Ok(all);
                    }
                    if bad_magic {
                        self.fail(Fault::corrupt(DATA_ERROR));
                        return Ok(all);
                    }
                    let level = u32::from(head[3] - b'0');
                    let Some(small) = small_mode(level, &self.settings) else {
                        self.fail(Fault::Limit(self.settings.max_memory));
                        return Ok(all);
                    };
                    let magic = 8 * (self.stream_start + 4);
                    if head[4..] == BLOCK_MAGIC {
                        self.bounds.push_back(magic);
                        self.min_bit = magic + 48;
                        self.next_byte = self.stream_start + 4;
                        self.scan = Scan::Blocks;
                    } else {
                        self.end_bit = Some(magic);
                        self.scan = Scan::Trailer;
                    }
                    (self.level, self.small) = (level, small);
                }
                Scan::Blocks => {
                    let from = self.rel(self.next_byte);
                    let (found, next) = find_magic(&self.raw, from, self.min_bit - 8 * self.base);
                    self.next_byte = self.base + next as u64;
                    let found = found.map(|(bit, magic)| (bit + 8 * self.base, magic));
                    #[cfg(test)]
                    let found = self.fake_magic(found);
                    let last = self.bounds.back().copied().unwrap_or(0);
                    let reach = found.map_or(8 * (self.base + self.raw.len() as u64), |(bit, _)| bit);
                    if reach - last > 8 * piece_max(self.level) as u64 {
                        self.fail(Fault::corrupt("a block is longer than any valid bzip2 block"));
                        return Ok(all);
                    }
                    match found {
                        None => return Ok(all),
                        Some((_, Magic::Block)) => {
                            self.bounds.push_back(reach);
                            self.min_bit = reach + 48;
                        }
                        Some((_, Magic::End)) => {
                            self.end_bit = Some(reach);
                            self.scan = Scan::Trailer;
                        }
                    }
                }
                Scan::Trailer => {
                    let Some(end) = self.end_bit else { return Ok(all) };
                    let stream_end = (end + 80).div_ceil(8);
                    if self.base + (self.raw.len() as u64) < stream_end {
                        return Ok(all);
                    }
                    let stored = read_bits(&self.raw, end + 48 - 8 * self.base, 32) as u32;
                    self.closed = true;
                    self.tail = Some(Event::StreamEnd { stored, end_bit: end });
                    // what follows the stream is not taken until `Between` has decided
                    let keep = self.rel(stream_end);
                    self.raw.truncate(keep);
                    self.stream_start = stream_end;
                    self.scan = Scan::Between;
                    return Ok(keep.saturating_sub(before));
                }
                Scan::Between | Scan::Stopped => return Ok(all),
            }
        }
    }

    /// Make room for a job (starting the threads once they are worth it); false if there is
    /// none now.
    fn make_room(&mut self, lookahead: bool) -> CodecResult<bool> {
        if lookahead || self.jobs > 0 {
            self.engine.release();
        }
        Ok(self.engine.has_room())
    }

    /// Submit every job whose block (and lookahead) is complete, as far as there is room;
    /// then the stream's tail event. True if a job is ready but there is no room.
    fn submit_ready(&mut self) -> CodecResult<bool> {
        loop {
            let end = self.end_bit;
            let piece_end = self.bounds.get(1).copied().or(end.filter(|_| self.bounds.len() == 1));
            let (Some(&start), Some(piece_end)) = (self.bounds.front(), piece_end) else {
                if let (true, &[start]) =
                    (self.input_ended && self.end_bit.is_none(), self.bounds.as_slices().0)
                {
                    // the block the input ends in: what of it is there
                    if !self.make_room(false)? {
                        return Ok(true);
                    }
                    let whole = (8 * (self.base + self.raw.len() as u64) - start) / 8 * 8;
                    self.submit_job(start, whole, 0, TAIL)?;
                    self.bounds.clear();
                }
                if self.closed {
                    // the rest (an incomplete block, if the input or the splitter failed)
                    // is never submitted
                    self.bounds.clear();
                    if let Some(event) = self.tail.take() {
                        self.events.push_back(event);
                    }
                    self.end_bit = None;
                    self.closed = false;
                }
                return Ok(false);
            };
            let look_end = match self.bounds.len() {
                1 => None,
                2 => end,
                _ => self.bounds.get(2).copied(),
            };
            if self.bounds.len() > 1 && look_end.is_none() && !self.closed {
                return Ok(false); // wait for the lookahead
            }
            if !self.make_room(look_end.is_some())? {
                return Ok(true);
            }
            let (alone, look) = (piece_end - start, look_end.map_or(0, |e| e - piece_end));
            self.submit_job(start, alone, look, 0)?;
            self.bounds.pop_front();
            self.trim_raw();
        }
    }

    /// Drop the input that no job and no fallback can need any more: what precedes the
    /// oldest block whose result is still to come (a fallback starts there), or else the
    /// next block, or else the current stream. Only when that is at least half of what is
    /// held, so that the copying stays linear.
    fn trim_raw(&mut self) {
        let oldest = self.events.iter().find_map(|e| match e {
            Event::Piece { start, .. } => Some(*start),
            _ => None,
        });
        let keep_bit = oldest.or(self.bounds.front().copied()).unwrap_or(8 * self.stream_start);
        let keep_from = (keep_bit / 8).clamp(self.base, self.base + self.raw.len() as u64);
        let drop = self.rel(keep_from);
        if drop > 0 && 2 * drop >= self.raw.len() {
            self.raw.drain(..drop);
            self.base += drop as u64;
        }
    }

    /// A stream's last block, from bit `start`, overran: the end magic that ended it may be a
    /// chance match in its data. If nothing after that stream's end has been taken, take the
    /// stream up again from the block, the end magic counted as data; true if so.
    fn reopen(&mut self, start: u64) -> bool {
        let Some(&Event::StreamEnd { end_bit, .. }) = self.events.front() else { return false };
        let nothing_after = self.events.len() == 1
            && self.bounds.is_empty()
            && self.tail.is_none()
            && matches!(self.scan, Scan::Between | Scan::Stopped)
            && self.base + self.raw.len() as u64 == self.stream_start
            && start / 8 >= self.base;
        if !nothing_after {
            return false;
        }
        self.events.clear();
        self.bounds.push_back(start);
        (self.min_bit, self.next_byte) = (end_bit + 1, end_bit / 8);
        (self.end_bit, self.closed) = (None, false);
        self.scan = Scan::Blocks;
        true
    }

    /// A block overran (`Piece::Overran`): drop everything after it, and decode on from its
    /// start as one thread does. `written`: what of it is being written out already.
    fn fall_back(&mut self, start: u64, level: u8, small: bool, written: usize) -> CodecResult<()> {
        self.engine.reset()?;
        self.events.clear();
        self.bounds.clear();
        (self.end_bit, self.closed, self.tail, self.swallow) = (None, false, None, false);
        self.scan = Scan::Stopped;
        let at = self.rel(start / 8);
        let mut fed = Vec::with_capacity(SCRATCH);
        fed.extend_from_slice(&HEADER);
        fed.push(b'0' + level);
        self.fallback = Some(Fallback {
            bz: Decompress::new(small),
            staging: Staging::new(0, written as u64),
            shift: (start % 8) as u32,
            carry: self.raw[at],
            fed,
            fed_pos: 0,
            raw_pos: at + 1,
            finished: false,
            fault: None,
        });
        Ok(())
    }

    /// Decode on as one thread would (see `Fallback`).
    fn fall_back_step(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        self.write_out(output, false)?; // the overrun block's output first
        if self.writing.is_some() {
            return Ok(Decoded::OutputFull);
        }
        let Some(fb) = &mut self.fallback else { return Ok(Decoded::InputEmpty) };
        loop {
            if !fb.staging.drain(output) {
                return Ok(Decoded::OutputFull);
            }
            if let Some(fault) = fb.fault.take() {
                return Err(fault);
            }
            if fb.fed_pos == fb.fed.len() && !fb.refill(&self.raw, input) {
                return Ok(Decoded::InputEmpty);
            }
            let (used, _, result) = fb.staging.decode(&mut fb.bz, &fb.fed[fb.fed_pos..]);
            fb.fed_pos += used;
            match result {
                Ok(false) => {}
                Ok(true) => fb.fault = Some(Fault::corrupt(CHANCE_END)),
                Err(fault) => fb.fault = Some(fault),
            }
        }
    }

    /// Submit the block of `alone` bits from bit `start`, with `look` bits of lookahead.
    fn submit_job(&mut self, start: u64, alone: u64, look: u64, flags: u8) -> CodecResult<()> {
        let (from, to) = (self.rel(start / 8), self.rel((start + alone + look).div_ceil(8)));
        let flags = flags | if self.small { SMALL } else { 0 };
        let job = self.engine.current_mut();
        job.clear();
        job.extend_from_slice(&[self.level as u8, flags, (start % 8) as u8]);
        job.extend_from_slice(&alone.to_le_bytes());
        job.extend_from_slice(&look.to_le_bytes());
        job.extend_from_slice(&self.raw[from..to]);
        self.engine.submit()?;
        self.jobs += 1;
        self.events.push_back(Event::Piece { start, level: self.level as u8, small: self.small });
        Ok(())
    }

    /// Write results out in order as far as `output` allows (`wait`: wait for the next one
    /// if none is ready).
    fn write_out(&mut self, output: &mut OutBuf<'_>, mut wait: bool) -> CodecResult<()> {
        loop {
            if let Some(replay) = &mut self.replay {
                let Some(joined) = replay.run(output)? else { return Ok(()) };
                let crc = replay.at.crc;
                self.fold(crc);
                self.swallow = joined;
                if let Some(done) = self.replay.take() {
                    self.engine.recycle(done.block);
                }
            }
            if let Some((block, _)) = &mut self.writing {
                if !drain_block(block, output) {
                    return Ok(());
                }
                if let Some((block, fault)) = self.writing.take() {
                    self.engine.recycle(block);
                    if let Some(fault) = fault {
                        return Err(fault);
                    }
                }
            }
            match self.events.front() {
                None => return Ok(()),
                Some(&Event::StreamEnd { stored, .. }) => {
                    self.events.pop_front();
                    if std::mem::take(&mut self.combined) != stored {
                        return Err(Fault::corrupt(DATA_ERROR));
                    }
                }
                Some(Event::Fault(_)) => {
                    if let Some(Event::Fault(fault)) = self.events.pop_front() {
                        return Err(fault);
                    }
                }
                Some(&Event::Piece { start, level, small }) => {
                    let Some(mut block) = self.engine.next_block(wait)? else { return Ok(()) };
                    self.events.pop_front();
                    wait = false;
                    if std::mem::take(&mut self.swallow) {
                        self.engine.recycle(block);
                        continue;
                    }
                    match std::mem::replace(&mut block.summary, Piece::Alone(0)) {
                        Piece::Alone(crc) => {
                            self.fold(crc);
                            self.writing = Some((block, None));
                        }
                        Piece::Merged(crc) => {
                            self.fold(crc);
                            self.swallow = true;
                            self.writing = Some((block, None));
                        }
                        Piece::Bad(fault) => self.writing = Some((block, Some(fault))),
                        Piece::Tail => self.writing = Some((block, None)),
                        Piece::Overran if block.output.is_empty() && self.reopen(start) => {
                            self.engine.recycle(block);
                        }
                        Piece::Overran => {
                            self.fall_back(start, level, small, block.output.len())?;
                            self.writing = Some((block, None));
                            return Ok(());
                        }
                        Piece::Rest(rest) => self.replay = Some(Replay::new(block, *rest)),
                    }
                    self.trim_raw();
                }
            }
        }
    }

    /// A block's CRC into the stream's combined CRC.
    fn fold(&mut self, crc: u32) {
        self.combined = self.combined.rotate_left(1) ^ crc;
    }

    /// Whether everything taken has been decoded and written out.
    fn is_idle(&self) -> bool {
        self.events.is_empty() && self.writing.is_none() && self.replay.is_none()
    }

    fn step(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        loop {
            if self.fallback.is_some() {
                return self.fall_back_step(input, output);
            }
            self.write_out(output, false)?;
            if output.is_full() {
                return Ok(Decoded::OutputFull);
            }
            if self.submit_ready()? {
                // a job is ready and every slot is taken: the oldest result first
                self.write_out(output, true)?;
                continue;
            }
            if self.scan == Scan::Stopped && self.bounds.is_empty() && self.tail.is_none() {
                if self.is_idle() {
                    return Ok(Decoded::End);
                }
                self.write_out(output, true)?;
                continue;
            }
            if !self.take(input)? {
                return Ok(Decoded::InputEmpty);
            }
        }
    }

    /// Drop everything in progress (the workers stay).
    fn clear(&mut self) -> CodecResult<()> {
        if let Some((block, _)) = self.writing.take() {
            self.engine.recycle(block);
        }
        if let Some(replay) = self.replay.take() {
            self.engine.recycle(replay.block);
        }
        self.fallback = None;
        self.raw.clear();
        self.base = 0;
        self.scan = Scan::Header;
        (self.next_byte, self.min_bit, self.stream_start) = (0, 0, 0);
        self.bounds.clear();
        self.end_bit = None;
        self.closed = false;
        self.tail = None;
        self.input_ended = false;
        self.events.clear();
        self.combined = 0;
        self.swallow = false;
        self.jobs = 0;
        self.engine.current_mut().clear();
        self.engine.reset()
    }
}

impl HoldsOutput for ThreadedDecoder {
    fn deferred(&mut self) -> &mut Option<Fault> {
        &mut self.deferred
    }

    fn drop_work(&mut self) {
        let _ = self.clear();
    }
}

impl Decode for ThreadedDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        self.deferring(output, Decoded::OutputFull, |this, output| this.step(input, output))
    }

    /// The blocks that are complete are decoded and written out (the incomplete one is the
    /// truncation).
    fn end_of_input(&mut self, output: &mut OutBuf<'_>) -> CodecResult<()> {
        self.deferring(output, (), |this, output| {
            this.closed = true;
            this.input_ended = true;
            while !output.is_full() && this.fallback.is_none() {
                let blocked = this.submit_ready()?;
                if this.is_idle() && !blocked {
                    break;
                }
                this.write_out(output, true)?;
            }
            if this.fallback.is_some() {
                // libbz2's verdict on the rest, which is all in `raw`
                let mut nothing = InBuf::new(&[]);
                nothing.last = true;
                this.fall_back_step(&mut nothing, output)?;
            }
            Ok(())
        })
    }

    fn eager_input(&self) -> bool {
        !self.engine.is_held()
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.deferred = None;
        self.clear()
    }

    fn reusable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::spec::preset;

    fn settings() -> Settings {
        Settings {
            level: 1,
            buffer_size: 1 << 16,
            checksum: true,
            max_output: u64::MAX,
            max_memory: 256 << 20,
            single_stream: false,
            memory_level: None,
            threads: Some(2),
            large_window: false,
            size_hint: None,
            dictionaries: None,
            reference: None,
            seekable: None,
        }
    }

    /// Decode `stream` with the threaded decoder pretending to find magics at `fakes`, in
    /// 10 000-byte pieces of input.
    fn decode_with_fakes(stream: &[u8], fakes: &[(u64, Magic)]) -> (Vec<u8>, Option<Fault>, u64) {
        let mut decoder = ThreadedDecoder::new(&settings(), 2).unwrap();
        decoder.fakes = fakes.to_vec();
        let (mut out, mut buf, mut at) = (Vec::new(), vec![0u8; 1 << 16], 0);
        loop {
            let end = (at + 10_000).min(stream.len());
            let mut input = InBuf::with_room(&stream[at..end], 1 << 16);
            input.last = end == stream.len();
            let mut output = OutBuf::new(&mut buf);
            let result = decoder.decode(&mut input, &mut output);
            at += input.pos;
            out.extend_from_slice(&output.data[..output.pos]);
            match result {
                Ok(Decoded::End) => return (out, None, decoder.jobs),
                Ok(_) => {}
                Err(fault) => return (out, Some(fault), decoder.jobs),
            }
        }
    }

    /// The block magics of a stream (found the way the splitter finds them).
    fn magics(stream: &[u8]) -> Vec<u64> {
        let (mut bits, mut from, mut min) = (Vec::new(), 0, 0);
        while let (Some((bit, Magic::Block)), next) = find_magic(stream, from, min) {
            bits.push(bit);
            (from, min) = (next, bit + 48);
        }
        bits
    }

    #[test]
    fn chance_magics_inside_blocks_are_joined_back() {
        assert_eq!(preset(&settings()), 1);
        let data: Vec<u8> = (0..450_000u32)
            .map(|i| b"the quick brown fox jumps "[(i % 26) as usize] ^ (i / 977) as u8)
            .collect();
        let stream = crate::compress_with(
            &data,
            crate::Format::Bzip2,
            &crate::Config::default().level(crate::Level::Exact(1)),
        )
        .unwrap();
        let blocks = magics(&stream);
        assert!(blocks.len() >= 4, "{blocks:?}");
        let middle = |i: usize| (blocks[i] + blocks[i + 1]) / 2 + 3;
        let last = blocks[blocks.len() - 1] + 1000;
        // one chance match in the first block, one in a middle block, one in the last
        let block = |bit| (bit, Magic::Block);
        for fakes in [vec![middle(0)], vec![middle(2)], vec![last], vec![middle(0), middle(2), last]] {
            let fakes: Vec<_> = fakes.into_iter().map(block).collect();
            let (out, fault, jobs) = decode_with_fakes(&stream, &fakes);
            assert!(fault.is_none(), "{fakes:?}: {fault:?}");
            // a job per block and per fake: each fake was taken for a block
            assert_eq!(jobs, (blocks.len() + fakes.len()) as u64);
            assert!(out == data, "{fakes:?}");
        }
        // a chance end magic in a middle block and in the last: the stream is taken up again
        // (the block that ended there is decoded twice)
        let end = |bit| (bit, Magic::End);
        for fakes in [vec![end(middle(1))], vec![end(last)], vec![block(middle(0)), end(middle(2))]] {
            let (out, fault, jobs) = decode_with_fakes(&stream, &fakes);
            assert!(fault.is_none(), "{fakes:?}: {fault:?}");
            assert_eq!(jobs, (blocks.len() + fakes.len()) as u64, "{fakes:?}");
            assert!(out == data, "{fakes:?}");
        }
        // two in one block (about 2^-96 per bit): an error, never wrong output
        let (out, fault, _) = decode_with_fakes(&stream, &[block(middle(1)), block(middle(1) + 5000)]);
        assert!(matches!(fault, Some(Fault::Corrupt(_))), "{fault:?}");
        assert!(data.starts_with(&out));
    }
}

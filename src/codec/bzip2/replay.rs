//! The threaded bzip2 decoder's work on the caller's thread (see `threaded.rs`): a block too
//! big for a worker, finished where the worker stopped (`Replay`), and the rest of a stream
//! decoded as one thread decodes it after a block overran (`Fallback`).

use bzip2::Decompress;

use super::stream::decompress;
use super::worker::{Handover, Piece, ENDS_EARLY};
use crate::codec::parallel::Block;
use crate::codec::{CodecResult, Fault, InBuf, OutBuf};

/// The staging buffer's size, and how much of the input a fallback shifts at a time.
pub(super) const SCRATCH: usize = 64 << 10;

/// libbz2's output on the caller's thread, staged so that what an earlier attempt at the same
/// bytes already wrote out is skipped.
pub(super) struct Staging {
    pub(super) scratch: Vec<u8>,
    pub(super) staged: std::ops::Range<usize>,
    /// Made by the current attempt, and written out by all.
    pub(super) made: u64,
    pub(super) written: u64,
}

impl Staging {
    pub(super) fn new(made: u64, written: u64) -> Self {
        Staging { scratch: vec![0; SCRATCH], staged: 0..0, made, written }
    }

    /// Write staged bytes out; true when none are left.
    pub(super) fn drain(&mut self, output: &mut OutBuf<'_>) -> bool {
        let mut from = self.staged.start;
        output.drain(&self.scratch[..self.staged.end], &mut from);
        self.written += (from - self.staged.start) as u64;
        self.staged.start = from;
        self.staged.is_empty()
    }

    /// One libbz2 call over `input`: how much it consumed and made, and its answer.
    pub(super) fn decode(&mut self, bz: &mut Decompress, input: &[u8]) -> (usize, usize, CodecResult<bool>) {
        let mut input = InBuf::new(input);
        let mut staging = OutBuf::new(&mut self.scratch);
        let result = decompress(bz, &mut input, &mut staging);
        let made = staging.pos;
        let skip = self.written.saturating_sub(self.made).min(made as u64) as usize;
        self.made += made as u64;
        self.staged = skip..made;
        (input.pos, made, result)
    }
}

/// A block too big for a worker, finished on the caller's thread: the worker's output is
/// written out, then libbz2 goes on where the worker stopped. If the block turns out bad
/// alone, it is decoded again joined with its lookahead, skipping what was already written
/// out (the same bytes: both start with the same block).
pub(super) struct Replay {
    pub(super) block: Block<Piece>,
    /// Where the worker stopped: its output is `block.output[..at.decoded]`, written out up
    /// to `block.pos`; libbz2 goes on from `at.used`.
    pub(super) at: Handover,
    /// The current attempt's stream has ended (its output may still be staged).
    ended: bool,
    staging: Staging,
}

impl Replay {
    pub(super) fn new(block: Block<Piece>, at: Handover) -> Self {
        let staging = Staging::new(at.decoded as u64, 0);
        Replay { block, at, ended: false, staging }
    }

    /// Write out as much as fits; `Some(joined)` once the block is done.
    pub(super) fn run(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Option<bool>> {
        if self.block.pos < self.at.decoded {
            let before = self.block.pos;
            output.drain(&self.block.output[..self.at.decoded], &mut self.block.pos);
            self.staging.written += (self.block.pos - before) as u64;
            if self.block.pos < self.at.decoded {
                return Ok(None);
            }
        }
        loop {
            if !self.staging.drain(output) {
                return Ok(None);
            }
            if self.ended {
                return Ok(Some(self.at.joined));
            }
            let streams = &self.block.output[self.at.decoded..];
            let stream =
                if self.at.joined { &streams[self.at.alone_len..] } else { &streams[..self.at.alone_len] };
            let (used, made, result) = self.staging.decode(&mut self.at.bz, &stream[self.at.used..]);
            self.at.used += used;
            let fault = match result {
                Ok(true) => {
                    self.ended = true;
                    continue;
                }
                Ok(false) if made == 0 && used == 0 && self.at.tail => return Ok(Some(false)),
                Ok(false) if made == 0 && used == 0 => Fault::corrupt(ENDS_EARLY),
                Ok(false) => continue,
                Err(fault) => fault,
            };
            if self.at.joined || streams.len() == self.at.alone_len {
                return Err(fault);
            }
            self.at.joined = true;
            self.at.bz = Decompress::new(self.at.small);
            self.at.used = 0;
            self.staging.made = 0;
        }
    }
}

/// After `Piece::Overran`: the stream decoded on the caller's thread from that block on, as
/// one thread decodes it — libbz2 fed a stream header and then every following bit of the
/// input, shifted to the block's alignment — so that the verdict on the rest of the input is
/// one thread's. (Valid data never comes here but through a chance end magic; a stream end
/// found this way is reported as an error, see the module docs.)
pub(super) struct Fallback {
    pub(super) bz: Decompress,
    pub(super) staging: Staging,
    /// The block's first bit in its byte.
    pub(super) shift: u32,
    /// The last input byte taken: its low bits start the next byte fed.
    pub(super) carry: u8,
    pub(super) fed: Vec<u8>,
    pub(super) fed_pos: usize,
    /// The next byte to take from `raw` (taken before the input).
    pub(super) raw_pos: usize,
    /// The input's last bits have been fed.
    pub(super) finished: bool,
    pub(super) fault: Option<Fault>,
}

impl Fallback {
    /// Feed more: shifted bytes from `raw`, then from `input`. False if there is nothing.
    pub(super) fn refill(&mut self, raw: &[u8], input: &mut InBuf<'_>) -> bool {
        self.fed.clear();
        self.fed_pos = 0;
        let from_raw = self.raw_pos < raw.len();
        let take = if from_raw { &raw[self.raw_pos..] } else { input.rest() };
        let take = &take[..take.len().min(SCRATCH)];
        if from_raw {
            self.raw_pos += take.len();
        } else {
            input.advance(take.len());
        }
        let shift = self.shift;
        let join = |high: u8, low: u8| ((u16::from(high) << 8 | u16::from(low)) >> (8 - shift)) as u8;
        for &byte in take {
            self.fed.push(join(self.carry, byte));
            self.carry = byte;
        }
        if take.is_empty() && input.last && !self.finished {
            self.fed.push(join(self.carry, 0));
            self.finished = true;
        }
        !self.fed.is_empty()
    }
}

//! Parallel decoding of streams made of self-delimiting members (`Config::threads(n)` on a
//! decoder): zstd frames, whose length their block headers give without decoding them, and
//! gzip members, whose length a BGZF `BC` extra field claims, or else the next member
//! header after them (`gzip/split.rs`).
//!
//! The caller's thread measures each member ([`Measure`]), gathers whole members into batches
//! of about 1 MiB (or of about `OUTPUT_BATCH` of declared output) and hands them to the
//! parallel engine (`codec/parallel.rs`: `threads - 1` workers, and the caller's thread when
//! they are busy), each with the format's own one-thread decoder, which decodes the batch's members one after the other with every check it makes
//! on one thread. Results come back in order and are written out; a member followed directly
//! by another goes on in the same call (see `InBuf::last`), and the decoder stops after the
//! last one having consumed exactly its bytes. Members the format cannot measure (a gzip
//! member with no next header in its first MiB) are decoded on the caller's thread as they
//! come. A measure that looks ahead for the next member (gzip's) says how much it has ruled
//! out (`Measure::settled`), and no more of the input is taken: what lies past a member's end
//! is the next member's, or the caller's (`single_stream`).
//!
//! - **Same output, same errors.** A bad member is reported after exactly the output one
//!   thread gives before it: the same decoder decodes the same bytes. When the input ends
//!   inside a member, the complete members and what the decoder makes of the incomplete one
//!   come out before the truncation, as on one thread.
//! - **Measures are checked, not trusted.** A member whose decoder ends before its measured
//!   length, or wants more after it (a BGZF block size that lies: one thread never reads it;
//!   a gzip header's bytes met by chance inside a member's data),
//!   is `Stop::Mismeasured`: the worker's output up to there is written out, and the caller's
//!   thread decodes on with that decoder from where it stopped, through the batches taken
//!   after it (their workers' output dropped), as one thread decodes the stream; the splitter
//!   takes up again once those bytes are used up. Bytes so taken after a member's end that
//!   start no member are trailing data (`Fault::Trailing`), as the adapter reports them.
//! - **Memory.** At most `2 × threads` batches in flight, each at most a batch and a member
//!   in and `OUTPUT_CAP` out (a worker's output grows towards the cap as its batches need):
//!   a batch that decodes to more is handed back, decoder and all, and finished on the
//!   caller's thread from the batch's own bytes (taken back from the engine: no copy, and no
//!   room for one in every output). A member longer than `MEMBER_MAX` (a single huge frame)
//!   is decoded on the caller's thread as it comes. No thread starts before a second batch: a
//!   small message decodes on the caller's thread, and so does a stream whose first batch
//!   hardly compresses.

use std::collections::VecDeque;

use crate::codec::parallel::{most_threads, sharing_buffer_bytes, Block, BlockCompressor, Parallel};
use crate::codec::spec::Match;
use crate::codec::{
    grow_zeroed, reserve_within, CodecResult, Decode, Decoded, Fault, HoldsOutput, InBuf, OutBuf,
};
use crate::settings::Settings;

/// Input is taken at most this much at a time.
const CHUNK: usize = 256 << 10;
/// A batch is submitted once it holds this much.
const BATCH: usize = 1 << 20;
/// Members longer than this are decoded on the caller's thread as they come.
const MEMBER_MAX: usize = 4 << 20;
/// What a worker decodes a batch into before handing it back (pzstd's frames hold 8 MiB).
const OUTPUT_CAP: usize = (8 << 20) + (128 << 10);
/// The most a batch's buffer holds: under `BATCH` of members and their lengths
/// (`batch_full`), then one more member of up to `MEMBER_MAX`, its length and the fixed
/// trailer.
const JOB_MAX: usize = BATCH + MEMBER_MAX + 64;
/// A batch is submitted once its members declare this much output (BGZF: 64 KiB each).
const OUTPUT_BATCH: u64 = 1 << 20;

/// What a format tells about its members without decoding them.
pub(crate) trait Measure: Send + 'static {
    /// The length of the member whose first bytes `member` holds (all there are so far, from
    /// the member's start, growing between calls until the length is known).
    fn measure(&mut self, member: &[u8]) -> CodecResult<Measured>;
    /// Forget the member being measured.
    fn reset(&mut self);
    /// After `measure` said `NeedMore` for `member`: how much of it is certainly the member's
    /// own (the splitter takes no more of the input). Default: all of it, for measures that
    /// read lengths from headers; one that looks for the next member's start cannot rule out
    /// a start cut off at the end.
    fn settled(&self, member: &[u8]) -> usize {
        member.len()
    }
    /// Whether `prefix` starts a member this decoder goes on with.
    fn starts(prefix: &[u8]) -> Match;
    /// The content size that the member starting with `head` declares, if it does.
    fn content_size(head: &[u8]) -> Option<u64>;
    /// What the whole measured `member` declares it decodes to, if it does (batches are cut
    /// so that what they declare fits a worker's output).
    fn output_size(member: &[u8]) -> Option<u64> {
        Self::content_size(member)
    }
}

/// What `Measure::measure` found.
pub(crate) enum Measured {
    /// Not yet known: more bytes.
    NeedMore,
    /// The member's length.
    Len(usize),
    /// A member without content (a skippable frame) of this length (known before all of it
    /// is there): taken like the others when the decoder goes on through members, left alone
    /// (below) when it stops after one.
    Skippable(usize),
    /// A member to leave to the one-thread decoder, which the adapter sees end (a leading
    /// skippable frame): decoded on the caller's thread, and the decoder stops after it.
    Alone,
    /// A member whose length its header does not tell (a gzip member without a BGZF block
    /// size): decoded on the caller's thread, and the splitter goes on after it.
    Unknown,
}

/// The format's one-thread decoder, made for each worker and for the caller's thread.
pub(crate) type MakeDecoder = Box<dyn Fn() -> CodecResult<Box<dyn Decode>> + Send + Sync>;

/// Threads start only for streams whose first batch decoded to at least this many times its
/// size: at lower ratios decoding runs at about the speed of the copies that handing batches
/// to workers adds (incompressible data in stored blocks: 0.44× with workers, measured).
const WORTH_IT: usize = 2;
/// A batch of at least this much is enough to judge by; the first batch is submitted once it
/// holds `FIRST_BATCH`, so that a stream that is not worth threads is found out early.
const SAMPLE: usize = 32 << 10;
const FIRST_BATCH: usize = 256 << 10;

/// A batch: the members, then their lengths (u64 each), the output they declare (u64, 0 if
/// they do not), their count (u32) and flags (a trailer rather than a header, so that the
/// members are never moved).
const TAIL: u8 = 1;
const FIXED_TRAILER: usize = 8 + 4 + 1;

/// A batch as submitted, read back.
struct Batch<'a> {
    members: &'a [u8],
    lens: VecDeque<usize>,
    declared: usize,
    tail: bool,
}

fn read_batch(job: &[u8]) -> Batch<'_> {
    let u64_at = |at: usize| u64::from_le_bytes(job[at..at + 8].try_into().unwrap_or_default()) as usize;
    let Some(fixed) = job.len().checked_sub(FIXED_TRAILER) else {
        return Batch { members: &[], lens: VecDeque::new(), declared: 0, tail: false };
    };
    let count = u32::from_le_bytes(job[fixed + 8..fixed + 12].try_into().unwrap_or_default()) as usize;
    let lens_at = fixed.saturating_sub(8 * count);
    Batch {
        members: &job[..lens_at],
        lens: (0..count).map(|i| u64_at(lens_at + 8 * i)).collect(),
        declared: u64_at(fixed),
        tail: job[job.len() - 1] & TAIL != 0,
    }
}

/// What decoding a batch gave. The output holds what it made, `output[..len]`: its buffer
/// keeps its length (the cap) from batch to batch, so that it is not zeroed again.
enum Outcome {
    Done {
        len: usize,
    },
    /// A member is bad.
    Bad {
        len: usize,
        fault: Fault,
    },
    /// The batch decodes to more than the cap (`members`: the lengths still to go), or a
    /// member's length is not what it was measured to be (`None`: a BGZF block size that
    /// does not match its member): the caller's thread goes on with it, from `used` bytes
    /// into the batch's members. Output: the `decoded` bytes.
    Rest {
        decoder: Box<dyn Decode>,
        decoded: usize,
        used: usize,
        members: Option<Vec<usize>>,
        /// Mismeasured at a member's end (`Stop::Mismeasured`).
        between: bool,
    },
}

/// Where decoding a batch's members stopped, short of a fault.
#[derive(PartialEq, Eq, Debug)]
enum Stop {
    /// Every member decoded.
    Finished,
    /// The output is full.
    Full,
    /// A member ended before its measured length, or went on past it: the measure was wrong
    /// about it (its decoder, at a member's start or inside one, goes on from where it
    /// stopped with what follows, as on one thread). `between`: it stopped at a member's end,
    /// so what follows must start a member.
    Mismeasured { between: bool },
}

/// A worker.
struct BatchDecoder {
    decoder: Option<Box<dyn Decode>>,
    make: std::sync::Arc<MakeDecoder>,
}

/// Decode members of `lens` from `input` into `out[*at..cap]`; the input consumed.
fn decode_members(
    decoder: &mut dyn Decode,
    input: &[u8],
    lens: &mut VecDeque<usize>,
    tail: bool,
    out: &mut [u8],
    at: &mut usize,
) -> (usize, CodecResult<Stop>) {
    let mut used = 0;
    while let Some(&len) = lens.front() {
        let mut member = InBuf::new(&input[used..used + len]);
        let mut output = OutBuf::new(&mut out[*at..]);
        let result = decoder.decode(&mut member, &mut output);
        *at += output.pos;
        used += member.pos;
        let left = len - member.pos;
        if member.pos == 0 && output.pos == 0 && left > 0 && matches!(result, Ok(Decoded::InputEmpty)) {
            return (used, Err(Fault::backend("decoder made no progress")));
        }
        match result {
            Err(fault) => return (used, Err(fault)),
            Ok(Decoded::End | Decoded::Skipped) => {
                lens.pop_front();
                if let Err(fault) = decoder.reset() {
                    return (used, Err(fault));
                }
                if left > 0 {
                    return (used, Ok(Stop::Mismeasured { between: true }));
                }
            }
            Ok(Decoded::OutputFull) if output.is_full() => {
                *lens.front_mut().unwrap_or(&mut 0) = left;
                return (used, Ok(Stop::Full));
            }
            // output held back before an error (`HoldsOutput`): the next call reports it
            Ok(Decoded::OutputFull) if member.pos > 0 || output.pos > 0 => {
                *lens.front_mut().unwrap_or(&mut 0) = left
            }
            Ok(_) if left == 0 && tail && lens.len() == 1 => return (used, Ok(Stop::Finished)),
            Ok(_) if left == 0 => return (used, Ok(Stop::Mismeasured { between: false })),
            Ok(_) => *lens.front_mut().unwrap_or(&mut 0) = left,
        }
    }
    (used, Ok(Stop::Finished))
}

impl BlockCompressor for BatchDecoder {
    type Summary = Outcome;

    fn compress_block(&mut self, _dict: &[u8], job: &[u8], out: &mut Vec<u8>) -> CodecResult<Outcome> {
        let Batch { members: input, mut lens, declared, tail } = read_batch(job);
        let mut decoder = match self.decoder.take() {
            Some(decoder) => decoder,
            None => (self.make)()?,
        };
        // the output grows as the batches need it, up to the cap (zeroing and faulting in the
        // whole cap costs more than a short stream takes to decode)
        let expected = if declared > 0 { declared } else { 4 * input.len() };
        let guess = (expected.min(OUTPUT_CAP) + (64 << 10)).next_power_of_two().min(OUTPUT_CAP);
        grow_zeroed(out, guess, OUTPUT_CAP);
        let mut at = 0;
        let mut used = 0;
        let result = loop {
            let (taken, result) =
                decode_members(decoder.as_mut(), &input[used..], &mut lens, tail, out, &mut at);
            used += taken;
            match result {
                Ok(Stop::Full) if out.len() < OUTPUT_CAP => {
                    grow_zeroed(out, (2 * out.len()).min(OUTPUT_CAP), OUTPUT_CAP)
                }
                result => break result,
            }
        };
        Ok(match result {
            Ok(Stop::Finished) => {
                self.decoder = Some(decoder);
                Outcome::Done { len: at }
            }
            Ok(stop) => {
                let members = (stop == Stop::Full).then(|| lens.into_iter().collect());
                let between = stop == Stop::Mismeasured { between: true };
                Outcome::Rest { decoder, decoded: at, used, members, between }
            }
            // the decoder is in the middle of a bad member: the next batch gets a new one
            Err(fault) => Outcome::Bad { len: at, fault },
        })
    }

    const KEEP_OUTPUT: bool = true;
}

/// A batch too big for a worker, finished on the caller's thread; or one with a mismeasured
/// member (`members` `None`), whose rest the caller's thread decodes as one thread would.
struct Rest {
    block: Block<Outcome>,
    /// The batch itself, taken back from the engine (given back when done): its members are
    /// `batch[..members_end]`, consumed up to `used`.
    batch: Vec<u8>,
    members_end: usize,
    decoder: Box<dyn Decode>,
    /// The worker's output, `block.output[..decoded]`, written out up to `block.pos`.
    decoded: usize,
    used: usize,
    members: Option<VecDeque<usize>>,
    /// The worker's decoder stopped at a member's end (`Stop::Mismeasured`).
    between: bool,
}

impl Rest {
    /// Write out as much as fits: `Finished` once the batch is done, `Mismeasured` once the
    /// worker's output is out and what is left is to be decoded without the measures.
    fn run(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Stop> {
        if self.block.pos < self.decoded {
            output.drain(&self.block.output[..self.decoded], &mut self.block.pos);
            if self.block.pos < self.decoded {
                return Ok(Stop::Full);
            }
        }
        let Some(members) = &mut self.members else { return Ok(Stop::Mismeasured { between: self.between }) };
        let input = &self.batch[self.used..self.members_end];
        let mut at = output.pos;
        let (used, result) =
            decode_members(self.decoder.as_mut(), input, members, false, output.data, &mut at);
        output.pos = at;
        self.used += used;
        result
    }

    /// The batch's bytes the decoder has not taken.
    fn unread(&self) -> &[u8] {
        &self.batch[self.used..self.members_end]
    }
}

/// Where the splitter is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scan {
    /// At a member's start, measuring it.
    Member,
    /// A member has ended: does another one follow?
    Between,
    /// A member too long for a batch is being decoded on the caller's thread (`alone`: and
    /// the decoder stops after it).
    Long { alone: bool },
    /// Done: no more input is taken.
    Stopped,
}

/// The threaded decoder of self-delimiting members.
pub(crate) struct ThreadedMembers<M: Measure> {
    measure: M,
    make: std::sync::Arc<MakeDecoder>,
    /// Whether threads are worth it, once a batch of at least `SAMPLE` bytes has been decoded
    /// (inline): it decoded to at least `WORTH_IT` times its size. If not, every member
    /// decodes on the caller's thread (see `take`).
    worth_it: Option<bool>,
    /// The size of that batch, while it is in flight.
    sample: Option<usize>,
    /// A long member's input taken and output made so far.
    long_io: (u64, u64),
    /// Go on through directly following members (not `single_stream`).
    follow: bool,
    /// Held back until threads are worth it.
    engine: Parallel<BatchDecoder>,
    /// The batch being gathered: its members' lengths, bytes and declared output.
    lens: Vec<usize>,
    bytes: usize,
    declared: u64,
    /// The input of the member being measured (a long member's, decoded from `raw_pos` on).
    raw: Vec<u8>,
    raw_pos: usize,
    scan: Scan,
    /// Batches submitted and not yet taken back.
    pending: usize,
    /// A result being written out: its block, length and fault.
    writing: Option<(Block<Outcome>, usize, Option<Fault>)>,
    rest: Option<Rest>,
    /// The caller's thread's decoder, for long members (made when first needed).
    own: Option<Box<dyn Decode>>,
    deferred: Option<Fault>,
    input_ended: bool,
    /// The caller's thread's decoder (`own`) stopped at a member's end, with taken bytes
    /// after it (`raw`): they must start a member, or they are trailing data.
    between: bool,
}

/// `threads` in all: `threads - 1` workers, and the caller's thread decodes a batch itself
/// whenever they hold two each. Its own share of the work (measuring members, gathering
/// batches, copying the output out) is small, and with `threads` workers beside it the three
/// threads shared two cores: 128 MiB of text as BGZF (examples/decode_threads), threads(2)
/// against one, went from 1.54× to 1.82× (bgzip's: 1.66× to 1.83×), zstd `seekable(1 MiB)`
/// from 1.49× to 1.78× and pzstd's 8 MiB frames from 1.11× to 1.41×. Held back (the caller's
/// thread alone) until threads are worth it.
///
/// Tried and left out: the caller putting its batch off, to decode it when its turn comes
/// straight into its caller's output (as `Rest` does), which saves copying its share out.
/// The worker then ran dry while the caller caught up on its put-off batches. Putting off
/// every share: 25.6 MB of prose as 1 MiB plain gzip members, threads(2) against one, 1.20×
/// against 1.80× for this code. At most one batch put off at a time and two more batches in
/// flight: 128 MB of prose, alternating runs of 9, BGZF 1.85–1.87× and plain members
/// 1.72–1.82× against 1.81–1.91× and 1.88–1.91× for this code.
fn engine(threads: usize, make: &std::sync::Arc<MakeDecoder>) -> CodecResult<Parallel<BatchDecoder>> {
    // (batches are gathered by `add_member`: no block size to preallocate)
    let batch = || Ok(BatchDecoder { decoder: None, make: make.clone() });
    Parallel::sharing(threads, 0, 0, batch)?.hold(batch)
}

/// The most the threaded decoder's buffers hold for `threads` threads (the decoders
/// themselves not included: `threads + 1` of them, one per worker, the caller's for batches
/// and its own for long members).
pub(crate) fn buffers(threads: usize) -> usize {
    // (and the batch that a `Rest` takes back from the engine)
    sharing_buffer_bytes(threads, JOB_MAX, 0, OUTPUT_CAP) + JOB_MAX + MEMBER_MAX + CHUNK
}

/// The threads a decoder of members decodes with, for `threads(n)` with n ≥ 2 when the
/// decoder goes on through members (not `single_stream`: one member has nothing to share):
/// the most, up to n, whose buffers fit in half of `max_memory` (three under the default
/// limit); `None`: one thread, when not even two fit.
pub(crate) fn threads_for(settings: &Settings) -> Option<usize> {
    let threads = settings.threads.filter(|_| !settings.single_stream)?;
    most_threads(threads, |n| (buffers(n) as u64).saturating_mul(2) <= settings.max_memory)
}

/// The memory of a decoder whose one-thread decoder takes `one`.
pub(crate) fn decoder_memory(settings: &Settings, one: usize) -> usize {
    match threads_for(settings) {
        Some(threads) => (threads + 1) * one + buffers(threads),
        None => one,
    }
}

/// The format's decoder for `settings`: `one`'s, or with `threads_for` threads, members
/// measured by `measure` and decoded by `one`'s decoders.
pub(crate) fn decoder<M: Measure>(
    settings: &Settings,
    measure: M,
    one: fn(&Settings) -> CodecResult<Box<dyn Decode>>,
) -> CodecResult<Box<dyn Decode>> {
    let Some(threads) = threads_for(settings) else { return one(settings) };
    let single = Settings { threads: None, ..settings.clone() };
    let make: MakeDecoder = Box::new(move || one(&single));
    Ok(Box::new(ThreadedMembers::new(measure, make, threads, settings.single_stream)?))
}

impl<M: Measure> ThreadedMembers<M> {
    pub fn new(measure: M, make: MakeDecoder, threads: usize, single_stream: bool) -> CodecResult<Self> {
        let make = std::sync::Arc::new(make);
        Ok(ThreadedMembers {
            measure,
            engine: engine(threads, &make)?,
            make,
            worth_it: None,
            sample: None,
            long_io: (0, 0),
            follow: !single_stream,
            lens: Vec::new(),
            bytes: 0,
            declared: 0,
            raw: Vec::new(),
            raw_pos: 0,
            scan: Scan::Member,
            pending: 0,
            writing: None,
            rest: None,
            own: None,
            deferred: None,
            input_ended: false,
            between: false,
        })
    }

    /// Take input into the splitter. True if anything changed.
    fn take(&mut self, input: &mut InBuf<'_>) -> CodecResult<bool> {
        match self.scan {
            Scan::Stopped | Scan::Long { .. } => Ok(false),
            Scan::Between => {
                let rest = input.rest();
                let next = if self.follow { M::starts(rest) } else { Match::No };
                self.scan = match next {
                    Match::Yes => Scan::Member,
                    Match::NeedMore if !input.last && input.room >= 16 => return Ok(false),
                    _ => Scan::Stopped,
                };
                Ok(true)
            }
            Scan::Member => {
                let before = self.raw.len();
                let n = input.rest().len().min(CHUNK);
                if n == 0 && input.last && !self.raw.is_empty() {
                    // the input ends before the member's measured end: what there is of it is
                    // decoded here, as one thread decodes it (a wrong measure, or truncation)
                    self.scan = Scan::Long { alone: false };
                    return Ok(true);
                }
                if n == 0 {
                    return Ok(false);
                }
                if before == 0 {
                    // A member left to the one-thread decoder is not taken here at all: it
                    // may end anywhere, and what follows is the adapter's. Nor is one that
                    // would not fit a batch's output, nor any once the stream has shown that
                    // it hardly compresses: those decode on this thread straight from the
                    // input, as without threads (a copy costs as much as decoding them).
                    let head = &input.rest()[..n.min(32)];
                    let measured = self.measure.measure(head);
                    self.measure.reset();
                    let big = M::content_size(head).is_some_and(|size| size > OUTPUT_CAP as u64);
                    let (alone, unknown) = match measured {
                        Ok(Measured::Alone) => (true, false),
                        Ok(Measured::Skippable(_)) => (!self.follow, false),
                        Ok(Measured::Unknown) => (false, true),
                        _ => (false, false),
                    };
                    if alone || unknown || big || self.worth_it == Some(false) {
                        self.scan = Scan::Long { alone };
                        return Ok(true);
                    }
                }
                self.raw.extend_from_slice(&input.rest()[..n]);
                let measured = match self.measure.measure(&self.raw) {
                    Ok(Measured::Unknown) | Err(_) => {
                        // the one-thread decoder's verdict on it, as it comes
                        input.advance(n);
                        self.scan = Scan::Long { alone: false };
                        return Ok(true);
                    }
                    Ok(measured) => measured,
                };
                let have = self.raw.len();
                let len = match measured {
                    Measured::Len(len) | Measured::Skippable(len) if len <= have => len,
                    measured => {
                        // too long for a batch, or not for one: decoded here as it comes,
                        // once the batches before it are out
                        let alone = matches!(measured, Measured::Alone);
                        if alone || self.raw.len() > MEMBER_MAX {
                            self.scan = Scan::Long { alone };
                            input.advance(n);
                            return Ok(true);
                        }
                        // only what the measure has ruled out as the member's end is taken
                        // from the input: bytes past its end are the next member's, or the
                        // adapter's (`single_stream`). Unless that would leave the input
                        // stuck: nothing taken and at least half of what its buffer holds
                        // left (a tiny buffer, a header longer than the buffer), which more
                        // input could not follow (a member end found behind what was taken
                        // is then handled below)
                        let settled = self.measure.settled(&self.raw).clamp(before, have);
                        let left = input.rest().len() - (settled - before);
                        let stuck = settled == before && left >= input.room / 2;
                        let keep = match measured {
                            Measured::NeedMore if !stuck => settled,
                            _ => have,
                        };
                        self.raw.truncate(keep);
                        input.advance(keep - before);
                        if input.last && matches!(measured, Measured::NeedMore) {
                            // the last member (no other after it in what is left): decoded
                            // here, from what was taken and then from the input, which keeps
                            // whatever follows the member for the adapter to judge
                            self.scan = Scan::Long { alone: false };
                            return Ok(true);
                        }
                        return Ok(keep > before);
                    }
                };
                if len < before {
                    // the member ended in what was taken before (a measure that could not
                    // look past it: a tiny input buffer): the bytes after it, the next
                    // member's, are taken too, so everything taken is decoded here, member
                    // after member, as one thread decodes it
                    input.advance(n);
                    self.scan = Scan::Long { alone: false };
                    return Ok(true);
                }
                // the member's bytes, no more
                input.advance(len - before);
                self.raw.truncate(len);
                if len > MEMBER_MAX {
                    self.scan = Scan::Long { alone: false };
                    return Ok(true);
                }
                self.add_member();
                self.scan = Scan::Between;
                Ok(true)
            }
        }
    }

    /// Whether the batch being gathered is due.
    fn batch_full(&self) -> bool {
        // (each member's length goes in the batch too: 8 bytes, which tiny members — an empty
        // BGZF member is 28 bytes — would otherwise leave uncounted)
        let bytes = self.bytes + 8 * self.lens.len();
        let first = self.worth_it.is_none() && bytes >= FIRST_BATCH;
        first || bytes >= BATCH || self.declared >= OUTPUT_BATCH
    }

    /// The measured member in `raw` joins the batch being gathered.
    fn add_member(&mut self) {
        self.lens.push(self.raw.len());
        self.bytes += self.raw.len();
        self.declared = self.declared.saturating_add(M::output_size(&self.raw).unwrap_or(0));
        // the lengths go after the members, when the batch is submitted
        let job = self.engine.current_mut();
        reserve_within(job, self.raw.len(), JOB_MAX);
        job.extend_from_slice(&self.raw);
        self.raw.clear();
        self.measure.reset();
    }

    /// Make room for a batch (starting the threads for a second one); false if none now.
    fn make_room(&mut self) -> CodecResult<bool> {
        if self.worth_it == Some(true) {
            self.engine.release();
        }
        Ok(self.engine.has_room())
    }

    /// Submit the batch being gathered (`flags`: `TAIL`); false if there is no room.
    fn submit(&mut self, flags: u8) -> CodecResult<bool> {
        if self.lens.is_empty() {
            return Ok(true);
        }
        if !self.make_room()? {
            return Ok(false);
        }
        let job = self.engine.current_mut();
        reserve_within(job, 8 * self.lens.len() + FIXED_TRAILER, JOB_MAX);
        for &len in &self.lens {
            job.extend_from_slice(&(len as u64).to_le_bytes());
        }
        job.extend_from_slice(&self.declared.to_le_bytes());
        job.extend_from_slice(&(self.lens.len() as u32).to_le_bytes());
        job.push(flags);
        debug_assert!(job.capacity() <= JOB_MAX, "a batch of {} bytes", job.capacity());
        self.engine.submit()?;
        if self.worth_it.is_none() && self.sample.is_none() && self.bytes >= SAMPLE {
            self.sample = Some(self.bytes);
        }
        self.lens.clear();
        self.bytes = 0;
        self.declared = 0;
        self.pending += 1;
        Ok(true)
    }

    /// Write results out in order as far as `output` allows (`wait`: wait for the next one).
    fn write_out(&mut self, output: &mut OutBuf<'_>, mut wait: bool) -> CodecResult<()> {
        loop {
            if let Some(rest) = &mut self.rest {
                match rest.run(output)? {
                    Stop::Full => return Ok(()),
                    Stop::Finished => {
                        if let Some(done) = self.rest.take() {
                            self.engine.recycle(done.block);
                            self.engine.give_input(done.batch);
                        }
                    }
                    Stop::Mismeasured { between } => return self.resync(between),
                }
            }
            if let Some((block, len, _)) = &mut self.writing {
                if !output.drain(&block.output[..*len], &mut block.pos) {
                    return Ok(());
                }
                if let Some((block, _, fault)) = self.writing.take() {
                    self.engine.recycle(block);
                    if let Some(fault) = fault {
                        return Err(fault);
                    }
                }
            }
            if self.pending == 0 {
                return Ok(());
            }
            let Some(mut block) = self.engine.next_block(wait)? else { return Ok(()) };
            self.pending -= 1;
            wait = false;
            match std::mem::replace(&mut block.summary, Outcome::Done { len: 0 }) {
                Outcome::Done { len } => {
                    if let Some(size) = self.sample.take() {
                        self.worth_it = Some(len >= WORTH_IT * size);
                    }
                    self.writing = Some((block, len, None))
                }
                Outcome::Bad { len, fault } => self.writing = Some((block, len, Some(fault))),
                Outcome::Rest { decoder, decoded, used, members, between } => {
                    let members = members.map(VecDeque::from);
                    let batch = self.engine.take_last_input();
                    let members_end = read_batch(&batch).members.len();
                    self.rest =
                        Some(Rest { block, batch, members_end, decoder, decoded, used, members, between });
                }
            }
        }
    }

    /// A member was mismeasured (a BGZF block size that does not match its member): from the
    /// rest's decoder on, everything taken is decoded on this thread, as one thread decodes
    /// it: what the rest's batch has left, the batches after it (their workers' output is
    /// dropped), the batch being gathered and `raw`, then the input.
    fn resync(&mut self, between: bool) -> CodecResult<()> {
        let Some(rest) = self.rest.take() else { return Ok(()) };
        let mut bytes = rest.unread().to_vec();
        let Rest { block, batch, decoder, .. } = rest;
        self.engine.recycle(block);
        self.engine.give_input(batch);
        while self.pending > 0 {
            let Some(block) = self.engine.next_block(true)? else { break };
            self.pending -= 1;
            bytes.extend_from_slice(read_batch(self.engine.last_input()).members);
            self.engine.recycle(block);
        }
        bytes.append(self.engine.current_mut());
        bytes.extend_from_slice(&self.raw[self.raw_pos..]);
        (self.raw, self.raw_pos) = (bytes, 0);
        self.lens.clear();
        (self.bytes, self.declared, self.sample) = (0, 0, None);
        self.measure.reset();
        self.own = Some(decoder);
        self.between = between;
        self.scan = Scan::Long { alone: false };
        Ok(())
    }

    /// Whether everything taken has been decoded and written out.
    fn is_idle(&self) -> bool {
        self.pending == 0 && self.writing.is_none() && self.rest.is_none() && self.lens.is_empty()
    }

    /// The long member, decoded here: `raw` (taken already) first, then the input. `alone`:
    /// its end is the decoder's (returned); otherwise the splitter goes on (`InputEmpty`).
    fn long_step(
        &mut self,
        input: &mut InBuf<'_>,
        output: &mut OutBuf<'_>,
        alone: bool,
    ) -> CodecResult<Decoded> {
        let decoder = match &mut self.own {
            Some(decoder) => decoder,
            None => self.own.insert((self.make)()?),
        };
        loop {
            let from_raw = self.raw_pos < self.raw.len();
            if self.between {
                // the decoder is at a member's end: what follows must start a member, judged
                // as the adapter judges it after one thread's member
                if !from_raw {
                    // (nothing taken after it: the splitter judges the input)
                    self.between = false;
                    self.scan = Scan::Between;
                    return Ok(Decoded::InputEmpty);
                }
                match M::starts(&self.raw[self.raw_pos..]) {
                    Match::No => {
                        self.raw.clear();
                        self.raw_pos = 0;
                        self.scan = Scan::Stopped;
                        return Err(Fault::Trailing);
                    }
                    // a magic number cut off at the end of what was taken: with what follows
                    Match::NeedMore if !input.is_empty() => {
                        let n = input.rest().len().min(16);
                        self.raw.extend_from_slice(&input.rest()[..n]);
                        input.advance(n);
                        continue;
                    }
                    Match::NeedMore if !input.last => return Ok(Decoded::InputEmpty),
                    // (at the input's end: the decoder finds it truncated)
                    _ => self.between = false,
                }
            }
            let mut source = if from_raw {
                InBuf::new(&self.raw[self.raw_pos..])
            } else {
                InBuf::with_room(input.rest(), input.room)
            };
            source.last = !from_raw && input.last;
            let out0 = output.pos;
            let result = decoder.decode(&mut source, output);
            let used = source.pos;
            self.long_io.0 += used as u64;
            self.long_io.1 += (output.pos - out0) as u64;
            if from_raw {
                self.raw_pos += used;
                if self.raw_pos == self.raw.len() {
                    self.raw.clear();
                    self.raw_pos = 0;
                }
            } else {
                input.advance(used);
            }
            match result? {
                outcome @ (Decoded::End | Decoded::Skipped) => {
                    decoder.reset()?;
                    // a long member tells whether threads are worth it as well as a batch
                    let (taken, made) = std::mem::take(&mut self.long_io);
                    if self.worth_it.is_none() && taken >= SAMPLE as u64 {
                        self.worth_it = Some(made >= WORTH_IT as u64 * taken);
                    }
                    self.measure.reset();
                    // (after a member the splitter could not measure, or a mismeasured one, the
                    // rest of what was taken is decoded here too, member after member: the
                    // splitter goes on once it is used up)
                    self.raw.drain(..self.raw_pos);
                    self.raw_pos = 0;
                    // (what follows in what was taken must start a member: checked next)
                    self.between = !alone && !self.raw.is_empty();
                    self.scan = match (alone, self.raw.is_empty()) {
                        (true, _) => Scan::Stopped,
                        (false, true) => Scan::Between,
                        (false, false) => Scan::Long { alone: false },
                    };
                    return Ok(if alone { outcome } else { Decoded::InputEmpty });
                }
                Decoded::OutputFull => return Ok(Decoded::OutputFull),
                Decoded::InputEmpty if from_raw && used == 0 && output.pos == 0 => {
                    return Err(Fault::backend("decoder made no progress"))
                }
                Decoded::InputEmpty if from_raw => {}
                Decoded::InputEmpty => return Ok(Decoded::InputEmpty),
            }
        }
    }

    fn step(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        loop {
            // keep the workers fed: input first while a batch can go out, then the results
            // (decoding is fast enough that writing a batch out takes as long as decoding the
            // next one: taking input only once the output is drained would leave them idle)
            let feeding = matches!(self.scan, Scan::Member | Scan::Between) && !self.batch_full();
            if feeding && self.engine.has_room() && self.take(input)? {
                if self.batch_full() {
                    self.submit(0)?;
                }
                continue;
            }
            self.write_out(output, false)?;
            if output.is_full() {
                return Ok(Decoded::OutputFull);
            }
            let at_rest = matches!(self.scan, Scan::Stopped | Scan::Long { .. }) || input.is_empty();
            if !self.lens.is_empty() && (self.batch_full() || at_rest) {
                if !self.submit(0)? {
                    self.write_out(output, true)?; // every slot is taken: the oldest first
                }
                continue;
            }
            match self.scan {
                Scan::Long { alone } if self.is_idle() => {
                    let before = self.scan;
                    match self.long_step(input, output, alone)? {
                        Decoded::InputEmpty if self.scan != before => continue,
                        outcome => return Ok(outcome),
                    }
                }
                Scan::Long { .. } => self.write_out(output, true)?,
                Scan::Stopped if self.is_idle() => return Ok(Decoded::End),
                Scan::Stopped => self.write_out(output, true)?,
                Scan::Member | Scan::Between => {
                    if !self.take(input)? {
                        return Ok(Decoded::InputEmpty);
                    }
                }
            }
        }
    }

    /// Drop everything in progress (the workers stay).
    fn clear(&mut self) -> CodecResult<()> {
        if let Some((block, _, _)) = self.writing.take() {
            self.engine.recycle(block);
        }
        if let Some(rest) = self.rest.take() {
            self.engine.recycle(rest.block);
        }
        if let Some(own) = &mut self.own {
            own.reset()?;
        }
        self.lens.clear();
        (self.bytes, self.declared) = (0, 0);
        self.raw.clear();
        self.raw_pos = 0;
        self.measure.reset();
        self.scan = Scan::Member;
        self.pending = 0;
        (self.worth_it, self.sample, self.long_io) = (None, None, (0, 0));
        self.input_ended = false;
        self.between = false;
        self.engine.current_mut().clear();
        self.engine.reset()
    }
}

impl<M: Measure> HoldsOutput for ThreadedMembers<M> {
    fn deferred(&mut self) -> &mut Option<Fault> {
        &mut self.deferred
    }

    fn drop_work(&mut self) {
        let _ = self.clear();
    }
}

impl<M: Measure> Decode for ThreadedMembers<M> {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        self.deferring(output, Decoded::OutputFull, |this, output| this.step(input, output))
    }

    /// The complete members, then what the decoder makes of the incomplete one, are written
    /// out (the truncation is the adapter's to report).
    fn end_of_input(&mut self, output: &mut OutBuf<'_>) -> CodecResult<()> {
        if matches!(self.scan, Scan::Long { .. }) && self.raw_pos == self.raw.len() {
            return Ok(());
        }
        self.deferring(output, (), |this, output| {
            if !this.input_ended {
                this.input_ended = true;
                if this.scan == Scan::Member && !this.raw.is_empty() {
                    // the incomplete member, as a batch of its own
                    while !this.submit(0)? {
                        this.write_out(output, true)?;
                    }
                    this.raw.clone_into(this.engine.current_mut());
                    this.lens.push(this.raw.len());
                    this.raw.clear();
                    while !this.submit(TAIL)? {
                        this.write_out(output, true)?;
                    }
                }
            }
            loop {
                while !output.is_full() && !this.is_idle() {
                    if !this.lens.is_empty() && !this.submit(0)? {
                        this.write_out(output, true)?;
                        continue;
                    }
                    this.write_out(output, true)?;
                }
                // after a mismeasured member, what was taken is this thread's to decode
                let Scan::Long { alone } = this.scan else { return Ok(()) };
                if output.is_full() || this.raw_pos == this.raw.len() {
                    return Ok(());
                }
                let mut ended = InBuf::new(&[]);
                ended.last = true;
                this.long_step(&mut ended, output, alone)?;
            }
        })
    }

    fn eager_input(&self) -> bool {
        !self.engine.is_held()
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.deferred = None;
        self.clear()
    }
}

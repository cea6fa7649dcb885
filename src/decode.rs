//! `DecodeCore`: the decoding state machine that every decoder shape drives — `read::Decoder`
//! (its own input buffer), `bufread::Decoder` (the caller's buffer), `write::Decoder` (input
//! pushed by writes) and the async ones. Sans-I/O: each step gets the input available now,
//! whether more will come, and output space; the shapes own the I/O.
//!
//! ```text
//!  Sniff ──(format found)──► Member ──(member ends)──► Boundary ──(another member)──► Member
//!    │                         │                          │
//!    └──(only skippable)──► End ◄──(single_stream)────────┴──(end of input)
//! ```
//!
//! Inside a member the codec decides and says why it stopped; between members the
//! end-of-stream policy in `members.rs` decides. A few bytes of lookahead (a magic number, a
//! sniffed header) may have to wait for the next input slice: they are kept in a small stash
//! and fed to the codec before that slice, so no shape needs a buffer of its own for them.
//! The core also enforces `max_output`, counts bytes, and latches data errors.

use crate::codec::{Decode, Decoded, InBuf, OutBuf};
use crate::config::{Config, Direction};
use crate::error::{Error, Result};
use crate::format::{self, Format, Sniff};
use crate::members::{Boundary, Next};
use crate::pool::Pooled;

/// `auto` skips at most this many bytes of leading skippable frames before giving up.
///
/// ```
/// assert_eq!(compressio::MAX_SKIPPABLE_PREFIX, 1 << 20);
/// ```
pub const MAX_SKIPPABLE_PREFIX: u64 = 1 << 20;

/// The most lookahead the core keeps between input slices: a skippable frame's header and a
/// legacy lzma header (13 bytes) behind it, with room to spare.
const STASH: usize = 32;

/// What a step ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// This many bytes of output are in the output space.
    Produced(usize),
    /// Nothing more can happen without more input (behind what the input still holds, when
    /// the codec left an incomplete unit of at most `InBuf::room` bytes there).
    NeedInput,
    /// The stream has ended.
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `auto`: the format is not known yet; `skipped` bytes of skippable frames are behind,
    /// `skip_left` bytes of the current one are still to skip.
    Sniff { skipped: u64, skip_left: u64 },
    /// Inside a member: the codec decides.
    Member,
    /// A member has ended: what follows decides.
    Boundary(Boundary),
    /// The stream has ended.
    End,
}

/// Lookahead bytes kept across input slices: `bytes[pos..len]`.
struct Stash {
    bytes: [u8; STASH],
    pos: usize,
    len: usize,
}

impl Stash {
    fn pending(&self) -> &[u8] {
        &self.bytes[self.pos..self.len]
    }

    fn is_empty(&self) -> bool {
        self.pos == self.len
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
        }
    }

    /// Move as much of `input` in as fits; returns how much.
    fn take(&mut self, input: &mut InBuf<'_>) -> usize {
        if self.pos > 0 {
            self.bytes.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        let n = (STASH - self.len).min(input.rest().len());
        self.bytes[self.len..self.len + n].copy_from_slice(&input.rest()[..n]);
        self.len += n;
        input.advance(n);
        n
    }
}

/// The decoding state machine (see the module docs).
pub(crate) struct DecodeCore {
    /// What the codec is built from once the format is known (`auto`).
    config: Config,
    /// `None` until the format is known.
    codec: Option<Pooled<dyn Decode>>,
    format: Option<Format>,
    state: State,
    stash: Stash,
    single_stream: bool,
    max_output: u64,
    total_in: u64,
    total_out: u64,
    /// The data error that stopped the stream, reported again on every later call.
    failed: Option<Error>,
}

impl DecodeCore {
    /// A core for `format`, or for the format the input turns out to be (`None`: `auto`).
    pub fn new(format: Option<Format>, config: &Config) -> Result<Self> {
        // any enabled format validates the format-independent parts of the config
        let probe = match format {
            Some(format) => format,
            None => config.probe_format()?,
        };
        let settings = config.resolve(probe, Direction::Decompress)?;
        let mut core = DecodeCore {
            config: config.clone(),
            codec: None,
            format: None,
            state: State::Sniff { skipped: 0, skip_left: 0 },
            stash: Stash { bytes: [0; STASH], pos: 0, len: 0 },
            single_stream: settings.single_stream,
            max_output: settings.max_output,
            total_in: 0,
            total_out: 0,
            failed: None,
        };
        if let Some(format) = format {
            core.start(format)?;
        }
        Ok(core)
    }

    /// The format is known: build its codec and decode the first member.
    fn start(&mut self, format: Format) -> Result<()> {
        let settings = self.config.resolve(format, Direction::Decompress)?;
        self.codec = Some(Pooled::decoder(format, &settings, self.config.pool.as_ref())?);
        self.format = Some(format);
        self.state = State::Member;
        Ok(())
    }

    /// The format being decoded, once known.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// Whether the stream has ended.
    pub fn ended(&self) -> bool {
        self.state == State::End
    }

    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    /// Whether the shape should read input ahead whenever it has none (see
    /// `Decode::eager_input`).
    pub fn eager_input(&self) -> bool {
        self.codec.as_ref().is_some_and(|codec| codec.eager_input())
    }

    /// The output space a call should be given for the codec to decode well (see
    /// `Decode::output_unit`).
    pub fn output_unit(&self) -> usize {
        self.codec.as_ref().map_or(0, |codec| codec.output_unit())
    }

    /// A read's fast path, past the stream's state machine: output the codec already holds,
    /// or `input` passing straight through (`Decode::ready_output`), else one `decode` call
    /// on `input` when it is not empty. Returns how much of `out` it filled; 0 sends the read
    /// through `step`, which then finds the codec as a `step` of its own would have left it
    /// (a member's end is recorded here, an error kept for `step` to report, output from
    /// the call that failed dropped as `member` drops it). Only inside a member, with nothing
    /// stashed, no error kept, and `max_output` further than `out`'s length.
    #[inline]
    pub fn ready(&mut self, input: &mut InBuf<'_>, out: &mut [u8]) -> usize {
        if out.len() as u64 >= self.max_output - self.total_out || !self.may_shortcut() {
            return 0;
        }
        let (Some(format), Some(codec)) = (self.format, &mut self.codec) else { return 0 };
        let before = input.pos;
        let mut n = codec.ready_output(input, out);
        if n == 0 && !input.is_empty() {
            let mut output = OutBuf::new(out);
            let outcome = codec.decode(input, &mut output);
            n = output.pos;
            match outcome {
                Ok(Decoded::OutputFull | Decoded::InputEmpty) => {}
                Ok(end) => self.close_member(format, end),
                Err(fault) => {
                    n = 0;
                    self.failed = Some(Error::from_fault(format, fault));
                }
            }
        }
        self.total_in += (input.pos - before) as u64;
        self.total_out += n as u64;
        n
    }

    /// Whether the codec passes its input straight through (`Decode::passing`), so that
    /// `lease` can take what follows; under the same conditions as `ready`.
    pub fn passing(&self) -> bool {
        self.may_shortcut() && self.codec.as_ref().is_some_and(|codec| codec.passing())
    }

    /// What passes straight through from `input`, taken as output (`Decode::lease`) past the
    /// stream's state machine, under the same conditions as `ready`: always short of
    /// `max_output`, so that reaching it goes through `step`. Returns how much: the bytes
    /// `input` moved past are the output, the caller's to hand out.
    pub fn lease(&mut self, input: &mut InBuf<'_>) -> usize {
        let room = (self.max_output - self.total_out).saturating_sub(1);
        let max = usize::try_from(room).unwrap_or(usize::MAX);
        let Some(codec) = self.shortcut_codec().filter(|_| max > 0) else { return 0 };
        let before = input.pos;
        let n = codec.lease(input, max);
        debug_assert_eq!(input.pos - before, n);
        self.total_in += n as u64;
        self.total_out += n as u64;
        n
    }

    /// `lease`, with the bytes appended to `out` (`read_to_end`).
    pub fn lease_append(&mut self, input: &mut InBuf<'_>, out: &mut Vec<u8>) -> usize {
        let n = self.lease(input);
        out.extend_from_slice(&input.data[input.pos - n..input.pos]);
        n
    }

    /// Inside a member, with nothing stashed and no error kept: where a shortcut may skip the
    /// state machine.
    fn may_shortcut(&self) -> bool {
        matches!(self.state, State::Member) && self.stash.is_empty() && self.failed.is_none()
    }

    fn shortcut_codec(&mut self) -> Option<&mut Pooled<dyn Decode>> {
        if self.may_shortcut() {
            self.codec.as_mut()
        } else {
            None
        }
    }

    /// Start a new stream of the same format, reusing the codec; a failure to rebuild it is
    /// reported by the next step.
    pub fn reset(&mut self) {
        self.stash.consume(self.stash.pending().len());
        self.total_in = 0;
        self.total_out = 0;
        self.failed = None;
        match (&mut self.codec, self.format) {
            (Some(codec), Some(format)) => {
                self.failed = codec.reset().err().map(|fault| Error::from_fault(format, fault));
                self.state = State::Member;
            }
            _ => self.state = State::Sniff { skipped: 0, skip_left: 0 },
        }
    }

    /// Decode what `input` allows into `out` (non-empty). `eof`: no input follows `input`.
    pub fn step(&mut self, input: &mut InBuf<'_>, eof: bool, out: &mut [u8]) -> Result<Step> {
        if let Some(e) = &self.failed {
            return Err(e.duplicate());
        }
        let result = self.run(input, eof, out);
        if let Err(e) = &result {
            if !e.is_retryable() {
                self.failed = Some(e.duplicate());
            }
        }
        result
    }

    /// Only sniff: true once the format is known (or the stream ended with skippable frames
    /// only), false when more input is needed. For the shapes that know the format from
    /// their constructor on.
    pub fn sniff_only(&mut self, input: &mut InBuf<'_>, eof: bool) -> Result<bool> {
        match self.state {
            State::Sniff { skipped, skip_left } => self.sniff(skipped, skip_left, input, eof),
            _ => Ok(true),
        }
    }

    fn run(&mut self, input: &mut InBuf<'_>, eof: bool, out: &mut [u8]) -> Result<Step> {
        loop {
            match self.state {
                State::End => return Ok(Step::End),
                State::Sniff { skipped, skip_left } => {
                    if !self.sniff(skipped, skip_left, input, eof)? {
                        return Ok(Step::NeedInput);
                    }
                }
                State::Boundary(boundary) => {
                    if !self.boundary(boundary, input, eof)? {
                        return Ok(Step::NeedInput);
                    }
                }
                State::Member => {
                    if let Some(step) = self.member(input, eof, out)? {
                        return Ok(step);
                    }
                }
            }
        }
    }

    /// Take `n` bytes of what `from_stash` says: the stash or the input.
    fn skip(&mut self, n: usize, from_stash: bool, input: &mut InBuf<'_>) {
        if from_stash {
            self.stash.consume(n);
        } else {
            input.advance(n);
            self.total_in += n as u64;
        }
    }

    /// Top the stash up from `input` if it holds something: then the stash is what a
    /// decision looks at (true), else the input.
    fn top_up(&mut self, input: &mut InBuf<'_>) -> bool {
        if self.stash.is_empty() {
            return false;
        }
        self.total_in += self.stash.take(input) as u64;
        true
    }

    /// Keep what is left of `input` (less than a decision needs) for the next slice.
    fn keep(&mut self, input: &mut InBuf<'_>) {
        self.total_in += self.stash.take(input) as u64;
        debug_assert!(input.is_empty(), "a decision needs at most {STASH} bytes");
    }

    /// Find the format (see `Format::detect`); leading skippable frames are consumed.
    fn sniff(
        &mut self,
        mut skipped: u64,
        mut skip_left: u64,
        input: &mut InBuf<'_>,
        eof: bool,
    ) -> Result<bool> {
        loop {
            let from_stash = self.top_up(input);
            let no_more = eof && (!from_stash || input.is_empty());
            let pending = if from_stash { self.stash.pending() } else { input.rest() };
            if skip_left > 0 {
                let n = skip_left.min(pending.len() as u64) as usize;
                if n == 0 {
                    self.state = State::Sniff { skipped, skip_left };
                    if eof {
                        return Err(Error::Truncated {
                            format: Format::skippable_owner().ok_or(Error::UnknownFormat)?,
                        });
                    }
                    return Ok(false);
                }
                self.skip(n, from_stash, input);
                skip_left -= n as u64;
                continue;
            }
            match format::sniff(pending) {
                Sniff::Found(format) => {
                    self.start(format)?;
                    return Ok(true);
                }
                Sniff::Unknown => return Err(Error::UnknownFormat),
                Sniff::Skippable(len) => {
                    skipped += len;
                    if skipped > MAX_SKIPPABLE_PREFIX {
                        return Err(Error::UnknownFormat);
                    }
                    skip_left = len;
                }
                Sniff::NeedMore if pending.is_empty() && no_more && skipped > 0 => {
                    // skippable frames only: an empty stream of the format they belong to
                    let owner = Format::skippable_owner().ok_or(Error::UnknownFormat)?;
                    self.start(owner)?;
                    self.state = State::End;
                    return Ok(true);
                }
                Sniff::NeedMore if no_more => {
                    return Err(match format::partial_magic(pending) {
                        Some(format) => Error::Truncated { format },
                        None => Error::UnknownFormat,
                    })
                }
                Sniff::NeedMore => {
                    if !from_stash {
                        self.keep(input);
                    }
                    self.state = State::Sniff { skipped, skip_left };
                    return Ok(false);
                }
            }
        }
    }

    /// Between members: let the end-of-stream policy decide what the next bytes are.
    fn boundary(&mut self, mut boundary: Boundary, input: &mut InBuf<'_>, eof: bool) -> Result<bool> {
        loop {
            let from_stash = self.top_up(input);
            let no_more = eof && (!from_stash || input.is_empty());
            let pending = if from_stash { self.stash.pending() } else { input.rest() };
            let next = boundary.next(pending, no_more);
            // keep the padding count for a step retried after an error
            self.state = State::Boundary(boundary);
            match next? {
                Next::Skip(n) => self.skip(n, from_stash, input),
                Next::NeedMore => {
                    if !from_stash {
                        self.keep(input);
                    }
                    return Ok(false);
                }
                Next::End => {
                    self.state = State::End;
                    return Ok(true);
                }
                Next::Member => {
                    let Some(format) = self.format else { return Err(Error::UnknownFormat) };
                    if let Some(codec) = &mut self.codec {
                        codec.reset().map_err(|fault| Error::from_fault(format, fault))?;
                    }
                    self.state = State::Member;
                    return Ok(true);
                }
            }
        }
    }

    /// The codec said `End` or `Skipped`: on to what follows the member.
    fn close_member(&mut self, format: Format, outcome: Decoded) {
        // a leading skippable frame is not the member `single_stream` stops after
        let last = self.single_stream && outcome == Decoded::End;
        self.state = if last { State::End } else { State::Boundary(Boundary::new(format)) };
    }

    /// One codec call inside a member. `Some` ends the step, `None` goes on.
    fn member(&mut self, input: &mut InBuf<'_>, eof: bool, out: &mut [u8]) -> Result<Option<Step>> {
        // (`let ... else` rather than `ok_or`: an eager `Error` costs a drop on every call)
        let (Some(format), Some(codec)) = (self.format, &mut self.codec) else {
            return Err(Error::UnknownFormat);
        };
        // `max_output` is enforced before the excess exists: at the limit the codec gets a
        // 1-byte probe whose content nobody ever sees, only whether there is any
        let allowed = self.max_output - self.total_out;
        let mut probe = [0u8; 1];
        let dst: &mut [u8] = match usize::try_from(allowed) {
            Ok(0) => &mut probe,
            Ok(allowed) if allowed < out.len() => &mut out[..allowed],
            _ => out,
        };
        let mut output = OutBuf::new(dst);
        // the stash (lookahead kept at a boundary or while sniffing) goes first
        let from_stash = !self.stash.is_empty();
        let outcome = if from_stash {
            let mut stashed = InBuf::new(self.stash.pending());
            stashed.last = eof && input.is_empty();
            let outcome = codec.decode(&mut stashed, &mut output);
            self.stash.consume(stashed.pos);
            outcome
        } else {
            let mut rest = InBuf::with_room(input.rest(), input.room);
            rest.last = eof;
            let outcome = codec.decode(&mut rest, &mut output);
            input.advance(rest.pos);
            self.total_in += rest.pos as u64;
            outcome
        };
        let outcome = outcome.map_err(|fault| Error::from_fault(format, fault))?;
        let produced = output.pos;
        if allowed == 0 && produced > 0 {
            return Err(Error::LimitExceeded { limit: self.max_output });
        }
        self.total_out += produced as u64;
        let done = (produced > 0).then_some(Step::Produced(produced));
        match outcome {
            Decoded::End | Decoded::Skipped => {
                self.close_member(format, outcome);
                Ok(done)
            }
            Decoded::OutputFull if produced == 0 => Err(no_progress(format)),
            Decoded::OutputFull => Ok(done),
            Decoded::InputEmpty if produced > 0 => Ok(done),
            // the stash is used up: on to the input
            Decoded::InputEmpty if from_stash => Ok(None),
            Decoded::InputEmpty if eof => {
                // truncated: first whatever the codec still holds of the input it consumed
                codec.end_of_input(&mut output).map_err(|fault| Error::from_fault(format, fault))?;
                let produced = output.pos;
                if produced == 0 {
                    return Err(Error::Truncated { format });
                }
                if allowed == 0 {
                    return Err(Error::LimitExceeded { limit: self.max_output });
                }
                self.total_out += produced as u64;
                Ok(Some(Step::Produced(produced)))
            }
            Decoded::InputEmpty if !input.is_empty() && input.rest().len() >= input.room => {
                // an incomplete unit larger than `room`: the codec broke its contract
                Err(no_progress(format))
            }
            Decoded::InputEmpty => Ok(Some(Step::NeedInput)),
        }
    }
}

/// Reads shorter than this go through a [`Stage`].
const SMALL_READ: usize = 2 * 1024;

/// The most a [`Stage`] holds.
const STAGE: usize = 8 * 1024;

/// Output decoded ahead for small reads. A read of a few hundred bytes costs a trip through
/// the state machine and the codec (a dyn call, the checks, the backend's own call) whatever
/// it gets; decoding up to `STAGE` bytes at a time and handing them out with a copy each
/// makes a small read cost the copy. Reads of `SMALL_READ` bytes or more, or at least as
/// large as the stage, go straight into the caller's buffer, as before. Allocated at the first
/// small read (never for a decoder that is not read in small pieces), at most the adapter's
/// buffer size; kept across `reset`.
///
/// Where the codec's unit (`Decode::output_unit`) is larger than `STAGE` and within the
/// buffer size, the stage is one unit: an lz4 block (64 KiB by default) then decodes straight
/// into it, where a smaller stage would have the codec decode it into a block buffer of its
/// own and copy it out again. The stage takes that buffer's place (the codec never allocates
/// it), so small reads cost lz4 no memory at all. (The size is chosen at the first small
/// read, before lz4 has seen a frame's header, from the smallest block, 64 KiB: a frame of
/// larger blocks keeps a 64 KiB stage beside the codec's block buffer.)
///
/// Only the reading shapes (`read::Decoder`, `bufread::Decoder`) use it, in `Read::read`;
/// everything that reads past it (`read_to_end`, `total_out`) accounts for what it holds.
/// Nothing about the stream changes: the stage is filled by the shape's own read, which
/// returns what it decoded before any error, so the staged bytes come out first and the
/// error with the next read, as from a read the size of the stage.
pub(crate) struct Stage {
    data: Box<[u8]>,
    pos: usize,
    end: usize,
    /// The adapter's buffer size: the most the stage may take.
    limit: usize,
}

impl Stage {
    /// A stage of at most `limit` bytes (the adapter's buffer size), not yet allocated.
    pub fn new(limit: usize) -> Self {
        Stage { data: Box::default(), pos: 0, end: 0, limit: limit.max(1) }
    }

    /// Decoded bytes held, not yet returned.
    pub fn held(&self) -> usize {
        self.end - self.pos
    }

    /// Forget what is held (a new stream).
    pub fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    /// The size to allocate for a codec whose `output_unit` is `unit`: `STAGE`, or a whole
    /// unit where that is larger and within the limit. An lz4 block then decodes straight into
    /// the stage, so the codec never allocates a block buffer of its own and no block is
    /// copied twice (into that buffer, then into the stage).
    fn size_for(&self, unit: usize) -> usize {
        if unit > STAGE && unit <= self.limit {
            unit
        } else {
            STAGE.min(self.limit)
        }
    }

    /// A read of `out` (non-empty): what the stage holds, else, for a small read, up to a
    /// stage's worth (at most `most` bytes) decoded by `read` (the shape's own read) and
    /// handed out from the stage; else `read` straight into `out`. `unit`: the codec's
    /// `output_unit` now, which sizes the stage when it is allocated (at the first small
    /// read; kept from then on).
    #[inline]
    pub fn read(
        &mut self,
        out: &mut [u8],
        unit: usize,
        most: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize>,
    ) -> Result<usize> {
        if self.pos < self.end {
            return Ok(self.hand_out(out));
        }
        // (a stage no larger than the read would only make it shorter: a tiny `buffer_size`)
        let size = if self.data.is_empty() { self.size_for(unit) } else { self.data.len() };
        if out.len() >= SMALL_READ || out.len() >= size {
            return read(out);
        }
        if self.data.is_empty() {
            self.data = vec![0; size].into_boxed_slice();
        }
        let fill = self.data.len().min(most.max(1));
        self.end = read(&mut self.data[..fill])?;
        self.pos = 0;
        Ok(self.hand_out(out))
    }

    fn hand_out(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }

    /// Move what is held to the end of `buf` (for `read_to_end`); returns how much.
    pub fn drain_into(&mut self, buf: &mut Vec<u8>) -> usize {
        let n = self.held();
        buf.extend_from_slice(&self.data[self.pos..self.end]);
        self.clear();
        n
    }
}

/// How far ahead of the decoder `read_to_end` zeroes the `Vec`'s spare capacity: small enough
/// to stay in the cache until the decoder writes the same lines.
const TO_END_STRETCH: usize = 64 * 1024;

/// What `read_to_end` gives a read between two blocks that pass straight through: enough for
/// the codec to cross the next block's header and show whether that block passes too.
pub(crate) const CROSSING: usize = 16;

/// A reading decoder, as `read_to_end` drives it.
pub(crate) trait ReadOut {
    /// `Read::read`, with our error.
    fn read_out(&mut self, out: &mut [u8]) -> Result<usize>;
    /// Whether the decoder is passing its input straight through (`DecodeCore::passing`).
    fn passing(&self) -> bool {
        false
    }
    /// While `passing`: append what passes straight through to `buf`, reading input if none
    /// is buffered; returns how much (0: not passing, or the input has ended).
    fn append_passing(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        let _ = buf;
        Ok(0)
    }
    /// The codec's `output_unit` now (an lz4 frame's block size is known once its header is
    /// read).
    fn output_unit(&self) -> usize;
}

/// `Read::read_to_end` for our reading decoders. The standard one zeroes the spare capacity
/// up to megabytes ahead of the reads, so every output byte is written to memory twice;
/// zeroing a cache-sized stretch just ahead of the reads makes the decoder's writes land on
/// lines that are still cached. Each byte is zeroed once: the zeroed stretch stays in the
/// `Vec` until the end. Each read gets at least the codec's `output_unit`, where the
/// capacity allows.
///
/// Where the decoder passes its input straight through (lz4's stored blocks), nothing is
/// zeroed for those bytes: they are appended. Between two such blocks `read_out` gets only
/// `CROSSING` bytes, enough to cross the next block's header without copying that block into
/// zeroed space; if the next block is not stored, zeroing ahead resumes.
pub(crate) fn read_to_end(decoder: &mut impl ReadOut, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let start = buf.len();
    let mut filled = start;
    let mut passing = false;
    let result = loop {
        if decoder.passing() {
            // (drops what was zeroed ahead: a stretch once per run of stored blocks)
            buf.truncate(filled);
            passing = true;
            match decoder.append_passing(buf) {
                Ok(0) => {} // the input has ended: `read_out` says how
                Ok(n) => {
                    filled += n;
                    continue;
                }
                Err(e) => break Err(e.into()),
            }
        }
        let end = if passing && buf.capacity() - filled >= CROSSING {
            buf.resize(filled + CROSSING, 0);
            filled + CROSSING
        } else {
            let stretch = TO_END_STRETCH.max(2 * decoder.output_unit());
            if buf.len() - filled < stretch / 2 && buf.capacity() > buf.len() {
                // within the capacity the caller gave, which may be exact
                buf.resize((filled + stretch).min(buf.capacity()), 0);
            }
            if buf.len() == filled {
                // the capacity is used up: grow only if there is more to come
                let mut probe = [0u8; 32];
                match decoder.read_out(&mut probe) {
                    Ok(0) => break Ok(filled - start),
                    Ok(n) => {
                        buf.extend_from_slice(&probe[..n]);
                        filled += n;
                        buf.reserve(stretch);
                        continue;
                    }
                    Err(e) => break Err(e.into()),
                }
            }
            buf.len()
        };
        match decoder.read_out(&mut buf[filled..end]) {
            Ok(0) => break Ok(filled - start),
            Ok(n) => filled += n,
            Err(e) => break Err(e.into()),
        }
        if passing && !decoder.passing() {
            // the next block is not stored: zero ahead again
            buf.truncate(filled);
            passing = false;
        }
    };
    buf.truncate(filled);
    result
}

fn no_progress(format: Format) -> Error {
    Error::backend(format, "decoder made no progress")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_serves_small_reads_from_one_fill_and_passes_large_ones_and_errors_through() {
        let source: Vec<u8> = (0..=255u8).cycle().take(40_000).collect();
        let mut at = 0;
        let mut fills = Vec::new();
        let mut stage = Stage::new(1 << 16);
        let mut read = |stage: &mut Stage, out: &mut [u8], fills: &mut Vec<usize>| {
            stage
                .read(out, 0, usize::MAX, |space| {
                    fills.push(space.len());
                    let n = space.len().min(source.len() - at);
                    space[..n].copy_from_slice(&source[at..at + n]);
                    at += n;
                    Ok(n)
                })
                .unwrap()
        };
        // small reads: one fill of a whole stage, handed out 333 bytes at a time
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        for _ in 0..30 {
            let n = read(&mut stage, &mut buf[..333], &mut fills);
            out.extend_from_slice(&buf[..n]);
        }
        // (the read that meets the end of the first fill gets what is left of it)
        assert_eq!(fills, [STAGE, STAGE]);
        assert_eq!(stage.held(), 2 * STAGE - out.len());
        assert_eq!(out.len(), 29 * 333 + STAGE % 333);
        // a large read takes what the stage holds first, then goes straight through
        let n = read(&mut stage, &mut buf, &mut fills);
        assert_eq!(n, 4096.min(2 * STAGE - out.len()));
        out.extend_from_slice(&buf[..n]);
        while stage.held() > 0 {
            let n = read(&mut stage, &mut buf, &mut fills);
            out.extend_from_slice(&buf[..n]);
        }
        let n = read(&mut stage, &mut buf, &mut fills);
        assert_eq!((n, fills.last()), (4096, Some(&4096)));
        out.extend_from_slice(&buf[..n]);
        // read_to_end's drain
        read(&mut stage, &mut buf[..10], &mut fills);
        out.extend_from_slice(&buf[..10]);
        let held = stage.held();
        assert_eq!(stage.drain_into(&mut out), held);
        assert_eq!(stage.held(), 0);
        assert!(source.starts_with(&out) && out.len() == at);
        // an error from the fill leaves the stage empty, for the next read to retry
        let mut small = Stage::new(100);
        let err = small.read(&mut buf[..5], 0, usize::MAX, |_| Err(Error::UnknownFormat));
        assert!(matches!(err, Err(Error::UnknownFormat)) && small.held() == 0);
        assert_eq!(small.read(&mut buf[..5], 0, usize::MAX, |space| Ok(space.len())).unwrap(), 5);
        assert_eq!(small.held(), 95, "a stage is at most the buffer size");
        // a read as large as the stage goes straight through
        let mut tiny = Stage::new(64);
        assert_eq!(tiny.read(&mut buf[..100], 0, usize::MAX, |space| Ok(space.len())).unwrap(), 100);
        assert_eq!(tiny.held(), 0);
        assert_eq!(tiny.read(&mut buf[..63], 0, usize::MAX, |space| Ok(space.len())).unwrap(), 63);
        assert_eq!(tiny.held(), 1);
    }
}

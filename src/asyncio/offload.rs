//! `Offload`: an async encoder's codec on a thread of its own, for `threads(n)`.
//!
//! With `threads(n)` the codecs hand blocks to worker threads and, when every slot is taken or
//! at a flush, *wait* for them (our block engine, libzstd's and liblzma's multithreaded
//! coders alike). A sync adapter may wait; a poll may not. So an async encoder configured with
//! threads runs its whole encoding state (`write::EncodeState`, the very state the sync
//! `write::Encoder` drives) on one extra thread, and a poll only moves bytes between the
//! caller, that thread and the inner I/O: input goes over in chunks of the buffer size,
//! compressed output comes back in chunks, `flush` and `finish` travel in order with them as
//! marks. Nothing in a poll waits for a worker: when the queues are full or empty the poll
//! registers its waker and returns `Pending`, and the thread wakes it.
//!
//! Memory stays bounded: at most `DEPTH` input chunks and `DEPTH` output chunks are queued,
//! one more of each is in use at either end, and a few spares are kept for reuse, so a long
//! stream allocates nothing after warm-up: about `2 × (DEPTH + 1) + SPARES` buffers besides
//! the encoder's own buffer and codec.
//!
//! The thread ends when the adapter is dropped (it is told, and stops at its next step; it is
//! not joined, so a drop never waits) or when encoding fails; a thread that ends any other way
//! (a panic) is reported as an error, never as a hang.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;

use super::Waiting;
use crate::config::{Config, Direction};
use crate::encode::EncodeCore;
use crate::error::{Error, Result};
use crate::format::Format;
use crate::write::EncodeState;

/// Chunks queued in each direction.
const DEPTH: usize = 2;
/// Spare chunks kept for reuse.
const SPARES: usize = 4;

enum Command {
    Data(Vec<u8>),
    Flush,
    Finish,
}

enum Event {
    Data(Vec<u8>),
    Flushed,
    Finished,
    Failed(io::Error),
}

#[derive(Default)]
struct Queues {
    commands: VecDeque<Command>,
    /// `Data` commands in `commands`.
    input_chunks: usize,
    events: VecDeque<Event>,
    /// `Data` events in `events`.
    output_chunks: usize,
    spare: Vec<Vec<u8>>,
    /// The async side's waker, when it waits for the thread.
    waker: Option<Waker>,
    /// The async side is gone: the thread stops.
    closed: bool,
    /// The thread has ended.
    gone: bool,
}

#[derive(Default)]
struct Shared {
    queues: Mutex<Queues>,
    /// Wakes the thread: a command arrived, output room was made, or the adapter closed.
    thread: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        // a panic while holding the lock leaves consistent queues (every change is a push or
        // pop): carry on
        self.queues.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn chunk(queues: &mut Queues, data: &[u8]) -> Vec<u8> {
        let mut chunk = queues.spare.pop().unwrap_or_default();
        chunk.clear();
        chunk.extend_from_slice(data);
        chunk
    }

    fn recycle(&self, chunk: Vec<u8>) {
        let mut q = self.lock();
        if q.spare.len() < SPARES {
            q.spare.push(chunk);
        }
    }

    fn wake(queues: &mut Queues) {
        if let Some(waker) = queues.waker.take() {
            waker.wake();
        }
    }

    fn register(queues: &mut Queues, waker: &Waker) {
        match &queues.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => queues.waker = Some(waker.clone()),
        }
    }
}

/// The thread's side: takes commands, hands back output.
struct Thread {
    shared: Arc<Shared>,
}

impl Thread {
    fn run(&mut self, mut state: EncodeState) {
        while let Some(command) = self.next_command() {
            let done = match command {
                Command::Data(data) => {
                    let mut rest = &data[..];
                    let mut result = Ok(None);
                    while !rest.is_empty() {
                        match state.write(self, rest) {
                            Ok(n) => rest = &rest[n..],
                            Err(e) => {
                                result = Err(e);
                                break;
                            }
                        }
                    }
                    self.shared.recycle(data);
                    result
                }
                Command::Flush => state.flush(self).map(|()| Some(Event::Flushed)),
                Command::Finish => state.finish(self).map(|()| Some(Event::Finished)),
            };
            match done {
                Ok(None) => {}
                Ok(Some(mark)) => self.push(mark),
                Err(e) => return self.push(Event::Failed(e)),
            }
        }
    }

    /// The next command, or `None` once the adapter has closed.
    fn next_command(&self) -> Option<Command> {
        let mut q = self.shared.lock();
        loop {
            if q.closed {
                return None;
            }
            if let Some(command) = q.commands.pop_front() {
                if let Command::Data(_) = command {
                    q.input_chunks -= 1;
                    // room for more input
                    Shared::wake(&mut q);
                }
                return Some(command);
            }
            q = self.shared.thread.wait(q).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn push(&self, event: Event) {
        let mut q = self.shared.lock();
        q.events.push_back(event);
        Shared::wake(&mut q);
    }
}

/// The encoding state writes its output here: each write is one output chunk, queued once
/// there is room (waiting for the async side to take some: that is the backpressure).
impl Write for Thread {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut q = self.shared.lock();
        while q.output_chunks >= DEPTH && !q.closed {
            q = self.shared.thread.wait(q).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if q.closed {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the encoder was dropped"));
        }
        let chunk = Shared::chunk(&mut q, buf);
        q.events.push_back(Event::Data(chunk));
        q.output_chunks += 1;
        Shared::wake(&mut q);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Thread {
    /// However the thread ends (a panic included), the async side learns it.
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        q.gone = true;
        Shared::wake(&mut q);
    }
}

/// Which mark a flush or finish waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mark {
    Flushed,
    Finished,
}

/// The async side: an encoder whose codec runs on its own thread (see the module docs).
pub(crate) struct Offload {
    shared: Arc<Shared>,
    format: Format,
    /// The input chunk size (the buffer size).
    chunk: usize,
    /// The output chunk being handed out, and how much of it has been.
    out: Option<(Vec<u8>, usize)>,
    /// The mark sent and not yet seen.
    awaiting: Option<Mark>,
    /// `finish` has been sent: no more input.
    finishing: bool,
    /// The stream is complete: every byte of it has been handed out.
    finished: bool,
    /// The thread's error, once reported: later calls report it again.
    failed: Option<(io::ErrorKind, String)>,
    total_in: u64,
    total_out: u64,
}

impl Offload {
    /// Build the encoder (so that a bad config fails here, not on the thread) and start its
    /// thread.
    pub fn new(format: Format, config: &Config, chunk: usize) -> Result<Self> {
        let state = EncodeState::new(format, config)?;
        let shared = Arc::new(Shared::default());
        let mut thread = Thread { shared: shared.clone() };
        std::thread::Builder::new()
            .name("compressio-offload".into())
            .spawn(move || thread.run(state))
            .map_err(|e| Error::backend(format, format!("cannot start the encoder's thread: {e}")))?;
        Ok(Offload {
            shared,
            format,
            chunk,
            out: None,
            awaiting: None,
            finishing: false,
            finished: false,
            failed: None,
            total_in: 0,
            total_out: 0,
        })
    }

    /// The error reported before, again.
    fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some((kind, message)) => Err(io::Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }

    /// The next event from the thread, or `None` with `waker` registered to hear of one.
    fn next_event(&mut self, waker: &Waker) -> io::Result<Option<Event>> {
        let mut q = self.shared.lock();
        match q.events.pop_front() {
            Some(Event::Failed(e)) => {
                drop(q);
                self.failed = Some((e.kind(), e.to_string()));
                Err(e)
            }
            Some(event) => {
                if let Event::Data(_) = event {
                    q.output_chunks -= 1;
                    // room for more output
                    self.shared.thread.notify_one();
                }
                Ok(Some(event))
            }
            None if q.gone => {
                drop(q);
                let e = Error::backend(self.format, "the encoder's thread ended unexpectedly");
                self.failed = Some((io::ErrorKind::Other, e.to_string()));
                Err(e.into())
            }
            None => {
                Shared::register(&mut q, waker);
                Ok(None)
            }
        }
    }

    /// Hand input to the thread: how much was taken, or `None` (with `waker` registered) when
    /// its queue is full.
    fn send(&mut self, data: &[u8], waker: &Waker) -> Option<usize> {
        let mut q = self.shared.lock();
        if q.input_chunks >= DEPTH {
            Shared::register(&mut q, waker);
            return None;
        }
        let n = data.len().min(self.chunk);
        let chunk = Shared::chunk(&mut q, &data[..n]);
        q.commands.push_back(Command::Data(chunk));
        q.input_chunks += 1;
        self.shared.thread.notify_one();
        self.total_in += n as u64;
        Some(n)
    }

    fn send_mark(&mut self, mark: Mark) {
        let command = match mark {
            Mark::Flushed => Command::Flush,
            Mark::Finished => Command::Finish,
        };
        let mut q = self.shared.lock();
        q.commands.push_back(command);
        self.shared.thread.notify_one();
        drop(q);
        self.awaiting = Some(mark);
    }

    /// Take the next event into `self.out` or the mark state; `Ok(false)` when there is none
    /// yet (the waker is registered).
    fn take_event(&mut self, waker: &Waker) -> io::Result<bool> {
        match self.next_event(waker)? {
            None => Ok(false),
            Some(Event::Data(chunk)) => {
                self.total_out += chunk.len() as u64;
                self.out = Some((chunk, 0));
                Ok(true)
            }
            Some(Event::Flushed) => {
                if self.awaiting == Some(Mark::Flushed) {
                    self.awaiting = None;
                }
                Ok(true)
            }
            Some(Event::Finished) => {
                self.awaiting = None;
                self.finished = true;
                Ok(true)
            }
            Some(Event::Failed(e)) => Err(e),
        }
    }

    /// Write the output the thread has produced to `io`, until it has none ready or `until`
    /// is no longer awaited; `WouldBlock` when `io` is not ready.
    fn drain<B: Write + Waiting>(&mut self, io: &mut B, until: Option<Mark>) -> io::Result<()> {
        loop {
            if let Some((chunk, pos)) = &mut self.out {
                while *pos < chunk.len() {
                    match io.write(&chunk[*pos..]) {
                        Ok(0) => {
                            return Err(io::Error::new(
                                io::ErrorKind::WriteZero,
                                "inner writer accepted nothing",
                            ))
                        }
                        Ok(n) => *pos += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                if let Some((chunk, _)) = self.out.take() {
                    self.shared.recycle(chunk);
                }
            }
            if until.is_some() && self.awaiting != until {
                return Ok(());
            }
            if !self.take_event(io.waker())? {
                return if until.is_some() { Err(io.pend()) } else { Ok(()) };
            }
        }
    }

    /// `write::EncodeState::write`, with the codec on the thread: hands out what output is
    /// ready, then takes input if the thread has room for it.
    pub fn write<B: Write + Waiting>(&mut self, io: &mut B, data: &[u8]) -> io::Result<usize> {
        self.check()?;
        if self.finishing {
            return Err(Error::InvalidConfig(format!("{}: write after finish", self.format)).into());
        }
        if data.is_empty() {
            return Ok(0);
        }
        // the output first, as far as `io` takes it now; a pending `io` does not stop input
        let blocked = match self.drain(io, None) {
            Ok(()) => None,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some(e),
            Err(e) => return Err(e),
        };
        match self.send(data, io.waker()) {
            Some(n) => Ok(n),
            None => Err(blocked.unwrap_or_else(|| io.pend())),
        }
    }

    /// `write::EncodeState::flush`: everything written so far, compressed and written to `io`
    /// (after `finish` began, what is ready).
    pub fn flush<B: Write + Waiting>(&mut self, io: &mut B) -> io::Result<()> {
        self.check()?;
        if self.finishing {
            return self.drain(io, None);
        }
        if self.awaiting.is_none() {
            self.send_mark(Mark::Flushed);
        }
        self.drain(io, Some(Mark::Flushed))
    }

    /// `write::EncodeState::finish`: the end of the stream, written to `io`.
    pub fn finish<B: Write + Waiting>(&mut self, io: &mut B) -> io::Result<()> {
        self.check()?;
        if !self.finishing {
            // a flush in progress is simply overtaken: the stream's end includes it
            self.finishing = true;
            self.send_mark(Mark::Finished);
        }
        if !self.finished {
            self.drain(io, Some(Mark::Finished))?;
        }
        // the last chunk came with the mark or before it
        self.drain(io, None)
    }

    /// `bufread::EncodeState::read`, with the codec on the thread: compressed bytes into `out`
    /// (non-empty), or 0 at the end of the stream; input from `io` while there are none.
    pub fn read<B: BufRead + Waiting>(&mut self, io: &mut B, out: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        loop {
            if let Some((chunk, pos)) = &mut self.out {
                let n = (chunk.len() - *pos).min(out.len());
                out[..n].copy_from_slice(&chunk[*pos..*pos + n]);
                *pos += n;
                if *pos == chunk.len() {
                    if let Some((chunk, _)) = self.out.take() {
                        self.shared.recycle(chunk);
                    }
                }
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            if self.take_event(io.waker())? {
                continue;
            }
            if self.finishing {
                // nothing more to send: wait for the thread (the waker is registered)
                return Err(io.pend());
            }
            // (a clone: `available` borrows `io`)
            let waker = io.waker().clone();
            let available = match io.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                self.finishing = true;
                self.send_mark(Mark::Finished);
                continue;
            }
            match self.send(available, &waker) {
                Some(n) => io.consume(n),
                None => return Err(io.pend()),
            }
        }
    }
}

impl Drop for Offload {
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        q.closed = true;
        self.shared.thread.notify_all();
    }
}

/// The sync encoding states an async encoder runs inline (without `threads`).
pub(crate) trait Inline: Sized {
    fn new(format: Format, config: &Config) -> Result<Self>;
    fn core(&self) -> &EncodeCore;
}

impl Inline for EncodeState {
    fn new(format: Format, config: &Config) -> Result<Self> {
        EncodeState::new(format, config)
    }

    fn core(&self) -> &EncodeCore {
        EncodeState::core(self)
    }
}

impl Inline for crate::bufread::EncodeState {
    fn new(format: Format, config: &Config) -> Result<Self> {
        crate::bufread::EncodeState::new(format, config)
    }

    fn core(&self) -> &EncodeCore {
        crate::bufread::EncodeState::core(self)
    }
}

/// An async encoder's engine: its sync state run inline in each poll, or, with `threads(n)`,
/// an [`Offload`] (whose polls never wait for a worker).
pub(crate) enum Engine<S> {
    Inline(S),
    Offloaded(Offload),
}

impl<S: Inline> Engine<S> {
    pub fn new(format: Format, config: &Config) -> Result<Self> {
        let settings = config.resolve(format, Direction::Compress)?;
        Ok(match settings.threads {
            Some(_) => Engine::Offloaded(Offload::new(format, config, settings.buffer_size)?),
            None => Engine::Inline(S::new(format, config)?),
        })
    }

    pub fn format(&self) -> Format {
        match self {
            Engine::Inline(state) => state.core().format(),
            Engine::Offloaded(offload) => offload.format,
        }
    }

    pub fn total_in(&self) -> u64 {
        match self {
            Engine::Inline(state) => state.core().total_in(),
            Engine::Offloaded(offload) => offload.total_in,
        }
    }

    pub fn total_out(&self) -> u64 {
        match self {
            Engine::Inline(state) => state.core().total_out(),
            Engine::Offloaded(offload) => offload.total_out,
        }
    }

    /// Whether the codec runs on a thread of its own.
    pub fn is_offloaded(&self) -> bool {
        matches!(self, Engine::Offloaded(_))
    }

    /// The engine's part of an encoder's `Debug`.
    pub fn debug_fields(&self, d: &mut std::fmt::DebugStruct<'_, '_>) {
        let finished = match self {
            Engine::Inline(state) => state.core().is_finished(),
            Engine::Offloaded(offload) => offload.finished,
        };
        d.field("format", &self.format())
            .field("total_in", &self.total_in())
            .field("total_out", &self.total_out())
            .field("finished", &finished)
            .field("offloaded", &self.is_offloaded());
    }
}

impl Engine<EncodeState> {
    pub fn write<B: Write + Waiting>(&mut self, io: &mut B, data: &[u8]) -> io::Result<usize> {
        match self {
            Engine::Inline(state) => state.write(io, data),
            Engine::Offloaded(offload) => offload.write(io, data),
        }
    }

    pub fn flush<B: Write + Waiting>(&mut self, io: &mut B) -> io::Result<()> {
        match self {
            Engine::Inline(state) => state.flush(io),
            Engine::Offloaded(offload) => offload.flush(io),
        }
    }

    pub fn finish<B: Write + Waiting>(&mut self, io: &mut B) -> io::Result<()> {
        match self {
            Engine::Inline(state) => state.finish(io),
            Engine::Offloaded(offload) => offload.finish(io),
        }
    }
}

impl Engine<crate::bufread::EncodeState> {
    /// Compressed bytes into `out` (non-empty), or 0 at the end of the stream.
    pub fn read<B: BufRead + Waiting>(&mut self, io: &mut B, out: &mut [u8]) -> io::Result<usize> {
        match self {
            // a poll asks the inner reader for more only while nothing was produced
            Engine::Inline(state) => Ok(state.read(io, out, |_| false)?),
            Engine::Offloaded(offload) => offload.read(io, out),
        }
    }
}

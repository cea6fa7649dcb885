//! What the async adapters share, whichever async I/O traits they implement (tokio's or
//! futures-io's).
//!
//! An async adapter is a sync adapter's state (`write::EncodeState`, `bufread::DecodeState`,
//! ...) driven, for the length of one poll, through a [`Bridge`]: a sync `Write`/`BufRead` view
//! of the pinned async writer or reader in which `Pending` is the error `WouldBlock`. The sync
//! states already keep every promise under `WouldBlock` (their state advances only by what was
//! really consumed or written, so a retry loses and repeats nothing), so the async adapters
//! keep them too, with no second copy of the streaming logic. The bridge remembers that it saw
//! `Pending`, so that only a `WouldBlock` born of `Pending` becomes `Poll::Pending` (the inner
//! I/O registered the waker then); any other error stays an error.
//!
//! The bridge also bounds the work of one poll: once a poll has moved a buffer's worth of
//! bytes through the inner I/O, the next call to it wakes the task and yields, so a single
//! `poll_write` of a decompression bomb, or a `poll_read` over a reader that is always ready,
//! never holds the executor for more than one buffer of codec work.
//!
//! The adapter types are defined once, by [`async_adapters!`], which `crate::tokio` and
//! `crate::futures` instantiate (with their own doc examples) and then give their own traits.

use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::config::{Config, Direction};
use crate::error::Result;
use crate::format::Format;

mod offload;

pub(crate) use offload::Engine;

/// A sync view of a pinned async reader or writer, for one poll. `E` names the async traits
/// (a marker type of `crate::tokio` or `crate::futures`), so that each ecosystem implements
/// `std::io::Write`/`BufRead` for its own bridges.
pub(crate) struct Bridge<'a, 'b, T: ?Sized, E> {
    io: Pin<&'a mut T>,
    cx: &'a mut Context<'b>,
    /// The inner I/O said `Pending` (or the budget ran out) during this poll.
    pending: bool,
    /// Bytes moved through the inner I/O during this poll.
    moved: usize,
    budget: usize,
    _ecosystem: PhantomData<E>,
}

impl<'a, 'b, T: ?Sized, E> Bridge<'a, 'b, T, E> {
    pub fn new(io: Pin<&'a mut T>, cx: &'a mut Context<'b>, budget: usize) -> Self {
        Bridge { io, cx, pending: false, moved: 0, budget, _ecosystem: PhantomData }
    }

    /// Before each call to the inner I/O: once this poll has moved its budget, yield — wake
    /// the task at once (it is ready to continue) and report `WouldBlock`.
    pub fn check_budget(&mut self) -> io::Result<()> {
        if self.moved >= self.budget {
            self.cx.waker().wake_by_ref();
            self.pending = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    }

    /// The inner I/O and the context, and the flag to set on `Pending` (for `poll_fill_buf`,
    /// whose result borrows the I/O).
    pub fn parts(&mut self) -> (Pin<&mut T>, &mut Context<'b>, &mut bool) {
        (self.io.as_mut(), self.cx, &mut self.pending)
    }

    /// A poll of the inner I/O as a sync result: `Pending` is `WouldBlock`.
    pub fn sync<R>(&mut self, poll: Poll<io::Result<R>>) -> io::Result<R> {
        match poll {
            Poll::Ready(result) => result,
            Poll::Pending => {
                self.pending = true;
                Err(io::ErrorKind::WouldBlock.into())
            }
        }
    }

    /// Count `n` bytes moved through the inner I/O.
    pub fn moved(&mut self, n: usize) {
        self.moved = self.moved.saturating_add(n);
    }

    /// The sync state's result as a poll: a `WouldBlock` that came from `Pending` (or from the
    /// budget) is `Pending`, with the waker registered; anything else is ready.
    pub fn poll<R>(&self, result: io::Result<R>) -> Poll<io::Result<R>> {
        match result {
            Err(e) if self.pending && e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            result => Poll::Ready(result),
        }
    }
}

/// What a sync state driven by a poll needs besides the I/O, to wait for something other
/// than the inner I/O (the offload thread): the task's waker, and a way to say "pending".
pub(crate) trait Waiting {
    fn waker(&self) -> &Waker;
    /// Mark the poll pending (the waker is registered elsewhere) and give the `WouldBlock`
    /// to return.
    fn pend(&mut self) -> io::Error;
}

impl<T: ?Sized, E> Waiting for Bridge<'_, '_, T, E> {
    fn waker(&self) -> &Waker {
        self.cx.waker()
    }

    fn pend(&mut self) -> io::Error {
        self.pending = true;
        io::ErrorKind::WouldBlock.into()
    }
}

/// Run `f`, one step of a sync state, over a bridge to `io` for this poll, and give its result
/// as a poll.
pub(crate) fn drive<'a, 'b, T: ?Sized, E, R>(
    io: Pin<&'a mut T>,
    cx: &'a mut Context<'b>,
    budget: usize,
    f: impl FnOnce(&mut Bridge<'a, 'b, T, E>) -> io::Result<R>,
) -> Poll<io::Result<R>> {
    let mut bridge = Bridge::new(io, cx, budget);
    let result = f(&mut bridge);
    bridge.poll(result)
}

/// `Interrupted` from an inner `poll_flush`/`poll_shutdown` is retried, as every other call to
/// the inner I/O is.
pub(crate) fn retry_interrupted(mut poll: impl FnMut() -> Poll<io::Result<()>>) -> Poll<io::Result<()>> {
    loop {
        match poll() {
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// The work budget of one poll: the buffer size `config` gives `format` (any enabled format
/// when it is to be detected: the size does not depend on it).
pub(crate) fn budget(format: Option<Format>, config: &Config, direction: Direction) -> Result<usize> {
    let probe = match format {
        Some(format) => format,
        None => config.probe_format()?,
    };
    Ok(config.resolve(probe, direction)?.buffer_size)
}

/// The four async adapter types, their constructors and accessors — everything but the async
/// traits, which each ecosystem's module implements. `$eco` is the module's name, used in the
/// docs; the `$..._example` arguments are each type's doc example, written for that
/// ecosystem.
macro_rules! async_adapters {
    (
        eco: $eco:literal,
        write_encoder_example: $we:literal,
        write_decoder_example: $wd:literal,
        bufread_encoder_example: $be:literal,
        bufread_decoder_example: $bd:literal $(,)?
    ) => {
        /// Write-shaped async adapters: they write what they produce into an async writer.
        pub mod write {
            use std::pin::Pin;

            use crate::config::{Config, Direction};
            use crate::error::Result;
            use crate::format::Format;

            pin_project_lite::pin_project! {
                #[doc = concat!(
                    "An async compressing writer: bytes written to it come out compressed on the ",
                    "inner `", $eco, "` writer — the async form of [`write::Encoder`](crate::write::Encoder), ",
                    "with the same state and the same promises.\n\n",
                    "- **`poll_flush`** is the codec's sync flush: afterwards the peer can decode every ",
                    "byte written so far; then the inner writer is flushed.\n",
                    "- **Shutting down** (`poll_shutdown`/`poll_close`) writes the stream's end and ",
                    "then shuts the inner writer down. Dropping an encoder that was not shut down ",
                    "writes nothing and leaves a truncated stream.\n",
                    "- **Polls are short**: one `poll_write` takes at most one buffer of input, and a ",
                    "poll that has moved a buffer's worth of bytes yields (waking itself) before ",
                    "moving more, so the executor is never held for longer than one buffer of codec ",
                    "work. Dropping a future mid-write (cancellation) leaves the encoder consistent: ",
                    "the bytes a completed `poll_write` reported are in the stream, no others.\n",
                    "- **Inner writer**: `Pending` leaves the encoder intact and resumes with no byte ",
                    "lost or repeated; `Interrupted` is retried; `Ok(0)` is `WriteZero`.\n",
                    "- **[`Config::threads`]**: a multithreaded codec waits for its workers, and a poll ",
                    "must not wait, so with `threads(n)` the whole encoder runs on a thread of its own ",
                    "(named `compressio-offload`) and a poll only hands buffer-sized chunks to it and ",
                    "takes compressed ones back, through bounded queues (about ten buffers in all): a ",
                    "full or empty queue is `Pending`, and the thread wakes the task. Dropping the ",
                    "encoder stops the thread without waiting for it.\n\n",
                    $we
                )]
                pub struct Encoder<W> {
                    #[pin]
                    inner: W,
                    pub(crate) state: crate::asyncio::Engine<crate::write::EncodeState>,
                    pub(crate) budget: usize,
                }
            }

            impl<W> Encoder<W> {
                /// An encoder with the default [`Config`].
                pub fn new(inner: W, format: Format) -> Result<Self> {
                    Self::with_config(inner, format, &Config::default())
                }

                /// An encoder with `config` (validated here).
                pub fn with_config(inner: W, format: Format, config: &Config) -> Result<Self> {
                    let state = crate::asyncio::Engine::new(format, config)?;
                    let budget = crate::asyncio::budget(Some(format), config, Direction::Compress)?;
                    Ok(Encoder { inner, state, budget })
                }

                /// The format being written.
                pub fn format(&self) -> Format {
                    self.state.format()
                }

                /// The inner writer.
                pub fn get_ref(&self) -> &W {
                    &self.inner
                }

                /// The inner writer. Writing to it directly corrupts the stream.
                pub fn get_mut(&mut self) -> &mut W {
                    &mut self.inner
                }

                /// The inner writer, pinned.
                pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W> {
                    self.project().inner
                }

                /// The inner writer, abandoning the stream (buffered output is discarded).
                pub fn into_inner(self) -> W {
                    self.inner
                }

                /// Uncompressed bytes accepted so far.
                pub fn total_in(&self) -> u64 {
                    self.state.total_in()
                }

                /// Compressed bytes produced so far (some may still be buffered).
                pub fn total_out(&self) -> u64 {
                    self.state.total_out()
                }

                pub(crate) fn split(
                    self: Pin<&mut Self>,
                ) -> (Pin<&mut W>, &mut crate::asyncio::Engine<crate::write::EncodeState>, usize) {
                    let this = self.project();
                    (this.inner, this.state, *this.budget)
                }
            }

            impl<W: std::fmt::Debug> std::fmt::Debug for Encoder<W> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    let mut d = f.debug_struct("Encoder");
                    d.field("inner", &self.inner);
                    self.state.debug_fields(&mut d);
                    d.finish_non_exhaustive()
                }
            }

            pin_project_lite::pin_project! {
                #[doc = concat!(
                    "An async decompressing writer: compressed bytes written to it come out ",
                    "decompressed on the inner `", $eco, "` writer — the async form of ",
                    "[`write::Decoder`](crate::write::Decoder), as strict and as bounded.\n\n",
                    "- **Shutting down** (`poll_shutdown`/`poll_close`) writes out the rest and reports ",
                    "[`Error::Truncated`](crate::Error::Truncated) if the stream is incomplete, then ",
                    "shuts the inner writer down; garbage after the end is ",
                    "[`Error::TrailingData`](crate::Error::TrailingData). `Drop` writes nothing.\n",
                    "- [`Config::max_output`] and [`Config::max_memory`] hold as everywhere: a bomb ",
                    "ends in [`Error::LimitExceeded`](crate::Error::LimitExceeded), never in memory ",
                    "or time out of proportion.\n",
                    "- Polls are short and `Pending`-safe as for the [`Encoder`]. Decoders run inline: ",
                    "with `threads(n)`, xz's multithreaded decoder may make a poll wait for its ",
                    "workers (every other decoder is single-threaded).\n\n",
                    $wd
                )]
                pub struct Decoder<W> {
                    #[pin]
                    inner: W,
                    pub(crate) state: crate::write::DecodeState,
                    pub(crate) budget: usize,
                }
            }

            impl<W> Decoder<W> {
                /// A decoder for `format` with the default [`Config`].
                pub fn new(inner: W, format: Format) -> Result<Self> {
                    Self::with_config(inner, format, &Config::default())
                }

                /// A decoder for `format` with `config` (validated here).
                pub fn with_config(inner: W, format: Format, config: &Config) -> Result<Self> {
                    Self::build(inner, Some(format), config)
                }

                /// A decoder for whatever format the stream starts with (see
                /// [`Format::detect`]); the bytes looked at are decoded, not lost.
                pub fn auto(inner: W) -> Result<Self> {
                    Self::auto_with_config(inner, &Config::default())
                }

                /// [`auto`](Decoder::auto) with `config`.
                pub fn auto_with_config(inner: W, config: &Config) -> Result<Self> {
                    Self::build(inner, None, config)
                }

                fn build(inner: W, format: Option<Format>, config: &Config) -> Result<Self> {
                    let state = crate::write::DecodeState::new(format, config)?;
                    let budget = crate::asyncio::budget(format, config, Direction::Decompress)?;
                    Ok(Decoder { inner, state, budget })
                }

                /// The format being decoded, once known (at once unless detecting).
                pub fn format(&self) -> Option<Format> {
                    self.state.core().format()
                }

                /// Whether the stream has ended (with `single_stream`, or after a complete
                /// stream and shutdown).
                pub fn is_ended(&self) -> bool {
                    self.state.core().ended()
                }

                /// The inner writer.
                pub fn get_ref(&self) -> &W {
                    &self.inner
                }

                /// The inner writer. Writing to it directly puts bytes between decoded ones.
                pub fn get_mut(&mut self) -> &mut W {
                    &mut self.inner
                }

                /// The inner writer, pinned.
                pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W> {
                    self.project().inner
                }

                /// The inner writer, abandoning the stream (buffered output is discarded).
                pub fn into_inner(self) -> W {
                    self.inner
                }

                /// Compressed bytes consumed so far.
                pub fn total_in(&self) -> u64 {
                    self.state.core().total_in()
                }

                /// Decompressed bytes produced so far (some may still be buffered).
                pub fn total_out(&self) -> u64 {
                    self.state.core().total_out()
                }

                pub(crate) fn split(self: Pin<&mut Self>) -> (Pin<&mut W>, &mut crate::write::DecodeState, usize) {
                    let this = self.project();
                    (this.inner, this.state, *this.budget)
                }
            }

            impl<W: std::fmt::Debug> std::fmt::Debug for Decoder<W> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    let mut d = f.debug_struct("Decoder");
                    d.field("inner", &self.inner);
                    self.state.debug_fields(&mut d);
                    d.finish_non_exhaustive()
                }
            }
        }

        /// BufRead-shaped async adapters: they take their input straight from an async
        /// buffered reader's own buffer, and are async readers of what they produce.
        pub mod bufread {
            use std::pin::Pin;

            use crate::config::{Config, Direction};
            use crate::error::Result;
            use crate::format::Format;

            pin_project_lite::pin_project! {
                #[doc = concat!(
                    "An async compressing reader over a `", $eco, "` buffered reader: reading from it ",
                    "yields the compressed form of what it reads, ending with the stream's trailer ",
                    "once the inner reader ends — the async form of ",
                    "[`bufread::Encoder`](crate::bufread::Encoder), for a response body compressed ",
                    "on the fly.\n\n",
                    "It owns no buffer: input comes from the inner reader's buffer, output goes into ",
                    "the caller's. A poll moves at most a buffer's worth ([`Config::buffer_size`]) ",
                    "of input before yielding; `Pending` from the inner reader loses nothing. With ",
                    "[`Config::threads`] the codec runs on a thread of its own, as for the write-shaped ",
                    "encoder, so that no poll waits for a worker (the buffers then are its queues').\n\n",
                    $be
                )]
                pub struct Encoder<R> {
                    #[pin]
                    inner: R,
                    pub(crate) state: crate::asyncio::Engine<crate::bufread::EncodeState>,
                    pub(crate) budget: usize,
                }
            }

            impl<R> Encoder<R> {
                /// An encoder with the default [`Config`].
                pub fn new(inner: R, format: Format) -> Result<Self> {
                    Self::with_config(inner, format, &Config::default())
                }

                /// An encoder with `config` (validated here).
                pub fn with_config(inner: R, format: Format, config: &Config) -> Result<Self> {
                    let state = crate::asyncio::Engine::new(format, config)?;
                    let budget = crate::asyncio::budget(Some(format), config, Direction::Compress)?;
                    Ok(Encoder { inner, state, budget })
                }

                /// The format being produced.
                pub fn format(&self) -> Format {
                    self.state.format()
                }

                /// The inner reader.
                pub fn get_ref(&self) -> &R {
                    &self.inner
                }

                /// The inner reader. Reading from it directly takes bytes from the encoder.
                pub fn get_mut(&mut self) -> &mut R {
                    &mut self.inner
                }

                /// The inner reader, pinned.
                pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
                    self.project().inner
                }

                /// The inner reader, with every byte not yet consumed still in it.
                pub fn into_inner(self) -> R {
                    self.inner
                }

                /// Uncompressed bytes consumed so far.
                pub fn total_in(&self) -> u64 {
                    self.state.total_in()
                }

                /// Compressed bytes returned so far.
                pub fn total_out(&self) -> u64 {
                    self.state.total_out()
                }

                pub(crate) fn split(
                    self: Pin<&mut Self>,
                ) -> (Pin<&mut R>, &mut crate::asyncio::Engine<crate::bufread::EncodeState>, usize) {
                    let this = self.project();
                    (this.inner, this.state, *this.budget)
                }
            }

            impl<R: std::fmt::Debug> std::fmt::Debug for Encoder<R> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    let mut d = f.debug_struct("Encoder");
                    d.field("inner", &self.inner);
                    self.state.debug_fields(&mut d);
                    d.finish_non_exhaustive()
                }
            }

            pin_project_lite::pin_project! {
                #[doc = concat!(
                    "An async decompressing reader over a `", $eco, "` buffered reader: reading from ",
                    "it yields the decompressed form of what it reads — the async form of ",
                    "[`bufread::Decoder`](crate::bufread::Decoder), as strict and as bounded ",
                    "(a truncated stream is [`Error::Truncated`](crate::Error::Truncated), never ",
                    "a short body; [`Config::max_output`] stops a bomb). With ",
                    "[`Config::single_stream`] it consumes exactly the first member: the bytes after ",
                    "it stay in the inner reader.\n\n",
                    "It owns no buffer: input comes from the inner reader's buffer, output goes into ",
                    "the caller's. A poll moves at most a buffer's worth of input before yielding; ",
                    "`Pending` from the inner reader loses nothing.\n\n",
                    $bd
                )]
                pub struct Decoder<R> {
                    #[pin]
                    inner: R,
                    pub(crate) state: crate::bufread::DecodeState,
                    pub(crate) budget: usize,
                }
            }

            impl<R> Decoder<R> {
                /// A decoder for `format` with the default [`Config`].
                pub fn new(inner: R, format: Format) -> Result<Self> {
                    Self::with_config(inner, format, &Config::default())
                }

                /// A decoder for `format` with `config` (validated here).
                pub fn with_config(inner: R, format: Format, config: &Config) -> Result<Self> {
                    Self::build(inner, Some(format), config)
                }

                /// A decoder for whatever format the stream starts with (see
                /// [`Format::detect`]), found on the first read; the bytes looked at are
                /// decoded, not lost, and an unknown format is
                /// [`Error::UnknownFormat`](crate::Error::UnknownFormat) from that read.
                pub fn auto(inner: R) -> Result<Self> {
                    Self::auto_with_config(inner, &Config::default())
                }

                /// [`auto`](Decoder::auto) with `config`.
                pub fn auto_with_config(inner: R, config: &Config) -> Result<Self> {
                    Self::build(inner, None, config)
                }

                fn build(inner: R, format: Option<Format>, config: &Config) -> Result<Self> {
                    let state = crate::bufread::DecodeState::new(format, config)?;
                    let budget = crate::asyncio::budget(format, config, Direction::Decompress)?;
                    Ok(Decoder { inner, state, budget })
                }

                /// The format being decoded, once known (at once unless detecting).
                pub fn format(&self) -> Option<Format> {
                    self.state.core().format()
                }

                /// The inner reader.
                pub fn get_ref(&self) -> &R {
                    &self.inner
                }

                /// The inner reader. Reading from it directly takes bytes from the decoder.
                pub fn get_mut(&mut self) -> &mut R {
                    &mut self.inner
                }

                /// The inner reader, pinned.
                pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
                    self.project().inner
                }

                /// The inner reader, with every byte the decoder has not consumed still in it.
                pub fn into_inner(self) -> R {
                    self.inner
                }

                /// Compressed bytes consumed so far.
                pub fn total_in(&self) -> u64 {
                    self.state.core().total_in()
                }

                /// Decompressed bytes returned so far.
                pub fn total_out(&self) -> u64 {
                    self.state.core().total_out()
                }

                pub(crate) fn split(self: Pin<&mut Self>) -> (Pin<&mut R>, &mut crate::bufread::DecodeState, usize) {
                    let this = self.project();
                    (this.inner, this.state, *this.budget)
                }
            }

            impl<R: std::fmt::Debug> std::fmt::Debug for Decoder<R> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    let mut d = f.debug_struct("Decoder");
                    d.field("inner", &self.inner);
                    self.state.debug_fields(&mut d, 0);
                    d.finish_non_exhaustive()
                }
            }
        }
    };
}

/// `std::io::Write`, `Read` and `BufRead` for the bridges of one ecosystem (`$marker`) over its
/// `$write`/`$bufread` traits: each call checks the poll's budget, counts what it moved, and
/// turns `Pending` into `WouldBlock`.
macro_rules! bridge_io {
    ($marker:ty, $write:path, $bufread:path) => {
        impl<W: $write + ?Sized> std::io::Write for crate::asyncio::Bridge<'_, '_, W, $marker> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.check_budget()?;
                let (io, cx, _) = self.parts();
                let poll = io.poll_write(cx, buf);
                let n = self.sync(poll)?;
                self.moved(n);
                Ok(n)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                let (io, cx, _) = self.parts();
                let poll = io.poll_flush(cx);
                self.sync(poll)
            }
        }

        impl<R: $bufread + ?Sized> std::io::Read for crate::asyncio::Bridge<'_, '_, R, $marker> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                use std::io::BufRead;
                let n = std::io::Read::read(&mut self.fill_buf()?, out)?;
                self.consume(n);
                Ok(n)
            }
        }

        impl<R: $bufread + ?Sized> std::io::BufRead for crate::asyncio::Bridge<'_, '_, R, $marker> {
            fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
                self.check_budget()?;
                let (io, cx, pending) = self.parts();
                match io.poll_fill_buf(cx) {
                    std::task::Poll::Ready(result) => result,
                    std::task::Poll::Pending => {
                        *pending = true;
                        Err(std::io::ErrorKind::WouldBlock.into())
                    }
                }
            }

            fn consume(&mut self, n: usize) {
                let (io, _, _) = self.parts();
                io.consume(n);
                self.moved(n);
            }
        }
    };
}

/// The ecosystem's `$write` trait for a write-shaped adapter `$adapter` (whose state has
/// `write`, `flush` and `finish`); `$close` is the trait's name for the end (`poll_shutdown`,
/// `poll_close`), which finishes the state and then closes the inner writer.
macro_rules! async_write {
    ($marker:ty, $write:path, $close:ident, $adapter:ident) => {
        impl<W: $write> $write for write::$adapter<W> {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                data: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let (inner, state, budget) = self.split();
                // one buffer of input a poll
                let data = &data[..data.len().min(budget)];
                crate::asyncio::drive::<_, $marker, _>(inner, cx, budget, |io| state.write(io, data))
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let (mut inner, state, budget) = self.split();
                std::task::ready!(crate::asyncio::drive::<_, $marker, _>(
                    inner.as_mut(),
                    cx,
                    budget,
                    |io| state.flush(io)
                ))?;
                crate::asyncio::retry_interrupted(|| inner.as_mut().poll_flush(cx))
            }

            fn $close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let (mut inner, state, budget) = self.split();
                std::task::ready!(crate::asyncio::drive::<_, $marker, _>(
                    inner.as_mut(),
                    cx,
                    budget,
                    |io| state.finish(io)
                ))?;
                crate::asyncio::retry_interrupted(|| inner.as_mut().$close(cx))
            }
        }
    };
}

/// One read of a bufread-shaped encoder, as a poll: at most `budget` bytes of output, from at
/// most `budget` bytes of input.
pub(crate) fn read_encoded<'a, 'b, R: ?Sized, E>(
    inner: Pin<&'a mut R>,
    cx: &'a mut Context<'b>,
    budget: usize,
    state: &mut Engine<crate::bufread::EncodeState>,
    out: &mut [u8],
) -> Poll<io::Result<usize>>
where
    Bridge<'a, 'b, R, E>: io::BufRead,
{
    if out.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let len = out.len().min(budget);
    drive::<_, E, _>(inner, cx, budget, |io| state.read(io, &mut out[..len]))
}

/// One read of a bufread-shaped decoder, as a poll: at most `budget` bytes of output, from at
/// most `budget` bytes of input.
pub(crate) fn read_decoded<'a, 'b, R: ?Sized, E>(
    inner: Pin<&'a mut R>,
    cx: &'a mut Context<'b>,
    budget: usize,
    state: &mut crate::bufread::DecodeState,
    out: &mut [u8],
) -> Poll<io::Result<usize>>
where
    Bridge<'a, 'b, R, E>: io::BufRead,
{
    if out.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let len = out.len().min(budget);
    drive::<_, E, _>(inner, cx, budget, |io| Ok(state.read(io, &mut out[..len])?))
}

pub(crate) use {async_adapters, async_write, bridge_io};

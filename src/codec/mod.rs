//! The sans-I/O codec contract, and the formats' own modules below it.
//!
//! Every format is a state machine turning bytes from an [`InBuf`] into bytes in an
//! [`OutBuf`]. The contract, which the adapters in `write.rs` and `read.rs` rely on:
//!
//! - **Progress.** Given non-empty input and non-empty output space, a call consumes or
//!   produces at least one byte (header fields are assembled internally, so a 1-byte buffer
//!   works), except that a decoder may leave an incomplete unit of at most `InBuf::room` bytes
//!   unconsumed and say [`Decoded::InputEmpty`]. A call with empty input produces whatever
//!   output is pending and nothing else.
//! - **Named outcomes.** A decoder says why it returned ([`Decoded`]): it needs input, it
//!   needs output space, or a member ended. The adapter never guesses from byte counts.
//! - **No I/O, no borrowed memory.** A codec holds no reference to caller memory across calls
//!   and allocates only when built or when a stream header asks for larger internal buffers
//!   (bounded by the memory limit), never per call.
//! - **Members.** A member (gzip member, zstd or skippable frame, lz4 frame, xz stream, ...)
//!   ends with [`Decoded::End`] (or [`Decoded::Skipped`]) once all its output has been
//!   produced, having consumed exactly the member's bytes. What comes next (another member,
//!   padding, trailing garbage, end of input) is the adapter's decision, never the codec's.
//! - **Faults, not formats.** A codec reports what went wrong as a [`Fault`]; it does not know
//!   which [`Format`](crate::Format) it serves (one deflate engine serves three), so the adapter
//!   names the format when it turns the fault into an [`Error`](crate::Error). Truncation is
//!   not the codec's to judge: the adapter reports it when the input ends before the member.
//!
//! Each format lives in its own module here and describes itself with a
//! [`Spec`](spec::Spec); `format.rs` is the one place that lists them.

use std::borrow::Cow;

pub(crate) use crate::buf::{grow_zeroed, reserve_within, Decoded, InBuf, OutBuf, Status};

pub(crate) mod brotli;
pub(crate) mod bzip2;
pub(crate) mod deflate;
#[cfg(any(feature = "zstd", feature = "deflate"))]
pub(crate) mod frames;
pub(crate) mod gzip;
#[cfg(feature = "xz")]
pub(crate) mod liblzma;
pub(crate) mod lz4;
pub(crate) mod lzma;
pub(crate) mod parallel;
pub(crate) mod seekable;
pub(crate) mod spec;
pub(crate) mod xz;
pub(crate) mod zlib;
pub(crate) mod zstd;

/// A compressor.
pub(crate) trait Encode: Send {
    /// Consume input, produce output.
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()>;
    /// Sync flush: once `Done`, every byte consumed so far can be decoded from the output
    /// produced so far. Once started, it is called repeatedly (with fresh output space) until
    /// `Done`, with no `encode` or `finish` in between.
    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status>;
    /// End the stream (trailer, checksums). Called repeatedly until `Done`; `encode` is never
    /// called after the first `finish`.
    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status>;
    /// Start a new, independent stream with the same settings, reusing what can be reused.
    fn reset(&mut self) -> CodecResult<()>;
    /// Whether `reset` really reuses the context (worth keeping in a pool).
    fn reusable(&self) -> bool {
        true
    }
}

/// A decompressor for one member at a time.
pub(crate) trait Decode: Send {
    /// Consume input, produce output, and say why the call returned.
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded>;
    /// Prepare for the next member (or a new stream), reusing what can be reused.
    fn reset(&mut self) -> CodecResult<()>;
    /// The input has ended inside a member (the stream is truncated): write out what the
    /// input consumed so far still makes, so that the output before the error is what a
    /// decoder that holds nothing back would have given. For decoders that hold decoded data
    /// back (the parallel lz4 decoder's batches). Called again while it produces something.
    fn end_of_input(&mut self, _output: &mut OutBuf<'_>) -> CodecResult<()> {
        Ok(())
    }
    /// Whether the adapter should read input ahead whenever its buffer is empty, rather than
    /// only when the codec needs more (liblzma's multithreaded decoder: its workers decode
    /// the next blocks while the current one is read out). Off by default, so that a decoder
    /// on a socket returns what it can before blocking for more.
    fn eager_input(&self) -> bool {
        false
    }
    /// The output space a call should be given to decode well: one in which a unit (an lz4
    /// block) decodes straight into the caller's buffer rather than through a staging
    /// buffer, or over which a per-call cost (inflate's window upkeep) is spread thinly; 0
    /// when any space will do. A hint for shapes that choose their output size
    /// (`read_to_end`).
    fn output_unit(&self) -> usize {
        0
    }
    /// A shortcut for small reads: fill `output` (all of it, or a part) from output the codec
    /// already holds decoded (lz4's staged block, what libzstd holds back), or from `input`
    /// passing straight through (lz4's stored blocks), when that needs no step besides the
    /// copy, and return how much; else 0 (nothing consumed), and the adapter calls `decode`.
    /// It must be exactly what `decode` calls would give: anything met behind the output (a
    /// member's end, an error) is left for the next `decode` to report. Default: 0 (nothing
    /// held).
    fn ready_output(&mut self, input: &mut InBuf<'_>, output: &mut [u8]) -> usize {
        let _ = (input, output);
        0
    }
    /// Whether the codec is passing input straight through to its output (inside an lz4
    /// stored block, past its checks), so that `lease` can take what follows. For
    /// `read_to_end`, which then appends to its `Vec` instead of zeroing space for the bytes
    /// first, and for small reads, which copy straight from the adapter's buffer. Default:
    /// false.
    fn passing(&self) -> bool {
        false
    }
    /// While `passing`: take at most `max` bytes of `input` that pass straight through, as
    /// far as `input` holds them, and return how many: they are output now (hashed, counted),
    /// exactly what `decode` would give, and the adapter hands them out from its input
    /// (`input.pos` moves past them). 0 when not `passing`.
    fn lease(&mut self, input: &mut InBuf<'_>, max: usize) -> usize {
        let _ = (input, max);
        0
    }
    /// Whether `reset` really reuses the context (worth keeping in a pool).
    fn reusable(&self) -> bool {
        true
    }
}

/// A decoder that holds decoded output back (the threaded ones): an error found in a call
/// that has produced output is reported by the next call, so that the caller gets those
/// bytes first, as from a decoder that holds nothing back.
pub(crate) trait HoldsOutput {
    /// The error waiting for the next call.
    fn deferred(&mut self) -> &mut Option<Fault>;
    /// Drop everything in progress: the stream ends at an error.
    fn drop_work(&mut self);

    /// Make `call`; an error after output becomes `held` now and the error next time.
    fn deferring<T>(
        &mut self,
        output: &mut OutBuf<'_>,
        held: T,
        call: impl FnOnce(&mut Self, &mut OutBuf<'_>) -> CodecResult<T>,
    ) -> CodecResult<T>
    where
        Self: Sized,
    {
        if let Some(fault) = self.deferred().take() {
            return Err(fault);
        }
        let start = output.pos;
        let fault = match call(self, output) {
            Err(fault) => fault,
            ok => return ok,
        };
        self.drop_work();
        if output.pos > start {
            *self.deferred() = Some(fault);
            return Ok(held);
        }
        Err(fault)
    }
}

/// What went wrong inside a codec, without the format (see the module docs).
#[derive(Debug)]
pub(crate) enum Fault {
    /// The data is invalid: bad header, bad checksum, impossible block.
    Corrupt(Cow<'static, str>),
    /// Decoding needs more memory than the configured `max_memory`, whose value this is.
    Limit(u64),
    /// Valid data that uses a feature this build does not handle.
    Unsupported(Cow<'static, str>),
    /// The settings are not valid for this codec.
    InvalidConfig(String),
    /// The backend library itself failed: out of memory, an internal error, a worker thread
    /// that is gone. Not the data's fault, and not the inner reader's or writer's.
    Backend(Cow<'static, str>),
    /// The stream needs the dictionary with this ID (zstd's ID, zlib's Adler-32), which the
    /// settings do not hold.
    Dictionary(u32),
    /// After a member come bytes that start no member: what the adapter reports at a
    /// boundary, found by a decoder that took those bytes in with the member (the threaded
    /// gzip decoder, which cannot tell where a plain member ends before decoding it).
    Trailing,
}

impl Fault {
    pub fn corrupt(detail: impl Into<Cow<'static, str>>) -> Self {
        Fault::Corrupt(detail.into())
    }

    pub fn unsupported(detail: impl Into<Cow<'static, str>>) -> Self {
        Fault::Unsupported(detail.into())
    }

    pub fn backend(detail: impl Into<Cow<'static, str>>) -> Self {
        Fault::Backend(detail.into())
    }

    /// The backend could not allocate.
    pub fn out_of_memory() -> Self {
        Fault::Backend(Cow::Borrowed("out of memory"))
    }
}

/// `Result` with a [`Fault`].
pub(crate) type CodecResult<T> = std::result::Result<T, Fault>;

/// Drive a backend decoder that returns when its input or output runs out (flate2, liblzma,
/// bzip2) and name the outcome. `call` makes one call and says whether the member ended.
/// Some backends return early with both sides left (liblzma's multithreaded decoder while its
/// workers catch up): the call is repeated while it makes progress.
pub(crate) fn drive(
    input: &mut InBuf<'_>,
    output: &mut OutBuf<'_>,
    mut call: impl FnMut(&mut InBuf<'_>, &mut OutBuf<'_>) -> CodecResult<bool>,
) -> CodecResult<Decoded> {
    loop {
        let (in0, out0) = (input.pos, output.pos);
        if call(input, output)? {
            return Ok(Decoded::End);
        }
        if output.is_full() {
            return Ok(Decoded::OutputFull);
        }
        if input.is_empty() {
            return Ok(Decoded::InputEmpty);
        }
        if input.pos == in0 && output.pos == out0 {
            return Err(Fault::backend("decoder stopped with input and output space left"));
        }
    }
}

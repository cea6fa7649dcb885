//! The zstd compressor over libzstd's `CCtx`, with the input probe that decides whether a
//! multithreaded encoder's frame is worth libzstd's workers.

use std::sync::Arc;

use zstd::zstd_safe::{self, CCtx, CDict, CParameter, OutBuffer};

use super::{encoder_error, with_buffers};
use crate::codec::{parallel, CodecResult, Encode, Fault, InBuf, OutBuf, Status};
use crate::memory;
use crate::settings::Settings;

/// How much input a multithreaded encoder looks at before it decides whether to use its
/// workers.
pub(crate) const PROBE: usize = 1 << 20;
/// The sample of the probe actually compressed: 4 slices of 16 KiB spread over it.
const SAMPLE_SLICES: usize = 4;
const SAMPLE_SLICE: usize = 16 << 10;

/// Whether `data` compresses enough for libzstd's workers to pay off: libzstd level 1 on a
/// few slices of it. On input that does not (already compressed or encrypted data) they only
/// add cost: libzstd's multithreaded mode ran at 0.35× single-threaded speed on such input
/// (`../shared/corpus/BASELINE.md`).
fn compressible(data: &[u8]) -> bool {
    let step = (data.len() / SAMPLE_SLICES).max(1);
    let mut scratch = vec![0u8; zstd_safe::compress_bound(SAMPLE_SLICE)];
    let (mut plain, mut packed) = (0usize, 0usize);
    for slice in data.chunks(step).take(SAMPLE_SLICES) {
        let slice = &slice[..slice.len().min(SAMPLE_SLICE)];
        plain += slice.len();
        packed += zstd_safe::compress(&mut scratch[..], slice, 1).unwrap_or(slice.len());
    }
    parallel::worth_it(plain as u64, packed as u64)
}

/// A multithreaded encoder's first `PROBE` bytes, held back until the encoder has decided
/// how many workers to use (libzstd fixes that when a frame starts).
struct Probe {
    threads: usize,
    held: Vec<u8>,
    /// How much of `held` has been handed to libzstd (after the decision).
    fed: usize,
    decided: bool,
}

/// zstd compressor.
pub(crate) struct ZstdEncoder {
    cctx: CCtx<'static>,
    level: i32,
    /// The window log cap from the memory level, if any.
    window_cap: Option<u32>,
    /// `threads(n)`: the input probe that picks single- or multithreaded mode per frame.
    probe: Option<Probe>,
    /// The prepared dictionary `cctx` references (after `cctx`: dropped after it). Shared with
    /// every encoder of the same dictionary and level; `reset` keeps it referenced.
    _cdict: Option<Arc<CDict<'static>>>,
    /// The reference `cctx` uses as its prefix (after `cctx`: dropped after it).
    reference: Option<bytes::Bytes>,
}

impl ZstdEncoder {
    pub fn new(settings: &Settings) -> CodecResult<Self> {
        let mut cctx = CCtx::try_create().ok_or_else(Fault::out_of_memory)?;
        cctx.set_parameter(CParameter::CompressionLevel(settings.level)).map_err(encoder_error)?;
        cctx.set_parameter(CParameter::ChecksumFlag(settings.checksum)).map_err(encoder_error)?;
        let cap = settings.history_log();
        if let Some(window_log) = memory::zstd::capped_window_log(settings.level, cap) {
            cctx.set_parameter(CParameter::WindowLog(window_log)).map_err(encoder_error)?;
        }
        let probe =
            settings.threads.map(|threads| Probe { threads, held: Vec::new(), fed: 0, decided: false });
        if let Some(reference) = &settings.reference {
            // as zstd --patch-from: a window over the reference and what follows it, and the
            // long-distance matcher for the far matches; the reference is the window's prefix
            // (not copied; referenced again for each frame)
            let window = super::dict::reference_window_log(reference.0.len(), settings.level, cap);
            cctx.set_parameter(CParameter::WindowLog(window)).map_err(encoder_error)?;
            cctx.set_parameter(CParameter::EnableLongDistanceMatching(true)).map_err(encoder_error)?;
            super::dict::attach_prefix(&mut cctx, &reference.0).map_err(encoder_error)?;
        }
        let cdict = match settings.dictionary() {
            Some(dict) => {
                let cdict = super::dict::cdict(dict, settings.level)?;
                super::dict::attach_cdict(&mut cctx, &cdict).map_err(encoder_error)?;
                Some(cdict)
            }
            None => None,
        };
        let reference = settings.reference.as_ref().map(|r| r.0.clone());
        Ok(ZstdEncoder { cctx, level: settings.level, window_cap: cap, probe, _cdict: cdict, reference })
    }

    /// Multithreaded mode: hold input back until `PROBE` bytes (or a flush) decide between
    /// libzstd's workers and one thread, then hand the held input over. True once the probe
    /// is out of the way and the caller's input can go straight to libzstd.
    ///
    /// The decision depends only on the data, never on the thread count, and libzstd's
    /// multithreaded output does not depend on the number of workers, so the bytes written
    /// are the same for every `threads(n)`.
    fn pass_probe(&mut self, input: Option<&mut InBuf<'_>>, output: &mut OutBuf<'_>) -> CodecResult<bool> {
        let Some(probe) = &mut self.probe else { return Ok(true) };
        if !probe.decided {
            if let Some(input) = input {
                if probe.held.capacity() == 0 {
                    probe.held.reserve_exact(PROBE);
                }
                let take = (PROBE - probe.held.len()).min(input.rest().len());
                probe.held.extend_from_slice(&input.rest()[..take]);
                input.advance(take);
                if probe.held.len() < PROBE {
                    return Ok(false);
                }
            }
            // full, or a flush/finish: decide on what there is
            let workers = if compressible(&probe.held) { probe.threads } else { 0 };
            self.cctx.set_parameter(CParameter::NbWorkers(workers as u32)).map_err(encoder_error)?;
            if workers > 0 {
                // jobs of one or two windows rather than libzstd's four: a 16–32 MiB input then
                // makes enough jobs for two workers to stay busy (level 3, 2 threads: 1.84×
                // instead of 1.43× on the corpus, for 0.9 % more output; see `mt_job_size`).
                // Fixed by the level, never by the thread count, so the frame stays the same
                // for every n.
                let job = mt_job_size(self.level, self.window_cap);
                self.cctx.set_parameter(CParameter::JobSize(job as u32)).map_err(encoder_error)?;
            }
            probe.decided = true;
            probe.fed = 0;
        }
        while probe.fed < probe.held.len() {
            if output.is_full() {
                return Ok(false);
            }
            let mut held = InBuf::new(&probe.held[probe.fed..]);
            with_buffers(&mut held, output, |o, i| self.cctx.compress_stream(o, i)).map_err(encoder_error)?;
            probe.fed += held.pos;
        }
        Ok(true)
    }
}

impl ZstdEncoder {
    /// Run a flush or end-of-frame step: `Done` once libzstd has nothing left to write.
    fn drain<F>(&mut self, output: &mut OutBuf<'_>, step: F) -> CodecResult<Status>
    where
        F: FnOnce(&mut CCtx<'static>, &mut OutBuffer<'_, [u8]>) -> zstd_safe::SafeResult,
    {
        let mut zout = OutBuffer::around(output.spare());
        let remaining = step(&mut self.cctx, &mut zout).map_err(encoder_error)?;
        let produced = zout.pos();
        output.advance(produced);
        Ok(if remaining == 0 { Status::Done } else { Status::Ongoing })
    }
}

impl Encode for ZstdEncoder {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
        if !self.pass_probe(Some(input), output)? {
            return Ok(());
        }
        with_buffers(input, output, |o, i| self.cctx.compress_stream(o, i)).map_err(encoder_error)?;
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if !self.pass_probe(None, output)? {
            return Ok(Status::Ongoing);
        }
        self.drain(output, |cctx, out| cctx.flush_stream(out))
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if !self.pass_probe(None, output)? {
            return Ok(Status::Ongoing);
        }
        self.drain(output, |cctx, out| cctx.end_stream(out))
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.cctx.reset(zstd_safe::ResetDirective::SessionOnly).map_err(encoder_error)?;
        if let Some(reference) = &self.reference {
            super::dict::attach_prefix(&mut self.cctx, reference).map_err(encoder_error)?;
        }
        if let Some(probe) = &mut self.probe {
            // the next frame decides afresh; the held buffer is kept for it
            probe.held.clear();
            probe.fed = 0;
            probe.decided = false;
        }
        Ok(())
    }
}

/// The job size of our multithreaded encoder (libzstd's own default is 4 × the window):
/// 2 × the window up to 4 MiB and at least 1 MiB (levels 1–8: 1–4 MiB), and one window from
/// there on (levels 9–15, 4 MiB windows), except with the optimal parsers (levels 16 and up),
/// which keep 2 × the window.
///
/// Each job but the first reloads the end of the previous one as its prefix (a quarter of the
/// window at lazy2/btlazy2, half to all of it with the optimal parsers), so smaller jobs cost
/// some time per byte; bigger jobs leave a worker idle at the end of a file of a few windows.
/// On the corpus (prose.txt, source.tar), threads(2) ÷ threads(1) went from 1.68× to 1.86× at
/// level 9, 1.67× to 1.87× at 12 and 1.61× to 1.84× at 15 with one window instead of two, for
/// 0.3–0.7 % more output; at level 3, one window (2 MiB) lost speed (1.71× → 1.62×).
pub(crate) fn mt_job_size(level: i32, cap: Option<u32>) -> usize {
    let window = 1usize << memory::zstd::window_log(level, cap);
    let job = if memory::zstd::optimal_parser(level, cap) {
        2 * window
    } else {
        (2 * window).min(window.max(4 << 20))
    };
    job.max(1 << 20)
}

/// libzstd's multithreaded compressor, which has no estimate of its own; after
/// zstdmt_compress.c: a round buffer holding the window or a job per worker, whichever is
/// larger, plus two slack jobs; a compressed output buffer per job in flight (workers + 2); a
/// context per worker and the main one. Checked against the counting allocator by
/// tests/threads.rs.
pub(crate) fn mt_encoder_bytes(level: i32, cap: Option<u32>, threads: usize) -> usize {
    let job = mt_job_size(level, cap);
    let window = 1usize << memory::zstd::window_log(level, cap);
    let round = window.max(threads * job) + 2 * job;
    let outputs = (threads + 2) * job;
    round + outputs + (threads + 1) * memory::zstd::cstream_bytes(level, cap)
}

//! zstd over the zstd crate's contexts (`zstd_safe::CCtx`/`DCtx`, which `zstd::stream::raw`
//! wraps). We call them directly so that errors keep their libzstd error code: a window larger
//! than the memory limit must become `LimitExceeded`, not a generic I/O error.
//!
//! libzstd skips skippable frames itself and reports the end of every frame (skippable or
//! not) as a completed member, which is exactly the `Decode` contract.

use zstd::zstd_safe::{
    self, zstd_sys::ZSTD_ErrorCode, CCtx, CParameter, DCtx, DParameter, InBuffer, OutBuffer,
};

use crate::buf::{InBuf, OutBuf, Status};
use crate::codec::{Decode, Encode};
use crate::config::Settings;
use crate::{Error, Format, Result};

/// Run one libzstd streaming call over our cursors; returns libzstd's result.
fn with_buffers<F>(input: &mut InBuf<'_>, output: &mut OutBuf<'_>, call: F) -> zstd_safe::SafeResult
where
    F: FnOnce(&mut OutBuffer<'_, [u8]>, &mut InBuffer<'_>) -> zstd_safe::SafeResult,
{
    let mut zin = InBuffer::around(input.rest());
    let mut zout = OutBuffer::around(output.spare());
    let result = call(&mut zout, &mut zin);
    let (consumed, produced) = (zin.pos(), zout.pos());
    input.advance(consumed);
    output.advance(produced);
    result
}

fn error_name(code: usize) -> String {
    // libzstd's names are capitalised sentences; our messages are lowercase phrases
    let name = zstd_safe::get_error_name(code);
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::from("unknown error"),
    }
}

fn encoder_error(code: usize) -> Error {
    Error::Io(std::io::Error::other(format!("zstd: compressor failed: {}", error_name(code))))
}

/// How much input a multithreaded encoder looks at before it decides whether to use its
/// workers.
pub(crate) const PROBE: usize = 1 << 20;
/// The sample of the probe actually compressed: 4 slices of 16 KiB spread over it.
const SAMPLE_SLICES: usize = 4;
const SAMPLE_SLICE: usize = 16 << 10;

/// Whether `data` compresses at all: libzstd level 1 on a few slices of it. On input that does
/// not (already compressed or encrypted data) libzstd's workers only add cost: its
/// multithreaded mode ran at 0.35× single-threaded speed on such input
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
    // at least 3 % smaller
    packed * 100 < plain * 97
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
}

impl ZstdEncoder {
    pub fn new(settings: &Settings) -> Result<Self> {
        let mut cctx = CCtx::try_create().ok_or_else(|| Error::Io(std::io::ErrorKind::OutOfMemory.into()))?;
        cctx.set_parameter(CParameter::CompressionLevel(settings.level)).map_err(encoder_error)?;
        cctx.set_parameter(CParameter::ChecksumFlag(settings.checksum)).map_err(encoder_error)?;
        let cap = settings.history_budget().map(|b| b.trailing_zeros());
        if let Some(window_log) = crate::memory::zstd::capped_window_log(settings.level, cap) {
            cctx.set_parameter(CParameter::WindowLog(window_log)).map_err(encoder_error)?;
        }
        let probe =
            settings.threads.map(|threads| Probe { threads, held: Vec::new(), fed: 0, decided: false });
        Ok(ZstdEncoder { cctx, level: settings.level, window_cap: cap, probe })
    }

    /// Multithreaded mode: hold input back until `PROBE` bytes (or a flush) decide between
    /// libzstd's workers and one thread, then hand the held input over. True once the probe
    /// is out of the way and the caller's input can go straight to libzstd.
    ///
    /// The decision depends only on the data, never on the thread count, and libzstd's
    /// multithreaded output does not depend on the number of workers, so the bytes written
    /// are the same for every `threads(n)`.
    fn pass_probe(&mut self, input: Option<&mut InBuf<'_>>, output: &mut OutBuf<'_>) -> Result<bool> {
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
                // jobs of 2 × the window rather than libzstd's 4 ×: a 16–32 MiB input then
                // makes enough jobs for two workers to stay busy (level 3, 2 threads: 1.84×
                // instead of 1.43× on the corpus, for 0.9 % more output). Fixed by the level,
                // never by the thread count, so the frame stays the same for every n.
                let job = crate::memory::zstd::mt_job_size(self.level, self.window_cap);
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
    fn drain<F>(&mut self, output: &mut OutBuf<'_>, step: F) -> Result<Status>
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
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<()> {
        if !self.pass_probe(Some(input), output)? {
            return Ok(());
        }
        with_buffers(input, output, |o, i| self.cctx.compress_stream(o, i)).map_err(encoder_error)?;
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        if !self.pass_probe(None, output)? {
            return Ok(Status::Ongoing);
        }
        self.drain(output, |cctx, out| cctx.flush_stream(out))
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        if !self.pass_probe(None, output)? {
            return Ok(Status::Ongoing);
        }
        self.drain(output, |cctx, out| cctx.end_stream(out))
    }

    fn reset(&mut self) -> Result<()> {
        self.cctx.reset(zstd_safe::ResetDirective::SessionOnly).map_err(encoder_error)?;
        if let Some(probe) = &mut self.probe {
            // the next frame decides afresh; the held buffer is kept for it
            probe.held.clear();
            probe.fed = 0;
            probe.decided = false;
        }
        Ok(())
    }
}

/// The largest window log whose window plus libzstd's streaming buffers (two 128 KiB blocks
/// and the context) fit in `max_memory`. libzstd checks the frame header's window against it
/// before allocating anything.
pub(crate) fn window_log_max(max_memory: u64) -> u32 {
    const OVERHEAD: u64 = 2 * (128 << 10) + (160 << 10);
    // ZSTD_WINDOWLOG_ABSOLUTEMIN .. ZSTD_WINDOWLOG_MAX_64
    (10..=31).rev().find(|&log| (1u64 << log) + OVERHEAD <= max_memory).unwrap_or(10)
}

/// The longest zstd frame header: magic (4), descriptor (1), window (1), dictionary id (4),
/// content size (8).
const MAX_FRAME_HEADER: usize = 18;

/// Where the block walker is in the current frame (see `BlockWalker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walk {
    Header,
    BlockHeader,
    Content { left: u32, last: bool },
    Done,
}

/// Follows the block structure of the bytes libzstd consumes, to reject what its streaming
/// path lets through and its one-shot path (taken when the caller's buffer holds the whole
/// frame) rejects: a compressed block of size 0, which the spec does not allow (a compressed
/// block holds at least a literals section) and `ZSTD_decompressStream` treats as an empty
/// block. Without this the verdict on such a frame depends on the buffer sizes. It costs a
/// few comparisons per block: block contents are skipped, not read.
#[derive(Clone, Copy, Debug)]
struct BlockWalker {
    state: Walk,
    /// Frame bytes walked so far (header phase).
    pos: usize,
    field: [u8; 3],
    have: usize,
}

impl BlockWalker {
    const fn new() -> Self {
        BlockWalker { state: Walk::Header, pos: 0, field: [0; 3], have: 0 }
    }

    /// Walk `bytes`, the next bytes of the frame; `header` is the frame's start as kept.
    fn walk(&mut self, mut bytes: &[u8], header: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            match self.state {
                Walk::Header => {
                    let Some(size) = header.get(4).map(|&fhd| Layout::of(fhd).size()) else {
                        self.pos += bytes.len();
                        return Ok(());
                    };
                    let take = size.saturating_sub(self.pos).min(bytes.len());
                    self.pos += take;
                    bytes = &bytes[take..];
                    if self.pos >= size {
                        self.state = Walk::BlockHeader;
                    }
                }
                Walk::BlockHeader => {
                    let take = (3 - self.have).min(bytes.len());
                    self.field[self.have..self.have + take].copy_from_slice(&bytes[..take]);
                    self.have += take;
                    bytes = &bytes[take..];
                    if self.have == 3 {
                        self.have = 0;
                        let v = u32::from_le_bytes([self.field[0], self.field[1], self.field[2], 0]);
                        let (last, kind, size) = (v & 1 != 0, (v >> 1) & 3, v >> 3);
                        if kind == 2 && size == 0 {
                            return Err(Error::corrupt(Format::Zstd, "empty compressed block"));
                        }
                        // an RLE block holds one byte, whatever it expands to
                        let left = if kind == 1 { 1 } else { size };
                        self.state = if left == 0 && last {
                            Walk::Done
                        } else if left == 0 {
                            Walk::BlockHeader
                        } else {
                            Walk::Content { left, last }
                        };
                    }
                }
                Walk::Content { left, last } => {
                    let take = (left as usize).min(bytes.len());
                    bytes = &bytes[take..];
                    let left = left - take as u32;
                    self.state = match (left, last) {
                        (0, true) => Walk::Done,
                        (0, false) => Walk::BlockHeader,
                        _ => Walk::Content { left, last },
                    };
                }
                Walk::Done => return Ok(()),
            }
        }
        Ok(())
    }
}

/// zstd decompressor; one frame per member.
pub(crate) struct ZstdDecoder {
    dctx: DCtx<'static>,
    max_memory: u64,
    /// Set once the current frame has produced output or consumed input; a frame that ends
    /// must have started.
    in_frame: bool,
    /// The current frame is a skippable frame (its first byte is `0x5?`, zstd's is `0x28`).
    skippable: bool,
    /// The first bytes of the current frame, enough to hold its header.
    header: [u8; MAX_FRAME_HEADER],
    header_len: usize,
    walker: BlockWalker,
    /// Bytes the current frame has produced so far.
    frame_out: u64,
}

impl ZstdDecoder {
    pub fn new(settings: &Settings) -> Result<Self> {
        let mut dctx = DCtx::try_create().ok_or_else(|| Error::Io(std::io::ErrorKind::OutOfMemory.into()))?;
        dctx.set_parameter(DParameter::WindowLogMax(window_log_max(settings.max_memory)))
            .map_err(|code| Error::InvalidConfig(format!("zstd: {}", error_name(code))))?;
        Ok(ZstdDecoder {
            dctx,
            max_memory: settings.max_memory,
            in_frame: false,
            skippable: false,
            header: [0; MAX_FRAME_HEADER],
            header_len: 0,
            walker: BlockWalker::new(),
            frame_out: 0,
        })
    }

    /// A frame has ended: its output must match the content size its header declares.
    ///
    /// libzstd's streaming decoder (1.5.7) checks this only when the last block is not
    /// empty: a frame declaring 128 bytes whose only block is an empty last block, with a
    /// correct checksum of the empty content, decodes to nothing through
    /// `ZSTD_decompressStream` when the output buffer is smaller than the declared size
    /// (the one-shot path, taken for larger buffers, rejects it). We check every frame.
    fn check_frame(&self) -> Result<()> {
        if self.skippable {
            return Ok(());
        }
        let kept = &self.header[..self.header_len];
        match zstd_safe::get_frame_content_size(kept) {
            Ok(Some(declared)) if declared != self.frame_out => {
                return Err(Error::corrupt(
                    Format::Zstd,
                    format!("frame declares {declared} bytes of content but holds {}", self.frame_out),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    fn start_frame(&mut self) {
        self.in_frame = false;
        self.header_len = 0;
        self.walker = BlockWalker::new();
        self.frame_out = 0;
    }

    fn decode_error(&self, code: usize) -> Error {
        if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_frameParameter_windowTooLarge)
            || zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_memory_allocation)
        {
            Error::LimitExceeded { limit: self.max_memory }
        } else if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_dictionary_wrong) {
            Error::unsupported(Format::Zstd, "frame needs a dictionary")
        } else {
            Error::corrupt(Format::Zstd, error_name(code))
        }
    }
}

/// Where a zstd frame header's fields are, from its descriptor byte (RFC 8878 3.1.1.1):
/// magic (4), descriptor (1), window descriptor (1, absent in single-segment frames),
/// dictionary id (0/1/2/4), content size (0/1/2/4/8).
#[derive(Clone, Copy, Debug)]
struct Layout {
    single_segment: bool,
    dict_at: usize,
    dict_len: usize,
    fcs_at: usize,
    fcs_len: usize,
}

impl Layout {
    fn of(fhd: u8) -> Layout {
        let single_segment = fhd & 0x20 != 0;
        let dict_at = 5 + usize::from(!single_segment);
        let dict_len = [0, 1, 2, 4][usize::from(fhd & 3)];
        let fcs_len = match fhd >> 6 {
            0 => usize::from(single_segment),
            1 => 2,
            2 => 4,
            _ => 8,
        };
        Layout { single_segment, dict_at, dict_len, fcs_at: dict_at + dict_len, fcs_len }
    }

    /// The whole header's size.
    fn size(&self) -> usize {
        self.fcs_at + self.fcs_len
    }
}

/// The dictionary id and window a zstd frame header declares (`header` starts with the
/// magic number), once all the fields needed are present: the window descriptor, or for
/// single-segment frames the content size.
fn frame_needs(header: &[u8]) -> Option<(u32, u64)> {
    let fhd = *header.get(4)?;
    if fhd & 0x08 != 0 {
        return None; // the reserved bit: libzstd rejects the header itself, on every path
    }
    let layout = Layout::of(fhd);
    let le = |at: usize, len: usize| -> Option<u64> {
        let mut bytes = [0u8; 8];
        bytes[..len].copy_from_slice(header.get(at..at + len)?);
        Some(u64::from_le_bytes(bytes))
    };
    let dict_id = le(layout.dict_at, layout.dict_len)? as u32;
    if !layout.single_segment {
        let wd = header[5];
        let base = 1u64 << (10 + (wd >> 3));
        return Some((dict_id, base + (base >> 3) * u64::from(wd & 7)));
    }
    let size = le(layout.fcs_at, layout.fcs_len)?;
    Some((dict_id, if layout.fcs_len == 2 { size + 256 } else { size }))
}

impl Decode for ZstdDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<Status> {
        let (in0, out0) = (input.pos, output.pos);
        if !self.in_frame {
            if let Some(&first) = input.rest().first() {
                self.skippable = first & 0xf0 == 0x50;
            }
            // When a whole frame of known size is in the input and the output can hold it,
            // libzstd decodes it in one pass that never checks the window against
            // `WindowLogMax` (found by fuzzing: such a frame failed with LimitExceeded through
            // small buffers and with another error through large ones). Check it here, so
            // that the limit is the same whatever the buffers.
            // libzstd's streaming path checks the dictionary before the window; so do we.
            let rest = input.rest();
            if !self.skippable && rest.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                if let Some((dict_id, window)) = frame_needs(rest) {
                    if dict_id != 0 {
                        return Err(Error::unsupported(Format::Zstd, "frame needs a dictionary"));
                    }
                    if window > 1u64 << window_log_max(self.max_memory) {
                        return Err(Error::LimitExceeded { limit: self.max_memory });
                    }
                }
            }
        }
        let hint = with_buffers(input, output, |o, i| self.dctx.decompress_stream(o, i))
            .map_err(|code| self.decode_error(code))?;
        let consumed = &input.data[in0..input.pos];
        let keep = consumed.len().min(MAX_FRAME_HEADER - self.header_len);
        self.header[self.header_len..self.header_len + keep].copy_from_slice(&consumed[..keep]);
        self.header_len += keep;
        if !self.skippable {
            self.walker.walk(consumed, &self.header[..self.header_len])?;
        }
        self.frame_out += (output.pos - out0) as u64;
        self.in_frame |= input.pos > in0 || output.pos > out0;
        // 0: a frame (or skippable frame) is complete and fully flushed
        if hint == 0 && self.in_frame {
            self.check_frame()?;
            self.start_frame();
            Ok(Status::Done)
        } else {
            Ok(Status::Ongoing)
        }
    }

    fn ended_skippable(&self) -> bool {
        self.skippable
    }

    fn reset(&mut self) -> Result<()> {
        self.start_frame();
        self.skippable = false;
        self.dctx.reset(zstd_safe::ResetDirective::SessionOnly).map_err(|code| self.decode_error(code))?;
        Ok(())
    }
}

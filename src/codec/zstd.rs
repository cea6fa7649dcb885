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

/// zstd compressor.
pub(crate) struct ZstdEncoder {
    cctx: CCtx<'static>,
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
        Ok(ZstdEncoder { cctx })
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
        with_buffers(input, output, |o, i| self.cctx.compress_stream(o, i)).map_err(encoder_error)?;
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        self.drain(output, |cctx, out| cctx.flush_stream(out))
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        self.drain(output, |cctx, out| cctx.end_stream(out))
    }

    fn reset(&mut self) -> Result<()> {
        self.cctx.reset(zstd_safe::ResetDirective::SessionOnly).map_err(encoder_error)?;
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
    fn check_content_size(&self) -> Result<()> {
        if self.skippable {
            return Ok(());
        }
        match zstd_safe::get_frame_content_size(&self.header[..self.header_len]) {
            Ok(Some(declared)) if declared != self.frame_out => Err(Error::corrupt(
                Format::Zstd,
                format!("frame declares {declared} bytes of content but holds {}", self.frame_out),
            )),
            _ => Ok(()),
        }
    }

    fn start_frame(&mut self) {
        self.in_frame = false;
        self.header_len = 0;
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

impl Decode for ZstdDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<Status> {
        let (in0, out0) = (input.pos, output.pos);
        if !self.in_frame {
            if let Some(&first) = input.rest().first() {
                self.skippable = first & 0xf0 == 0x50;
            }
        }
        let hint = with_buffers(input, output, |o, i| self.dctx.decompress_stream(o, i))
            .map_err(|code| self.decode_error(code))?;
        let consumed = &input.data[in0..input.pos];
        let keep = consumed.len().min(MAX_FRAME_HEADER - self.header_len);
        self.header[self.header_len..self.header_len + keep].copy_from_slice(&consumed[..keep]);
        self.header_len += keep;
        self.frame_out += (output.pos - out0) as u64;
        self.in_frame |= input.pos > in0 || output.pos > out0;
        // 0: a frame (or skippable frame) is complete and fully flushed
        if hint == 0 && self.in_frame {
            self.check_content_size()?;
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

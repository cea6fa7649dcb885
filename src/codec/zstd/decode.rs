//! The zstd decompressor over libzstd's `DCtx`, with the checks libzstd's streaming path
//! leaves out (see `frame.rs`).
//!
//! libzstd skips skippable frames itself and reports the end of every frame (skippable or
//! not), which is exactly the `Decode` contract.

use std::sync::Arc;

use zstd::zstd_safe::{self, zstd_sys::ZSTD_ErrorCode, DCtx, DDict, DParameter};

use super::frame::{self, BlockWalker};
use super::{error_name, with_buffers};
use crate::codec::{CodecResult, Decode, Decoded, Fault, InBuf, OutBuf};
use crate::settings::Settings;

/// What a `ready_output` call found behind the output it returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ahead {
    Nothing,
    /// libzstd reported the end of the frame (its hint 0).
    FrameEnd,
    /// libzstd failed with this code.
    Error(usize),
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
    header: [u8; frame::MAX_HEADER],
    header_len: usize,
    walker: BlockWalker,
    /// Bytes the current frame has produced so far.
    frame_out: u64,
    /// What a `ready_output` call ran into after its output (the end of the frame, or an
    /// error), for the next `decode` to report before anything else.
    ahead: Ahead,
    /// The last call filled its output, so libzstd may hold more decoded output: only then
    /// does `ready_output` call it (a call that makes no progress counts towards libzstd's
    /// limit of 16 in a row).
    held: bool,
    /// The IDs of the dictionaries given (0 for raw content).
    dict_ids: Vec<u32>,
    /// The prepared dictionaries `dctx` references (after `dctx`: dropped after it).
    _ddicts: Vec<Arc<DDict<'static>>>,
}

impl ZstdDecoder {
    pub fn new(settings: &Settings) -> CodecResult<Self> {
        let mut dctx: DCtx<'static> = DCtx::try_create().ok_or_else(Fault::out_of_memory)?;
        dctx.set_parameter(DParameter::WindowLogMax(frame::window_log_max(settings.max_memory)))
            .map_err(|code| Fault::InvalidConfig(error_name(code)))?;
        if let Some(reference) = &settings.reference {
            // the old version, loaded (copied) for every frame to come
            dctx.load_dictionary(&reference.0).map_err(|code| Fault::backend(error_name(code)))?;
        }
        let dicts = settings.dictionaries.as_deref().unwrap_or_default();
        if dicts.len() > 1 {
            // libzstd then keeps them all and picks the one each frame names
            dctx.set_parameter(DParameter::RefMultipleDDicts(true))
                .map_err(|code| Fault::backend(error_name(code)))?;
        }
        let mut ddicts = Vec::with_capacity(dicts.len());
        // referenced last to first: the first is current for frames that name none
        for dict in dicts.iter().rev() {
            let ddict = super::dict::ddict(dict)?;
            super::dict::attach_ddict(&mut dctx, &ddict).map_err(|code| Fault::backend(error_name(code)))?;
            ddicts.push(ddict);
        }
        Ok(ZstdDecoder {
            dict_ids: dicts.iter().map(crate::Dictionary::id).collect(),
            _ddicts: ddicts,
            dctx,
            max_memory: settings.max_memory,
            in_frame: false,
            skippable: false,
            header: [0; frame::MAX_HEADER],
            header_len: 0,
            walker: BlockWalker::new(),
            frame_out: 0,
            ahead: Ahead::Nothing,
            held: false,
        })
    }

    /// A frame has ended: its output must match the content size its header declares.
    ///
    /// libzstd's streaming decoder (1.5.7) checks this only when the last block is not
    /// empty: a frame declaring 128 bytes whose only block is an empty last block, with a
    /// correct checksum of the empty content, decodes to nothing through
    /// `ZSTD_decompressStream` when the output buffer is smaller than the declared size
    /// (the one-shot path, taken for larger buffers, rejects it). We check every frame.
    fn check_frame(&self) -> CodecResult<()> {
        if self.skippable {
            return Ok(());
        }
        match frame::content_size(&self.header[..self.header_len]) {
            Some(declared) if declared != self.frame_out => Err(Fault::corrupt(format!(
                "frame declares {declared} bytes of content but holds {}",
                self.frame_out
            ))),
            _ => Ok(()),
        }
    }

    /// The current frame is complete and fully flushed.
    fn end_frame(&mut self) -> CodecResult<Decoded> {
        self.check_frame()?;
        self.start_frame();
        Ok(if self.skippable { Decoded::Skipped } else { Decoded::End })
    }

    fn start_frame(&mut self) {
        self.in_frame = false;
        self.held = false;
        self.header_len = 0;
        self.walker = BlockWalker::new();
        self.frame_out = 0;
    }

    fn decode_error(&self, code: usize) -> Fault {
        if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_frameParameter_windowTooLarge)
            || zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_memory_allocation)
        {
            Fault::Limit(self.max_memory)
        } else if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_dictionary_wrong) {
            Fault::Dictionary(frame::needs(&self.header[..self.header_len]).map_or(0, |n| n.dict_id))
        } else {
            Fault::corrupt(error_name(code))
        }
    }
}

impl Decode for ZstdDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        match std::mem::replace(&mut self.ahead, Ahead::Nothing) {
            Ahead::Nothing => {}
            Ahead::FrameEnd => return self.end_frame(),
            Ahead::Error(code) => return Err(self.decode_error(code)),
        }
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
            if !self.skippable && rest.starts_with(&frame::MAGIC) {
                if let Some(needs) = frame::needs(rest) {
                    if needs.dict_id != 0 && !self.dict_ids.contains(&needs.dict_id) {
                        return Err(Fault::Dictionary(needs.dict_id));
                    }
                    if needs.window > 1u64 << frame::window_log_max(self.max_memory) {
                        return Err(Fault::Limit(self.max_memory));
                    }
                }
            }
        }
        let result = with_buffers(input, output, |o, i| self.dctx.decompress_stream(o, i));
        // (most calls with small outputs only hand out what libzstd already decoded)
        let consumed = &input.data[in0..input.pos];
        if !consumed.is_empty() {
            let keep = consumed.len().min(frame::MAX_HEADER - self.header_len);
            self.header[self.header_len..self.header_len + keep].copy_from_slice(&consumed[..keep]);
            self.header_len += keep;
        }
        // (after keeping the header: an error may name the frame's dictionary)
        let hint = result.map_err(|code| self.decode_error(code))?;
        if !consumed.is_empty() && !self.skippable {
            self.walker.walk(consumed, &self.header[..self.header_len])?;
        }
        self.frame_out += (output.pos - out0) as u64;
        self.in_frame |= input.pos > in0 || output.pos > out0;
        self.held = output.is_full();
        // 0: a frame (or skippable frame) is complete and fully flushed
        if hint == 0 && self.in_frame {
            self.end_frame()
        } else if output.is_full() {
            Ok(Decoded::OutputFull)
        } else {
            // libzstd returns before the end of a frame only with its input used up
            Ok(Decoded::InputEmpty)
        }
    }

    /// A small read served from what libzstd holds decoded: a call with no input can only
    /// flush, so nothing is consumed, and the header and the block walk are untouched. What
    /// the call runs into behind its output (the frame's end, an error) is kept for the next
    /// `decode`, which reports it before anything else, as it would on the call after the
    /// output.
    fn ready_output(&mut self, _input: &mut InBuf<'_>, output: &mut [u8]) -> usize {
        if !self.held || self.ahead != Ahead::Nothing {
            return 0;
        }
        let mut output = OutBuf::new(output);
        let result =
            with_buffers(&mut InBuf::new(&[]), &mut output, |o, i| self.dctx.decompress_stream(o, i));
        let produced = output.pos;
        self.frame_out += produced as u64;
        self.held = output.is_full();
        match result {
            // (libzstd keeps the frame's last input byte back until its output is flushed, so
            // a call without input sees the end only if nothing was left to flush)
            Ok(0) => self.ahead = Ahead::FrameEnd,
            Ok(_) => {}
            Err(code) => self.ahead = Ahead::Error(code),
        }
        produced
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.ahead = Ahead::Nothing;
        self.start_frame();
        self.skippable = false;
        self.dctx.reset(zstd_safe::ResetDirective::SessionOnly).map_err(|code| self.decode_error(code))?;
        Ok(())
    }
}

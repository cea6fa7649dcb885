//! Brotli (RFC 7932) over the `brotli` crate (pure Rust): its streaming encoder state and
//! `BrotliDecompressStream`, both sans-I/O already.
//!
//! A brotli stream has no magic number, so it is never detected (like raw deflate), and no
//! framing for concatenation: one stream, then trailing data. Its first bits give the window
//! (`WBITS`); we read them before the decoder does, so that a window whose ring buffer would
//! pass `max_memory` is refused before anything is allocated, and so that the non-standard
//! large-window extension (windows up to 1 GiB, `brotli --large_window`) is refused unless
//! [`Config::large_window`](crate::Config::large_window) allows it. The crate's decoder
//! accepts such streams by default.

use crate::codec::spec::{Codec, Detect, Levels, Members, Spec};
use crate::settings::Settings;

pub(crate) static SPEC: Spec = Spec {
    name: "brotli",
    aliases: &["br"],
    extensions: &["br"],
    feature: "brotli",
    detect: Detect::Never,
    members: Members::SINGLE,
    // quality 0..=11. `Default` is 6, not the library's own 11: quality 11 runs at about
    // 1 MB/s, which no streaming user wants by default; 4-6 is what on-the-fly HTTP
    // compression uses (nginx's default is 6). `Best` is 11.
    levels: Levels { named: [0, 4, 6, 11], min: 0, max: 11 },
    dictionaries: false,
    reference: false,
    codec: CODEC,
};

/// The encoder's window at every level without a memory level: brotli's default, 4 MiB.
const DEFAULT_LGWIN: u32 = 22;
/// The smallest window the format has.
const MIN_LGWIN: u32 = 10;

/// The fast qualities (0, 1) use at least this window whatever they are asked (brotli's
/// `EnsureInitialized`).
const FAST_MIN_LGWIN: u32 = 18;

/// The window log an encoder asks for: the default, or smaller under a memory level (16 KiB
/// at 1, then ×4 per level up to the default at 5). Never above the default: encoders never
/// write large-window streams.
fn lgwin(settings: &Settings) -> u32 {
    settings.history_log().map_or(DEFAULT_LGWIN, |log| log.clamp(MIN_LGWIN, DEFAULT_LGWIN))
}

/// The window log the encoder really uses (and its stream declares).
fn window_log(settings: &Settings) -> u32 {
    match settings.level {
        0 | 1 => lgwin(settings).max(FAST_MIN_LGWIN),
        _ => lgwin(settings),
    }
}

/// What a stream's first bits say about its window (RFC 7932 9.1, and the large-window
/// extension, whose first 7 bits are `0010001`, then a 0 bit and 6 bits of window log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WindowBits {
    /// A standard window log, 10..=24.
    Standard(u32),
    /// A large-window stream's window log, 10..=30.
    Large(u32),
    /// Bits no decoder accepts.
    Invalid,
}

impl WindowBits {
    /// Bytes `parse` needs to decide, given the first byte.
    fn needed(first: u8) -> usize {
        if first & 0x7f == 0x11 {
            2
        } else {
            1
        }
    }

    /// Parse the first `needed` bytes of a stream.
    fn parse(head: &[u8]) -> WindowBits {
        let b0 = head[0];
        if b0 & 1 == 0 {
            return WindowBits::Standard(16);
        }
        let n = u32::from((b0 >> 1) & 7);
        if n != 0 {
            return WindowBits::Standard(17 + n);
        }
        match u32::from((b0 >> 4) & 7) {
            0 => WindowBits::Standard(17),
            1 => match (b0 >> 7, head.get(1).map(|b| u32::from(b & 0x3f))) {
                (0, Some(log @ 10..=30)) => WindowBits::Large(log),
                _ => WindowBits::Invalid,
            },
            m => WindowBits::Standard(8 + m),
        }
    }
}

/// The decoder's state besides its ring buffer, for the streams encoders write: Huffman
/// tables, context maps and block state (measured with the counting allocator: 29-71 KiB). A
/// hostile stream's tables can take up to ~2.7 MiB; the decoder's allocator holds the whole
/// decoder to `max_memory` (`backend::Budget`), so that is bounded too.
const DECODER_STATE_BYTES: usize = 48 * 1024;

/// A decoder of a stream with window log `log`: the whole window, allocated at once when the
/// stream has more than one metablock (never regrown, so never 1.5 windows), and its state.
fn decoder_bytes(log: u32) -> usize {
    (1usize << log) + DECODER_STATE_BYTES
}

/// The size hint an encoder gets without `Config::size_hint` (see
/// `backend::BrotliEncoder::state`): what the crate's own streaming adapters derive from a
/// first write of typical size (below 1 MiB).
const SMALL_STREAM_HINT: u32 = 64 * 1024;

/// The size hint brotli gets: the caller's, capped where brotli caps it (1 GiB), or
/// `SMALL_STREAM_HINT`. Never 0, which would mean "take the first call's input size".
fn size_hint(settings: &Settings) -> u32 {
    settings.size_hint.map_or(SMALL_STREAM_HINT, |hint| hint.clamp(1, 1 << 30) as u32)
}

/// Hints from here on make brotli treat the stream as large (larger hashers, literal context
/// modelling).
const LARGE_STREAM_HINT: u32 = 1 << 20;

/// The encoder's peak at quality `q` and requested window log `lgwin`, modelled on what the
/// crate allocates (measured with the counting allocator on text at every quality × memory
/// level: within 25 %, most within 10 %):
/// - qualities 0-1 compress each call's input, up to a window of it, as a fragment, into a
///   buffer of twice that (so a large write needs the most);
/// - from 2, a ring buffer of `2^rb` bytes, `rb = 1 + max(lgwin, block log)`;
/// - from 4, a metablock's commands (up to `2^rb` bytes of input) in an array grown by
///   reallocation: about 5.5 bytes per ring buffer byte at its peak, plus 1.2 MiB of fixed
///   metablock buffers;
/// - the hasher brotli picks for the quality, window and size hint (its `ChooseHasher`): for
///   a small-stream hint H4 (4, small) and H5 with `2^14` buckets (5-6); for a hint of 1 MiB
///   and more H54 (4, 2^20 buckets, ~3.6 MiB) and `2^15` buckets (5-6); H5/H6 with `2^15`
///   buckets (7-8) of `2^(q-1)` slots; for windows of 64 KiB and less the forgetful-chain
///   H40/H41 (5-8, ~32 MiB); H9 (9, 32 MiB); qualities 10-11 (Zopfli) H10, a binary tree of
///   8 bytes per window byte (in the 8.6 per ring buffer byte), and ~38 (10) or ~74 (11)
///   bytes of match and cost arrays per block byte.
fn encoder_bytes(quality: i32, lgwin: u32, hint: u32) -> usize {
    const KIB: usize = 1024;
    let window = 1usize << lgwin;
    let block_log = match quality {
        0 | 1 => lgwin,
        2 | 3 => 14,
        9..=11 if lgwin > 16 => lgwin.min(18),
        _ => 16,
    };
    let rb = 1usize << (1 + lgwin.max(block_log));
    let metablock = rb * 11 / 2 + 1200 * KIB;
    let slots = |buckets_log: i32| 4usize << (buckets_log + quality - 1);
    let large = hint >= LARGE_STREAM_HINT;
    match quality {
        0 => 2 * window + 200 * KIB,
        1 => 2 * window + 8 * window.min(128 * KIB) + 100 * KIB,
        2 | 3 => rb + 700 * KIB,
        4 if large => metablock + 3600 * KIB,
        4 => metablock,
        5..=8 if lgwin <= 16 => metablock + 32_300 * KIB,
        5 | 6 if large => metablock + slots(15),
        5 | 6 => metablock + slots(14),
        7 | 8 => metablock + slots(15),
        9 => metablock + (32 << 20),
        _ => {
            let per_block_byte = if quality == 10 { 38 } else { 74 };
            per_block_byte * (1usize << block_log) + rb * 43 / 5 + 512 * KIB
        }
    }
}

#[cfg(feature = "brotli")]
const CODEC: Option<Codec> = Some(Codec {
    encoder: |s| Ok(Box::new(backend::BrotliEncoder::new(s))),
    decoder: |s| Ok(Box::new(backend::BrotliDecoder::new(s))),
    encoder_memory: |s| encoder_bytes(s.level, lgwin(s), size_hint(s)),
    decoder_memory: |s| decoder_bytes(window_log(s)),
    random_access: None,
});
#[cfg(not(feature = "brotli"))]
const CODEC: Option<Codec> = None;

#[cfg(feature = "brotli")]
mod backend {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use brotli::enc::encode::{BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct};
    use brotli::enc::StandardAlloc;
    use brotli::{
        Allocator, BrotliDecompressStream, BrotliResult, BrotliState, SliceWrapper, SliceWrapperMut,
    };

    use super::{decoder_bytes, lgwin, size_hint, WindowBits};
    use crate::codec::{CodecResult, Decode, Decoded, Encode, Fault, InBuf, OutBuf, Status};
    use crate::settings::Settings;

    /// brotli compressor.
    pub(crate) struct BrotliEncoder {
        state: BrotliEncoderStateStruct<StandardAlloc>,
        quality: u32,
        lgwin: u32,
        hint: u32,
        /// A flush has been issued and its output is still being drained.
        flushing: bool,
    }

    impl BrotliEncoder {
        pub fn new(settings: &Settings) -> Self {
            // the level was validated into 0..=11
            let quality = settings.level.clamp(0, 11) as u32;
            let (lgwin, hint) = (lgwin(settings), size_hint(settings));
            BrotliEncoder { state: Self::state(quality, lgwin, hint), quality, lgwin, hint, flushing: false }
        }

        fn state(quality: u32, lgwin: u32, hint: u32) -> BrotliEncoderStateStruct<StandardAlloc> {
            let mut state = BrotliEncoderStateStruct::new(StandardAlloc::default());
            // the values are in the parameters' ranges; set_parameter refuses only after the
            // stream has started
            state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_QUALITY, quality);
            state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_LGWIN, lgwin);
            // Without a hint the crate takes the first call's input size for the stream's, and
            // picks its hasher and literal context modelling by it: the output bytes and the
            // memory would depend on how the caller cuts its writes. The configured hint, or a
            // fixed small one, makes them depend on the data and settings only.
            state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_SIZE_HINT, hint);
            state
        }

        /// One call into the encoder with `op`.
        fn run(
            &mut self,
            op: BrotliEncoderOperation,
            input: &mut InBuf<'_>,
            output: &mut OutBuf<'_>,
        ) -> CodecResult<()> {
            let rest = input.rest();
            let (mut avail_in, mut in_pos) = (rest.len(), 0);
            let spare = output.spare();
            let (mut avail_out, mut out_pos) = (spare.len(), 0);
            let mut total = None;
            let ok = self.state.compress_stream(
                op,
                &mut avail_in,
                rest,
                &mut in_pos,
                &mut avail_out,
                spare,
                &mut out_pos,
                &mut total,
                &mut |_, _, _, _| (),
            );
            input.advance(in_pos);
            output.advance(out_pos);
            if ok {
                Ok(())
            } else {
                Err(Fault::backend("brotli encoder failed"))
            }
        }
    }

    impl Encode for BrotliEncoder {
        fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
            self.run(BrotliEncoderOperation::BROTLI_OPERATION_PROCESS, input, output)
        }

        fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
            // FLUSH once, then drain what it left with PROCESS: another FLUSH would start
            // another (empty) flush
            let op = if self.flushing {
                BrotliEncoderOperation::BROTLI_OPERATION_PROCESS
            } else {
                BrotliEncoderOperation::BROTLI_OPERATION_FLUSH
            };
            self.flushing = true;
            self.run(op, &mut InBuf::new(&[]), output)?;
            if self.state.has_more_output() {
                return Ok(Status::Ongoing);
            }
            self.flushing = false;
            Ok(Status::Done)
        }

        fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
            self.run(BrotliEncoderOperation::BROTLI_OPERATION_FINISH, &mut InBuf::new(&[]), output)?;
            Ok(if self.state.is_finished() { Status::Done } else { Status::Ongoing })
        }

        fn reset(&mut self) -> CodecResult<()> {
            // the crate has no reset: a new state (its tables are allocated on first input)
            self.state = Self::state(self.quality, self.lgwin, self.hint);
            self.flushing = false;
            Ok(())
        }

        fn reusable(&self) -> bool {
            false
        }
    }

    /// The decoder's allocator: every table and buffer it allocates counts against one
    /// budget, `max_memory`. An allocation that would pass it gets an empty cell, which the
    /// decoder reports as an allocation failure (we report the limit). Cells give their bytes
    /// back when dropped, so the count is right whether or not the decoder calls `free_cell`.
    #[derive(Clone)]
    struct Budget {
        used: Arc<AtomicUsize>,
        limit: usize,
    }

    /// A cell from a [`Budget`].
    struct Cell<T> {
        data: Box<[T]>,
        budget: Option<Arc<AtomicUsize>>,
    }

    impl<T> Default for Cell<T> {
        fn default() -> Self {
            Cell { data: Box::default(), budget: None }
        }
    }

    impl<T> SliceWrapper<T> for Cell<T> {
        fn slice(&self) -> &[T] {
            &self.data
        }
    }

    impl<T> SliceWrapperMut<T> for Cell<T> {
        fn slice_mut(&mut self) -> &mut [T] {
            &mut self.data
        }
    }

    impl<T> Drop for Cell<T> {
        fn drop(&mut self) {
            if let Some(used) = &self.budget {
                used.fetch_sub(std::mem::size_of_val(&*self.data), Ordering::Relaxed);
            }
        }
    }

    impl<T: Clone + Default> Allocator<T> for Budget {
        type AllocatedMemory = Cell<T>;

        fn alloc_cell(&mut self, len: usize) -> Cell<T> {
            let Some(bytes) = len.checked_mul(std::mem::size_of::<T>()) else {
                return Cell::default();
            };
            let limit = self.limit;
            let reserved = self
                .used
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                    used.checked_add(bytes).filter(|&total| total <= limit)
                })
                .is_ok();
            if !reserved {
                return Cell::default();
            }
            Cell { data: vec![T::default(); len].into_boxed_slice(), budget: Some(self.used.clone()) }
        }

        fn free_cell(&mut self, cell: Cell<T>) {
            drop(cell);
        }
    }

    type State = BrotliState<Budget, Budget, Budget>;

    /// brotli decompressor; one stream.
    pub(crate) struct BrotliDecoder {
        state: Box<State>,
        max_memory: u64,
        large_window: bool,
        /// The stream's first bytes, held until the window they declare has been checked:
        /// `head[fed..len]` is still to go to the decoder.
        head: [u8; 2],
        head_len: usize,
        fed: usize,
        checked: bool,
        total_out: usize,
    }

    impl BrotliDecoder {
        pub fn new(settings: &Settings) -> Self {
            BrotliDecoder {
                state: Self::state(settings.large_window, settings.max_memory),
                max_memory: settings.max_memory,
                large_window: settings.large_window,
                head: [0; 2],
                head_len: 0,
                fed: 0,
                checked: false,
                total_out: 0,
            }
        }

        fn state(large_window: bool, max_memory: u64) -> Box<State> {
            let budget = Budget {
                used: Arc::new(AtomicUsize::new(0)),
                limit: usize::try_from(max_memory).unwrap_or(usize::MAX),
            };
            let mut state = Box::new(State::new(budget.clone(), budget.clone(), budget));
            state.large_window = large_window;
            // the whole window at once for streams of several metablocks (a stream of one
            // still gets a ring buffer just large enough): never the 1.5 windows of regrowing
            // it, so the window check below is the decoder's real peak
            state.set_initial_ring_buffer_size(u32::MAX);
            state
        }

        /// Take the stream's first byte(s) and check the window they declare. True once
        /// checked.
        fn check_window(&mut self, input: &mut InBuf<'_>) -> CodecResult<bool> {
            let need = match self.head_len {
                0 => 1,
                _ => WindowBits::needed(self.head[0]),
            };
            if !input.fill(&mut self.head, &mut self.head_len, need) {
                return Ok(false);
            }
            if self.head_len < WindowBits::needed(self.head[0]) {
                return self.check_window(input);
            }
            let log = match WindowBits::parse(&self.head[..self.head_len]) {
                WindowBits::Standard(log) => log,
                WindowBits::Large(log) if self.large_window => log,
                WindowBits::Large(_) => {
                    return Err(Fault::unsupported(
                        "large-window stream (a non-standard extension; Config::large_window accepts it)",
                    ))
                }
                WindowBits::Invalid => return Err(Fault::corrupt("invalid window size")),
            };
            if decoder_bytes(log) as u64 > self.max_memory {
                return Err(Fault::Limit(self.max_memory));
            }
            self.checked = true;
            Ok(true)
        }

        /// One call into the decoder.
        fn run(&mut self, input: &[u8], output: &mut OutBuf<'_>) -> (usize, BrotliResult) {
            let (mut avail_in, mut in_pos) = (input.len(), 0);
            let spare = output.spare();
            let (mut avail_out, mut out_pos) = (spare.len(), 0);
            let result = BrotliDecompressStream(
                &mut avail_in,
                &mut in_pos,
                input,
                &mut avail_out,
                &mut out_pos,
                spare,
                &mut self.total_out,
                &mut self.state,
            );
            output.advance(out_pos);
            (in_pos, result)
        }

        fn failure(&self) -> Fault {
            let code = format!("{:?}", self.state.error_code);
            let what =
                code.trim_start_matches("BROTLI_DECODER_ERROR_").to_ascii_lowercase().replace('_', " ");
            if what.starts_with("alloc") {
                // Rust's allocator aborts rather than fail: only the budget says no
                Fault::Limit(self.max_memory)
            } else {
                Fault::corrupt(format!("invalid stream ({what})"))
            }
        }
    }

    impl Decode for BrotliDecoder {
        fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
            if !self.checked && !self.check_window(input)? {
                return Ok(Decoded::InputEmpty);
            }
            // the header bytes we took first, then the caller's
            let mut result = BrotliResult::NeedsMoreInput;
            if self.fed < self.head_len {
                let head = self.head;
                let (used, r) = self.run(&head[self.fed..self.head_len], output);
                self.fed += used;
                result = r;
            }
            if self.fed == self.head_len && matches!(result, BrotliResult::NeedsMoreInput) {
                let (used, r) = self.run(input.rest(), output);
                input.advance(used);
                result = r;
            }
            match result {
                BrotliResult::ResultSuccess => Ok(Decoded::End),
                BrotliResult::NeedsMoreInput => Ok(Decoded::InputEmpty),
                BrotliResult::NeedsMoreOutput => Ok(Decoded::OutputFull),
                BrotliResult::ResultFailure => Err(self.failure()),
            }
        }

        fn reset(&mut self) -> CodecResult<()> {
            // the crate has no reset: a new state (the ring buffer comes with the first data)
            self.state = Self::state(self.large_window, self.max_memory);
            self.head_len = 0;
            self.fed = 0;
            self.checked = false;
            self.total_out = 0;
            Ok(())
        }

        fn reusable(&self) -> bool {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bits_of_every_standard_header() {
        // (first byte's low 7 bits, window log), RFC 7932 9.1
        assert_eq!(WindowBits::parse(&[0b0]), WindowBits::Standard(16));
        for n in 1..8u8 {
            assert_eq!(WindowBits::parse(&[n << 1 | 1]), WindowBits::Standard(17 + u32::from(n)));
        }
        assert_eq!(WindowBits::parse(&[0b000_0001]), WindowBits::Standard(17));
        for m in 2..8u8 {
            assert_eq!(WindowBits::parse(&[m << 4 | 1]), WindowBits::Standard(8 + u32::from(m)));
        }
        assert_eq!(WindowBits::needed(0x21), 1);
    }

    #[test]
    fn large_window_headers() {
        assert_eq!(WindowBits::needed(0x11), 2);
        assert_eq!(WindowBits::parse(&[0x11, 30]), WindowBits::Large(30));
        assert_eq!(WindowBits::parse(&[0x11, 10 | 0xc0]), WindowBits::Large(10));
        assert_eq!(WindowBits::parse(&[0x11, 9]), WindowBits::Invalid);
        assert_eq!(WindowBits::parse(&[0x11, 31]), WindowBits::Invalid);
        assert_eq!(WindowBits::parse(&[0x91, 20]), WindowBits::Invalid); // the reserved bit
    }

    #[cfg(feature = "brotli")]
    #[test]
    fn what_the_crate_writes_parses_to_its_window() {
        // the fast qualities raise the window to 2^18
        for (lgwin, quality, declared) in
            [(10, 1, 18), (10, 2, 10), (16, 5, 16), (18, 0, 18), (22, 6, 22), (24, 11, 24)]
        {
            let mut out = Vec::new();
            let params = brotli::enc::BrotliEncoderParams { quality, lgwin, ..Default::default() };
            brotli::BrotliCompress(&mut &b"hello hello hello"[..], &mut out, &params).unwrap();
            let head = &out[..WindowBits::needed(out[0]).min(out.len())];
            assert_eq!(
                WindowBits::parse(head),
                WindowBits::Standard(declared),
                "lgwin {lgwin} quality {quality}"
            );
        }
    }
}

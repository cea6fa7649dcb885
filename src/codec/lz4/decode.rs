//! The lz4 frame decompressor: blocks decoded straight into the caller's buffer when one fits
//! there, otherwise through one block-sized staging buffer sized from the frame descriptor
//! (checked against the memory limit first). Stored blocks of independent frames without
//! block checksums are not staged at all: their bytes are copied from the input to the
//! output as they arrive, as a decoder that holds nothing back gives them (a cut inside one
//! gives every byte before the cut, then the truncation).

use lz4_flex::block;
use xxhash_rust::xxh32::{xxh32, Xxh32};

use super::frame::{one_thread_bytes, remember, BlockHeader, Descriptor, LEGACY_MAGIC, WINDOW};
use super::parallel::ParallelBlocks;
use super::MAGIC;
use crate::codec::spec::{skippable, Match};
use crate::codec::{grow_zeroed, CodecResult, Decode, Decoded, Fault, InBuf, OutBuf};
use crate::settings::Settings;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Magic,
    SkippableSize,
    Skip(u32),
    Descriptor,
    BlockHeader,
    BlockData {
        size: usize,
        stored: bool,
    },
    /// A stored block of independent blocks without a block checksum, `left` of its `size`
    /// bytes still to come: copied straight from the input to the output as it arrives (see
    /// `stream_stored`).
    Stored {
        size: usize,
        left: usize,
        /// How many of the next `left` bytes, unconsumed in the input, are already hashed.
        hashed: usize,
    },
    /// The end mark of a frame decoded in parallel: the batches in flight are written out
    /// before the content checksum (or the end).
    Drain,
    ContentChecksum,
    Done,
}

/// lz4 frame decompressor; a frame or a skippable frame per member.
pub(crate) struct Lz4Decoder {
    max_memory: u64,
    state: State,
    /// Fixed fields assembled across calls (magic, descriptor up to 15 bytes, sizes, checksums).
    field: [u8; 16],
    have: usize,
    frame: Descriptor,
    /// The frame's block maximum size.
    block_max: usize,
    /// A compressed block (plus its checksum) assembled across calls, on one thread (in
    /// parallel, blocks are assembled in the batch itself: `ParallelBlocks::fill`).
    block: Vec<u8>,
    /// Decompressed output waiting for space in the caller's buffer: `decoded_pos..decoded_end`.
    /// Its length only grows (to the frame's block maximum), so it is zeroed once. Its bytes
    /// are hashed for the content checksum as they go out (`take_decoded`), not when the block
    /// is decoded: a 4 MiB block is then read from memory once, hashed and copied piece by
    /// piece while each piece is in cache.
    decoded: Vec<u8>,
    decoded_pos: usize,
    decoded_end: usize,
    hasher: Xxh32,
    produced: u64,
    /// Linked blocks: the last 64 KiB of output.
    history: Vec<u8>,
    /// The current member is a skippable frame.
    skippable: bool,
    /// Dictionaries given: a frame names its own by Dict-ID, or (none named) uses the first.
    dictionaries: crate::dictionary::Dictionaries,
    /// The current frame's dictionary, an index into `dictionaries`.
    dict: Option<usize>,
    /// `Config::threads` (2 or more: frames of independent blocks decode in parallel).
    threads: usize,
    /// The parallel decoder, built by the first frame that uses it and kept (rebuilt by a
    /// frame that takes another number of threads).
    parallel: Option<ParallelBlocks>,
    /// The threads the current frame may decode with (independent blocks, no dictionary: as
    /// many of `threads` as have their batches fit in the memory limit); it does once it is
    /// worth it (`parallel::worth_it`). `None`: one thread.
    parallel_threads: Option<usize>,
    /// The current frame's blocks go to `parallel`.
    in_parallel: bool,
    /// An error found while batches were still held, reported once they are written out.
    deferred: Option<Fault>,
}

/// What a frame's content decoded in parallel batches must pass: the declared content size
/// (each batch before anyone sees it) and the content checksum (which the batches continue,
/// and hand back once all are written out), the same checks as for one block.
struct Tally<'a> {
    frame: &'a Descriptor,
    hasher: &'a mut Xxh32,
    produced: &'a mut u64,
}

impl super::parallel::Content for Tally<'_> {
    fn count(&mut self, len: usize) -> CodecResult<()> {
        *self.produced += len as u64;
        if self.frame.content_size.is_some_and(|size| *self.produced > size) {
            return Err(Fault::corrupt("frame is longer than its declared content size"));
        }
        Ok(())
    }

    fn hasher(&self) -> Option<&Xxh32> {
        self.frame.content_checksum.then_some(&*self.hasher)
    }

    fn settle(&mut self, hash: Xxh32) {
        *self.hasher = hash;
    }
}

/// The window of dictionary `index` among `dictionaries` (a frame's dictionary, if any).
fn window_of(dictionaries: &crate::dictionary::Dictionaries, index: Option<usize>) -> Option<&[u8]> {
    let dicts = dictionaries.as_deref()?;
    index.and_then(|i| dicts.get(i)).map(super::dict_window)
}

impl Lz4Decoder {
    pub fn new(settings: &Settings) -> Self {
        Lz4Decoder {
            max_memory: settings.max_memory,
            state: State::Magic,
            field: [0; 16],
            have: 0,
            frame: Descriptor {
                linked: false,
                block_checksum: false,
                content_checksum: false,
                content_size: None,
                dict_id: None,
                block_code: 4,
            },
            block_max: 0,
            block: Vec::new(),
            decoded: Vec::new(),
            decoded_pos: 0,
            decoded_end: 0,
            hasher: Xxh32::new(0),
            produced: 0,
            history: Vec::new(),
            skippable: false,
            dictionaries: settings.dictionaries.clone(),
            dict: None,
            threads: settings.threads.unwrap_or(1),
            parallel: None,
            parallel_threads: None,
            in_parallel: false,
            deferred: None,
        }
    }

    /// Assemble a little-endian u32 field across calls; `None` until all 4 bytes are in.
    fn read_u32(&mut self, input: &mut InBuf<'_>) -> Option<u32> {
        if !input.fill(&mut self.field, &mut self.have, 4) {
            return None;
        }
        self.have = 0;
        Some(u32::from_le_bytes([self.field[0], self.field[1], self.field[2], self.field[3]]))
    }

    /// A new frame with this descriptor: check what it needs against the limit before
    /// allocating it, then prepare the buffers and checksums.
    fn start_frame(&mut self, frame: Descriptor) -> CodecResult<()> {
        let dicts = self.dictionaries.as_deref().unwrap_or_default();
        self.dict = match frame.dict_id {
            Some(id) => Some(dicts.iter().position(|d| d.id() == id).ok_or(Fault::Dictionary(id))?),
            // a frame that names none (the lz4 CLI's -D writes no ID): the first, if any
            None => (!dicts.is_empty()).then_some(0),
        };
        let block_max = frame.block_max();
        let needed = one_thread_bytes(block_max, frame.linked) as u64;
        if needed > self.max_memory {
            return Err(Fault::Limit(self.max_memory));
        }
        // independent blocks without a dictionary may decode in parallel, with as many
        // threads as have their batches fit in the limit too (else on one thread)
        self.parallel_threads = if frame.linked || self.dict.is_some() {
            None
        } else {
            super::parallel::threads_for(self.threads, block_max, needed, self.max_memory)
        };
        self.in_parallel = false;
        // exact reservations: amortised growth could double them
        let block_bytes = block_max + 4;
        self.block.reserve_exact(block_bytes.saturating_sub(self.block.len()));
        if frame.linked {
            self.history.reserve_exact(WINDOW.saturating_sub(self.history.len()));
        }
        self.frame = frame;
        self.block_max = block_max;
        self.hasher = Xxh32::new(0);
        self.produced = 0;
        self.history.clear();
        if let (true, Some(window)) = (frame.linked, window_of(&self.dictionaries, self.dict)) {
            self.history.extend_from_slice(window);
        }
        Ok(())
    }

    /// Decompress (or copy) one complete block into `output` if a whole block fits there,
    /// else into `decoded`.
    fn decode_block(&mut self, data: &[u8], stored: bool, output: &mut OutBuf<'_>) -> CodecResult<()> {
        let max = self.block_max;
        let direct = output.spare_len() >= max || (stored && output.spare_len() >= data.len());
        let dst: &mut [u8] = if direct {
            let room = max.min(output.spare_len());
            &mut output.spare()[..room]
        } else {
            grow_zeroed(&mut self.decoded, max, max);
            &mut self.decoded[..max]
        };
        let n = if stored {
            dst[..data.len()].copy_from_slice(data);
            data.len()
        } else if self.frame.linked && !self.history.is_empty() {
            block::decompress_into_with_dict(data, dst, &self.history)
                .map_err(|e| Fault::corrupt(format!("invalid block: {e}")))?
        } else if let (false, Some(window)) = (self.frame.linked, window_of(&self.dictionaries, self.dict)) {
            block::decompress_into_with_dict(data, dst, window)
                .map_err(|e| Fault::corrupt(format!("invalid block: {e}")))?
        } else {
            block::decompress_into(data, dst).map_err(|e| Fault::corrupt(format!("invalid block: {e}")))?
        };
        let out = &dst[..n];
        if direct && self.frame.content_checksum {
            self.hasher.update(out);
        }
        if self.frame.linked {
            remember(&mut self.history, out);
        }
        self.produced += n as u64;
        if self.frame.content_size.is_some_and(|size| self.produced > size) {
            return Err(Fault::corrupt("frame is longer than its declared content size"));
        }
        if direct {
            output.advance(n);
        } else {
            self.decoded_end = n;
            self.decoded_pos = 0;
        }
        Ok(())
    }

    /// The next `len` bytes (or fewer, what is left) of the staged block, hashed for the
    /// content checksum as they go out.
    fn take_decoded(&mut self, len: usize) -> &[u8] {
        let from = self.decoded_pos;
        let to = self.decoded_end.min(from + len);
        self.decoded_pos = to;
        let piece = &self.decoded[from..to];
        if self.frame.content_checksum {
            self.hasher.update(piece);
        }
        piece
    }

    /// Check the whole block (in `data`, checksum after it) and decode it.
    fn finish_block(
        &mut self,
        data: &[u8],
        size: usize,
        stored: bool,
        output: &mut OutBuf<'_>,
    ) -> CodecResult<()> {
        if self.frame.block_checksum {
            let stored_sum = u32::from_le_bytes([data[size], data[size + 1], data[size + 2], data[size + 3]]);
            if xxh32(&data[..size], 0) != stored_sum {
                return Err(Fault::corrupt("block checksum mismatch"));
            }
        }
        self.decode_block(&data[..size], stored, output)
    }

    /// Copy what the input and output allow of a stored block (state `Stored`) straight
    /// across; `Some` when one of them ran out first. A stored block without a block checksum
    /// has nothing to verify before its bytes go out (its content size was checked when it
    /// began, the content checksum comes at the frame's end), so staging it would only add a
    /// copy. Linked frames stage every block, for the history.
    ///
    /// The content checksum takes all of the block the input holds at once, ahead of the
    /// output: hashing a small read's worth at a time costs more than the copy. Unconsumed
    /// input comes back unchanged in the next call (the `InBuf` contract), so `hashed` counts
    /// the bytes at its front that are already in the hash.
    fn stream_stored(
        &mut self,
        size: usize,
        left: usize,
        hashed: usize,
        input: &mut InBuf<'_>,
        output: &mut OutBuf<'_>,
    ) -> Option<Decoded> {
        let bytes = self.take_stored(size, left, hashed, input, output.spare_len());
        output.spare()[..bytes.len()].copy_from_slice(bytes);
        output.advance(bytes.len());
        if self.state == State::BlockHeader {
            return None;
        }
        Some(if output.is_full() { Decoded::OutputFull } else { Decoded::InputEmpty })
    }

    /// Take up to `want` bytes of a stored block (`left` of its `size` still to come) from
    /// `input`, as far as it holds them, having hashed all of the block it holds (`hashed`
    /// bytes of it are hashed already); the state moves on, to the next block's header at the
    /// block's end.
    fn take_stored<'a>(
        &mut self,
        size: usize,
        left: usize,
        mut hashed: usize,
        input: &mut InBuf<'a>,
        want: usize,
    ) -> &'a [u8] {
        let data: &'a [u8] = input.data;
        let rest = &data[input.pos..];
        let available = left.min(rest.len());
        if self.frame.content_checksum && hashed < available {
            self.hasher.update(&rest[hashed..available]);
            hashed = available;
        }
        let n = available.min(want);
        self.produced += n as u64;
        input.advance(n);
        let left = left - n;
        self.state = match left {
            0 => State::BlockHeader,
            _ => State::Stored { size, left, hashed: hashed.saturating_sub(n) },
        };
        &rest[..n]
    }

    /// While `passing`: up to `max` bytes of the stored block, taken from `input` (none
    /// otherwise).
    fn pass<'a>(&mut self, input: &mut InBuf<'a>, max: usize) -> &'a [u8] {
        match self.state {
            State::Stored { size, left, hashed } if self.passing() => {
                self.take_stored(size, left, hashed, input, max)
            }
            _ => &[],
        }
    }

    fn end_frame(&mut self) -> CodecResult<()> {
        if self.frame.content_size.is_some_and(|size| size != self.produced) {
            return Err(Fault::corrupt("frame is shorter than its declared content size"));
        }
        self.state = State::Done;
        Ok(())
    }
}

impl Lz4Decoder {
    /// Hand the next `total` bytes of block data to `use_block`: straight from the input when
    /// all of it is there (no copy), else staged in `self.block` across calls. `None` while the
    /// block is incomplete (all the input consumed).
    fn with_block<T>(
        &mut self,
        input: &mut InBuf<'_>,
        total: usize,
        use_block: impl FnOnce(&mut Self, &[u8]) -> CodecResult<T>,
    ) -> CodecResult<Option<T>> {
        if self.block.is_empty() && input.rest().len() >= total {
            let result = use_block(self, &input.rest()[..total])?;
            input.advance(total);
            return Ok(Some(result));
        }
        let take = (total - self.block.len()).min(input.rest().len());
        self.block.extend_from_slice(&input.rest()[..take]);
        input.advance(take);
        if self.block.len() < total {
            return Ok(None);
        }
        let block = std::mem::take(&mut self.block);
        let result = use_block(self, &block);
        self.block = block;
        self.block.clear();
        result.map(Some)
    }

    /// The parallel decoder if this frame uses it, and what its batches must pass.
    fn batches(&mut self) -> (Option<&mut ParallelBlocks>, Tally<'_>) {
        let par = self.parallel.as_mut().filter(|_| self.in_parallel);
        (par, Tally { frame: &self.frame, hasher: &mut self.hasher, produced: &mut self.produced })
    }

    /// Submit the batch being filled, if any; true once every batch is written out (or the
    /// frame has none).
    fn batches_done(&mut self) -> CodecResult<bool> {
        match self.batches() {
            (Some(par), check) => Ok(par.submit(&check)? && par.is_idle()),
            (None, _) => Ok(true),
        }
    }

    /// Wait for the oldest batch in flight and write it out (`OutputFull` if there is no room).
    fn write_oldest_batch(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Option<Decoded>> {
        if output.is_full() {
            return Ok(Some(Decoded::OutputFull));
        }
        let (Some(par), mut check) = self.batches() else {
            return Err(Fault::backend("no parallel decoder"));
        };
        par.drain(output, true, &mut check)?;
        Ok(None)
    }

    #[inline(never)]
    fn walk(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        loop {
            if let (Some(par), mut check) = self.batches() {
                par.drain(output, false, &mut check)?;
                if par.is_writing() {
                    return Ok(Decoded::OutputFull);
                }
            }
            if self.decoded_pos < self.decoded_end {
                output.put(self.take_decoded(output.spare_len()));
                if self.decoded_pos < self.decoded_end {
                    return Ok(Decoded::OutputFull);
                }
                self.decoded_pos = 0;
                self.decoded_end = 0;
            }
            match self.state {
                State::Magic => {
                    let Some(magic) = self.read_u32(input) else {
                        return Ok(Decoded::InputEmpty);
                    };
                    let magic = magic.to_le_bytes();
                    self.state = if magic == MAGIC {
                        State::Descriptor
                    } else if skippable::matches(&magic) == Match::Yes {
                        self.skippable = true;
                        State::SkippableSize
                    } else if magic == LEGACY_MAGIC {
                        return Err(Fault::unsupported("legacy lz4 frame format (lz4 -l)"));
                    } else {
                        return Err(Fault::corrupt("not an lz4 frame (bad magic number)"));
                    };
                }
                State::SkippableSize => {
                    let Some(size) = self.read_u32(input) else {
                        return Ok(Decoded::InputEmpty);
                    };
                    self.state = State::Skip(size);
                }
                State::Skip(left) => {
                    let n = (left as usize).min(input.rest().len());
                    input.advance(n);
                    let left = left - n as u32;
                    if left > 0 {
                        self.state = State::Skip(left);
                        return Ok(Decoded::InputEmpty);
                    }
                    self.state = State::Done;
                }
                State::Descriptor => {
                    // FLG decides the length: 3 bytes, +8 content size, +4 dictionary id
                    if self.have == 0 && !input.fill(&mut self.field, &mut self.have, 1) {
                        return Ok(Decoded::InputEmpty);
                    }
                    let len = Descriptor::len(self.field[0]);
                    if !input.fill(&mut self.field, &mut self.have, len) {
                        return Ok(Decoded::InputEmpty);
                    }
                    self.have = 0;
                    let frame = Descriptor::parse(&self.field[..len])?;
                    self.start_frame(frame)?;
                    self.state = State::BlockHeader;
                }
                State::BlockHeader => {
                    let Some(word) = self.read_u32(input) else {
                        return Ok(Decoded::InputEmpty);
                    };
                    let header = BlockHeader::parse(word);
                    if let Some(threads) = self.parallel_threads.filter(|_| {
                        !self.in_parallel
                            && matches!(header, BlockHeader::Data { .. })
                            && super::parallel::worth_it(self.block_max, self.produced)
                    }) {
                        // from this block on, the frame's blocks go to the batches (none of
                        // an earlier frame's are in flight: a frame drains its own)
                        if self.parallel.as_ref().map(ParallelBlocks::threads) != Some(threads) {
                            self.parallel = Some(ParallelBlocks::new(threads)?);
                        }
                        self.in_parallel = true;
                    }
                    match header {
                        BlockHeader::End if self.in_parallel => self.state = State::Drain,
                        BlockHeader::End if self.frame.content_checksum => {
                            self.state = State::ContentChecksum
                        }
                        BlockHeader::End => self.end_frame()?,
                        BlockHeader::Data { size, .. } if size > self.block_max => {
                            return Err(Fault::corrupt("block is larger than the frame's block maximum size"))
                        }
                        BlockHeader::Data { size, stored: true }
                            if !self.frame.block_checksum && !self.frame.linked =>
                        {
                            self.state = State::Stored { size, left: size, hashed: 0 }
                        }
                        BlockHeader::Data { size, stored } => {
                            self.block.clear();
                            self.state = State::BlockData { size, stored };
                        }
                    }
                }
                State::BlockData { size, stored } if self.in_parallel => {
                    let (Some(par), check) = self.batches() else {
                        return Err(Fault::backend("no parallel decoder"));
                    };
                    if !par.filling() && par.batch_full() && !par.submit(&check)? {
                        // every slot is taken: the oldest batch must be written out first
                        if let Some(outcome) = self.write_oldest_batch(output)? {
                            return Ok(outcome);
                        }
                        continue;
                    }
                    let (checksum, block_max) = (self.frame.block_checksum, self.block_max);
                    let Some(par) = &mut self.parallel else {
                        return Err(Fault::backend("no parallel decoder"));
                    };
                    if !par.fill(input, size, stored, checksum, block_max) {
                        return Ok(Decoded::InputEmpty);
                    }
                    self.state = State::BlockHeader;
                }
                State::BlockData { size, stored } => {
                    // a block decodes straight into the caller's buffer when it fits there;
                    // once this call has produced something and the next block no longer
                    // fits, return what there is rather than decode into `decoded` and copy
                    // it out later (staging is for callers whose buffers are smaller than a
                    // block)
                    let fits = output.spare_len() >= self.block_max || (stored && output.spare_len() >= size);
                    if !fits && output.pos > 0 {
                        return Ok(Decoded::OutputFull);
                    }
                    let total = size + if self.frame.block_checksum { 4 } else { 0 };
                    if self.block.is_empty() && input.rest().len() < total && total <= input.room {
                        // let the adapter complete the block in its own buffer: moving the
                        // partial block to the front copies less than staging all of it
                        return Ok(Decoded::InputEmpty);
                    }
                    if self
                        .with_block(input, total, |this, data| this.finish_block(data, size, stored, output))?
                        .is_none()
                    {
                        return Ok(Decoded::InputEmpty);
                    }
                    self.state = State::BlockHeader;
                }
                State::Stored { size, left, hashed } => {
                    if left == size {
                        // batches of earlier blocks go out first
                        if !self.batches_done()? {
                            if let Some(outcome) = self.write_oldest_batch(output)? {
                                return Ok(outcome);
                            }
                            continue;
                        }
                        // the whole block is judged before any of it comes out
                        if self.frame.content_size.is_some_and(|limit| self.produced + size as u64 > limit) {
                            return Err(Fault::corrupt("frame is longer than its declared content size"));
                        }
                    }
                    if let Some(outcome) = self.stream_stored(size, left, hashed, input, output) {
                        return Ok(outcome);
                    }
                }
                State::Drain => {
                    if !self.batches_done()? {
                        if let Some(outcome) = self.write_oldest_batch(output)? {
                            return Ok(outcome);
                        }
                        continue;
                    }
                    if self.frame.content_checksum {
                        self.state = State::ContentChecksum;
                    } else {
                        self.end_frame()?;
                    }
                }
                State::ContentChecksum => {
                    let Some(stored_sum) = self.read_u32(input) else {
                        return Ok(Decoded::InputEmpty);
                    };
                    if std::mem::replace(&mut self.hasher, Xxh32::new(0)).digest() != stored_sum {
                        return Err(Fault::corrupt("content checksum mismatch"));
                    }
                    self.end_frame()?;
                }
                State::Done => return Ok(if self.skippable { Decoded::Skipped } else { Decoded::End }),
            }
        }
    }
}

impl Decode for Lz4Decoder {
    /// Errors come after the output that precedes them: an error found while batches of
    /// earlier blocks are still held (a bad block header, say) waits until they are written
    /// out, and an error in a call that has produced output is reported by the next call, so
    /// that the caller gets those bytes first — as from one thread, block by block.
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        let start = output.pos;
        // small reads inside a block, the common call, stay out of `walk`'s large frame
        if self.deferred.is_none() {
            if self.decoded_end - self.decoded_pos > output.spare_len() {
                output.put(self.take_decoded(output.spare_len()));
                return Ok(Decoded::OutputFull);
            }
            if let State::Stored { size, left, hashed } = self.state {
                // (past the block's start, where its checks are)
                if left < size {
                    if let Some(outcome) = self.stream_stored(size, left, hashed, input, output) {
                        return Ok(outcome);
                    }
                }
            }
        }
        let result = match self.deferred.take() {
            Some(fault) => Err(fault),
            None => self.walk(input, output),
        };
        let Err(fault) = result else { return result };
        // batches of earlier blocks first; a bad one among them is the earlier error
        let fault = match self.end_of_input(output) {
            Ok(()) => fault,
            Err(earlier) => earlier,
        };
        let holding = self.parallel.as_ref().is_some_and(|p| self.in_parallel && !p.is_idle());
        if output.pos > start || holding {
            self.deferred = Some(fault);
            return Ok(Decoded::OutputFull);
        }
        Err(fault)
    }

    /// The batches of complete blocks, decoded and written out (the incomplete block, if any,
    /// is the truncation).
    fn end_of_input(&mut self, output: &mut OutBuf<'_>) -> CodecResult<()> {
        let (Some(par), mut check) = self.batches() else { return Ok(()) };
        // the incomplete block is the truncation: only the complete ones before it go out
        par.drop_open();
        while !par.is_idle() && !output.is_full() {
            if !par.submit(&check)? || !par.is_idle() {
                par.drain(output, true, &mut check)?;
            }
        }
        Ok(())
    }

    /// The frame's block maximum; before a frame's header, the smallest there is (64 KiB), so
    /// that a unit-sized stage allocated at the first read fits the common frames.
    fn output_unit(&self) -> usize {
        self.block_max.max(super::frame::block_max(4))
    }

    fn ready_output(&mut self, input: &mut InBuf<'_>, output: &mut [u8]) -> usize {
        let (from, len) = (self.decoded_pos, output.len());
        if self.deferred.is_none() && self.decoded_end - from > len {
            // a decoded block staged for reads smaller than it (its checks are behind it)
            output.copy_from_slice(self.take_decoded(len));
            return len;
        }
        // inside a stored block: the copy `decode` would make
        let bytes = self.pass(input, len);
        output[..bytes.len()].copy_from_slice(bytes);
        bytes.len()
    }

    /// Inside a stored block, past its start (where its checks are), with nothing staged or
    /// kept ahead of it.
    fn passing(&self) -> bool {
        self.deferred.is_none()
            && self.decoded_end == self.decoded_pos
            && matches!(self.state, State::Stored { size, left, .. } if left < size)
    }

    fn lease(&mut self, input: &mut InBuf<'_>, max: usize) -> usize {
        self.pass(input, max).len()
    }

    fn reset(&mut self) -> CodecResult<()> {
        if let Some(par) = &mut self.parallel {
            par.reset()?;
        }
        self.parallel_threads = None;
        self.in_parallel = false;
        self.deferred = None;
        self.state = State::Magic;
        self.skippable = false;
        self.have = 0;
        self.block.clear();
        self.decoded_pos = 0;
        self.decoded_end = 0;
        self.history.clear();
        Ok(())
    }
}

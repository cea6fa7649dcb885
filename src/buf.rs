//! The cursors that codecs read from and write into, and the adapters' one buffer.
//!
//! Codecs never see I/O, only an [`InBuf`] (bytes to consume, `pos` advanced by what was
//! consumed) and an [`OutBuf`] (space to fill, `pos` advanced by what was produced). Because a
//! codec's state moves only by what it really consumed and produced, an adapter can stop at
//! any point (an inner writer returning `WouldBlock`, say) and resume later without losing or
//! repeating a byte.

use bytes::{Bytes, BytesMut};

use crate::BufferPool;

/// Input cursor: `data[pos..]` is still to be consumed.
pub(crate) struct InBuf<'a> {
    pub data: &'a [u8],
    pub pos: usize,
    /// How many contiguous bytes the caller can present at once (its buffer's capacity), or
    /// 0. A decoder may leave an incomplete unit of at most `room` bytes unconsumed, without
    /// producing anything; the caller then moves it to the front of its buffer and reads
    /// more behind it. With 0 every byte must be consumed (or something produced).
    pub room: usize,
}

impl<'a> InBuf<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        InBuf { data, pos: 0, room: 0 }
    }

    /// Input from a buffer of capacity `room` (see the field).
    pub fn with_room(data: &'a [u8], room: usize) -> Self {
        InBuf { data, pos: 0, room }
    }

    /// The bytes not yet consumed.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    pub fn is_empty(&self) -> bool {
        self.pos == self.data.len()
    }

    pub fn advance(&mut self, n: usize) {
        debug_assert!(self.pos + n <= self.data.len());
        self.pos += n;
    }

    /// Move bytes into `dst[*have..need]` (a fixed-size field being assembled across calls).
    /// Returns true once `*have == need`.
    pub fn fill(&mut self, dst: &mut [u8], have: &mut usize, need: usize) -> bool {
        let n = (need - *have).min(self.data.len() - self.pos);
        dst[*have..*have + n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        *have += n;
        self.pos += n;
        *have == need
    }
}

/// Output cursor: `data[pos..]` is free space.
pub(crate) struct OutBuf<'a> {
    pub data: &'a mut [u8],
    pub pos: usize,
}

impl<'a> OutBuf<'a> {
    pub fn new(data: &'a mut [u8]) -> Self {
        OutBuf { data, pos: 0 }
    }

    /// The free space.
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.data[self.pos..]
    }

    pub fn spare_len(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn is_full(&self) -> bool {
        self.pos == self.data.len()
    }

    pub fn advance(&mut self, n: usize) {
        debug_assert!(self.pos + n <= self.data.len());
        self.pos += n;
    }

    /// Copy as much of `src[*from..]` as fits, advancing both cursors. Returns true when all
    /// of `src` has been copied out.
    pub fn drain(&mut self, src: &[u8], from: &mut usize) -> bool {
        let n = (src.len() - *from).min(self.spare_len());
        self.data[self.pos..self.pos + n].copy_from_slice(&src[*from..*from + n]);
        self.pos += n;
        *from += n;
        *from == src.len()
    }
}

/// What a codec reports after a `flush`, `finish` or `decode` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// More calls are needed (typically: the output was full).
    Ongoing,
    /// The flush or finish is complete, or (decoders) a member/frame/stream has ended and all
    /// its output has been produced.
    Done,
}

/// An adapter's one buffer: `data[pos..end]` holds pending bytes (an encoder's compressed
/// output not yet written, a decoder's input not yet decoded). Allocated once, at its full
/// size, and never resized; taken from a [`BufferPool`] and given back on drop when the
/// adapter was configured with one.
pub(crate) struct Buffer {
    data: BytesMut,
    pos: usize,
    end: usize,
    pool: Option<BufferPool>,
}

impl Buffer {
    pub fn new(size: usize, pool: Option<&BufferPool>) -> Self {
        let data = match pool {
            Some(pool) => pool.take(size),
            None => BytesMut::zeroed(size),
        };
        Buffer { data, pos: 0, end: 0, pool: pool.cloned() }
    }

    /// Forget the pending bytes.
    pub fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// The pending bytes.
    pub fn pending(&self) -> &[u8] {
        &self.data[self.pos..self.end]
    }

    pub fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    pub fn is_full(&self) -> bool {
        self.end == self.data.len()
    }

    /// Mark `n` pending bytes as used; an emptied buffer starts again at offset 0.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(self.pos + n <= self.end);
        self.pos += n;
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        }
    }

    /// The free space after the pending bytes.
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.data[self.end..]
    }

    /// Mark `n` bytes of `spare()` as filled.
    pub fn commit(&mut self, n: usize) {
        debug_assert!(self.end + n <= self.data.len());
        self.end += n;
    }

    /// Move the pending bytes to the front so that `spare()` is as large as possible.
    pub fn compact(&mut self) {
        if self.pos > 0 {
            self.data.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
    }

    /// The pending bytes, handed out without copying (the memory goes with them, so a pooled
    /// buffer does not return to its pool).
    pub fn into_pending(mut self) -> Bytes {
        let mut data = std::mem::take(&mut self.data);
        data.truncate(self.end);
        let _ = data.split_to(self.pos);
        data.freeze()
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            if self.data.capacity() > 0 {
                pool.give(std::mem::take(&mut self.data));
            }
        }
    }
}

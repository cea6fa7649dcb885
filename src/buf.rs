//! The cursors that codecs read from and write into, and the outcomes they report.
//!
//! Codecs never see I/O, only an [`InBuf`] (bytes to consume, `pos` advanced by what was
//! consumed) and an [`OutBuf`] (space to fill, `pos` advanced by what was produced). Because a
//! codec's state moves only by what it really consumed and produced, an adapter can stop at
//! any point (an inner writer returning `WouldBlock`, say) and resume later without losing or
//! repeating a byte.
//!
//! Also the growth rule for the buffers that a memory estimate bounds ([`reserve_within`]).

/// Input cursor: `data[pos..]` is still to be consumed.
pub(crate) struct InBuf<'a> {
    pub data: &'a [u8],
    pub pos: usize,
    /// How many contiguous bytes the caller can present at once (its buffer's capacity), or
    /// 0. A decoder may leave an incomplete unit of at most `room` bytes unconsumed, without
    /// producing anything; the caller then moves it to the front of its buffer and reads
    /// more behind it. With 0 every byte must be consumed (or something produced).
    pub room: usize,
    /// No input follows `data` (the stream's end): a decoder that must see what comes after
    /// a member to decide where it ends may decide now.
    pub last: bool,
}

impl<'a> InBuf<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        InBuf { data, pos: 0, room: 0, last: false }
    }

    /// Input from a buffer of capacity `room` (see the field).
    pub fn with_room(data: &'a [u8], room: usize) -> Self {
        InBuf { data, pos: 0, room, last: false }
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
        self.put(&src[*from..*from + n]);
        *from += n;
        *from == src.len()
    }

    /// Copy all of `src`, which must fit in the free space.
    pub fn put(&mut self, src: &[u8]) {
        self.data[self.pos..self.pos + src.len()].copy_from_slice(src);
        self.pos += src.len();
    }
}

/// What an encoder reports after a `flush` or `finish` step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// More calls are needed: the output space ran out.
    Ongoing,
    /// The flush or finish is complete.
    Done,
}

/// Why a `Decode::decode` call returned (csv-core's named outcomes are the model): the adapter
/// acts on this, never on guesses from byte counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// The codec cannot go on without more input: it consumed every byte, or it left an
    /// incomplete unit of at most `InBuf::room` bytes for the caller to complete behind.
    InputEmpty,
    /// The codec cannot go on without more output space: the output is full, or (after
    /// producing something) too small for the next unit it would rather decode in place.
    OutputFull,
    /// A member has ended and all its output has been produced; exactly its bytes were
    /// consumed.
    End,
    /// A skippable frame (zstd, lz4) has ended: a member without content, which
    /// `single_stream` does not count as the first member.
    Skipped,
}

/// Make room in `buf` for `more` bytes, growing it by doubling as `Vec` does (few
/// reallocations) but never past `max`, the bound a memory estimate counts for it (beyond
/// `max` only to what is needed: callers keep their buffers within it).
pub(crate) fn reserve_within(buf: &mut Vec<u8>, more: usize, max: usize) {
    let needed = buf.len().saturating_add(more);
    if needed > buf.capacity() {
        let target = buf.capacity().saturating_mul(2).clamp(needed, max.max(needed));
        buf.reserve_exact(target - buf.len());
    }
}

/// Lengthen `buf` to `len` bytes, the new ones zeroed, its capacity growing by
/// [`reserve_within`] `max`; nothing when it is already that long. With `max == len` the
/// reservation is exact.
///
/// Callers sit on hot paths (a block's output buffer, once per block) where the buffer has
/// long since grown: only the length check is inlined there, the growth is out of line. With
/// the growth inlined into lz4's `decode_block`, the whole decoder ran about 2 % slower
/// (`read_patterns`, prose, three alternating rounds, 64 KiB reads against lz4_flex: 1.007–
/// 1.012× inlined, 1.027–1.031× with the growth written out in `decode_block` as before this
/// function, 1.029–1.034× out of line; 333-byte reads 0.97×, 0.99×, 0.99×).
#[inline]
pub(crate) fn grow_zeroed(buf: &mut Vec<u8>, len: usize, max: usize) {
    if buf.len() < len {
        grow_zeroed_now(buf, len, max);
    }
}

#[cold]
#[inline(never)]
fn grow_zeroed_now(buf: &mut Vec<u8>, len: usize, max: usize) {
    reserve_within(buf, len - buf.len(), max);
    buf.resize(len, 0);
}

#[cfg(test)]
mod tests {
    use super::{grow_zeroed, reserve_within};

    #[test]
    fn reserve_within_doubles_up_to_the_bound_and_no_further() {
        let mut buf = vec![0u8; 1000];
        assert_eq!(buf.capacity(), 1000);
        reserve_within(&mut buf, 1, 10_000);
        assert_eq!(buf.capacity(), 2000, "doubles, as Vec does");
        buf.resize(2000, 0);
        reserve_within(&mut buf, 1, 3000);
        assert_eq!(buf.capacity(), 3000, "not past the bound");
        buf.resize(3000, 0);
        reserve_within(&mut buf, 500, 3000);
        assert_eq!(buf.capacity(), 3500, "past it only to what is needed");
        let before = buf.capacity();
        buf.truncate(10);
        reserve_within(&mut buf, 100, 3000);
        assert_eq!(buf.capacity(), before, "room enough: nothing");
        let mut empty = Vec::<u8>::new();
        reserve_within(&mut empty, 7, 100);
        assert_eq!(empty.capacity(), 7);
    }

    #[test]
    fn grow_zeroed_lengthens_within_the_bound_and_never_shortens() {
        let mut buf = vec![7u8; 1000];
        grow_zeroed(&mut buf, 1500, 10_000);
        assert_eq!((buf.len(), buf.capacity()), (1500, 2000), "doubles");
        assert!(buf[..1000].iter().all(|&b| b == 7) && buf[1000..].iter().all(|&b| b == 0));
        grow_zeroed(&mut buf, 2500, 2500);
        assert_eq!((buf.len(), buf.capacity()), (2500, 2500), "exact at the bound");
        grow_zeroed(&mut buf, 100, 100);
        assert_eq!(buf.len(), 2500, "never shortens");
    }
}

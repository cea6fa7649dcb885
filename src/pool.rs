//! `BufferPool`: a shared, bounded stock of adapter buffers and codec contexts, and the two
//! things adapters take from it: their one [`Buffer`] and their codec ([`Pooled`]).
//!
//! A service that compresses millions of small messages should not allocate and free a
//! 64 KiB buffer and a codec context per message. Adapters built with
//! [`Config::pool`](crate::Config::pool) take their buffer, and a codec context made with the
//! same settings if one is idle, from the pool, and give both back when they are dropped
//! (including after `finish`). An empty pool allocates; a full pool frees what it cannot keep;
//! so what a pool holds is bounded by `capacity` buffers plus `capacity` contexts however many
//! adapters come and go.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};

use crate::codec::{CodecResult, Decode, Encode};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::settings::Settings;

/// How a pool has been used so far.
///
/// ```
/// use compressio::{compress_with, BufferPool, Config, Format};
///
/// let pool = BufferPool::new(2);
/// let config = Config::default().pool(&pool);
/// compress_with(b"one", Format::Gzip, &config)?;
/// compress_with(b"two", Format::Gzip, &config)?;
/// let stats = pool.stats();
/// assert!(stats.reused >= 1 && stats.allocated >= 1);
/// # Ok::<(), compressio::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers handed out from the pool's stock.
    pub reused: u64,
    /// Buffers allocated because no idle buffer was large enough.
    pub allocated: u64,
    /// Buffers given back and kept.
    pub returned: u64,
    /// Buffers given back and freed because the pool was full.
    pub discarded: u64,
}

/// A thread-safe pool of [`BytesMut`] buffers and idle codec contexts; cloning gives another
/// handle to the same pool.
///
/// Contexts are reused only between adapters with the same format, direction and codec
/// settings (level, checksum, memory level, memory limit), and are reset before reuse. xz,
/// lzma, brotli and bzip2 contexts are not kept: their crates cannot re-initialise one, so
/// keeping it would hold its memory (94 MiB for an xz encoder at preset 6) for nothing.
///
/// ```
/// use std::io::Write;
/// use compressio::{BufferPool, Config, Encoder, Format};
///
/// let pool = BufferPool::new(16); // keeps at most 16 idle buffers
/// let config = Config::default().pool(&pool);
/// for message in [&b"first"[..], b"second", b"third"] {
///     let mut encoder = Encoder::with_config(Vec::new(), Format::Lz4, &config)?;
///     encoder.write_all(message)?;
///     encoder.finish()?; // the buffer goes back to the pool here
/// }
/// let stats = pool.stats();
/// assert_eq!((stats.allocated, stats.reused), (1, 2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ```
/// use std::io::Write;
/// use compressio::{BufferPool, Config, Encoder, Format};
///
/// let pool = BufferPool::new(16); // shared by every thread that clones the handle
/// let config = Config::default().pool(&pool);
/// let mut encoder = Encoder::with_config(Vec::new(), Format::Zstd, &config)?;
/// encoder.write_all(b"pooled")?;
/// encoder.finish()?; // buffer and zstd context return to the pool
/// assert_eq!(pool.idle(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BufferPool {
    shared: Arc<Shared>,
}

struct Shared {
    idle: Mutex<Vec<BytesMut>>,
    codecs: Mutex<Vec<(CodecKey, AnyCodec)>>,
    capacity: usize,
    reused: AtomicU64,
    allocated: AtomicU64,
    returned: AtomicU64,
    discarded: AtomicU64,
}

impl BufferPool {
    /// A pool keeping at most `capacity` idle buffers.
    ///
    /// ```
    /// let pool = compressio::BufferPool::new(8);
    /// assert_eq!((pool.capacity(), pool.idle()), (8, 0));
    /// ```
    pub fn new(capacity: usize) -> Self {
        BufferPool {
            shared: Arc::new(Shared {
                idle: Mutex::new(Vec::with_capacity(capacity)),
                codecs: Mutex::new(Vec::with_capacity(capacity)),
                capacity,
                reused: AtomicU64::new(0),
                allocated: AtomicU64::new(0),
                returned: AtomicU64::new(0),
                discarded: AtomicU64::new(0),
            }),
        }
    }

    /// The most idle buffers this pool keeps.
    ///
    /// ```
    /// assert_eq!(compressio::BufferPool::new(3).capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Idle buffers in the pool now.
    ///
    /// ```
    /// use compressio::{compress_with, BufferPool, Config, Format};
    ///
    /// let pool = BufferPool::new(4);
    /// compress_with(b"x", Format::Lz4, &Config::default().pool(&pool))?;
    /// assert_eq!(pool.idle(), 1);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn idle(&self) -> usize {
        self.lock().len()
    }

    /// Bytes held by idle buffers now.
    ///
    /// ```
    /// use compressio::{compress_with, BufferPool, Config, Format};
    ///
    /// let pool = BufferPool::new(4);
    /// compress_with(b"x", Format::Lz4, &Config::default().pool(&pool).buffer_size(8192))?;
    /// assert!(pool.idle_bytes() >= 8192);
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn idle_bytes(&self) -> usize {
        self.lock().iter().map(BytesMut::capacity).sum()
    }

    /// Idle codec contexts in the pool now.
    ///
    /// ```
    /// use compressio::{compress_with, BufferPool, Config, Format};
    ///
    /// let pool = BufferPool::new(4);
    /// compress_with(b"x", Format::Zstd, &Config::default().pool(&pool))?;
    /// assert_eq!(pool.idle_codecs(), 1); // the zstd context, ready for the next message
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn idle_codecs(&self) -> usize {
        self.lock_codecs().len()
    }

    /// Free every idle buffer and codec context.
    ///
    /// ```
    /// use compressio::{compress_with, BufferPool, Config, Format};
    ///
    /// let pool = BufferPool::new(4);
    /// compress_with(b"x", Format::Zstd, &Config::default().pool(&pool))?;
    /// pool.clear(); // free what it holds, e.g. after a burst
    /// assert_eq!((pool.idle(), pool.idle_codecs()), (0, 0));
    /// # Ok::<(), compressio::Error>(())
    /// ```
    pub fn clear(&self) {
        self.lock().clear();
        self.lock_codecs().clear();
    }

    /// Usage counters.
    ///
    /// ```
    /// let pool = compressio::BufferPool::new(4);
    /// assert_eq!(pool.stats().allocated, 0);
    /// ```
    pub fn stats(&self) -> PoolStats {
        let s = &self.shared;
        PoolStats {
            reused: s.reused.load(Ordering::Relaxed),
            allocated: s.allocated.load(Ordering::Relaxed),
            returned: s.returned.load(Ordering::Relaxed),
            discarded: s.discarded.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<BytesMut>> {
        // a panic elsewhere while holding the lock leaves a valid Vec: keep using it
        self.shared.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_codecs(&self) -> MutexGuard<'_, Vec<(CodecKey, AnyCodec)>> {
        self.shared.codecs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keep a codec context for reuse, or free it if the pool is full.
    fn give_codec(&self, key: CodecKey, codec: AnyCodec) {
        let mut codecs = self.lock_codecs();
        if codecs.len() < self.shared.capacity {
            codecs.push((key, codec));
        } else {
            drop(codecs); // free the codec outside the lock
        }
    }

    /// A buffer of exactly `size` bytes: an idle one that is large enough, or a new one.
    pub(crate) fn take(&self, size: usize) -> BytesMut {
        let found = {
            let mut idle = self.lock();
            idle.iter().rposition(|b| b.capacity() >= size).map(|i| idle.swap_remove(i))
        };
        match found {
            Some(mut buf) => {
                self.shared.reused.fetch_add(1, Ordering::Relaxed);
                // within its capacity: no allocation; the contents are scratch space
                buf.resize(size, 0);
                buf
            }
            None => {
                self.shared.allocated.fetch_add(1, Ordering::Relaxed);
                BytesMut::zeroed(size)
            }
        }
    }

    /// Take `buf` back, or free it if the pool is full.
    pub(crate) fn give(&self, buf: BytesMut) {
        let mut idle = self.lock();
        if idle.len() < self.shared.capacity {
            idle.push(buf);
            drop(idle);
            self.shared.returned.fetch_add(1, Ordering::Relaxed);
        } else {
            drop(idle);
            self.shared.discarded.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("capacity", &self.capacity())
            .field("idle", &self.idle())
            .field("idle_codecs", &self.idle_codecs())
            .field("stats", &self.stats())
            .finish()
    }
}

/// What identifies interchangeable codec contexts in a pool: the format and every setting a
/// codec is built from (not the adapter's own: buffer size, output limit, single stream).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CodecKey {
    format: Format,
    level: i32,
    checksum: bool,
    memory_level: Option<u8>,
    max_memory: u64,
    threads: Option<usize>,
    large_window: bool,
    size_hint: Option<u64>,
    /// The very dictionaries (by identity; the key keeps them alive, so an address is never
    /// reused while a pooled codec prepared from it waits).
    dictionaries: crate::dictionary::Dictionaries,
    reference: Option<crate::dictionary::Reference>,
}

impl CodecKey {
    fn new(format: Format, s: &Settings) -> Self {
        CodecKey {
            format,
            level: s.level,
            checksum: s.checksum,
            memory_level: s.memory_level,
            max_memory: s.max_memory,
            threads: s.threads,
            large_window: s.large_window,
            size_hint: s.size_hint,
            dictionaries: s.dictionaries.clone(),
            reference: s.reference.clone(),
        }
    }
}

/// A codec of either direction, as a pool stores it (the direction is part of the key).
pub(crate) enum AnyCodec {
    Encode(Box<dyn Encode>),
    Decode(Box<dyn Decode>),
}

/// The two codec directions, as pooled handles see them.
pub(crate) trait Poolable {
    fn into_any(self: Box<Self>) -> AnyCodec;
    /// The codec, if `any` is of this direction (else `any` back).
    fn from_any(any: AnyCodec) -> std::result::Result<Box<Self>, AnyCodec>;
    /// Whether `any` is of this direction.
    fn is_mine(any: &AnyCodec) -> bool;
    fn is_reusable(&self) -> bool;
    fn reset_codec(&mut self) -> CodecResult<()>;
}

impl Poolable for dyn Encode {
    fn into_any(self: Box<Self>) -> AnyCodec {
        AnyCodec::Encode(self)
    }
    fn from_any(any: AnyCodec) -> std::result::Result<Box<Self>, AnyCodec> {
        match any {
            AnyCodec::Encode(c) => Ok(c),
            other => Err(other),
        }
    }
    fn is_mine(any: &AnyCodec) -> bool {
        matches!(any, AnyCodec::Encode(_))
    }
    fn is_reusable(&self) -> bool {
        self.reusable()
    }
    fn reset_codec(&mut self) -> CodecResult<()> {
        self.reset()
    }
}

impl Poolable for dyn Decode {
    fn into_any(self: Box<Self>) -> AnyCodec {
        AnyCodec::Decode(self)
    }
    fn from_any(any: AnyCodec) -> std::result::Result<Box<Self>, AnyCodec> {
        match any {
            AnyCodec::Decode(c) => Ok(c),
            other => Err(other),
        }
    }
    fn is_mine(any: &AnyCodec) -> bool {
        matches!(any, AnyCodec::Decode(_))
    }
    fn is_reusable(&self) -> bool {
        self.reusable()
    }
    fn reset_codec(&mut self) -> CodecResult<()> {
        self.reset()
    }
}

/// An adapter's codec. With a pool, it came from the pool if a matching idle one was there,
/// and goes back to it when the adapter is dropped.
pub(crate) struct Pooled<C: ?Sized + Poolable> {
    /// `None` only while being dropped.
    inner: Option<Box<C>>,
    home: Option<(BufferPool, CodecKey)>,
}

impl<C: ?Sized + Poolable> Pooled<C> {
    /// An idle codec from `pool` (reset for a new stream), or a new one from `build`.
    fn get(
        format: Format,
        settings: &Settings,
        pool: Option<&BufferPool>,
        build: impl FnOnce() -> CodecResult<Box<C>>,
    ) -> Result<Self> {
        let build = || build().map_err(|fault| Error::from_fault(format, fault));
        let Some(pool) = pool else {
            return Ok(Pooled { inner: Some(build()?), home: None });
        };
        let key = CodecKey::new(format, settings);
        let reused = pool.take_codec::<C>(&key).and_then(|mut c| c.reset_codec().ok().map(|_| c));
        let inner = match reused {
            Some(c) => c,
            None => build()?,
        };
        let home = inner.is_reusable().then(|| (pool.clone(), key));
        Ok(Pooled { inner: Some(inner), home })
    }
}

impl Pooled<dyn Encode> {
    /// The encoder for `format` with resolved `settings` (from `pool` if possible).
    pub fn encoder(format: Format, settings: &Settings, pool: Option<&BufferPool>) -> Result<Self> {
        let codec = format.spec().codec.as_ref().ok_or_else(|| Error::disabled(format))?;
        Self::get(format, settings, pool, || (codec.encoder)(settings))
    }
}

impl Pooled<dyn Decode> {
    /// The decoder for `format` with resolved `settings` (from `pool` if possible).
    pub fn decoder(format: Format, settings: &Settings, pool: Option<&BufferPool>) -> Result<Self> {
        let codec = format.spec().codec.as_ref().ok_or_else(|| Error::disabled(format))?;
        Self::get(format, settings, pool, || (codec.decoder)(settings))
    }
}

impl<C: ?Sized + Poolable> std::ops::Deref for Pooled<C> {
    type Target = C;
    fn deref(&self) -> &C {
        // always Some outside of drop
        self.inner.as_deref().unwrap_or_else(|| unreachable!("codec used during drop"))
    }
}

impl<C: ?Sized + Poolable> std::ops::DerefMut for Pooled<C> {
    fn deref_mut(&mut self) -> &mut C {
        self.inner.as_deref_mut().unwrap_or_else(|| unreachable!("codec used during drop"))
    }
}

impl<C: ?Sized + Poolable> Drop for Pooled<C> {
    fn drop(&mut self) {
        if let (Some((pool, key)), Some(inner)) = (self.home.take(), self.inner.take()) {
            pool.give_codec(key, inner.into_any());
        }
    }
}

impl BufferPool {
    /// An idle codec context of `C`'s direction made with the same settings, if there is one.
    fn take_codec<C: ?Sized + Poolable>(&self, key: &CodecKey) -> Option<Box<C>> {
        let mut codecs = self.lock_codecs();
        let i = codecs.iter().rposition(|(k, any)| k == key && C::is_mine(any))?;
        C::from_any(codecs.swap_remove(i).1).ok()
    }
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

//! `BufferPool`: a shared, bounded stock of adapter buffers and codec contexts.
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

use bytes::BytesMut;

use crate::codec::{AnyCodec, CodecKey};

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
/// settings (level, checksum, memory level, memory limit), and are reset before reuse. xz and
/// lzma contexts are not kept: liblzma cannot re-initialise one, so keeping it would hold
/// its memory (94 MiB for an xz encoder at preset 6) for nothing.
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

    /// An idle codec context made with the same settings, if there is one.
    pub(crate) fn take_codec(&self, key: &CodecKey) -> Option<AnyCodec> {
        let mut codecs = self.lock_codecs();
        let i = codecs.iter().rposition(|(k, _)| k == key)?;
        Some(codecs.swap_remove(i).1)
    }

    /// Keep a codec context for reuse, or free it if the pool is full.
    pub(crate) fn give_codec(&self, key: CodecKey, codec: AnyCodec) {
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

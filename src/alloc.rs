//! Allocation tracking: a global-allocator wrapper that counts current bytes, peak bytes and
//! allocations, process-wide and per thread.
//!
//! Install it once in a binary to see what compression costs:
//!
//! ```
//! use compressio::alloc::TrackingAllocator;
//! use std::alloc::System;
//!
//! #[global_allocator]
//! static ALLOC: TrackingAllocator = TrackingAllocator::new(System);
//!
//! let before = ALLOC.stats();
//! ALLOC.reset_peak();
//! let packed = compressio::compress(&[7u8; 1 << 20], compressio::Format::Zstd).unwrap();
//! let after = ALLOC.stats();
//! println!("peak {} bytes above the start, {} allocations", after.peak - before.current,
//!          after.allocations - before.allocations);
//! # drop(packed);
//! ```
//!
//! zstd's contexts are allocated through Rust's global allocator (the zstd crate's
//! `with-rust-allocator` feature, which compressio enables), so they are counted. liblzma
//! allocates with C `malloc`, which no Rust allocator sees: for xz and lzma, add the
//! estimate from [`Config::memory_estimate`](crate::Config::memory_estimate) or measure the
//! process (`VmHWM` in `/proc/self/status`).
//!
//! This module is the crate's only `unsafe` code: implementing `GlobalAlloc` requires it.
//! Every method forwards to the wrapped allocator unchanged and only updates counters.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A snapshot of allocation counters.
///
/// ```
/// use compressio::alloc::TrackingAllocator;
///
/// static ALLOC: TrackingAllocator = TrackingAllocator::new(std::alloc::System);
/// let stats = ALLOC.stats(); // not installed here, so nothing counted
/// assert_eq!((stats.current, stats.peak, stats.allocations), (0, 0, 0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Bytes currently allocated.
    pub current: usize,
    /// The most bytes allocated at once since the start or the last `reset_peak`.
    pub peak: usize,
    /// Allocations made (`alloc`, `alloc_zeroed` and `realloc` calls).
    pub allocations: u64,
}

/// A snapshot of one thread's counters. `current` is signed: memory allocated by this thread
/// and freed by another counts against the thread that freed it.
///
/// ```
/// let stats = compressio::alloc::thread_stats();
/// assert!(stats.peak >= stats.current);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadStats {
    /// Bytes allocated minus bytes freed by this thread.
    pub current: isize,
    /// The highest `current` since the thread started or its last
    /// [`reset_thread_peak`].
    pub peak: isize,
    /// Allocations made by this thread.
    pub allocations: u64,
}

struct ThreadCounters {
    current: Cell<isize>,
    peak: Cell<isize>,
    allocations: Cell<u64>,
}

thread_local! {
    // const-initialised, no destructor: safe to touch from inside the allocator
    static THREAD: ThreadCounters = const {
        ThreadCounters { current: Cell::new(0), peak: Cell::new(0), allocations: Cell::new(0) }
    };
}

/// A [`GlobalAlloc`] wrapper counting current bytes, peak bytes and allocations with atomics
/// (process-wide, see [`stats`](TrackingAllocator::stats)) and thread-locals (per thread, see
/// [`thread_stats`]).
///
/// `realloc` counts as one allocation and changes `current` by the size difference.
///
/// ```
/// use compressio::alloc::TrackingAllocator;
///
/// #[global_allocator]
/// static ALLOC: TrackingAllocator = TrackingAllocator::new(std::alloc::System);
///
/// fn main() {
///     let before = ALLOC.allocations();
///     let v = vec![0u8; 4096];
///     assert!(ALLOC.allocations() > before && ALLOC.current() >= 4096);
///     drop(v);
/// }
/// ```
pub struct TrackingAllocator<A = System> {
    inner: A,
    current: AtomicUsize,
    peak: AtomicUsize,
    allocations: AtomicU64,
}

impl<A> TrackingAllocator<A> {
    /// Wrap `inner` (usually `std::alloc::System`).
    ///
    /// ```
    /// static ALLOC: compressio::alloc::TrackingAllocator = compressio::alloc::TrackingAllocator::new(std::alloc::System);
    /// assert_eq!(ALLOC.current(), 0);
    /// ```
    pub const fn new(inner: A) -> Self {
        TrackingAllocator {
            inner,
            current: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            allocations: AtomicU64::new(0),
        }
    }

    /// The process-wide counters.
    ///
    /// ```
    /// static ALLOC: compressio::alloc::TrackingAllocator = compressio::alloc::TrackingAllocator::new(std::alloc::System);
    /// assert_eq!(ALLOC.stats().allocations, 0);
    /// ```
    pub fn stats(&self) -> AllocStats {
        AllocStats {
            current: self.current.load(Ordering::Relaxed),
            peak: self.peak.load(Ordering::Relaxed),
            allocations: self.allocations.load(Ordering::Relaxed),
        }
    }

    /// Bytes currently allocated.
    ///
    /// ```
    /// static ALLOC: compressio::alloc::TrackingAllocator = compressio::alloc::TrackingAllocator::new(std::alloc::System);
    /// assert_eq!(ALLOC.current(), 0); // install it with #[global_allocator] to count
    /// ```
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Peak bytes since the start or the last [`reset_peak`](TrackingAllocator::reset_peak).
    ///
    /// ```
    /// static ALLOC: compressio::alloc::TrackingAllocator = compressio::alloc::TrackingAllocator::new(std::alloc::System);
    /// assert!(ALLOC.peak() >= ALLOC.current());
    /// ```
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Allocations so far.
    ///
    /// ```
    /// static ALLOC: compressio::alloc::TrackingAllocator = compressio::alloc::TrackingAllocator::new(std::alloc::System);
    /// assert_eq!(ALLOC.allocations(), 0);
    /// ```
    pub fn allocations(&self) -> u64 {
        self.allocations.load(Ordering::Relaxed)
    }

    /// Start a new peak measurement from the current level.
    ///
    /// ```
    /// static ALLOC: compressio::alloc::TrackingAllocator = compressio::alloc::TrackingAllocator::new(std::alloc::System);
    /// ALLOC.reset_peak(); // the peak starts again from the current bytes
    /// assert_eq!(ALLOC.peak(), ALLOC.current());
    /// ```
    pub fn reset_peak(&self) {
        self.peak.store(self.current.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    fn grew(&self, bytes: usize) {
        let now = self.current.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
        self.allocations.fetch_add(1, Ordering::Relaxed);
        let _ = THREAD.try_with(|t| {
            let now = t.current.get() + bytes as isize;
            t.current.set(now);
            if now > t.peak.get() {
                t.peak.set(now);
            }
            t.allocations.set(t.allocations.get() + 1);
        });
    }

    fn shrank(&self, bytes: usize) {
        self.current.fetch_sub(bytes, Ordering::Relaxed);
        let _ = THREAD.try_with(|t| t.current.set(t.current.get() - bytes as isize));
    }
}

/// This thread's counters (for whichever `TrackingAllocator` is the global allocator).
///
/// ```
/// use compressio::alloc::{reset_thread_peak, thread_stats};
///
/// reset_thread_peak();
/// let start = thread_stats();
/// let _packed = compressio::compress(&[1u8; 100_000], compressio::Format::Gzip)?;
/// let end = thread_stats();
/// // counted only when a TrackingAllocator is the global allocator; never negative growth here
/// assert!(end.peak >= start.current);
/// # Ok::<(), compressio::Error>(())
/// ```
pub fn thread_stats() -> ThreadStats {
    THREAD
        .try_with(|t| ThreadStats {
            current: t.current.get(),
            peak: t.peak.get(),
            allocations: t.allocations.get(),
        })
        .unwrap_or_default()
}

/// Start a new per-thread peak measurement from this thread's current level.
///
/// ```
/// compressio::alloc::reset_thread_peak();
/// let s = compressio::alloc::thread_stats();
/// assert_eq!(s.peak, s.current);
/// ```
pub fn reset_thread_peak() {
    let _ = THREAD.try_with(|t| t.peak.set(t.current.get()));
}

// SAFETY: every method delegates to `inner` with the caller's arguments unchanged, so the
// wrapper upholds exactly the contract `inner` does; the counters never touch the memory.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TrackingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see above)
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged
        unsafe { self.inner.dealloc(ptr, layout) };
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            self.shrank(layout.size());
            self.grew(new_size);
        }
        new
    }
}

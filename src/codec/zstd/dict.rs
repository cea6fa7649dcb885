//! zstd dictionaries: training (ZDICT, through the zstd crate), and the digested forms libzstd
//! compresses and decompresses with — a `CDict` per level, one `DDict` — prepared once per
//! [`Dictionary`] and shared by every context that uses it (building them per message would
//! cost more than the message).
//!
//! The one `unsafe` here: zstd-safe's `ref_cdict`/`ref_ddict` want the dictionary borrowed for
//! the context's whole life, which a context that owns (a share of) its dictionary cannot
//! express, so `attach_*` lend libzstd a reference whose lifetime the borrow checker cannot
//! see. Their callers keep the `Arc` in the same struct as the context, declared after it (so
//! dropped after it), and never replace it: the dictionary outlives every use libzstd makes of
//! it, which is exactly what zstd-safe's lifetime would have proved.
#![allow(unsafe_code)]

use std::sync::Arc;

use zstd::zstd_safe::{CCtx, CDict, DCtx, DDict, SafeResult};

use crate::codec::Fault;
use crate::dictionary::Dictionary;
use crate::error::{Error, Result};

/// Train a dictionary of at most `max_size` bytes on `samples` (ZDICT_trainFromBuffer).
pub(crate) fn train<S: AsRef<[u8]>>(samples: &[S], max_size: usize) -> Result<Vec<u8>> {
    if samples.is_empty() || max_size == 0 {
        return Err(Error::InvalidConfig("training needs samples and a non-zero maximum size".into()));
    }
    zstd::dict::from_samples(samples, max_size)
        .map_err(|e| Error::InvalidConfig(format!("zstd could not train a dictionary on these samples: {e}")))
}

/// A zstd dictionary file must load (its entropy tables are checked when digested).
pub(crate) fn check_dictionary(dict: &Dictionary) -> Result<()> {
    ddict(dict).map(drop).map_err(|_| Error::InvalidConfig("not a valid zstd dictionary file".into()))
}

/// The `CDict` of `dict` at `level`, built on first use.
pub(super) fn cdict(dict: &Dictionary, level: i32) -> std::result::Result<Arc<CDict<'static>>, Fault> {
    // level in the low 32 bits; the type keeps CDicts and DDicts apart
    dict.prepared(u64::from(level as u32), |bytes| CDict::try_create(bytes, level))
        .ok_or_else(|| Fault::backend("libzstd could not prepare the dictionary (out of memory?)"))
}

/// The `DDict` of `dict`, built on first use.
pub(super) fn ddict(dict: &Dictionary) -> std::result::Result<Arc<DDict<'static>>, Fault> {
    dict.prepared(0, DDict::try_create)
        .ok_or_else(|| Fault::backend("libzstd could not prepare the dictionary (out of memory?)"))
}

/// Reference `cdict` from `cctx` for every frame to come.
///
/// The caller keeps `cdict` (this `Arc`) alive at least as long as `cctx`: a field declared
/// after the context in the same struct, never replaced.
pub(super) fn attach_cdict(cctx: &mut CCtx<'static>, cdict: &Arc<CDict<'static>>) -> SafeResult {
    // SAFETY: the `CDict` lives in an `Arc` that the caller holds for as long as `cctx` (see
    // above); libzstd only reads it, and `CDict` is `Sync`. The reference never outlives that
    // `Arc` in use: libzstd drops its pointer when `cctx` is freed, before the `Arc` is.
    let cdict: &'static CDict<'static> = unsafe { &*Arc::as_ptr(cdict) };
    cctx.ref_cdict(cdict)
}

/// Reference `prefix` from `cctx` for the next frame (libzstd forgets a prefix when a frame
/// ends: call again after each reset), as zstd --patch-from does: the reference becomes the
/// start of the window, where the ordinary and long-distance matchers see all of it.
///
/// The caller keeps `prefix` (these `Bytes`, whose heap content never moves) alive at least
/// as long as `cctx`, as for `attach_cdict`.
pub(super) fn attach_prefix(cctx: &mut CCtx<'static>, prefix: &bytes::Bytes) -> SafeResult {
    // SAFETY: `Bytes` points at immutable heap memory that stays put while any clone lives;
    // the caller holds this one as long as `cctx` (a field after it, never replaced), so the
    // slice outlives every use libzstd makes of it.
    let prefix: &'static [u8] = unsafe { std::slice::from_raw_parts(prefix.as_ptr(), prefix.len()) };
    cctx.ref_prefix(prefix)
}

/// Reference `ddict` from `dctx` (with the same contract as `attach_cdict`).
pub(super) fn attach_ddict(dctx: &mut DCtx<'static>, ddict: &Arc<DDict<'static>>) -> SafeResult {
    // SAFETY: as in `attach_cdict`: the caller holds this `Arc` as long as `dctx`.
    let ddict: &'static DDict<'static> = unsafe { &*Arc::as_ptr(ddict) };
    dctx.ref_ddict(ddict)
}

/// The window log that covers a reference of `len` bytes and as much new data (at least the
/// level's own window, at most 1 GiB).
pub(crate) fn reference_window_log(len: usize, level: i32, cap: Option<u32>) -> u32 {
    let cover = (2 * len.max(1)).next_power_of_two().trailing_zeros();
    cover.max(crate::memory::zstd::window_log(level, cap)).clamp(10, 30)
}

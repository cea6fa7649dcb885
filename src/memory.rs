//! What the C backends report about their own memory use: libzstd's and liblzma's estimates,
//! which the Rust crates do not wrap, called here through the -sys crates.
//!
//! A leaf module: the codecs build their estimates from these reports (and their own models
//! where a backend has none); it knows nothing of them. The functions are pure functions of
//! plain values; the only pointers are to locals. This module and `alloc` are the crate's only
//! `unsafe` code, and `tests/memory.rs` checks every estimate built on it against measured heap
//! (Rust allocations plus, for liblzma's C allocations, the process's peak RSS).

#![allow(unsafe_code)]

/// libzstd's reports (`ZSTD_getCParams`, `ZSTD_adjustCParams`, `ZSTD_estimate*`).
#[cfg(feature = "zstd")]
pub(crate) mod zstd {
    use zstd::zstd_safe::zstd_sys as sys;

    /// The compression parameters libzstd uses for `level` with an unknown source size, with
    /// the window capped at `2^cap` (hash and chain tables then shrink with it, as libzstd's
    /// own adjustment does).
    fn params(level: i32, cap: Option<u32>) -> sys::ZSTD_compressionParameters {
        // SAFETY: pure functions of plain values
        let mut p = unsafe { sys::ZSTD_getCParams(level, 0, 0) };
        if let Some(cap) = cap {
            if p.windowLog > cap {
                p.windowLog = cap;
                // SAFETY: as above
                p = unsafe { sys::ZSTD_adjustCParams(p, 0, 0) };
            }
        }
        p
    }

    /// The window log an encoder at `level` uses under `cap`: `Some` only when the cap is
    /// below the level's own window (then it must be set explicitly).
    pub(crate) fn capped_window_log(level: i32, cap: Option<u32>) -> Option<u32> {
        let own = params(level, None).windowLog;
        cap.filter(|&c| c < own).map(|c| c.max(10))
    }

    /// The window log of an encoder at `level` under `cap`.
    pub(crate) fn window_log(level: i32, cap: Option<u32>) -> u32 {
        params(level, cap).windowLog
    }

    /// Whether `level` under `cap` uses one of libzstd's optimal parsers (btopt and above,
    /// levels 16 and up), whose multithreaded jobs reload half to all of a window of overlap.
    pub(crate) fn optimal_parser(level: i32, cap: Option<u32>) -> bool {
        params(level, cap).strategy as u32 >= sys::ZSTD_strategy::ZSTD_btopt as u32
    }

    /// libzstd's estimate for a streaming compressor.
    pub(crate) fn cstream_bytes(level: i32, cap: Option<u32>) -> usize {
        // SAFETY: pure function of a plain struct
        unsafe { sys::ZSTD_estimateCStreamSize_usingCParams(params(level, cap)) }
    }

    /// libzstd's estimate for a `CDict` of `dict_len` bytes at `level` (copied in).
    pub(crate) fn cdict_bytes(dict_len: usize, level: i32) -> usize {
        // SAFETY: pure function of plain values
        unsafe { sys::ZSTD_estimateCDictSize(dict_len, level) }
    }

    /// libzstd's estimate for a `DDict` of `dict_len` bytes (copied in).
    pub(crate) fn ddict_bytes(dict_len: usize) -> usize {
        // SAFETY: pure function of plain values
        unsafe { sys::ZSTD_estimateDDictSize(dict_len, sys::ZSTD_dictLoadMethod_e::ZSTD_dlm_byCopy) }
    }

    /// libzstd's estimate for a streaming decompressor of a frame with this window.
    pub(crate) fn dstream_bytes(window_log: u32) -> usize {
        // SAFETY: pure function of a plain value
        unsafe { sys::ZSTD_estimateDStreamSize(1usize << window_log) }
    }
}

/// liblzma's reports (`lzma_lzma_preset`, `lzma_raw_*_memusage`,
/// `lzma_stream_encoder_mt_memusage`).
#[cfg(feature = "xz")]
pub(crate) mod liblzma {
    use liblzma_sys as sys;

    /// liblzma's options for `preset`.
    fn preset(preset: u32) -> sys::lzma_options_lzma {
        // SAFETY: an all-zero lzma_options_lzma is valid (null pointers, zero integers), and
        // lzma_lzma_preset only writes into the struct we own
        unsafe {
            let mut opts: sys::lzma_options_lzma = std::mem::zeroed();
            sys::lzma_lzma_preset(&mut opts, preset);
            opts
        }
    }

    /// The dictionary size of `preset`.
    pub(crate) fn preset_dict_size(level: u32) -> u32 {
        preset(level).dict_size
    }

    /// liblzma's report for a raw LZMA1 (`lzma1`) or LZMA2 encoder or decoder with this
    /// preset and dictionary (C heap).
    pub(crate) fn raw_memusage(lzma1: bool, level: u32, dict: u32, encoder: bool) -> u64 {
        let mut opts = preset(level);
        opts.dict_size = dict;
        let id = if lzma1 { sys::LZMA_FILTER_LZMA1 } else { sys::LZMA_FILTER_LZMA2 };
        let filters = [
            sys::lzma_filter { id, options: (&mut opts as *mut sys::lzma_options_lzma).cast() },
            sys::lzma_filter { id: sys::LZMA_VLI_UNKNOWN, options: std::ptr::null_mut() },
        ];
        // SAFETY: `filters` is a terminated filter chain pointing at `opts`, both alive for
        // the call, which only reads them
        unsafe {
            if encoder {
                sys::lzma_raw_encoder_memusage(filters.as_ptr())
            } else {
                sys::lzma_raw_decoder_memusage(filters.as_ptr())
            }
        }
    }

    /// liblzma's report for its multithreaded .xz encoder (C heap).
    pub(crate) fn mt_encoder_memusage(level: u32, dict: u32, threads: usize, block_size: u64) -> u64 {
        let mut opts = preset(level);
        opts.dict_size = dict;
        let filters = [
            sys::lzma_filter {
                id: sys::LZMA_FILTER_LZMA2,
                options: (&mut opts as *mut sys::lzma_options_lzma).cast(),
            },
            sys::lzma_filter { id: sys::LZMA_VLI_UNKNOWN, options: std::ptr::null_mut() },
        ];
        // SAFETY: an all-zero lzma_mt is valid (no flags, null pointers); `filters` is a
        // terminated chain pointing at `opts`, all alive for the call, which only reads them
        unsafe {
            let mut mt: sys::lzma_mt = std::mem::zeroed();
            mt.threads = u32::try_from(threads).unwrap_or(u32::MAX);
            mt.block_size = block_size;
            mt.filters = filters.as_ptr();
            mt.check = sys::LZMA_CHECK_CRC64;
            sys::lzma_stream_encoder_mt_memusage(&mt)
        }
    }
}

//! What a codec costs in memory, from the backends' own reports where they have one.
//!
//! libzstd and liblzma document their memory use through functions (`ZSTD_getCParams`,
//! `ZSTD_estimateCStreamSize_usingCParams`, `ZSTD_estimateDStreamSize`, `lzma_lzma_preset`,
//! `lzma_raw_encoder_memusage`, ...) that the Rust crates do not wrap, so they are called here
//! through the -sys crates. They are pure functions of plain values; the only pointers are
//! to locals. This module and `alloc` are the crate's only `unsafe` code, and
//! `tests/memory.rs` checks every figure against measured heap (Rust allocations plus, for
//! liblzma's C allocations, the process's peak RSS).

#![allow(unsafe_code)]

use crate::config::{Direction, Settings};
use crate::Format;

/// zlib-rs's deflate state for a window of `2^bits`, calibrated against the counting
/// allocator (examples/memory.rs): the window twice over plus the `prev` chain (4 bytes per
/// window byte), and 256 KiB of hash head, pending buffer and state whatever the window.
#[cfg(feature = "deflate")]
fn deflate_encoder_bytes(window_bits: u8) -> usize {
    4 * (1usize << window_bits) + 256 * 1024
}

/// zlib-rs's inflate state plus its 32 KiB window (allocated on the first output).
#[cfg(feature = "deflate")]
const INFLATE_BYTES: usize = 7 * 1024 + 32 * 1024;

/// Window bits for deflate at this memory level: a 16 KiB window at 1, 32 KiB from 2.
#[cfg(feature = "deflate")]
pub(crate) fn deflate_window_bits(settings: &Settings) -> u8 {
    match settings.history_budget() {
        Some(budget) if budget < 32 * 1024 => 14,
        _ => 15,
    }
}

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

    pub(crate) fn window_log(level: i32, cap: Option<u32>) -> u32 {
        params(level, cap).windowLog
    }

    /// libzstd's estimate for a streaming compressor.
    pub(crate) fn encoder_bytes(level: i32, cap: Option<u32>) -> usize {
        // SAFETY: pure function of a plain struct
        unsafe { sys::ZSTD_estimateCStreamSize_usingCParams(params(level, cap)) }
    }

    /// The job size of our multithreaded zstd encoder: 2 × the window, at least 1 MiB
    /// (libzstd's own default is 4 ×; see `ZstdEncoder::pass_probe`).
    pub(crate) fn mt_job_size(level: i32, cap: Option<u32>) -> usize {
        (2usize << params(level, cap).windowLog).max(1 << 20)
    }

    /// libzstd's multithreaded compressor, which has no estimate of its own; after
    /// zstdmt_compress.c: a round buffer holding the window or a job per worker, whichever is
    /// larger, plus two slack jobs; a compressed output buffer per job in flight (workers +
    /// 2); a context per worker and the main one. Checked against the counting allocator by
    /// tests/threads.rs.
    pub(crate) fn mt_encoder_bytes(level: i32, cap: Option<u32>, threads: usize) -> usize {
        let job = mt_job_size(level, cap);
        let window = 1usize << params(level, cap).windowLog;
        let round = window.max(threads * job) + 2 * job;
        let outputs = (threads + 2) * job;
        round + outputs + (threads + 1) * encoder_bytes(level, cap)
    }

    /// libzstd's estimate for a streaming decompressor of a frame with this window.
    pub(crate) fn decoder_bytes(window_log: u32) -> usize {
        // SAFETY: pure function of a plain value
        unsafe { sys::ZSTD_estimateDStreamSize(1usize << window_log) }
    }
}

#[cfg(feature = "xz")]
pub(crate) mod lzma {
    use liblzma_sys as sys;

    use crate::Format;

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

    /// The dictionary size of `preset`, capped at `budget`.
    pub(crate) fn dict_size(level: u32, budget: Option<u64>) -> u32 {
        let own = preset(level).dict_size;
        match budget {
            Some(b) if b < u64::from(own) => (b as u32).max(4096),
            _ => own,
        }
    }

    fn memusage(format: Format, level: u32, dict: u32, encoder: bool) -> u64 {
        let mut opts = preset(level);
        opts.dict_size = dict;
        let id = if format == Format::Lzma { sys::LZMA_FILTER_LZMA1 } else { sys::LZMA_FILTER_LZMA2 };
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

    /// liblzma's report for the encoder (C heap), plus the .xz stream and block encoders.
    pub(crate) fn encoder_bytes(format: Format, level: u32, dict: u32) -> u64 {
        memusage(format, level, dict, true) + if format == Format::Xz { 8 * 1024 } else { 0 }
    }

    /// liblzma's report for its multithreaded encoder with our block size (C heap).
    pub(crate) fn mt_encoder_bytes(level: u32, dict: u32, threads: usize) -> u64 {
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
            mt.block_size = crate::codec::xz::mt_block_size(dict);
            mt.filters = filters.as_ptr();
            mt.check = sys::LZMA_CHECK_CRC64;
            sys::lzma_stream_encoder_mt_memusage(&mt)
        }
    }

    /// liblzma's report for the decoder (C heap).
    pub(crate) fn decoder_bytes(format: Format, level: u32, dict: u32) -> u64 {
        memusage(format, level, dict, false) + if format == Format::Xz { 8 * 1024 } else { 0 }
    }
}

/// lz4 block maximum (BD code 4..=7) at this memory level: 64 KiB by default and at 1-2,
/// 256 KiB at 3, 1 MiB at 4, 4 MiB from 5.
#[cfg(feature = "lz4")]
pub(crate) fn lz4_block_code(settings: &Settings) -> u8 {
    match settings.history_budget() {
        None => 4,
        Some(b) => match b {
            ..=0x1_0000 => 4,
            0x1_0001..=0x4_0000 => 5,
            0x4_0001..=0x10_0000 => 6,
            _ => 7,
        },
    }
}

/// The expected peak heap of an adapter (its buffer included) with these settings; for a
/// decoder, decoding what an encoder with the same settings writes.
pub(crate) fn estimate(format: Format, direction: Direction, settings: &Settings) -> usize {
    if let (Direction::Compress, Some(threads)) = (direction, settings.threads) {
        if let Some(codec) = threaded_encoder_bytes(format, settings, threads) {
            return settings.buffer_size.saturating_add(codec);
        }
    }
    let codec = match format {
        #[cfg(feature = "deflate")]
        Format::Gzip | Format::Zlib | Format::Deflate => match direction {
            Direction::Compress => deflate_encoder_bytes(deflate_window_bits(settings)),
            Direction::Decompress => INFLATE_BYTES,
        },
        #[cfg(feature = "zstd")]
        Format::Zstd => {
            let cap = settings.history_budget().map(|b| b.trailing_zeros());
            match direction {
                Direction::Compress => zstd::encoder_bytes(settings.level, cap),
                Direction::Decompress => zstd::decoder_bytes(zstd::window_log(settings.level, cap)),
            }
        }
        #[cfg(feature = "lz4")]
        Format::Lz4 => {
            let block = 1usize << (8 + 2 * usize::from(lz4_block_code(settings)));
            let linked = settings.level >= 2;
            let history = if linked { 64 * 1024 } else { 0 };
            match direction {
                // pending input block + staged compressed block + hash table (+ history)
                Direction::Compress => {
                    block + 4 + lz4_flex::block::get_maximum_output_size(block) + 16 * 1024 + history
                }
                // compressed block + decoded block (+ history)
                Direction::Decompress => 2 * block + 4 + history,
            }
        }
        #[cfg(feature = "xz")]
        Format::Xz | Format::Lzma => {
            let preset = settings.level.clamp(0, 9) as u32;
            let dict = lzma::dict_size(preset, settings.history_budget());
            let bytes = match direction {
                Direction::Compress => lzma::encoder_bytes(format, preset, dict),
                Direction::Decompress => lzma::decoder_bytes(format, preset, dict),
            };
            usize::try_from(bytes).unwrap_or(usize::MAX)
        }
        #[allow(unreachable_patterns)]
        _ => 0,
    };
    settings.buffer_size.saturating_add(codec)
}

/// A multithreaded encoder's codec memory (`Config::threads`), or `None` where the format
/// compresses on one thread whatever the setting.
#[allow(unused_variables)]
fn threaded_encoder_bytes(format: Format, settings: &Settings, threads: usize) -> Option<usize> {
    Some(match format {
        #[cfg(feature = "deflate")]
        Format::Gzip | Format::Deflate => {
            use crate::codec::deflate::{deflate_bound, PARALLEL_BLOCK};
            let bits = deflate_window_bits(settings);
            // the engine's buffers, and one compressor per worker at a time
            crate::codec::parallel::buffer_bytes(
                threads,
                PARALLEL_BLOCK,
                1 << bits,
                deflate_bound(PARALLEL_BLOCK),
            ) + threads * deflate_encoder_bytes(bits)
        }
        #[cfg(feature = "lz4")]
        Format::Lz4 if settings.level < 2 => {
            let block = 1usize << (8 + 2 * usize::from(lz4_block_code(settings)));
            let job = crate::codec::lz4::job_size(block);
            let bound = job / block * crate::codec::lz4::block_bound(block);
            crate::codec::parallel::buffer_bytes(threads, job, 0, bound) + threads * 16 * 1024
        }
        #[cfg(feature = "zstd")]
        Format::Zstd => {
            let cap = settings.history_budget().map(|b| b.trailing_zeros());
            zstd::mt_encoder_bytes(settings.level, cap, threads) + crate::codec::zstd::PROBE
        }
        #[cfg(feature = "xz")]
        Format::Xz => {
            let preset = settings.level.clamp(0, 9) as u32;
            let dict = lzma::dict_size(preset, settings.history_budget());
            usize::try_from(lzma::mt_encoder_bytes(preset, dict, threads)).unwrap_or(usize::MAX)
        }
        _ => return None,
    })
}

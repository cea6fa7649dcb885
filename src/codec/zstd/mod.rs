//! zstd (RFC 8878) over the zstd crate's contexts (`zstd_safe::CCtx`/`DCtx`, which
//! `zstd::stream::raw` wraps). We call them directly so that errors keep their libzstd error
//! code: a window larger than the memory limit must become a limit error, not a generic one.
//!
//! - `frame.rs`: pure frame parsing (header layout, what a frame needs, block walker).
//! - `encode.rs`: the compressor and its multithreading probe.
//! - `decode.rs`: the decompressor and the checks libzstd's streaming path leaves out.
//! - `dict.rs`: dictionary training and the prepared dictionaries both directions share.

use crate::codec::spec::{match_magic, Codec, Detect, Levels, Match, Members, Spec};

pub(crate) mod frame;

#[cfg(feature = "zstd")]
mod decode;
#[cfg(feature = "zstd")]
mod dict;
#[cfg(feature = "zstd")]
pub(crate) use dict::{check_dictionary, train};
#[cfg(feature = "zstd")]
mod encode;
#[cfg(feature = "zstd")]
mod measure;
#[cfg(feature = "zstd")]
mod seekable;

/// Concatenated frames and skippable frames decode as one stream, like `zstd -d`.
pub(crate) static SPEC: Spec = Spec {
    name: "zstd",
    aliases: &["zst"],
    extensions: &["zst", "tzst"],
    feature: "zstd",
    detect: Detect::Magic(matches),
    members: Members { concatenated: true, skippable: true, padding: false },
    // negative levels are libzstd's fast modes; `Best` stops at 19 like the CLI without --ultra
    levels: Levels { named: [1, 2, 3, 19], min: -(1 << 17), max: 22 },
    dictionaries: true,
    reference: true,
    codec: CODEC,
};

fn matches(prefix: &[u8]) -> Match {
    match_magic(prefix, &frame::MAGIC)
}

#[cfg(feature = "zstd")]
const CODEC: Option<Codec> = Some(Codec {
    encoder: |s| match s.seekable {
        Some(block) => Ok(Box::new(seekable::encoder(s, block)?)),
        None => Ok(Box::new(encode::ZstdEncoder::new(s)?)),
    },
    // streams of several frames decode in parallel with threads(n) (codec/frames.rs)
    decoder: |s| {
        crate::codec::frames::decoder(s, measure::FrameLength::new(), |s| {
            Ok(Box::new(decode::ZstdDecoder::new(s)?))
        })
    },
    // a prepared dictionary is shared by every context that uses it, but counted in full in
    // each estimate (a lone adapter pays for it)
    encoder_memory: |s| {
        let dict = s.dictionary().map_or(0, |d| crate::memory::zstd::cdict_bytes(d.as_bytes().len(), s.level))
            // a reference (not copied): the larger window's buffers and the long-distance
            // matcher's tables, roughly two windows
            + s.reference.as_ref().map_or(0, |r| 2usize << dict::reference_window_log(r.0.len(), s.level, s.history_log()));
        dict + match (s.seekable, s.threads) {
            (Some(block), threads) => seekable::encoder_memory(s, block, threads.unwrap_or(0)),
            (None, Some(threads)) => {
                encode::mt_encoder_bytes(s.level, s.history_log(), threads) + encode::PROBE
            }
            (None, None) => crate::memory::zstd::cstream_bytes(s.level, s.history_log()),
        }
    },
    decoder_memory: |s| {
        let dicts = s.dictionaries.as_deref().unwrap_or_default();
        let window = match &s.reference {
            Some(r) => dict::reference_window_log(r.0.len(), s.level, s.history_log()),
            None => crate::memory::zstd::window_log(s.level, s.history_log()),
        };
        let one = dicts.iter().map(|d| crate::memory::zstd::ddict_bytes(d.as_bytes().len())).sum::<usize>()
            + s.reference.as_ref().map_or(0, |r| r.0.len())
            + crate::memory::zstd::dstream_bytes(window);
        crate::codec::frames::decoder_memory(s, one)
    },
    random_access: Some(crate::codec::seekable::RandomAccess {
        max_block: seekable::MAX_FRAME_CONTENT,
        read_index: seekable::read_index,
        frame_block: None,
        check_block: Some(seekable::check_frame),
    }),
});
#[cfg(not(feature = "zstd"))]
const CODEC: Option<Codec> = None;

#[cfg(feature = "zstd")]
use glue::*;

/// The libzstd calls both directions share.
#[cfg(feature = "zstd")]
mod glue {
    use zstd::zstd_safe::{self, InBuffer, OutBuffer};

    use crate::codec::{Fault, InBuf, OutBuf};

    /// Run one libzstd streaming call over our cursors; returns libzstd's result.
    pub(super) fn with_buffers<F>(
        input: &mut InBuf<'_>,
        output: &mut OutBuf<'_>,
        call: F,
    ) -> zstd_safe::SafeResult
    where
        F: FnOnce(&mut OutBuffer<'_, [u8]>, &mut InBuffer<'_>) -> zstd_safe::SafeResult,
    {
        let mut zin = InBuffer::around(input.rest());
        let mut zout = OutBuffer::around(output.spare());
        let result = call(&mut zout, &mut zin);
        let (consumed, produced) = (zin.pos(), zout.pos());
        input.advance(consumed);
        output.advance(produced);
        result
    }

    /// libzstd's name for an error code, as a lowercase phrase.
    pub(super) fn error_name(code: usize) -> String {
        let name = zstd_safe::get_error_name(code);
        let mut chars = name.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => String::from("unknown error"),
        }
    }

    /// libzstd's compressor failed: never the data's fault.
    pub(super) fn encoder_error(code: usize) -> Fault {
        Fault::backend(format!("libzstd compressor failed: {}", error_name(code)))
    }
}

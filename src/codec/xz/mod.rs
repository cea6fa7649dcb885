//! xz (the .xz container, LZMA2) over the liblzma engine in `codec/liblzma.rs`.
//!
//! - `index.rs`: reading the index at the end of a file of xz streams, for random access.

use crate::codec::spec::{match_magic, Codec, Detect, Levels, Match, Members, Spec};

/// Several streams, with stream padding between and after them, decode as one, like `xz -d`.
pub(crate) static SPEC: Spec = Spec {
    name: "xz",
    aliases: &[],
    extensions: &["xz", "txz"],
    feature: "xz",
    detect: Detect::Magic(matches),
    members: Members { concatenated: true, skippable: false, padding: true },
    levels: PRESETS,
    dictionaries: false,
    reference: false,
    codec: CODEC,
};

/// liblzma's presets, shared with legacy lzma.
pub(crate) const PRESETS: Levels = Levels { named: [0, 3, 6, 9], min: 0, max: 9 };

#[cfg(feature = "xz")]
mod index;

const MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];

fn matches(prefix: &[u8]) -> Match {
    match_magic(prefix, &MAGIC)
}

#[cfg(feature = "xz")]
const CODEC: Option<Codec> = Some(Codec {
    encoder: |s| Ok(Box::new(backend::encoder(s)?)),
    decoder: |s| Ok(Box::new(crate::codec::liblzma::LzmaDecoder::new(backend::CONTAINER, s)?)),
    encoder_memory: backend::encoder_memory,
    decoder_memory: backend::decoder_memory,
    random_access: Some(crate::codec::seekable::RandomAccess {
        // the index's sizes are 63-bit
        max_block: 1 << 62,
        read_index: index::read_index,
        frame_block: Some(index::frame_block),
        check_block: None,
    }),
});
#[cfg(not(feature = "xz"))]
const CODEC: Option<Codec> = None;

#[cfg(feature = "xz")]
mod backend {
    use liblzma::stream::Check;

    use crate::codec::liblzma::{capped_dict_size, dict_size, Container, LzmaEncoder, Recipe};
    use crate::codec::spec::preset;
    use crate::codec::CodecResult;
    use crate::memory;
    use crate::settings::Settings;

    pub(super) const CONTAINER: Container = Container::Stream;

    /// The .xz stream and block encoders' own state, besides LZMA2's.
    const XZ_OVERHEAD: u64 = 8 * 1024;

    /// The block size of the multithreaded xz encoder: the dictionary size (8 MiB at preset 6),
    /// at least 1 MiB. Blocks are compressed independently, so the split decides the scaling:
    /// `k` blocks on 2 threads take `ceil(k / 2)` block-times. liblzma's own default, 3 × the
    /// dictionary, gives a 48–64 MiB input only 2–3 blocks (1.5× for 3); one dictionary per
    /// block gives it 6–8 (≥ 1.75×, 2× for an even count) and more for larger inputs. The cost
    /// is ratio: a block starts with an empty dictionary; measured on the corpus's
    /// binaries.tar (50 MB, preset 6), 15.37 MB instead of 15.02 MB (+2.3 %); 16 MiB blocks
    /// +1.1 %, 4 MiB +3.7 %.
    fn mt_block_size(dict: u32) -> u64 {
        u64::from(dict).max(1 << 20)
    }

    fn threads(settings: &Settings) -> Option<u32> {
        settings.threads.map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub(super) fn encoder(settings: &Settings) -> CodecResult<LzmaEncoder> {
        let dict = dict_size(settings);
        LzmaEncoder::new(Recipe {
            container: CONTAINER,
            preset: preset(settings),
            dict: capped_dict_size(settings),
            check: if settings.checksum { Check::Crc64 } else { Check::None },
            mt: match settings.seekable {
                // a block per `block` bytes: liblzma's block encoder and index do the rest
                Some(block) => Some((threads(settings).unwrap_or(1), block as u64)),
                None => threads(settings).map(|threads| (threads, mt_block_size(dict))),
            },
        })
    }

    /// liblzma's reports (C heap).
    pub(super) fn encoder_memory(settings: &Settings) -> usize {
        let (level, dict) = (preset(settings), dict_size(settings));
        let bytes = match (settings.seekable, settings.threads) {
            (Some(block), n) => {
                memory::liblzma::mt_encoder_memusage(level, dict, n.unwrap_or(1), block as u64)
            }
            (None, Some(n)) => memory::liblzma::mt_encoder_memusage(level, dict, n, mt_block_size(dict)),
            (None, None) => memory::liblzma::raw_memusage(false, level, dict, true) + XZ_OVERHEAD,
        };
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }

    pub(super) fn decoder_memory(settings: &Settings) -> usize {
        let bytes = memory::liblzma::raw_memusage(false, preset(settings), dict_size(settings), false);
        usize::try_from(bytes + XZ_OVERHEAD).unwrap_or(usize::MAX)
    }
}

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
    ///
    /// With a [`size_hint`](crate::Config::size_hint) the blocks are evened out instead: the
    /// fewest of at most that size whose count is a multiple of the threads, so that each
    /// thread gets the same share (decoding too: liblzma's multithreaded decoder hands out
    /// whole blocks). Without it, 25.6 MB of text makes three 8 MiB blocks and a 0.4 MiB
    /// one, and two threads decode it at most `24.4 / 16` = 1.53× as fast as one; with it,
    /// four blocks of 6.1 MiB.
    pub(super) fn mt_block_size(settings: &Settings, dict: u32, threads: u32) -> u64 {
        let most = u64::from(dict).max(MIN_BLOCK);
        match settings.size_hint {
            Some(size) if threads > 1 && size > most => {
                let threads = u64::from(threads);
                let blocks = size.div_ceil(most).div_ceil(threads).saturating_mul(threads);
                size.div_ceil(blocks).max(MIN_EVEN_BLOCK)
            }
            _ => most,
        }
    }

    /// The smallest block the multithreaded encoder is given without a size hint.
    const MIN_BLOCK: u64 = 1 << 20;
    /// The smallest block evening out gives (many threads, a small input): below it a cold
    /// dictionary costs more ratio than one more block on a thread costs time.
    const MIN_EVEN_BLOCK: u64 = 256 << 10;

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
                None => threads(settings).map(|threads| (threads, mt_block_size(settings, dict, threads))),
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
            (None, Some(n)) => {
                let block = mt_block_size(settings, dict, threads(settings).unwrap_or(1));
                memory::liblzma::mt_encoder_memusage(level, dict, n, block)
            }
            (None, None) => memory::liblzma::raw_memusage(false, level, dict, true) + XZ_OVERHEAD,
        };
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }

    pub(super) fn decoder_memory(settings: &Settings) -> usize {
        let bytes = memory::liblzma::raw_memusage(false, preset(settings), dict_size(settings), false);
        usize::try_from(bytes + XZ_OVERHEAD).unwrap_or(usize::MAX)
    }
}

#[cfg(all(test, feature = "xz"))]
mod tests {
    use super::backend::mt_block_size;
    use crate::{Config, Direction, Format};

    const MIB: u64 = 1 << 20;

    /// The block size for `config` (preset 6: an 8 MiB dictionary) and `threads`.
    fn block(config: Config, threads: u32) -> u64 {
        let settings = config.resolve(Format::Xz, Direction::Compress).unwrap();
        mt_block_size(&settings, 8 << 20, threads)
    }

    #[test]
    fn a_size_hint_evens_out_the_blocks_across_the_threads() {
        // without a hint: one dictionary per block, whatever the threads
        assert_eq!(block(Config::default(), 2), 8 * MIB);
        // 24.4 MiB: 8 + 8 + 8 + 0.4 becomes four blocks of 6.1 MiB
        let size = 25_586_059;
        let even = block(Config::default().size_hint(size), 2);
        assert_eq!((even, size.div_ceil(even)), (size.div_ceil(4), 4));
        // three threads: six blocks, not four
        assert_eq!(block(Config::default().size_hint(size), 3), size.div_ceil(6));
        // already even, or one block (evening out never splits what the dictionary rule keeps
        // whole): unchanged
        assert_eq!(block(Config::default().size_hint(32 * MIB), 2), 8 * MIB);
        assert_eq!(block(Config::default().size_hint(5 * MIB), 2), 8 * MIB);
        assert_eq!(block(Config::default().size_hint(size), 1), 8 * MIB);
        // just over one dictionary: two halves
        assert_eq!(block(Config::default().size_hint(9 * MIB), 2), 9 * MIB / 2);
        // many threads on a small input: not below the floor
        assert_eq!(block(Config::default().size_hint(9 * MIB), 64), 256 << 10);
    }
}

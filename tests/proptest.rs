//! Property tests: for arbitrary data, format, level, buffer size and write/read chunking,
//! decode(encode(x)) == x; and arbitrary input never makes a decoder panic.

mod common;

use common::*;
use compressio::{Config, Format, Level};
use proptest::prelude::*;

fn format() -> impl Strategy<Value = Format> {
    proptest::sample::select(formats().collect::<Vec<_>>())
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..5000),
        // compressible: few distinct bytes, runs
        proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0u8)], 0..20_000),
        (1usize..200_000, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(
        data in data(),
        format in format(),
        level in prop_oneof![Just(Level::Fastest), Just(Level::Fast), Just(Level::Default)],
        buffer in prop_oneof![1usize..64, 64usize..70_000],
        wchunks in proptest::collection::vec(1usize..100_000, 1..5),
        rchunks in proptest::collection::vec(1usize..100_000, 1..5),
    ) {
        let config = Config::default().level(level).buffer_size(buffer);
        let packed = compress_chunked(&data, format, &config, &wchunks);
        let back = decompress_chunked(&packed, format, &config, &rchunks).unwrap();
        prop_assert_eq!(back, data);
    }

    #[test]
    fn arbitrary_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..2000), format in format()) {
        let config = Config::default().max_output(1 << 20).max_memory(16 << 20);
        let _ = compressio::decompress_with(&input, format, &config);
        let _ = compressio::Decoder::auto_with_config(&input[..], &config)
            .map(|mut d| std::io::copy(&mut d, &mut std::io::sink()));
    }
}

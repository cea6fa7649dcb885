//! Every input that ever crashed or hung a fuzz target, replayed by an ordinary `cargo test`
//! through the very harness the fuzz targets use (`fuzz/src/harness.rs`, included here).
//!
//! Files live in `tests/data/regressions/<target>/` (e.g. `decode_lz4/crash-…`): when the
//! fuzzer finds something, the artifact is copied there and the fix lands with it.

// the harness compares with every backend's own decoder
#![cfg(all(feature = "deflate", feature = "zstd", feature = "lz4", feature = "xz"))]

#[path = "../fuzz/src/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../fuzz/src/roundtrip.rs"]
mod roundtrip;

use std::path::PathBuf;

use compressio::Format;

fn target_format(target: &str) -> Option<Option<Format>> {
    match target.strip_prefix("decode_")? {
        "auto" => Some(None),
        name => name.parse().ok().map(Some),
    }
}

#[test]
fn replay_every_saved_fuzz_input() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/regressions");
    let mut replayed = 0;
    for dir in std::fs::read_dir(&root).expect("tests/data/regressions exists").flatten() {
        if !dir.path().is_dir() {
            continue;
        }
        let target = dir.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            println!("replaying {}", file.display());
            if target == "roundtrip" {
                // as libfuzzer-sys builds a target's input from raw bytes
                let u = arbitrary::Unstructured::new(&data);
                if let Ok(input) = <roundtrip::RoundTrip as arbitrary::Arbitrary>::arbitrary_take_rest(u) {
                    roundtrip::run(input);
                }
            } else if target == "decode_shapes" {
                harness::shapes(&data);
            } else if target == "decode_dict" {
                harness::dict(&data);
            } else {
                let format =
                    target_format(&target).unwrap_or_else(|| panic!("unknown target directory {target}"));
                harness::decode(format, &data);
            }
            replayed += 1;
        }
    }
    println!("{replayed} saved inputs replayed");
}

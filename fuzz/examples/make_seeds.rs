//! Write the seed corpus for every fuzz target: `cargo run --manifest-path fuzz/Cargo.toml
//! --example make_seeds -- fuzz/corpus` (fuzz/make_seeds.sh does this).
//!
//! Decode seeds are valid streams of each format with its edge features — empty streams,
//! multi-member/multi-frame, skippable frames, stored/uncompressed blocks, checksums off,
//! small windows, several levels — plus the reference tools' files from tests/data, each
//! behind the two selector bytes the harness reads (buffer size, read size).

use std::path::{Path, PathBuf};

use compressio::{compress_with, Config, Format, Level};

fn text(len: usize) -> Vec<u8> {
    let words = ["stream", "buffer", "member", "frame", "window", "block", "the", "of", "and"];
    let mut out = Vec::new();
    let mut i = 7u64;
    while out.len() < len {
        i = i.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.extend_from_slice(words[(i >> 59) as usize % words.len()].as_bytes());
        out.push(if (i >> 40).is_multiple_of(11) { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x1234_5678_9abc_def1u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn skippable(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x50, 0x2a, 0x4d, 0x18];
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// Valid streams of `format` exercising its features.
fn streams(format: Format) -> Vec<Vec<u8>> {
    let c = |data: &[u8], config: Config| compress_with(data, format, &config).expect("seed compresses");
    let small = text(700);
    let mut out = vec![
        c(b"", Config::default()),
        c(b"a", Config::default()),
        c(&small, Config::default()),
        c(&small, Config::default().level(Level::Best).memory_level(2)),
        c(&small, Config::default().level(Level::Fastest).checksum(false)),
        c(&noise(1500), Config::default()), // stored / raw / uncompressed blocks
        c(&[text(3000), noise(500), vec![0; 3000]].concat(), Config::default().memory_level(1)),
    ];
    if matches!(format, Format::Gzip | Format::Zlib | Format::Deflate) {
        out.push(c(&small, Config::default().level(Level::Exact(0)))); // stored blocks
    }
    if format == Format::Lz4 {
        out.push(c(&text(70_000)[..], Config::default().level(Level::Best))); // linked blocks
    }
    if matches!(format, Format::Gzip | Format::Zstd) {
        // members that tell their lengths (BGZF, seekable zstd): the threaded decoder batches them
        out.push(c(&text(3000), Config::default().seekable(600)));
    }
    if matches!(format, Format::Gzip | Format::Zstd | Format::Lz4 | Format::Xz | Format::Bzip2) {
        let one = c(b"first member ", Config::default());
        let two = c(&small, Config::default());
        out.push([one.clone(), two.clone()].concat());
        out.push([one.clone(), c(b"", Config::default())].concat());
        if format == Format::Xz {
            out.push([one.clone(), vec![0; 4], two.clone(), vec![0; 8]].concat());
            // stream padding
        }
        if matches!(format, Format::Zstd | Format::Lz4) {
            out.push([skippable(b"meta"), one, skippable(&[]), two].concat());
        }
    }
    out
}

/// The tool-made files of `format` in tests/data (see tests/data/MANIFEST).
fn tool_files(format: Format, data_dir: &Path) -> Vec<Vec<u8>> {
    let manifest = std::fs::read_to_string(data_dir.join("MANIFEST")).unwrap_or_default();
    manifest
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 2 && f[1] == format.name()).then(|| f[0])
        })
        .filter_map(|name| std::fs::read(data_dir.join(name)).ok())
        .filter(|bytes| bytes.len() <= 64 * 1024)
        .collect()
}

fn write(dir: &Path, name: String, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn main() {
    let out: PathBuf = std::env::args().nth(1).unwrap_or_else(|| "corpus".into()).into();
    let data_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    let mut total = 0;
    for &format in Format::ALL {
        let mut seeds = streams(format);
        seeds.extend(tool_files(format, &data_dir));
        for target in [format!("decode_{}", format.name()), "decode_auto".to_string()] {
            if target == "decode_auto" && !format.is_detectable() {
                continue;
            }
            let dir = out.join(&target);
            std::fs::create_dir_all(&dir).expect("create corpus dir");
            for (i, s) in seeds.iter().enumerate() {
                // selectors: default-ish sizes, and 1-byte buffers with 1-byte reads
                for (j, sel) in [[6u8, 4], [0, 0], [2, 2]].iter().enumerate() {
                    write(&dir, format!("{}-{i}-{j}", format.name()), &[&sel[..], s].concat());
                    total += 1;
                }
            }
        }
    }
    // decode_shapes: every format's streams behind (format, chunk, buffer) selectors
    let dir = out.join("decode_shapes");
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    for (f, &format) in Format::ALL.iter().enumerate() {
        for (i, s) in streams(format).iter().enumerate() {
            for (j, sel) in
                [[f as u8, 4, 6], [f as u8, 0, 0], [Format::ALL.len() as u8, 2, 4]].iter().enumerate()
            {
                if j == 2 && !format.is_detectable() {
                    continue;
                }
                write(&dir, format!("{}-{i}-{j}", format.name()), &[&sel[..], s].concat());
                total += 1;
            }
        }
    }
    // decode_dict: streams compressed against the harness's dictionary
    let dir = out.join("decode_dict");
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    let dict = compressio_fuzz::harness::fuzz_dictionary();
    for (f, &format) in compressio_fuzz::harness::DICT_FORMATS.iter().enumerate() {
        let config = Config::default().dictionary(&dict);
        let messages = [
            br#"{"id":7,"user":"u7","action":"view","ok":true}"#.to_vec(),
            text(900),
            [br#"{"id":1,"user":"u1","action":"edit","ok":false}"#.to_vec(), noise(200)].concat(),
        ];
        for (i, m) in messages.iter().enumerate() {
            let packed = compress_with(m, format, &config).expect("seed compresses");
            for (j, b) in [6u8, 0, 3].iter().enumerate() {
                write(&dir, format!("{}-{i}-{j}", format.name()), &[&[f as u8, *b][..], &packed].concat());
                total += 1;
            }
        }
    }
    // decode_seekable: seekable streams of every format that has them, small blocks
    let dir = out.join("decode_seekable");
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    for (format, block) in [(Format::Zstd, 700), (Format::Gzip, 500), (Format::Xz, 900)] {
        for (i, s) in [text(3000), noise(1500), Vec::new()].iter().enumerate() {
            let packed =
                compress_with(s, format, &Config::default().seekable(block)).expect("seed compresses");
            for (j, sel) in [0u8, 3, 40].iter().enumerate() {
                write(&dir, format!("{}-{i}-{j}", format.name()), &[&[*sel][..], &packed].concat());
                total += 1;
            }
        }
    }
    let dir = out.join("roundtrip");
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    for (i, s) in [text(64), text(2000), noise(300), vec![0; 1000]].iter().enumerate() {
        for f in 0..Format::ALL.len() as u8 {
            let mut seed = vec![f, i as u8, 2, 0x10, 0x00, 1, 3];
            seed.extend_from_slice(s);
            write(&dir, format!("rt-{f}-{i}"), &seed);
            total += 1;
        }
    }
    println!("wrote {total} seeds under {}", out.display());
}

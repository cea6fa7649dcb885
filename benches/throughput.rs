//! Throughput per format: our `Encoder`/`Decoder` against the backend crate's own streaming
//! adapter (same settings), and our encoder with `threads(1)`, `threads(2)` and `threads(0)`
//! (every core).
//!
//! ```text
//! cargo bench --bench throughput                 # everything
//! cargo bench --bench throughput -- 'gzip-6/'    # one format and level
//! COMPRESSIO_CORPUS=/path/to/corpus cargo bench --bench throughput
//! ```
//!
//! Data: the corpus built by `../shared/corpus/make_corpus.sh` — the directory named by
//! `COMPRESSIO_CORPUS`, else `../shared/corpus/corpus` — with each file cut to its first
//! `SLICE` bytes so that a criterion sample stays short (xz at preset 6 runs at ~2 MB/s).
//! Without a corpus it falls back to generated data (text-like, log-like and random) and
//! says so. `examples/bench.rs` runs the full files and the reference CLIs.

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use compressio::{Config, Decoder, Encoder, Format, Level};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

#[path = "support/backends.rs"]
mod backends;
use backends::{backend, drain, feed};

/// Bytes taken from each corpus file.
const SLICE: usize = 8 << 20;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = std::env::var_os("COMPRESSIO_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/corpus"));
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.') && e.file_name() != "MANIFEST")
        .filter_map(|e| {
            let mut data = std::fs::read(e.path()).ok()?;
            data.truncate(SLICE);
            Some((e.file_name().to_string_lossy().into_owned(), data))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        eprintln!("note: no corpus in {} (set COMPRESSIO_CORPUS); using generated data", dir.display());
        files = generated();
    } else {
        eprintln!("corpus: {} ({} files, first {} MiB of each)", dir.display(), files.len(), SLICE >> 20);
    }
    files
}

/// Stand-ins for the corpus: prose-like text, log lines, random bytes.
fn generated() -> Vec<(String, Vec<u8>)> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let words = ["the", "stream", "of", "memory", "bounded", "and", "a", "frame", "block", "window", "data"];
    let mut text = Vec::with_capacity(SLICE);
    while text.len() < SLICE {
        text.extend_from_slice(words[(next() % words.len() as u64) as usize].as_bytes());
        text.push(if next() % 12 == 0 { b'\n' } else { b' ' });
    }
    let mut logs = Vec::with_capacity(SLICE);
    while logs.len() < SLICE {
        let n = next();
        let line = format!(
            "{{\"ts\":{},\"level\":\"info\",\"path\":\"/api/{}\",\"ms\":{}}}\n",
            n % 1_000_000,
            n % 97,
            n % 500
        );
        logs.extend_from_slice(line.as_bytes());
    }
    let random: Vec<u8> = (0..SLICE / 8).flat_map(|_| next().to_le_bytes()).collect();
    vec![
        ("generated-text".into(), text),
        ("generated-logs".into(), logs),
        ("generated-random".into(), random),
    ]
}

/// The matrix: format and level (on the backend's own scale, as `Level::Exact`).
const CASES: &[(Format, i32)] = &[
    (Format::Gzip, 1),
    (Format::Gzip, 6),
    (Format::Zlib, 6),
    (Format::Deflate, 6),
    (Format::Zstd, 3),
    (Format::Zstd, 9),
    (Format::Lz4, 1),
    (Format::Xz, 1),
    (Format::Xz, 6),
    (Format::Lzma, 6),
    (Format::Brotli, 1),
    (Format::Brotli, 6),
    (Format::Bzip2, 9),
];

fn encode(data: &[u8], format: Format, config: &Config) -> Vec<u8> {
    let mut e = Encoder::with_config(Vec::with_capacity(data.len() / 2), format, config).unwrap();
    feed(&mut e, data);
    e.finish().unwrap()
}

fn throughput(c: &mut Criterion) {
    let files = corpus();
    for &(format, level) in CASES {
        let level = Level::Exact(level);
        let config = Config::default().level(level);
        let name = format!("{format}-{}", level.backend_level(format).unwrap());
        let mut group = c.benchmark_group(format!("{name}/compress"));
        group.sample_size(10).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
        let theirs = backend(format, level).expect("every format has a backend");
        for (file, data) in &files {
            group.throughput(Throughput::Bytes(data.len() as u64));
            group.bench_with_input(BenchmarkId::new("compressio", file), data, |b, d| {
                b.iter(|| black_box(encode(d, format, &config)))
            });
            group.bench_with_input(BenchmarkId::new(theirs.name.clone(), file), data, |b, d| {
                b.iter(|| black_box((theirs.compress)(d, Vec::with_capacity(d.len() / 2))))
            });
            for (label, threads) in [("threads(1)", 1), ("threads(2)", 2), ("threads(all)", 0)] {
                let config = config.clone().threads(threads);
                group.bench_with_input(BenchmarkId::new(label, file), data, |b, d| {
                    b.iter(|| black_box(encode(d, format, &config)))
                });
            }
        }
        group.finish();

        let mut group = c.benchmark_group(format!("{name}/decompress"));
        group.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
        for (file, data) in &files {
            let packed = encode(data, format, &config);
            group.throughput(Throughput::Bytes(data.len() as u64));
            group.bench_with_input(BenchmarkId::new("compressio", file), &packed, |b, p| {
                b.iter(|| drain(Decoder::new(&p[..], format).unwrap()))
            });
            group.bench_with_input(BenchmarkId::new(theirs.name.clone(), file), &packed, |b, p| {
                b.iter(|| (theirs.decompress)(p))
            });
            if format == Format::Xz {
                // liblzma's multithreaded decoder on our multi-block output
                let multi = encode(data, format, &config.clone().threads(2));
                let two = Config::default().threads(2);
                group.bench_with_input(BenchmarkId::new("threads(2) multi-block", file), &multi, |b, p| {
                    b.iter(|| drain(Decoder::with_config(&p[..], format, &two).unwrap()))
                });
            }
        }
        group.finish();
    }
    let _ = std::io::stdout().flush();
}

criterion_group!(benches, throughput);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}

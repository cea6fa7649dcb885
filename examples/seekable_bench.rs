//! Random access, measured: what `Config::seekable` costs in size, and what
//! `SeekableDecoder` buys in time, per format (zstd -3, gzip -6 as BGZF, xz -6).
//!
//! ```text
//! cargo run --release --example seekable_bench -- [--input FILE] [--size BYTES] [--xz-size BYTES]
//!     [--corpus DIR] [--block BYTES] [--reads N]
//! ```
//!
//! Without `--input`, the input is the text files of the benchmark corpus
//! (`../shared/corpus/make_corpus.sh`, default `/tmp/compressio-corpus`) repeated up to
//! `--size` (default 1 GiB), or generated log lines when there is no corpus. xz runs on the
//! first `--xz-size` bytes (default 256 MiB): one xz -6 stream of 1 GiB takes minutes.
//!
//! For each format:
//! - **size**: one stream vs `seekable(block)` (1 MiB; BGZF's largest block is 65280 bytes);
//! - **random reads**: `--reads` (1000) reads of 4 KiB at uniform random offsets through one
//!   `SeekableDecoder` (opening included), against decoding the one-stream file from its start
//!   to each offset; that cost is linear in the offset, so it is the full decode's time ×
//!   mean offset / length (measured once, not 1000 times);
//! - **sequential**: the whole seekable file through the plain `Decoder`, and through
//!   `SeekableDecoder` with one and two threads (64 KiB reads, output discarded).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use compressio::{Config, Decoder, Encoder, Format, Level, SeekableDecoder};

struct Args {
    input: Option<PathBuf>,
    size: u64,
    xz_size: u64,
    corpus: PathBuf,
    block: usize,
    reads: usize,
}

fn args() -> Args {
    let mut a = Args {
        input: None,
        size: 1 << 30,
        xz_size: 256 << 20,
        corpus: PathBuf::from("/tmp/compressio-corpus"),
        block: 1 << 20,
        reads: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--input" => a.input = Some(value.into()),
            "--size" => a.size = value.parse().expect("--size BYTES"),
            "--xz-size" => a.xz_size = value.parse().expect("--xz-size BYTES"),
            "--corpus" => a.corpus = value.into(),
            "--block" => a.block = value.parse().expect("--block BYTES"),
            "--reads" => a.reads = value.parse().expect("--reads N"),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

/// The input file: given, or built once from the corpus's text files (or generated lines).
fn input(a: &Args) -> io::Result<PathBuf> {
    if let Some(path) = &a.input {
        return Ok(path.clone());
    }
    let path = std::env::temp_dir().join(format!("compressio-seekable-{}.txt", a.size));
    if path.metadata().is_ok_and(|m| m.len() == a.size) {
        return Ok(path);
    }
    let parts: Vec<Vec<u8>> = ["prose.txt", "logs.jsonl", "metrics.csv", "source.tar"]
        .iter()
        .filter_map(|name| std::fs::read(a.corpus.join(name)).ok())
        .collect();
    let mut out = BufWriter::new(File::create(&path)?);
    let mut written = 0u64;
    let mut line = 0u64;
    while written < a.size {
        let chunk: Vec<u8> = if parts.is_empty() {
            line += 1;
            format!(
                "{line} GET /api/items/{} 200 {}ms user={}\n",
                line * 7919 % 10007,
                line % 97,
                line % 1013
            )
            .into_bytes()
        } else {
            parts[(written as usize / 7) % parts.len()].clone()
        };
        let n = chunk.len().min((a.size - written) as usize);
        out.write_all(&chunk[..n])?;
        written += n as u64;
    }
    out.flush()?;
    Ok(path)
}

/// Compress the first `len` bytes of `input` into `out`; seconds.
fn compress(input: &Path, len: u64, out: &Path, format: Format, config: &Config) -> io::Result<f64> {
    let start = Instant::now();
    let mut encoder = Encoder::with_config(BufWriter::new(File::create(out)?), format, config)?;
    io::copy(&mut BufReader::new(File::open(input)?).take(len), &mut encoder)?;
    encoder.finish()?.flush()?;
    Ok(start.elapsed().as_secs_f64())
}

/// Read `r` to its end in 64 KiB reads; (bytes, seconds).
fn drain(mut r: impl Read) -> io::Result<(u64, f64)> {
    let start = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((total, start.elapsed().as_secs_f64()));
        }
        total += n as u64;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args();
    let input = input(&a)?;
    let total = input.metadata()?.len();
    let dir = std::env::temp_dir();
    println!(
        "input: {} ({total} bytes), block {} bytes, {} random reads of 4 KiB\n",
        input.display(),
        a.block,
        a.reads
    );
    println!("| format | input | one stream | seekable | size cost | blocks | random reads | decode from start (est.) | speed-up | plain Decoder | Seekable t1 | t1 / plain | Seekable t2 | t2 / plain |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (format, level) in [(Format::Zstd, 3), (Format::Gzip, 6), (Format::Xz, 6)] {
        let len = if format == Format::Xz { total.min(a.xz_size) } else { total };
        let block = if format == Format::Gzip { a.block.min(65_280) } else { a.block };
        let base = Config::default().level(Level::Exact(level));
        let plain_path = dir.join(format!("seekable-bench-plain.{}", format.extension()));
        let seek_path = dir.join(format!("seekable-bench-seek.{}", format.extension()));
        // one stream: one thread for xz (threads would cut it into blocks), two for the others
        let plain_config = if format == Format::Xz { base.clone() } else { base.clone().threads(2) };
        compress(&input, len, &plain_path, format, &plain_config)?;
        compress(&input, len, &seek_path, format, &base.clone().seekable(block).threads(2))?;
        let (plain_size, seek_size) = (plain_path.metadata()?.len(), seek_path.metadata()?.len());

        // random reads
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let offsets: Vec<u64> = (0..a.reads)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % (len - 4096)
            })
            .collect();
        let start = Instant::now();
        let mut file = SeekableDecoder::new(BufReader::new(File::open(&seek_path)?))?;
        let blocks = file.block_count();
        let mut buf = [0u8; 4096];
        for &pos in &offsets {
            assert_eq!(file.read_at(pos, &mut buf)?, 4096);
        }
        let random = start.elapsed().as_secs_f64();
        let (n, full) = drain(Decoder::new(BufReader::new(File::open(&plain_path)?), format)?)?;
        assert_eq!(n, len);
        let mean = offsets.iter().map(|&o| o as f64).sum::<f64>() / offsets.len() as f64;
        let from_start = full * mean / len as f64 * offsets.len() as f64;

        // sequential, interleaved three times, the best of each
        let (mut plain_t, mut t1, mut t2) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..3 {
            let (n, t) = drain(Decoder::new(File::open(&seek_path)?, format)?)?;
            assert_eq!(n, len);
            plain_t = plain_t.min(t);
            for (threads, best) in [(1, &mut t1), (2, &mut t2)] {
                let reader = SeekableDecoder::with_config(
                    File::open(&seek_path)?,
                    &Config::default().threads(threads),
                )?;
                let (n, t) = drain(reader)?;
                assert_eq!(n, len);
                *best = best.min(t);
            }
        }
        println!(
            "| {format} -{level} | {:.0} MiB | {plain_size} | {seek_size} | {:+.2} % | {blocks} | {:.3} s | {:.1} s | {:.0}× | {:.2} s | {:.2} s | {:.3}× | {:.2} s | {:.3}× |",
            len as f64 / 1048576.0,
            (seek_size as f64 / plain_size as f64 - 1.0) * 100.0,
            random,
            from_start,
            from_start / random,
            plain_t,
            t1,
            plain_t / t1,
            t2,
            plain_t / t2,
        );
        let _ = std::fs::remove_file(&plain_path);
        let _ = std::fs::remove_file(&seek_path);
    }
    Ok(())
}

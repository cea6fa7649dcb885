//! Measure compressio against the backend crates' own streaming adapters and the reference
//! command-line tools, side by side in one run, on files you give it.
//!
//! ```text
//! cargo run --release --example bench -- [--formats gzip,zstd,...] [--level L] [--reps N] [--no-cli] FILE...
//! ```
//!
//! Method (the same as `shared/corpus/BASELINE.md`): each file is read into memory first; a
//! compressor gets 64 KiB `write_all`s into a pre-faulted `Vec`; a decompressor is read into a
//! 64 KiB buffer that is discarded. Repetitions are the outer loop, implementations the inner
//! one (interleaved, so that a noisy neighbour hits all alike); per file the median time is
//! kept, and a format's MB/s is Σ bytes / Σ medians (MB = 10^6 bytes of *uncompressed* data,
//! both directions). CLIs run as `tool < file > /dev/null` from the page cache (exec included),
//! decompressing their own output. Ratios travel between machines; absolute MB/s do not.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use compressio::{Config, Decoder, Encoder, Format, Level};

const CHUNK: usize = 64 * 1024;

struct Args {
    formats: Vec<Format>,
    level: Level,
    reps: usize,
    cli: bool,
    files: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a =
        Args { formats: Format::ALL.to_vec(), level: Level::Default, reps: 3, cli: true, files: Vec::new() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--formats" => {
                let list = it.next().ok_or("--formats needs a list")?;
                a.formats = list
                    .split(',')
                    .map(|s| s.parse().map_err(|e| format!("{e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--level" => {
                a.level = it.next().ok_or("--level needs a value")?.parse().map_err(|e| format!("{e}"))?
            }
            "--reps" => {
                a.reps = it.next().ok_or("--reps needs a value")?.parse().map_err(|e| format!("{e}"))?
            }
            "--no-cli" => a.cli = false,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => a.files.push(arg.into()),
        }
    }
    if a.files.is_empty() {
        return Err("give at least one file (e.g. the corpus from shared/corpus/make_corpus.sh)".into());
    }
    Ok(a)
}

/// Compress the data into the given (pre-faulted) sink, returning it.
type CompressFn = Box<dyn Fn(&[u8], Vec<u8>) -> Vec<u8>>;
/// Decompress, returning the number of bytes produced.
type DecompressFn = Box<dyn Fn(&[u8]) -> u64>;

/// One implementation under test: compress `data`, and decompress what it produced.
struct Impl {
    name: String,
    compress: CompressFn,
    decompress: DecompressFn,
}

fn feed(w: &mut impl Write, data: &[u8]) {
    for chunk in data.chunks(CHUNK) {
        w.write_all(chunk).unwrap();
    }
}

fn drain(mut r: impl Read) -> u64 {
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return n,
            Ok(k) => n += k as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// `level` on the backend's own scale, as compressio maps it.
fn backend_level(format: Format, level: Level) -> i32 {
    level.backend_level(format).unwrap_or_else(|e| panic!("{e}"))
}

fn ours(format: Format, level: Level) -> Impl {
    let config = Config::default().level(level);
    Impl {
        name: "compressio".into(),
        compress: Box::new(move |data, sink| {
            let mut e = Encoder::with_config(sink, format, &config).unwrap();
            feed(&mut e, data);
            e.finish().unwrap()
        }),
        decompress: Box::new(move |packed| drain(Decoder::new(packed, format).unwrap())),
    }
}

/// The backend crate's own streaming adapters, same settings as ours (checksums on where we
/// write them by default).
fn backend(format: Format, level: Level) -> Option<Impl> {
    let l = backend_level(format, level);
    let (name, compress, decompress): (&str, CompressFn, DecompressFn) = match format {
        Format::Gzip => (
            "flate2 Gz",
            Box::new(move |d, s| {
                let mut e = flate2::write::GzEncoder::new(s, flate2::Compression::new(l as u32));
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            Box::new(|p| drain(flate2::read::MultiGzDecoder::new(p))),
        ),
        Format::Zlib => (
            "flate2 Zlib",
            Box::new(move |d, s| {
                let mut e = flate2::write::ZlibEncoder::new(s, flate2::Compression::new(l as u32));
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            Box::new(|p| drain(flate2::read::ZlibDecoder::new(p))),
        ),
        Format::Deflate => (
            "flate2 Deflate",
            Box::new(move |d, s| {
                let mut e = flate2::write::DeflateEncoder::new(s, flate2::Compression::new(l as u32));
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            Box::new(|p| drain(flate2::read::DeflateDecoder::new(p))),
        ),
        Format::Zstd => (
            "zstd stream",
            Box::new(move |d, s| {
                let mut e = zstd::stream::write::Encoder::new(s, l).unwrap();
                e.include_checksum(true).unwrap();
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            Box::new(|p| drain(zstd::stream::read::Decoder::new(p).unwrap())),
        ),
        Format::Lz4 => (
            "lz4_flex frame",
            Box::new(move |d, s| {
                let info = lz4_flex::frame::FrameInfo::new().content_checksum(true).block_mode(if l >= 2 {
                    lz4_flex::frame::BlockMode::Linked
                } else {
                    lz4_flex::frame::BlockMode::Independent
                });
                let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, s);
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            Box::new(|p| drain(lz4_flex::frame::FrameDecoder::new(p))),
        ),
        Format::Xz => (
            "liblzma Xz",
            Box::new(move |d, s| {
                let mut e = liblzma::write::XzEncoder::new(s, l as u32);
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            Box::new(|p| drain(liblzma::read::XzDecoder::new(p))),
        ),
        Format::Lzma => (
            "liblzma alone",
            Box::new(move |d, s| {
                let opts = liblzma::stream::LzmaOptions::new_preset(l as u32).unwrap();
                let stream = liblzma::stream::Stream::new_lzma_encoder(&opts).unwrap();
                let mut e = liblzma::write::XzEncoder::new_stream(s, stream);
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            Box::new(|p| {
                let stream = liblzma::stream::Stream::new_lzma_decoder(u64::MAX).unwrap();
                drain(liblzma::read::XzDecoder::new_stream(p, stream))
            }),
        ),
        _ => return None,
    };
    Some(Impl { name: name.into(), compress, decompress })
}

/// The reference CLI for `format` (compress args, decompress args), if any.
fn cli(format: Format, level: Level) -> Option<(&'static str, Vec<String>, Vec<String>)> {
    let l = backend_level(format, level);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    Some(match format {
        Format::Gzip => ("gzip", s(&["-c", &format!("-{l}")]), s(&["-dc"])),
        Format::Zstd => ("zstd", s(&["-c", "-q", "-T1", &format!("-{l}")]), s(&["-dc", "-q"])),
        Format::Lz4 => ("lz4", s(&["-c", "-q", "-1"]), s(&["-dc", "-q"])),
        Format::Xz => ("xz", s(&["-c", "-T1", &format!("-{l}")]), s(&["-dc"])),
        Format::Lzma => ("xz", s(&["-c", "--format=lzma", &format!("-{l}")]), s(&["-dc", "--format=lzma"])),
        _ => return None,
    })
}

fn run_cli(program: &str, args: &[String], input: &std::path::Path, keep: bool) -> (f64, Vec<u8>) {
    let start = Instant::now();
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::from(std::fs::File::open(input).unwrap()))
        .stdout(if keep { Stdio::piped() } else { Stdio::null() })
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed");
    (start.elapsed().as_secs_f64(), out.stdout)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[derive(Default, Clone)]
struct Totals {
    bytes: u64,
    packed: u64,
    csecs: f64,
    dsecs: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args().inspect_err(|_| {
        eprintln!("usage: bench [--formats a,b] [--level L] [--reps N] [--no-cli] FILE...");
    })?;
    println!("| format | impl | compress MB/s | decompress MB/s | ratio | compress vs backend | decompress vs backend |");
    println!("|---|---|--:|--:|--:|--:|--:|");
    for &format in &args.formats {
        let mut impls = vec![ours(format, args.level)];
        impls.extend(backend(format, args.level));
        let tool = if args.cli { cli(format, args.level).filter(|(p, _, _)| which(p)) } else { None };
        let mut totals = vec![Totals::default(); impls.len() + 1];
        for file in &args.files {
            let data = std::fs::read(file)?;
            let mut ctimes = vec![Vec::new(); impls.len() + 1];
            let mut dtimes = vec![Vec::new(); impls.len() + 1];
            let mut packed_len = vec![0u64; impls.len() + 1];
            for _ in 0..args.reps {
                for (i, imp) in impls.iter().enumerate() {
                    // pre-faulted sink (a zeroed vec! would be mapped lazily: page faults, not codec)
                    let mut sink = vec![0xA5u8; data.len() + data.len() / 8 + (1 << 20)];
                    sink.clear();
                    let t = Instant::now();
                    let packed = (imp.compress)(&data, sink);
                    ctimes[i].push(t.elapsed().as_secs_f64());
                    let t = Instant::now();
                    let n = (imp.decompress)(&packed);
                    dtimes[i].push(t.elapsed().as_secs_f64());
                    assert_eq!(n, data.len() as u64, "{} {format}: round trip", imp.name);
                    packed_len[i] = packed.len() as u64;
                }
                if let Some((program, cargs, dargs)) = &tool {
                    let k = impls.len();
                    let (secs, packed) = run_cli(program, cargs, file, true);
                    ctimes[k].push(secs);
                    packed_len[k] = packed.len() as u64;
                    let tmp = std::env::temp_dir().join(format!("compressio-bench.{}", format.extension()));
                    std::fs::write(&tmp, &packed)?;
                    dtimes[k].push(run_cli(program, dargs, &tmp, false).0);
                    std::fs::remove_file(&tmp)?;
                }
            }
            for i in 0..totals.len() {
                if ctimes[i].is_empty() {
                    continue;
                }
                totals[i].bytes += data.len() as u64;
                totals[i].packed += packed_len[i];
                totals[i].csecs += median(ctimes[i].clone());
                totals[i].dsecs += median(dtimes[i].clone());
            }
        }
        let mbs = |t: &Totals, secs: f64| t.bytes as f64 / secs / 1e6;
        let base = totals.get(1).cloned().filter(|t| t.bytes > 0);
        let mut names: Vec<String> = impls.iter().map(|i| i.name.clone()).collect();
        names.push(tool.as_ref().map(|(p, a, _)| format!("`{p} {}`", a.join(" "))).unwrap_or_default());
        for (t, name) in totals.iter().zip(names) {
            if t.bytes == 0 {
                continue;
            }
            let (vc, vd) = match &base {
                Some(b) => (format!("{:.3}×", b.csecs / t.csecs), format!("{:.3}×", b.dsecs / t.dsecs)),
                None => ("–".into(), "–".into()),
            };
            println!(
                "| {format} | {name} | {:.1} | {:.1} | {:.3} | {vc} | {vd} |",
                mbs(t, t.csecs),
                mbs(t, t.dsecs),
                t.bytes as f64 / t.packed as f64
            );
        }
    }
    Ok(())
}

fn which(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

//! Parallel decompression, measured: each format's streams (ours and the reference CLI's)
//! decoded by `Decoder` with `threads(1)` and `threads(2)`, and by the CLI with two threads
//! where it has them, writing to `/dev/null`.
//!
//! ```text
//! cargo run --release --example decode_threads -- [--reps N] [--format F] FILE
//! ```
//!
//! Decoders read the compressed file from memory in 64 KiB reads (output discarded); the
//! CLIs read it from the page cache. Interleaved repetitions, medians. Where `threads(n)`
//! changes nothing (a stream with nothing independent to split), the ratio is about 1.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

use compressio::{Config, Decoder, Format};

fn drain(packed: &[u8], format: Format, threads: usize) -> f64 {
    let start = Instant::now();
    let mut decoder = Decoder::with_config(packed, format, &Config::default().threads(threads)).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    while decoder.read(&mut buf).unwrap() > 0 {}
    start.elapsed().as_secs_f64()
}

fn tool(program: &str, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let dir = std::env::temp_dir().join("compressio-decode-threads.in");
    std::fs::write(&dir, input).ok()?;
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::from(std::fs::File::open(&dir).ok()?))
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}

/// The CLI decoding `packed` to /dev/null; seconds.
fn cli_decode(program: &str, args: &[&str], packed: &[u8]) -> f64 {
    let path = std::env::temp_dir().join("compressio-decode-threads.packed");
    std::fs::write(&path, packed).unwrap();
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::from(std::fs::File::open(&path).unwrap()))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut reps = 5;
    let mut file = None;
    let mut only: Option<Format> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--format" => only = args.next().and_then(|f| f.parse().ok()),
            "--reps" => reps = args.next().and_then(|n| n.parse().ok()).expect("--reps N"),
            _ => file = Some(a),
        }
    }
    let data = std::fs::read(file.expect("give a FILE")).unwrap();
    let mb = data.len() as f64 / 1e6;
    // (format, which stream, the stream, the CLI that decodes with two threads)
    type Case = (Format, &'static str, Vec<u8>, Option<(&'static str, Vec<&'static str>)>);
    let mut cases: Vec<Case> = Vec::new();
    let ours = |format: Format, config: Config| compressio::compress_with(&data, format, &config).unwrap();
    cases.push((
        Format::Lz4,
        "ours (64 KiB blocks)",
        ours(Format::Lz4, Config::default()),
        Some(("lz4", vec!["-d", "-c"])),
    ));
    cases.push((
        Format::Lz4,
        "ours memory_level(5) (4 MiB blocks)",
        ours(Format::Lz4, Config::default().memory_level(5)),
        Some(("lz4", vec!["-d", "-c"])),
    ));
    for (name, blocks) in [("lz4 -1 (4 MiB blocks)", "-B7"), ("lz4 -1 -B6 (1 MiB blocks)", "-B6")] {
        if let Some(s) = tool("lz4", &["-1", blocks, "-c"], &data) {
            cases.push((Format::Lz4, name, s, Some(("lz4", vec!["-d", "-c"]))));
        }
    }
    cases.push((
        Format::Xz,
        "ours threads(2)",
        ours(Format::Xz, Config::default().threads(2)),
        Some(("xz", vec!["-d", "-c", "-T2"])),
    ));
    // told the size (as the `compressio` tool tells it a file's): blocks evened out
    cases.push((
        Format::Xz,
        "ours threads(2) size_hint",
        ours(Format::Xz, Config::default().threads(2).size_hint(data.len() as u64)),
        Some(("xz", vec!["-d", "-c", "-T2"])),
    ));
    if let Some(s) = tool("xz", &["-6", "-T2", "-c"], &data) {
        cases.push((Format::Xz, "xz -6 -T2", s, Some(("xz", vec!["-d", "-c", "-T2"]))));
    }
    cases.push((
        Format::Zstd,
        "ours seekable(1 MiB)",
        ours(Format::Zstd, Config::default().seekable(1 << 20)),
        Some(("zstd", vec!["-d", "-c"])),
    ));
    cases.push((
        Format::Zstd,
        "ours (one frame)",
        ours(Format::Zstd, Config::default()),
        Some(("zstd", vec!["-d", "-c"])),
    ));
    if let Some(s) = tool("pzstd", &["-3", "-p", "2", "-c", "-q"], &data) {
        cases.push((Format::Zstd, "pzstd -3 -p2 (independent frames)", s, Some(("zstd", vec!["-d", "-c"]))));
    }
    cases.push((
        Format::Gzip,
        "ours threads(2) (one member)",
        ours(Format::Gzip, Config::default().threads(2)),
        Some(("pigz", vec!["-d", "-c", "-p", "2"])),
    ));
    cases.push((
        Format::Gzip,
        "ours seekable(65280) (BGZF)",
        ours(Format::Gzip, Config::default().seekable(0xff00)),
        Some(("bgzip", vec!["-d", "-c", "-@", "2"])),
    ));
    if let Some(s) = tool("bgzip", &["-c", "-@", "2"], &data) {
        cases.push((Format::Gzip, "bgzip -@2 (BGZF)", s, Some(("bgzip", vec!["-d", "-c", "-@", "2"]))));
    }
    // gzip members without block sizes: found by their headers (`cat a.gz b.gz`)
    let members: Vec<u8> =
        data.chunks(1 << 20).flat_map(|piece| compressio::compress(piece, Format::Gzip).unwrap()).collect();
    cases.push((
        Format::Gzip,
        "1 MiB plain members (cat a.gz b.gz ...)",
        members,
        Some(("pigz", vec!["-d", "-c", "-p", "2"])),
    ));
    cases.push((
        Format::Bzip2,
        "ours (one stream)",
        ours(Format::Bzip2, Config::default()),
        Some(("lbzip2", vec!["-d", "-c", "-n", "2"])),
    ));
    cases.push((
        Format::Bzip2,
        "ours threads(2) (a stream per block)",
        ours(Format::Bzip2, Config::default().threads(2)),
        Some(("lbzip2", vec!["-d", "-c", "-n", "2"])),
    ));
    for (name, program, args) in
        [("bzip2 -9", "bzip2", &["-9", "-c"][..]), ("pbzip2 -p2", "pbzip2", &["-p2", "-c"])]
    {
        if let Some(s) = tool(program, args, &data) {
            cases.push((Format::Bzip2, name, s, Some(("lbzip2", vec!["-d", "-c", "-n", "2"]))));
        }
    }
    cases.retain(|case| only.is_none_or(|f| f == case.0));
    println!("input: {} MB, {reps} interleaved repetitions, medians\n", mb);
    println!("| format | stream | threads(1) MB/s | threads(2) MB/s | threads(2) / threads(1) | CLI, 2 threads | MB/s |");
    println!("|---|---|--:|--:|--:|---|--:|");
    for (format, name, packed, cli) in &cases {
        let (mut t1, mut t2, mut tc) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            t1.push(drain(packed, *format, 1));
            t2.push(drain(packed, *format, 2));
            if let Some((program, args)) = cli {
                tc.push(cli_decode(program, args, packed));
            }
        }
        let (t1, t2) = (median(t1), median(t2));
        let cli_name = cli.as_ref().map(|(p, a)| format!("`{p} {}`", a.join(" "))).unwrap_or_default();
        let cli_mbs = if tc.is_empty() { String::new() } else { format!("{:.0}", mb / median(tc)) };
        println!(
            "| {format} | {name} | {:.0} | {:.0} | {:.3}× | {cli_name} | {cli_mbs} |",
            mb / t1,
            mb / t2,
            t1 / t2
        );
    }
}

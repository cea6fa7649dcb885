//! Small messages with and without a dictionary: ratio and per-message encode/decode time,
//! fresh adapters vs `reset` vs pooled, for zstd (levels 1, 3, 19), zlib and lz4, and the
//! zstd CLI's ratio with the same dictionary (`zstd -D`) on the same messages.
//!
//! ```text
//! cargo run --release --example dict_bench -- [--count N] [FILE.jsonl ...]
//! ```
//!
//! Messages: the lines of the given files (e.g. the corpus' `logs.jsonl`, `metrics.csv`), or
//! a generated JSON-RPC set, grouped into messages of about 256 B, 1 KiB and 4 KiB (whole
//! lines). The dictionary (zstd's trainer, 32 KiB at most) is trained on the first half and
//! measured on the second (its first 500 messages). Times are medians of 5 runs over them, per
//! message; "fresh" builds an adapter per message (`compress_with`), "reset" reuses one,
//! "pooled" takes contexts from a `BufferPool`.

use std::io::{Read, Write};
use std::time::Instant;

use compressio::{
    compress_with, decompress_with, BufferPool, Config, Decoder, Dictionary, Encoder, Format, Level,
};

fn json_rpc(count: usize) -> Vec<Vec<u8>> {
    let methods = ["eth_getBalance", "eth_call", "eth_blockNumber", "net_version", "eth_getLogs"];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..count)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!(
                r#"{{"jsonrpc":"2.0","id":{i},"method":"{}","params":[{{"to":"0x{:016x}{:08x}","data":"0x70a08231000000000000000000000000{:016x}"}},"latest"],"meta":{{"client":"app/{}.{}","region":"{}"}}}}"#,
                methods[(x % 5) as usize],
                x,
                (x >> 32) as u32,
                x.rotate_left(17),
                x % 4,
                (x >> 8) % 10,
                ["eu-west-1", "us-east-1", "ap-south-1"][(x >> 16) as usize % 3]
            )
            .into_bytes()
        })
        .collect()
}

/// Whole lines grouped into messages of about `size` bytes.
fn group(lines: &[Vec<u8>], size: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for line in lines {
        current.extend_from_slice(line);
        current.push(b'\n');
        if current.len() >= size {
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Per-message nanoseconds of `f` over all `messages`, median of 5.
fn time<'a>(messages: &'a [Vec<u8>], mut f: impl FnMut(&'a [u8])) -> f64 {
    let runs: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for m in messages {
                f(m);
            }
            t.elapsed().as_secs_f64() * 1e9 / messages.len() as f64
        })
        .collect();
    median(runs)
}

struct Row {
    ratio: f64,
    enc_fresh: f64,
    enc_reset: f64,
    enc_pooled: f64,
    dec_fresh: f64,
    dec_reset: f64,
}

fn measure(messages: &[Vec<u8>], format: Format, config: &Config) -> Row {
    let total: usize = messages.iter().map(Vec::len).sum();
    let packed: Vec<Vec<u8>> = messages.iter().map(|m| compress_with(m, format, config).unwrap()).collect();
    let ratio = total as f64 / packed.iter().map(Vec::len).sum::<usize>() as f64;
    for (m, p) in messages.iter().zip(&packed) {
        assert_eq!(&decompress_with(p, format, config).unwrap(), m);
    }
    let enc_fresh = time(messages, |m| {
        std::hint::black_box(compress_with(m, format, config).unwrap());
    });
    let mut enc = Encoder::with_config(Vec::with_capacity(8192), format, config).unwrap();
    let enc_reset = time(messages, |m| {
        enc.write_all(m).unwrap();
        let mut out = enc.reset(Vec::new()).unwrap();
        out.clear();
        std::hint::black_box(out);
    });
    let pool = BufferPool::new(4);
    let pooled = config.clone().pool(&pool);
    let enc_pooled = time(messages, |m| {
        std::hint::black_box(compress_with(m, format, &pooled).unwrap());
    });
    let dec_fresh = time(&packed, |p| {
        std::hint::black_box(decompress_with(p, format, config).unwrap());
    });
    let mut dec = Decoder::with_config(&packed[0][..], format, config).unwrap();
    let mut out = vec![0u8; 16 << 10];
    let dec_reset = time(&packed, |p| {
        dec.reset(p);
        while dec.read(&mut out).unwrap() > 0 {}
    });
    Row { ratio, enc_fresh, enc_reset, enc_pooled, dec_fresh, dec_reset }
}

/// The zstd CLI's total ratio on `messages` (one file each) with `dict` at `level`.
fn zstd_cli_ratio(messages: &[Vec<u8>], dict: &Dictionary, level: i32) -> Option<f64> {
    let dir = std::env::temp_dir().join(format!("compressio-dict-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let dict_path = dir.join("dict");
    std::fs::write(&dict_path, dict.as_bytes()).ok()?;
    let mut files = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let path = dir.join(format!("{i}"));
        std::fs::write(&path, m).ok()?;
        files.push(path);
    }
    let out = std::process::Command::new("zstd")
        .arg(format!("-{level}"))
        .args(["-q", "-c", "-D"])
        .arg(&dict_path)
        .args(&files)
        .output()
        .ok()?;
    std::fs::remove_dir_all(&dir).ok()?;
    let total: usize = messages.iter().map(Vec::len).sum();
    out.status.success().then(|| total as f64 / out.stdout.len() as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut count, mut files) = (20_000usize, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--count" => count = args.next().ok_or("--count N")?.parse()?,
            _ => files.push(a),
        }
    }
    let mut sets: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    for file in &files {
        let mut text = Vec::new();
        std::fs::File::open(file)?.read_to_end(&mut text)?;
        let lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').take(count).map(<[u8]>::to_vec).collect();
        sets.push((file.clone(), lines));
    }
    if sets.is_empty() {
        sets.push(("generated JSON-RPC".into(), json_rpc(count)));
    }
    println!("| messages | size | format | ratio without | with | gain | zstd -D | enc fresh / reset / pooled µs (without → with) | dec fresh / reset µs (without → with) |");
    println!("|---|--:|---|--:|--:|--:|--:|---|---|");
    for (name, lines) in &sets {
        for size in [256, 1024, 4096] {
            let messages = group(lines, size);
            let (train, test) = messages.split_at(messages.len() / 2);
            let test = &test[..test.len().min(500)];
            let dict = Dictionary::train(train, 32 << 10)?;
            for (format, level) in [
                (Format::Zstd, 1),
                (Format::Zstd, 3),
                (Format::Zstd, 19),
                (Format::Zlib, 6),
                (Format::Lz4, 1),
            ] {
                let base = Config::default().level(Level::Exact(level));
                let a = measure(test, format, &base);
                let b = measure(test, format, &base.clone().dictionary(&dict));
                let cli = if format == Format::Zstd {
                    zstd_cli_ratio(test, &dict, level).map_or("–".into(), |r| format!("{r:.2}"))
                } else {
                    "–".into()
                };
                let us = |ns: f64| ns / 1000.0;
                println!(
                    "| {name} | {size} | {format} {level} | {:.2} | {:.2} | {:.2}× | {cli} | {:.1} / {:.1} / {:.1} → {:.1} / {:.1} / {:.1} | {:.1} / {:.1} → {:.1} / {:.1} |",
                    a.ratio,
                    b.ratio,
                    b.ratio / a.ratio,
                    us(a.enc_fresh),
                    us(a.enc_reset),
                    us(a.enc_pooled),
                    us(b.enc_fresh),
                    us(b.enc_reset),
                    us(b.enc_pooled),
                    us(a.dec_fresh),
                    us(a.dec_reset),
                    us(b.dec_fresh),
                    us(b.dec_reset),
                );
            }
        }
    }
    Ok(())
}

//! Where compression memory goes: each format streamed with `TrackingAllocator` installed,
//! printing current/peak bytes and allocation counts — the Rust counterpart of tracking a
//! compression library's memory.
//!
//! ```text
//! cargo run --release --example memory                 # every format, default settings
//! cargo run --release --example memory -- --levels     # also every memory level 1..=9
//! ```
//!
//! Each case runs in a child process of its own, so that the process's peak RSS (`VmHWM`)
//! belongs to that case alone: liblzma allocates with C `malloc`, which no Rust allocator
//! sees, so for xz and lzma the RSS growth is the figure to compare with the estimate.
//! Columns: `estimate` = `Config::memory_estimate`; `heap peak` = the tracking allocator's peak
//! above the start (zstd's contexts are included: compressio builds zstd with the zstd crate's
//! `with-rust-allocator` feature); `allocs` = allocations made; `RSS growth` = VmHWM at the end
//! minus VmRSS at the start; `heap after` = bytes still allocated once the adapter is gone
//! (0: nothing leaked).

use std::alloc::System;
use std::io::{self, Read, Write};
use std::process::Command;

use compressio::alloc::TrackingAllocator;
use compressio::{Config, Decoder, Direction, Encoder, Format};

#[global_allocator]
static ALLOC: TrackingAllocator = TrackingAllocator::new(System);

/// Compressible bytes made on the fly: text-like lines with pseudo-random numbers.
struct Generator {
    left: u64,
    state: u64,
    line: Vec<u8>,
    pos: usize,
}

impl Generator {
    fn new(len: u64) -> Self {
        Generator { left: len, state: 0x9E37_79B9_7F4A_7C15, line: Vec::with_capacity(128), pos: 0 }
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            if self.pos == self.line.len() {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                self.line.clear();
                let words = ["stream", "buffer", "memory", "bounded", "frame", "window", "block"];
                let s = self.state;
                let _ = writeln!(
                    self.line,
                    "{} {} {} id={} t={}",
                    words[(s % 7) as usize],
                    words[((s >> 8) % 7) as usize],
                    words[((s >> 16) % 7) as usize],
                    (s >> 24) % 100_000,
                    (s >> 40) % 1_000
                );
                self.pos = 0;
            }
            let k = (self.line.len() - self.pos).min(buf.len() - n).min(self.left as usize);
            buf[n..n + k].copy_from_slice(&self.line[self.pos..self.pos + k]);
            self.pos += k;
            n += k;
            self.left -= k as u64;
        }
        Ok(n)
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn config(memory_level: Option<u8>) -> Config {
    match memory_level {
        Some(m) => Config::default().memory_level(m),
        None => Config::default(),
    }
}

/// Child: run one case, print "estimate heap_peak allocs rss_growth" (bytes).
fn run_case(format: Format, memory_level: Option<u8>, direction: Direction, input: &str, len: u64) {
    let config = config(memory_level);
    let estimate = config.memory_estimate(format, direction).unwrap();
    let rss0 = status_kib("VmRSS:") * 1024;
    let start = ALLOC.stats();
    ALLOC.reset_peak();
    match direction {
        Direction::Compress => {
            let mut encoder = Encoder::with_config(io::sink(), format, &config).unwrap();
            io::copy(&mut Generator::new(len), &mut encoder).unwrap();
            encoder.finish().unwrap();
        }
        Direction::Decompress => {
            let file = std::fs::File::open(input).unwrap();
            let mut decoder = Decoder::with_config(file, format, &config).unwrap();
            io::copy(&mut decoder, &mut io::sink()).unwrap();
        }
    }
    let end = ALLOC.stats();
    let hwm = status_kib("VmHWM:") * 1024;
    println!(
        "{estimate} {} {} {} {}",
        end.peak - start.current,
        end.allocations - start.allocations,
        hwm.saturating_sub(rss0),
        end.current as i64 - start.current as i64
    );
}

fn mib(bytes: i64) -> String {
    format!("{:.2}", bytes as f64 / (1 << 20) as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--case") {
        let format: Format = args[2].parse().unwrap();
        let ml = args[3].parse::<u8>().ok();
        let direction = if args[4] == "c" { Direction::Compress } else { Direction::Decompress };
        run_case(format, ml, direction, &args[5], args[6].parse().unwrap());
        return;
    }
    let levels: Vec<Option<u8>> = if args.iter().any(|a| a == "--levels") {
        std::iter::once(None).chain((1..=9).map(Some)).collect()
    } else {
        vec![None]
    };
    let exe = std::env::current_exe().unwrap();
    let dir = std::env::temp_dir();
    println!(
        "| format | memory level | direction | estimate MiB | heap peak MiB | allocations | heap after, bytes | RSS growth MiB |"
    );
    println!("|---|---|---|--:|--:|--:|--:|--:|");
    for &format in Format::ALL.iter().filter(|f| f.is_enabled()) {
        for &ml in &levels {
            // enough input to fill the largest window or dictionary in play
            let len: u64 = 48 << 20;
            let path = dir.join(format!("compressio-memory.{}", format.extension()));
            let mut encoder =
                Encoder::with_config(std::fs::File::create(&path).unwrap(), format, &config(ml)).unwrap();
            io::copy(&mut Generator::new(len), &mut encoder).unwrap();
            encoder.finish().unwrap();
            for (d, name) in [("c", "compress"), ("d", "decompress")] {
                let out = Command::new(&exe)
                    .args(["--case", format.name(), &ml.map_or("-".into(), |m| m.to_string()), d])
                    .arg(&path)
                    .arg(len.to_string())
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                let v: Vec<i64> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
                if v.len() != 5 {
                    eprintln!("{format} {ml:?} {name}: {}", String::from_utf8_lossy(&out.stderr));
                    continue;
                }
                println!(
                    "| {format} | {} | {name} | {} | {} | {} | {} | {} |",
                    ml.map_or("default".into(), |m| m.to_string()),
                    mib(v[0]),
                    mib(v[1]),
                    v[2],
                    v[4],
                    mib(v[3])
                );
            }
            let _ = std::fs::remove_file(&path);
        }
    }
}

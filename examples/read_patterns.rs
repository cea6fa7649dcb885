//! Our `Decoder<&[u8]>` against the backend crate's own reading decoder, format by format, in
//! the three ways callers read: `read_to_end` into a `Vec` with capacity, fixed 64 KiB reads,
//! and 333-byte reads.
//!
//! ```text
//! cargo run --release --example read_patterns -- [--formats lz4,zstd,...] [--reps N]
//!     [--level L] [--threads N] [--patterns end,65536,333] [--only ours|theirs] FILE...
//! ```
//!
//! Method: each FILE (the corpus's `prose.txt` and `random.bin`, say) is compressed once by
//! our encoder (`--level`, default `Default`; `--threads` applies to that encoder only) and
//! then decoded from memory by both sides, each with its default settings.
//! Both are boxed as `dyn Read`, so a read costs both the same dispatch. Repetitions are the
//! outer loop and the two sides the inner one (interleaved, so a noisy neighbour hits both);
//! the median of each is kept. `ratio` is their median time over ours: above 1.00 we are
//! faster. The output is checked against the input once per pair. `--only` runs one side
//! (for a profiler); `BUFFER=bytes` sets our `Config::buffer_size`.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use compressio::{Config, Decoder, Encoder, Format, Level};

#[path = "../benches/support/backends.rs"]
mod backends;

/// How a caller reads.
#[derive(Clone, Copy)]
enum Pattern {
    ToEnd,
    Fixed(usize),
}

impl Pattern {
    fn name(self) -> String {
        match self {
            Pattern::ToEnd => "read_to_end".into(),
            Pattern::Fixed(n) if n >= 1024 => format!("{} KiB reads", n >> 10),
            Pattern::Fixed(n) => format!("{n}-byte reads"),
        }
    }

    /// Read `r` to its end this way; returns the bytes read. `sink` is reused (cleared,
    /// capacity kept) so that no run pays for page faults another does not.
    fn run(self, mut r: Box<dyn Read + '_>, sink: &mut Vec<u8>) -> usize {
        match self {
            Pattern::ToEnd => {
                sink.clear();
                r.read_to_end(sink).expect("read_to_end");
                sink.len()
            }
            Pattern::Fixed(n) => {
                let buf = &mut sink[..n];
                let mut total = 0;
                loop {
                    match r.read(buf).expect("read") {
                        0 => return total,
                        k => total += k,
                    }
                }
            }
        }
    }
}

/// A side of the comparison: a reading decoder over the packed bytes.
type Side = fn(Format, &[u8]) -> Box<dyn Read + '_>;

fn ours(format: Format, packed: &[u8]) -> Box<dyn Read + '_> {
    let config = match std::env::var("BUFFER") {
        Ok(n) => Config::default().buffer_size(n.parse().expect("BUFFER in bytes")),
        Err(_) => Config::default(),
    };
    Box::new(Decoder::with_config(packed, format, &config).expect("a decoder"))
}

fn theirs(format: Format, packed: &[u8]) -> Box<dyn Read + '_> {
    backends::reader(format, packed).expect("a backend for this format")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut formats = vec![Format::Lz4, Format::Zstd, Format::Lzma, Format::Xz, Format::Gzip];
    let mut reps = 5;
    let mut only: Option<String> = None;
    let mut level = Level::Default;
    let mut threads = 1;
    let mut files = Vec::new();
    let mut patterns = vec![Pattern::ToEnd, Pattern::Fixed(64 << 10), Pattern::Fixed(333)];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--formats" => {
                formats = args
                    .next()
                    .ok_or("--formats needs a list")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--only" => only = Some(args.next().ok_or("--only needs ours or theirs")?),
            "--reps" => reps = args.next().ok_or("--reps needs a value")?.parse()?,
            "--level" => level = args.next().ok_or("--level needs a value")?.parse()?,
            "--patterns" => {
                patterns = args
                    .next()
                    .ok_or("--patterns needs a list")?
                    .split(',')
                    .map(|p| match p {
                        "end" => Ok(Pattern::ToEnd),
                        n => n.parse().map(Pattern::Fixed).map_err(|_| format!("bad pattern {n}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--threads" => threads = args.next().ok_or("--threads needs a value")?.parse()?,
            _ => files.push(PathBuf::from(arg)),
        }
    }
    if files.is_empty() {
        return Err("give the files to measure (say, the corpus's prose.txt and random.bin)".into());
    }
    let inputs: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| Ok((f.file_name().unwrap_or_default().to_string_lossy().into_owned(), std::fs::read(f)?)))
        .collect::<std::io::Result<_>>()?;
    println!(
        "{:<7} {:<16} {:<16} {:>10} {:>10} {:>7}",
        "format", "input", "pattern", "ours MB/s", "theirs", "ratio"
    );
    for &format in &formats {
        let config = Config::default().level(level).threads(threads);
        for (name, data) in &inputs {
            let mut encoder = Encoder::with_config(Vec::new(), format, &config)?;
            std::io::Write::write_all(&mut encoder, data)?;
            let packed = encoder.finish()?;
            // pre-faulted, reused by every run
            let mut sink = vec![0u8; data.len() + (1 << 20)];
            for &pattern in &patterns {
                for side in [ours, theirs] {
                    let mut check = Vec::with_capacity(data.len());
                    side(format, &packed).read_to_end(&mut check)?;
                    assert!(check == *data, "{format} does not round-trip");
                }
                let (mut ours_t, mut theirs_t) = (Vec::new(), Vec::new());
                for _ in 0..reps {
                    let sides: [(Side, &mut Vec<f64>, bool); 2] = [
                        (ours, &mut ours_t, only.as_deref() != Some("theirs")),
                        (theirs, &mut theirs_t, only.as_deref() != Some("ours")),
                    ];
                    for (side, times, run) in sides {
                        if !run {
                            times.push(f64::NAN);
                            continue;
                        }
                        let start = Instant::now();
                        assert_eq!(pattern.run(side(format, &packed), &mut sink), data.len());
                        times.push(start.elapsed().as_secs_f64());
                    }
                }
                let (o, t) = (median(ours_t), median(theirs_t));
                let mb = data.len() as f64 / 1e6;
                println!(
                    "{:<7} {:<16} {:<16} {:>10.0} {:>10.0} {:>6.3}x",
                    format.to_string(),
                    name,
                    pattern.name(),
                    mb / o,
                    mb / t,
                    t / o
                );
            }
        }
    }
    Ok(())
}

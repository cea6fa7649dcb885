//! Every adapter shape against the same shape of the crates users come from, in one run:
//! flate2's and zstd's `read`/`write`/`bufread` adapters, async-compression's tokio adapters
//! (what tower-http and reqwest use), and our `bufread::Decoder<&[u8]>` against our
//! `Decoder<&[u8]>`.
//!
//! ```text
//! cargo run --release --example shapes_bench --features tokio -- [--reps N] [--mib M] [FILE]
//! ```
//!
//! Method: the input (FILE, or M MiB of generated log-like text, default 32) is in memory;
//! compressed output goes into a pre-sized `Vec` (sync) or tokio's `sink()` (async);
//! decompressed output is read in 64 KiB (and, where said, 333-byte) reads and discarded, or
//! written into a sink. Gzip at level 6 and zstd at level 3 on both sides. Repetitions are the
//! outer loop, the two sides of a pair the inner one (interleaved, so a noisy neighbour hits
//! both); the median of each is kept. `ratio` is their median time over ours: above 1.00 we
//! are faster.

use std::io::{self, Read, Write};
use std::time::Instant;

use compressio::{bufread, read, write, Config, Decoder, Format, Level};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One comparison: our shape and theirs, doing the same work.
pub struct Case {
    pub name: String,
    pub ours: Box<dyn FnMut() -> usize>,
    pub theirs: Box<dyn FnMut() -> usize>,
    pub theirs_name: &'static str,
}

/// `len` bytes of log-like text.
pub fn generated(len: usize) -> Vec<u8> {
    let words = ["stream", "buffer", "request", "frame", "window", "block", "the", "of", "and", "user"];
    let mut out = Vec::with_capacity(len + 200);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut n = 0u64;
    while out.len() < len {
        n += 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let level = ["INFO", "DEBUG", "WARN", "ERROR"][(x % 4) as usize];
        let _ = write!(out, "{} {level} id={:08x} ", 1_700_000_000 + n, x as u32);
        for i in 0..(x >> 20) % 12 {
            out.extend_from_slice(words[((x >> (i * 4)) % 10) as usize].as_bytes());
            out.push(b' ');
        }
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

/// Read `r` to the end in reads of `chunk` bytes into a discarded buffer; the bytes read.
fn drain(mut r: impl Read, chunk: usize) -> usize {
    let mut buf = vec![0u8; chunk];
    let mut total = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("{e}"),
        }
    }
}

/// `read_to_end` into a `Vec` with room for `len` bytes.
fn to_end(mut r: impl Read, len: usize) -> usize {
    let mut v = Vec::with_capacity(len);
    r.read_to_end(&mut v).unwrap()
}

/// Write `data` into `w` in 64 KiB writes.
fn feed(w: &mut impl Write, data: &[u8]) {
    for piece in data.chunks(64 << 10) {
        w.write_all(piece).unwrap();
    }
}

async fn feed_async(w: &mut (impl tokio::io::AsyncWrite + Unpin), data: &[u8]) {
    for piece in data.chunks(64 << 10) {
        w.write_all(piece).await.unwrap();
    }
    w.shutdown().await.unwrap();
}

async fn drain_async(mut r: impl tokio::io::AsyncRead + Unpin) -> usize {
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0;
    loop {
        match r.read(&mut buf).await.unwrap() {
            0 => return total,
            n => total += n,
        }
    }
}

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// Every comparison, over `data`.
pub fn cases(data: &'static [u8]) -> Vec<Case> {
    let rt = leak(tokio::runtime::Builder::new_current_thread().build().unwrap());
    let mut cases = Vec::new();
    for format in [Format::Gzip, Format::Zstd] {
        let config = leak(Config::default().level(Level::Exact(if format == Format::Gzip { 6 } else { 3 })));
        let packed: &'static [u8] = leak(compressio::compress_with(data, format, config).unwrap());
        let len = data.len();
        let f = format.name();
        macro_rules! case {
            ($name:expr, $theirs_name:expr, $ours:expr, $theirs:expr) => {
                cases.push(Case {
                    name: format!("{f} {}", $name),
                    ours: Box::new(move || $ours),
                    theirs: Box::new(move || $theirs),
                    theirs_name: $theirs_name,
                })
            };
        }
        let gz = format == Format::Gzip;
        let (crate_name, async_name) =
            if gz { ("flate2", "async-compression") } else { ("zstd", "async-compression") };
        // ---- compression
        case!(
            "write::Encoder",
            crate_name,
            {
                let mut e = write::Encoder::with_config(Vec::with_capacity(len), format, config).unwrap();
                feed(&mut e, data);
                e.finish().unwrap().len()
            },
            if gz {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::with_capacity(len), flate2::Compression::new(6));
                feed(&mut e, data);
                e.finish().unwrap().len()
            } else {
                let mut e = zstd::stream::write::Encoder::new(Vec::with_capacity(len), 3).unwrap();
                feed(&mut e, data);
                e.finish().unwrap().len()
            }
        );
        case!(
            "read::Encoder, read_to_end",
            crate_name,
            to_end(read::Encoder::with_config(data, format, config).unwrap(), len),
            if gz {
                to_end(flate2::read::GzEncoder::new(data, flate2::Compression::new(6)), len)
            } else {
                to_end(zstd::stream::read::Encoder::new(data, 3).unwrap(), len)
            }
        );
        case!(
            "bufread::Encoder<&[u8]>, 64 KiB reads",
            crate_name,
            drain(bufread::Encoder::with_config(data, format, config).unwrap(), 64 << 10),
            if gz {
                drain(flate2::bufread::GzEncoder::new(data, flate2::Compression::new(6)), 64 << 10)
            } else {
                drain(zstd::stream::read::Encoder::with_buffer(data, 3).unwrap(), 64 << 10)
            }
        );
        case!(
            "tokio::write::Encoder",
            async_name,
            rt.block_on(async {
                let mut e = compressio::tokio::write::Encoder::with_config(tokio::io::sink(), format, config)
                    .unwrap();
                feed_async(&mut e, data).await;
                e.total_out() as usize
            }),
            rt.block_on(async {
                if gz {
                    let mut e = async_compression::tokio::write::GzipEncoder::with_quality(
                        tokio::io::sink(),
                        async_compression::Level::Precise(6),
                    );
                    feed_async(&mut e, data).await;
                    0
                } else {
                    let mut e = async_compression::tokio::write::ZstdEncoder::with_quality(
                        tokio::io::sink(),
                        async_compression::Level::Precise(3),
                    );
                    feed_async(&mut e, data).await;
                    0
                }
            })
        );
        case!(
            "tokio::bufread::Encoder",
            async_name,
            rt.block_on(async {
                drain_async(compressio::tokio::bufread::Encoder::with_config(data, format, config).unwrap())
                    .await
            }),
            rt.block_on(async {
                if gz {
                    drain_async(async_compression::tokio::bufread::GzipEncoder::with_quality(
                        data,
                        async_compression::Level::Precise(6),
                    ))
                    .await
                } else {
                    drain_async(async_compression::tokio::bufread::ZstdEncoder::with_quality(
                        data,
                        async_compression::Level::Precise(3),
                    ))
                    .await
                }
            })
        );
        // ---- decompression
        for (chunk, label) in [(64 << 10, "64 KiB reads"), (333, "333-byte reads")] {
            case!(
                format!("read::Decoder, {label}"),
                crate_name,
                drain(read::Decoder::new(packed, format).unwrap(), chunk),
                if gz {
                    drain(flate2::read::MultiGzDecoder::new(packed), chunk)
                } else {
                    drain(zstd::stream::read::Decoder::new(packed).unwrap(), chunk)
                }
            );
            case!(
                format!("bufread::Decoder<&[u8]>, {label}"),
                crate_name,
                drain(bufread::Decoder::new(packed, format).unwrap(), chunk),
                if gz {
                    drain(flate2::bufread::MultiGzDecoder::new(packed), chunk)
                } else {
                    drain(zstd::stream::read::Decoder::with_buffer(packed).unwrap(), chunk)
                }
            );
        }
        case!(
            "read::Decoder, read_to_end",
            crate_name,
            to_end(read::Decoder::new(packed, format).unwrap(), len),
            if gz {
                to_end(flate2::read::MultiGzDecoder::new(packed), len)
            } else {
                to_end(zstd::stream::read::Decoder::new(packed).unwrap(), len)
            }
        );
        case!(
            "bufread::Decoder<&[u8]>, read_to_end",
            "compressio Decoder<&[u8]>",
            to_end(bufread::Decoder::new(packed, format).unwrap(), len),
            to_end(Decoder::new(packed, format).unwrap(), len)
        );
        case!(
            "bufread::Decoder<&[u8]>, 64 KiB reads",
            "compressio Decoder<&[u8]>",
            drain(bufread::Decoder::new(packed, format).unwrap(), 64 << 10),
            drain(Decoder::new(packed, format).unwrap(), 64 << 10)
        );
        case!(
            "write::Decoder",
            crate_name,
            {
                let mut d = write::Decoder::new(io::sink(), format).unwrap();
                feed(&mut d, packed);
                d.finish().unwrap();
                len
            },
            if gz {
                let mut d = flate2::write::MultiGzDecoder::new(io::sink());
                feed(&mut d, packed);
                d.finish().unwrap();
                len
            } else {
                let mut d = zstd::stream::write::Decoder::new(io::sink()).unwrap();
                feed(&mut d, packed);
                d.flush().unwrap();
                len
            }
        );
        case!(
            "tokio::bufread::Decoder",
            async_name,
            rt.block_on(async {
                drain_async(compressio::tokio::bufread::Decoder::new(packed, format).unwrap()).await
            }),
            rt.block_on(async {
                if gz {
                    let mut d = async_compression::tokio::bufread::GzipDecoder::new(packed);
                    d.multiple_members(true);
                    drain_async(d).await
                } else {
                    let mut d = async_compression::tokio::bufread::ZstdDecoder::new(packed);
                    d.multiple_members(true);
                    drain_async(d).await
                }
            })
        );
        case!(
            "tokio::write::Decoder",
            async_name,
            rt.block_on(async {
                let mut d = compressio::tokio::write::Decoder::new(tokio::io::sink(), format).unwrap();
                feed_async(&mut d, packed).await;
                len
            }),
            rt.block_on(async {
                if gz {
                    let mut d = async_compression::tokio::write::GzipDecoder::new(tokio::io::sink());
                    feed_async(&mut d, packed).await;
                } else {
                    let mut d = async_compression::tokio::write::ZstdDecoder::new(tokio::io::sink());
                    feed_async(&mut d, packed).await;
                }
                len
            })
        );
    }
    cases
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut reps, mut mib, mut file) = (5usize, 32usize, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().ok_or("--reps N")?.parse()?,
            "--mib" => mib = args.next().ok_or("--mib M")?.parse()?,
            _ => file = Some(a),
        }
    }
    let data: &'static [u8] = match &file {
        Some(path) => leak(std::fs::read(path)?),
        None => leak(generated(mib << 20)),
    };
    let mb = data.len() as f64 / 1e6;
    println!(
        "{} bytes of {}; {reps} interleaved repetitions, medians",
        data.len(),
        file.as_deref().unwrap_or("generated text")
    );
    println!("{:<46} {:>10} {:>10}  {:>6}  vs", "case", "ours MB/s", "theirs", "ratio");
    let mut cases = cases(data);
    for case in &mut cases {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let t = Instant::now();
            std::hint::black_box((case.ours)());
            ours.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            std::hint::black_box((case.theirs)());
            theirs.push(t.elapsed().as_secs_f64());
        }
        let (o, t) = (median(ours), median(theirs));
        println!(
            "{:<46} {:>10.1} {:>10.1}  {:>5.3}×  {}",
            case.name,
            mb / o,
            mb / t,
            t / o,
            case.theirs_name
        );
    }
    Ok(())
}

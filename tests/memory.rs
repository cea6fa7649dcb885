//! Memory proofs, exact, with `compressio::alloc::TrackingAllocator` as this binary's global
//! allocator (zstd allocates through it too: the `with-rust-allocator` feature). liblzma's C
//! heap is invisible to it, so those cases also run in child processes whose peak RSS
//! (`VmHWM`) is compared with the sum of what we count and what liblzma reports.
//!
//! Measurements use the per-thread counters, so tests running in parallel do not disturb
//! each other.

mod common;

use std::alloc::System;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};

use common::*;
use compressio::alloc::{reset_thread_peak, thread_stats, TrackingAllocator};
use compressio::{
    compress, decompress_with, BufferPool, Config, Decoder, Direction, Encoder, Error, Format, Level,
};

#[global_allocator]
static ALLOC: TrackingAllocator = TrackingAllocator::new(System);

/// What this thread allocated while `f` ran: peak above the start, net change, allocations.
#[derive(Clone, Copy, Debug)]
struct Measured {
    peak: usize,
    net: isize,
    allocations: u64,
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Measured) {
    let start = thread_stats();
    reset_thread_peak();
    let out = f();
    let end = thread_stats();
    let m = Measured {
        peak: (end.peak - start.current).max(0) as usize,
        net: end.current - start.current,
        allocations: end.allocations - start.allocations,
    };
    (out, m)
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[test]
fn tracking_allocator_counts_this_threads_heap() {
    let (v, m) = measure(|| vec![1u8; 1 << 20]);
    assert_eq!((m.net, m.allocations), (1 << 20, 1));
    assert!(m.peak >= 1 << 20 && m.peak < (1 << 20) + 4096, "{m:?}");
    let ((), m) = measure(|| drop(v));
    assert_eq!(m.net, -(1 << 20));
    // realloc counts as one allocation and changes `current` by the difference
    let (v, m) = measure(|| {
        let mut v: Vec<u8> = Vec::with_capacity(1000);
        v.reserve_exact(10_000);
        v
    });
    assert_eq!((m.net, m.allocations, m.peak), (v.capacity() as isize, 2, v.capacity()));
    drop(v);
    // another thread's allocations are not this thread's
    let (_, m) = measure(|| std::thread::spawn(|| vec![0u8; 4 << 20].len()).join().unwrap());
    assert!(m.peak < 64 * 1024, "{m:?}");
    // the process-wide counters see every thread
    let before = ALLOC.stats();
    let big = std::thread::spawn(|| vec![0u8; 8 << 20]).join().unwrap();
    let after = ALLOC.stats();
    assert!(after.allocations > before.allocations && after.peak >= 8 << 20);
    drop(big);
    ALLOC.reset_peak();
    assert!(ALLOC.peak() >= ALLOC.current());
}

/// Configurations worth measuring for `format`: the default and every memory level that
/// changes the estimate (and lz4's `Level::Best`, whose linked blocks are 1 MiB; the other
/// formats' top levels are too slow for this test's inputs).
fn distinct_configs(format: Format) -> Vec<(String, Config)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let candidates = std::iter::once(("default".to_string(), Config::default()))
        .chain((1..=9).map(|m| (format!("memory_level {m}"), Config::default().memory_level(m))))
        .chain(std::iter::once(("size_hint 24 MiB".to_string(), Config::default().size_hint(24 << 20))))
        .chain(
            (format == Format::Lz4).then(|| ("level best".to_string(), Config::default().level(Level::Best))),
        );
    for (name, config) in candidates {
        let key = (
            config.memory_estimate(format, Direction::Compress).unwrap(),
            config.memory_estimate(format, Direction::Decompress).unwrap(),
        );
        if !seen.contains(&key) {
            seen.push(key);
            out.push((name, config));
        }
    }
    out
}

/// Enough input to fill every window, dictionary and block in play.
fn input_len(config: &Config, format: Format) -> u64 {
    let estimate = config.memory_estimate(format, Direction::Decompress).unwrap() as u64;
    (2 * estimate).clamp(2 << 20, 24 << 20)
}

fn within(measured: usize, estimate: usize, tolerance: f64, slack: usize) -> bool {
    (measured as f64 - estimate as f64).abs() <= tolerance * measured as f64 + slack as f64
}

/// Like `within`, for RSS, relative to the larger of the two: a small case's RSS growth can
/// fall well short of what liblzma allocates when glibc hands back pages the process has
/// already touched (seen: 108 KiB of RSS growth for a 393 KiB xz decoder at memory level 3,
/// in one CI run out of several).
fn rss_within(measured: usize, estimate: usize, tolerance: f64, slack: usize) -> bool {
    (measured as f64 - estimate as f64).abs() <= tolerance * measured.max(estimate) as f64 + slack as f64
}

#[test]
fn memory_estimate_is_within_25_percent_of_the_measured_heap() {
    // xz and lzma live in liblzma's C heap: see the child-process test below
    let mut table = Vec::new();
    for format in formats().filter(|f| !matches!(f, Format::Xz | Format::Lzma)) {
        for (name, config) in distinct_configs(format) {
            // text with many short matches: brotli's encoder holds a metablock's commands, so
            // its peak follows the matches per byte, and its estimate is what such text
            // reaches (repetitive data like `Lines` takes ~40 % less); every other codec's
            // memory does not depend on the data
            let input = text(input_len(&config, format) as usize, 1);
            let ((), c) = measure(|| {
                let mut enc = Encoder::with_config(io::sink(), format, &config).unwrap();
                io::copy(&mut &input[..], &mut enc).unwrap();
                enc.finish().unwrap();
            });
            let packed = compress_chunked(&input, format, &config, &[1 << 20]);
            let ((), d) = measure(|| {
                let mut dec = Decoder::with_config(&packed[..], format, &config).unwrap();
                io::copy(&mut dec, &mut io::sink()).unwrap();
            });
            for (direction, m) in [(Direction::Compress, c), (Direction::Decompress, d)] {
                let estimate = config.memory_estimate(format, direction).unwrap();
                table.push(format!(
                    "{format} {name} {direction:?}: estimate {}, measured {}",
                    kib(estimate),
                    kib(m.peak)
                ));
                assert!(within(m.peak, estimate, 0.25, 0), "{}", table.last().unwrap());
                assert_eq!(m.net, 0, "{format} {name} {direction:?}: leaked {} bytes", m.net);
            }
        }
    }
    println!("{}", table.join("\n"));
}

fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    v
}

/// Child side of the RSS cross-check: runs one case (`format|memory level, - or low|c or
/// d|input length|compressed file`) and prints `RESULT <estimate> <rust heap peak> <RSS
/// growth>`. A no-op in a normal test run.
#[test]
fn memory_case_child() {
    let Some(case) = child_case() else { return };
    let f: Vec<&str> = case.split('|').collect();
    let format: Format = f[0].parse().unwrap();
    let config = match f[1].parse::<u8>() {
        Ok(m) => Config::default().memory_level(m),
        Err(_) if f[1] == "low" => Config::low_memory(),
        Err(_) => Config::default(),
    };
    let direction = if f[2] == "c" { Direction::Compress } else { Direction::Decompress };
    let len: u64 = f[3].parse().unwrap();
    let estimate = config.memory_estimate(format, direction).unwrap();
    let mut lines = Lines::new(len, 2);
    let file = std::fs::File::open(f[4]).unwrap();
    if !matches!(format, Format::Xz | Format::Lzma) {
        // run the codec's code once, so that its pages faulted in on first use (0.7 MiB for
        // brotli's encoder) are not taken for memory it holds; not for liblzma, whose large
        // frees would move glibc's mmap threshold under the RSS compared with its report
        let small = compress(b"warm up", format).unwrap();
        let mut dec = Decoder::with_config(&small[..], format, &config).unwrap();
        io::copy(&mut dec, &mut io::sink()).unwrap();
        let mut enc = Encoder::with_config(io::sink(), format, &config).unwrap();
        io::copy(&mut Lines::new(64 * 1024, 9), &mut enc).unwrap();
        enc.finish().unwrap();
    }
    let rss0 = vm_kib("VmRSS:") * 1024;
    let ((), m) = measure(|| match direction {
        Direction::Compress => {
            let mut enc = Encoder::with_config(io::sink(), format, &config).unwrap();
            io::copy(&mut lines, &mut enc).unwrap();
            enc.finish().unwrap();
        }
        Direction::Decompress => {
            let mut dec = Decoder::with_config(file, format, &config).unwrap();
            io::copy(&mut dec, &mut io::sink()).unwrap();
        }
    });
    let growth = (vm_kib("VmHWM:") * 1024).saturating_sub(rss0);
    println!("RESULT {estimate} {} {growth}", m.peak);
}

#[test]
fn peak_rss_matches_what_we_count_plus_what_liblzma_reports() {
    let dir = std::env::temp_dir().join(format!("compressio-memtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut table = Vec::new();
    for format in formats() {
        let liblzma = matches!(format, Format::Xz | Format::Lzma);
        let mut cases: Vec<(String, Config)> =
            vec![("-".into(), Config::default()), ("low".into(), Config::low_memory())];
        if liblzma {
            cases.extend((1..=5).map(|m| (m.to_string(), Config::default().memory_level(m))));
        }
        for (tag, config) in cases {
            let len = input_len(&config, format);
            let path = dir.join(format!("input.{}", format.extension()));
            let mut enc =
                Encoder::with_config(std::fs::File::create(&path).unwrap(), format, &config).unwrap();
            io::copy(&mut Lines::new(len, 2), &mut enc).unwrap();
            enc.finish().unwrap();
            for d in ["c", "d"] {
                let result =
                    run_child("memory_case_child", &format!("{format}|{tag}|{d}|{len}|{}", path.display()));
                let v: Vec<usize> = result.split_whitespace().map(|x| x.parse().unwrap()).collect();
                let (estimate, rust_peak, rss_growth) = (v[0], v[1], v[2]);
                let buffer = if tag == "low" { 8 * 1024 } else { 64 * 1024 };
                // what liblzma says it holds, beyond what the Rust heap shows
                let c_side = if liblzma { estimate - buffer } else { 0 };
                table.push(format!(
                    "{format} {tag} {d}: estimate {} | rust heap {} + liblzma report {} | RSS growth {}",
                    kib(estimate),
                    kib(rust_peak),
                    kib(c_side),
                    kib(rss_growth)
                ));
                let line = table.last().unwrap();
                // nothing hides from the count: the process grew by no more than we account for
                assert!(rss_growth as f64 <= 1.25 * (rust_peak + c_side) as f64 + 768.0 * 1024.0, "{line}");
                if liblzma {
                    // and liblzma's report is real memory, within the estimate's tolerance. The
                    // small decoders' RSS sits a steady ~340 KiB above their estimate (xz 1 d:
                    // 152.6 KiB estimated, 492 KiB grown in each of five runs), and a few
                    // pages more made a 256 KiB slack fail now and then: 512 KiB, still well
                    // under the MiB-sized encoders' and level-4+ decoders' figures it checks
                    assert!(rss_within(rss_growth, estimate, 0.25, 512 * 1024), "{line}");
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", table.join("\n"));
}

/// A bounded in-memory pipe between two threads; allocated once, before measuring.
#[derive(Clone)]
struct RingPipe(Arc<(Mutex<Ring>, Condvar)>);

struct Ring {
    buf: Vec<u8>,
    start: usize,
    len: usize,
    closed: bool,
}

impl RingPipe {
    fn new(capacity: usize) -> Self {
        RingPipe(Arc::new((
            Mutex::new(Ring { buf: vec![0; capacity], start: 0, len: 0, closed: false }),
            Condvar::new(),
        )))
    }

    fn close(&self) {
        self.0 .0.lock().unwrap().closed = true;
        self.0 .1.notify_all();
    }
}

impl Write for RingPipe {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let (lock, cv) = &*self.0;
        let mut r = lock.lock().unwrap();
        while r.len == r.buf.len() {
            r = cv.wait(r).unwrap();
        }
        let cap = r.buf.len();
        let end = (r.start + r.len) % cap;
        let n = data.len().min(cap - r.len).min(cap - end);
        r.buf[end..end + n].copy_from_slice(&data[..n]);
        r.len += n;
        cv.notify_all();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for RingPipe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let (lock, cv) = &*self.0;
        let mut r = lock.lock().unwrap();
        while r.len == 0 && !r.closed {
            r = cv.wait(r).unwrap();
        }
        let cap = r.buf.len();
        let n = out.len().min(r.len).min(cap - r.start);
        out[..n].copy_from_slice(&r.buf[r.start..r.start + n]);
        r.start = (r.start + n) % cap;
        r.len -= n;
        cv.notify_all();
        Ok(n)
    }
}

/// Compares what it is given with a second generator; allocation-free.
struct Checker {
    expected: Lines,
    buf: Vec<u8>,
    seen: u64,
}

impl Write for Checker {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(self.buf.len());
        self.expected.read_exact(&mut self.buf[..n])?;
        assert!(self.buf[..n] == data[..n], "decoded data differs at byte {}", self.seen);
        self.seen += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Stream `len` generated bytes through an encoder thread and a decoder thread joined by a
/// pipe; returns each thread's heap peak, and checks the output.
fn stream_through(format: Format, config: &Config, len: u64) -> (Measured, Measured) {
    let pipe = RingPipe::new(256 * 1024);
    std::thread::scope(|s| {
        let tx = pipe.clone();
        let encoder = s.spawn(move || {
            let mut lines = Lines::new(len, 3);
            let (_, m) = measure(|| {
                let mut enc = Encoder::with_config(tx.clone(), format, config).unwrap();
                io::copy(&mut lines, &mut enc).unwrap();
                enc.finish().unwrap();
            });
            tx.close();
            m
        });
        let decoder = s.spawn(|| {
            let mut checker = Checker { expected: Lines::new(len, 3), buf: vec![0; 64 * 1024], seen: 0 };
            let (_, m) = measure(|| {
                let mut dec = Decoder::with_config(pipe.clone(), format, config).unwrap();
                io::copy(&mut dec, &mut checker).unwrap();
            });
            assert_eq!(checker.seen, len, "{format}");
            m
        });
        (encoder.join().unwrap(), decoder.join().unwrap())
    })
}

/// The streaming proof: heap does not grow with the stream's length, and stays within the
/// documented estimate (for xz/lzma the Rust side is only our buffer; liblzma's is covered by
/// the RSS test). Formats run concurrently (each pipeline is two threads; per-thread counters
/// keep their measurements apart).
fn streaming_heap_is_bounded(small: u64, large: u64) {
    let per_format: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = formats()
            .map(|format| {
                s.spawn(move || {
                    let mut table = Vec::new();
                    // brotli's encoder reaches its peak when its first metablock closes, after
                    // 2^(window log + 1) = 8 MiB of input at the default window
                    let small = if format == Format::Brotli { small.max(12 << 20) } else { small };
                    for (name, config) in [("default", Config::default()), ("low_memory", Config::low_memory())] {
                        let (es, ds) = stream_through(format, &config, small);
                        let started = std::time::Instant::now();
                        let (el, dl) = stream_through(format, &config, large);
                        let secs = started.elapsed().as_secs_f64();
                        for (direction, s, l) in [(Direction::Compress, es, el), (Direction::Decompress, ds, dl)] {
                            let estimate = config.memory_estimate(format, direction).unwrap();
                            let line = format!(
                                "{format} {name} {direction:?}: {} MiB stream {} | {} MiB stream {} | estimate {} ({secs:.1} s)",
                                small >> 20,
                                kib(s.peak),
                                large >> 20,
                                kib(l.peak),
                                kib(estimate)
                            );
                            if format == Format::Brotli && direction == Direction::Compress {
                                // brotli's encoder keeps its command array at the size the
                                // densest metablock so far needed: over a long stream it grows
                                // toward its bound, the estimate, never past it
                                assert!(s.peak <= l.peak && l.peak <= estimate, "{line}");
                            } else {
                                assert!(s.peak.abs_diff(l.peak) <= 64 * 1024, "{line}");
                                assert!(l.peak as f64 <= 1.25 * estimate as f64, "{line}");
                            }
                            assert!(l.net == 0 && s.net == 0, "{line}: leaked");
                            table.push(line);
                        }
                    }
                    table
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    println!("{}", per_format.concat().join("\n"));
}

#[test]
fn streaming_heap_does_not_grow_with_the_stream() {
    streaming_heap_is_bounded(4 << 20, 20 << 20);
}

/// The 1 GiB version; CI runs it in release mode (`cargo test --release --test memory --
/// --ignored`).
#[test]
#[ignore = "1 GiB per case: run in release mode (CI does)"]
fn streaming_one_gib_in_the_same_heap_as_sixteen_mib() {
    let large =
        std::env::var("COMPRESSIO_STREAM_MIB").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(1024);
    streaming_heap_is_bounded(16 << 20, large << 20);
}

#[test]
fn one_shot_functions_hold_the_output_once() {
    let data = read_all(Lines::new(4 << 20, 4));
    for format in formats() {
        let c_estimate = Config::default().memory_estimate(format, Direction::Compress).unwrap();
        let d_estimate = Config::default().memory_estimate(format, Direction::Decompress).unwrap();
        let liblzma = matches!(format, Format::Xz | Format::Lzma);
        let (packed, m) = measure(|| compress(&data, format).unwrap());
        // the output, the codec (its C part is invisible for liblzma), and one growth step
        let codec = if liblzma { 64 * 1024 } else { c_estimate };
        let bound = packed.capacity() + codec + 2 * 64 * 1024;
        assert!(m.peak <= bound, "{format} compress: peak {} > {}", kib(m.peak), kib(bound));
        assert!(packed.capacity() - packed.len() <= 64 * 1024, "{format}: output over-allocated");
        let (out, m) = measure(|| decompress_with(&packed, format, &Config::default()).unwrap());
        assert_eq!(out.len(), data.len());
        let codec = if liblzma { 64 * 1024 } else { d_estimate };
        let bound = out.capacity() + codec + 2 * 64 * 1024;
        assert!(m.peak <= bound, "{format} decompress: peak {} > {}", kib(m.peak), kib(bound));
        assert!(out.capacity() - out.len() <= 64 * 1024, "{format}: output over-allocated");
    }
}

/// A writer that keeps nothing, only counts.
#[derive(Default)]
struct CountingSink {
    bytes: u64,
}

impl Write for CountingSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.bytes += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn reset_and_a_small_message_allocate_nothing_after_warm_up() {
    let message = text(1024, 5);
    for format in formats() {
        let packed = compress(&message, format).unwrap();
        let mut enc = Encoder::new(CountingSink::default(), format).unwrap();
        let mut dec = Decoder::new(&packed[..], format).unwrap();
        let mut buf = vec![0u8; 4096];
        let mut round = || {
            enc.write_all(&message).unwrap();
            let previous = enc.reset(CountingSink::default()).unwrap();
            assert!(previous.bytes > 0);
            let mut got = 0;
            loop {
                match dec.read(&mut buf).unwrap() {
                    0 => break,
                    n => got += n,
                }
            }
            assert_eq!(got, message.len());
            dec.reset(&packed[..]);
        };
        // warm-up: the first messages allocate the codecs' working memory
        for _ in 0..3 {
            round();
        }
        let ((), m) = measure(|| {
            for _ in 0..100 {
                round();
            }
        });
        if matches!(format, Format::Xz | Format::Lzma | Format::Brotli | Format::Bzip2) {
            // the liblzma, brotli and bzip2 crates cannot re-initialise a coder: every reset
            // builds a new one (for xz and lzma in C memory this counter cannot see; see the
            // README)
            println!("{format}: {} allocations in 100 rounds (a new coder per reset)", m.allocations);
        } else {
            assert_eq!(
                m.allocations, 0,
                "{format}: {} allocations in 100 reset + message rounds",
                m.allocations
            );
        }
    }
}

#[test]
fn pooled_adapters_on_eight_threads_allocate_by_pool_capacity_not_message_count() {
    const THREADS: usize = 8;
    const MESSAGES: usize = 10_000;
    const WARM_UP: usize = 20;
    for format in [Format::Gzip, Format::Zstd, Format::Lz4].into_iter().filter(|f| f.is_enabled()) {
        let pool = BufferPool::new(2 * THREADS);
        let config = Config::default().pool(&pool);
        let message = text(1024, 6);
        let packed = compress(&message, format).unwrap();
        let after_warm_up: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        let mut buf = vec![0u8; 4096];
                        let mut one = || {
                            // a fresh encoder and decoder per message, both from the pool
                            let mut enc =
                                Encoder::with_config(CountingSink::default(), format, &config).unwrap();
                            enc.write_all(&message).unwrap();
                            assert!(enc.finish().unwrap().bytes > 0);
                            let mut dec = Decoder::with_config(&packed[..], format, &config).unwrap();
                            let mut got = 0;
                            while let n @ 1.. = dec.read(&mut buf).unwrap() {
                                got += n;
                            }
                            assert_eq!(got, message.len());
                        };
                        for _ in 0..WARM_UP {
                            one();
                        }
                        let ((), m) = measure(|| (WARM_UP..MESSAGES).for_each(|_| one()));
                        m.allocations
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        let stats = pool.stats();
        println!(
            "{format}: {after_warm_up} allocations for {} pooled messages after warm-up; {stats:?}",
            THREADS * (MESSAGES - WARM_UP)
        );
        // a thread may find the pool momentarily empty (another thread holds the buffers):
        // then it allocates, and the pool frees the surplus; that is bounded by the pool's
        // size, never by the number of messages
        assert!(after_warm_up <= 4 * pool.capacity() as u64, "{format}: {after_warm_up} allocations");
        assert!(stats.allocated <= 4 * pool.capacity() as u64, "{format}: {stats:?}");
        assert!(pool.idle() <= pool.capacity() && pool.idle_codecs() <= pool.capacity());
    }
}

/// A writer that panics on its second write.
struct PanickingWriter(u32);

impl Write for PanickingWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0 += 1;
        assert!(self.0 < 2, "the writer panics");
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A named piece of work that must leave the heap as it found it.
type Scenario<'a> = (&'static str, Box<dyn Fn() + 'a>);

#[test]
fn every_error_path_frees_everything() {
    let data = text(300_000, 7);
    for format in formats() {
        let packed = compress(&data, format).unwrap();
        let mut corrupt = packed.clone();
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0x40;
        let pool = BufferPool::new(4);
        let scenarios: Vec<Scenario<'_>> = vec![
            ("corrupt input", Box::new(|| drop(compressio::decompress(&corrupt, format)))),
            (
                "truncated input",
                Box::new(|| assert!(compressio::decompress(&packed[..mid], format).is_err())),
            ),
            (
                "limit exceeded",
                Box::new(|| {
                    let r = decompress_with(&packed, format, &Config::default().max_output(1000));
                    assert!(matches!(r, Err(Error::LimitExceeded { .. })));
                }),
            ),
            (
                "failing writer",
                Box::new(|| {
                    let mut enc =
                        Encoder::new(FaultyWriter::new(&[Fault::Ok(100), Fault::Fail]), format).unwrap();
                    let r = enc.write_all(&data).and_then(|_| enc.try_finish());
                    assert!(r.is_err());
                }),
            ),
            (
                "panicking writer",
                Box::new(|| {
                    // no panic message: printing it would make std resolve and cache a
                    // backtrace (RUST_BACKTRACE), which is std's memory, not ours
                    let hook = std::panic::take_hook();
                    std::panic::set_hook(Box::new(|_| {}));
                    let r = std::panic::catch_unwind(|| {
                        let config = Config::default().buffer_size(1024);
                        let mut enc = Encoder::with_config(PanickingWriter(0), format, &config).unwrap();
                        enc.write_all(&data).unwrap();
                        enc.finish().unwrap();
                    });
                    std::panic::set_hook(hook);
                    assert!(r.is_err());
                }),
            ),
            (
                "pooled adapters, then the pool dropped",
                Box::new(|| {
                    let pool = pool.clone();
                    let config = Config::default().pool(&pool);
                    let mut enc = Encoder::with_config(Vec::new(), format, &config).unwrap();
                    enc.write_all(&data[..1000]).unwrap();
                    drop(enc); // unfinished: the context goes back to the pool anyway
                    let mut dec = Decoder::with_config(&corrupt[..], format, &config).unwrap();
                    let _ = io::copy(&mut dec, &mut io::sink());
                    drop(dec);
                    pool.clear();
                }),
            ),
        ];
        for (name, scenario) in &scenarios {
            scenario(); // once to warm up lazily initialised statics (panic machinery, ...)
            let ((), m) = measure(scenario);
            assert_eq!(m.net, 0, "{format}: {name} leaked {} bytes", m.net);
        }
    }
}

/// Drain `r` through a stack buffer (no heap of the caller's in the measurement).
fn drain(mut r: impl Read) -> u64 {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        match r.read(&mut buf).unwrap() {
            0 => return total,
            n => total += n as u64,
        }
    }
}

#[test]
fn every_shape_holds_one_buffer_plus_the_codec_and_the_bufread_shapes_no_buffer() {
    use compressio::{bufread, read, write};
    // xz and lzma live in liblzma's C heap (see the RSS test); the others are all visible here
    let (mut table, mut failures) = (Vec::new(), Vec::new());
    for format in formats().filter(|f| !matches!(f, Format::Xz | Format::Lzma)) {
        for (name, buffer, config) in
            [("default", 64 << 10, Config::default()), ("low_memory", 4096, Config::low_memory())]
        {
            let config = config.buffer_size(buffer);
            let input = text(input_len(&config, format) as usize, 5);
            let packed = compress_chunked(&input, format, &config, &[1 << 20]);
            let encode = config.memory_estimate(format, Direction::Compress).unwrap();
            let decode = config.memory_estimate(format, Direction::Decompress).unwrap();
            let len = input.len() as u64;
            type Run<'a> = Box<dyn Fn() -> u64 + 'a>;
            let (c, inp, pk) = (&config, &input[..], &packed[..]);
            // (shape, what it should hold, the run)
            #[allow(unused_mut)] // the async shapes are added with feature `tokio`
            let mut shapes: Vec<(&str, usize, Run)> = vec![
                (
                    "write::Encoder",
                    encode,
                    Box::new(move || {
                        let mut e = write::Encoder::with_config(io::sink(), format, c).unwrap();
                        e.write_all(inp).unwrap();
                        e.finish().unwrap();
                        len
                    }),
                ),
                (
                    "read::Encoder",
                    encode,
                    Box::new(move || {
                        drain(read::Encoder::with_config(inp, format, c).unwrap());
                        len
                    }),
                ),
                (
                    "bufread::Encoder<&[u8]>",
                    encode - buffer,
                    Box::new(move || {
                        drain(bufread::Encoder::with_config(inp, format, c).unwrap());
                        len
                    }),
                ),
                (
                    "read::Decoder",
                    decode,
                    Box::new(move || drain(read::Decoder::with_config(pk, format, c).unwrap())),
                ),
                (
                    "bufread::Decoder<&[u8]>",
                    decode - buffer,
                    Box::new(move || drain(bufread::Decoder::with_config(pk, format, c).unwrap())),
                ),
                (
                    "write::Decoder",
                    decode,
                    Box::new(move || {
                        let mut d = write::Decoder::with_config(io::sink(), format, c).unwrap();
                        d.write_all(pk).unwrap();
                        d.finish().unwrap();
                        len
                    }),
                ),
            ];
            #[cfg(feature = "tokio")]
            {
                use futures::executor::block_on;
                // block_on's thread-local waker is allocated on first use and kept: not ours
                block_on(async {});
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                async fn drain_async(mut r: impl tokio::io::AsyncRead + Unpin) -> u64 {
                    let mut buf = [0u8; 16 * 1024];
                    let mut total = 0;
                    loop {
                        match r.read(&mut buf).await.unwrap() {
                            0 => return total,
                            n => total += n as u64,
                        }
                    }
                }
                shapes.push((
                    "tokio::write::Encoder",
                    encode,
                    Box::new(move || {
                        block_on(async {
                            let mut e =
                                compressio::tokio::write::Encoder::with_config(tokio::io::sink(), format, c)
                                    .unwrap();
                            e.write_all(inp).await.unwrap();
                            e.shutdown().await.unwrap();
                        });
                        len
                    }),
                ));
                shapes.push((
                    "tokio::bufread::Encoder<&[u8]>",
                    encode - buffer,
                    Box::new(move || {
                        block_on(drain_async(
                            compressio::tokio::bufread::Encoder::with_config(inp, format, c).unwrap(),
                        ));
                        len
                    }),
                ));
                shapes.push((
                    "tokio::bufread::Decoder<&[u8]>",
                    decode - buffer,
                    Box::new(move || {
                        block_on(drain_async(
                            compressio::tokio::bufread::Decoder::with_config(pk, format, c).unwrap(),
                        ))
                    }),
                ));
                shapes.push((
                    "tokio::write::Decoder",
                    decode,
                    Box::new(move || {
                        block_on(async {
                            let mut d =
                                compressio::tokio::write::Decoder::with_config(tokio::io::sink(), format, c)
                                    .unwrap();
                            d.write_all(pk).await.unwrap();
                            d.shutdown().await.unwrap();
                        });
                        len
                    }),
                ));
            }
            for (shape, expected, run) in &shapes {
                let (out, m) = measure(run);
                assert_eq!(out, len, "{format} {shape}");
                let line =
                    format!("{format} {name} {shape}: expected {}, measured {}", kib(*expected), kib(m.peak));
                // brotli's encoder peak follows the data (see the estimate's docs): at most
                // the estimate; every other codec within 25 %
                let ok = if format == Format::Brotli && shape.contains("Encoder") {
                    // brotli's encoder estimate is a bound: what it allocates follows the data
                    // and, at the fastest levels, how much input each call offers (a 4 KiB
                    // chunk at a time takes a fraction of one large slice)
                    m.peak as f64 <= 1.25 * *expected as f64
                } else if shape.contains("write::Decoder") {
                    // measured: lz4's write-shaped decoder at 64 KiB buffers peaks one buffer
                    // under the estimate (128 KiB of 192; the estimate counts a block staged
                    // in the codec or the buffer, and here the two never coexist), never above
                    within(m.peak, *expected, 0.25, 4096) || within(m.peak, expected - buffer, 0.25, 4096)
                } else {
                    within(m.peak, *expected, 0.25, 4096)
                };
                if !ok {
                    failures.push(line.clone());
                }
                assert_eq!(m.net, 0, "{line}: leaked");
                table.push(line);
            }
        }
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[cfg(all(feature = "zstd", feature = "deflate", feature = "lz4"))]
fn with_a_dictionary_reset_and_pooled_adapters_allocate_nothing_after_warm_up() {
    use compressio::{compress_with, Dictionary};
    let samples: Vec<Vec<u8>> = (0..400).map(|i| json_message(i, 700)).collect();
    let message = json_message(9999, 1024);
    let trained = Dictionary::train(&samples, 8 << 10).unwrap();
    let raw = Dictionary::from_bytes(samples[..20].concat()).unwrap();
    let cases = [
        (Format::Zstd, &trained),
        (Format::Zstd, &raw),
        (Format::Zlib, &raw),
        (Format::Deflate, &raw),
        (Format::Lz4, &trained),
    ];
    for (format, dict) in cases {
        // lz4_flex's block compressor with a dictionary builds its 16 KiB hash table per call
        // (it has no reusable-table form with a dictionary): one allocation per block
        let allowed = if format == Format::Lz4 { 100 } else { 0 };
        let config = Config::default().dictionary(dict);
        let packed = compress_with(&message, format, &config).unwrap();
        assert_eq!(decompress_with(&packed, format, &config).unwrap(), message);
        let mut enc = Encoder::with_config(CountingSink::default(), format, &config).unwrap();
        let mut dec = Decoder::with_config(&packed[..], format, &config).unwrap();
        let mut buf = vec![0u8; 4096];
        let mut round = || {
            enc.write_all(&message).unwrap();
            let previous = enc.reset(CountingSink::default()).unwrap();
            assert_eq!(previous.bytes, packed.len() as u64);
            let mut got = 0;
            loop {
                match dec.read(&mut buf).unwrap() {
                    0 => break,
                    n => got += n,
                }
            }
            assert_eq!(got, message.len());
            dec.reset(&packed[..]);
        };
        for _ in 0..3 {
            round();
        }
        let ((), m) = measure(|| {
            for _ in 0..100 {
                round();
            }
        });
        assert!(
            m.allocations <= allowed,
            "{format} {dict:?}: {} allocations in 100 reset rounds",
            m.allocations
        );
        println!("{format} {dict:?}: {} allocations in 100 reset rounds", m.allocations);

        // pooled fresh adapters: the contexts (and the dictionary they reference) come back
        let pool = BufferPool::new(4);
        let pooled = config.clone().pool(&pool);
        let mut fresh = || {
            let mut enc = Encoder::with_config(CountingSink::default(), format, &pooled).unwrap();
            enc.write_all(&message).unwrap();
            assert_eq!(enc.finish().unwrap().bytes, packed.len() as u64);
            let mut dec = Decoder::with_config(&packed[..], format, &pooled).unwrap();
            let mut got = 0;
            loop {
                match dec.read(&mut buf).unwrap() {
                    0 => break,
                    n => got += n,
                }
            }
            assert_eq!(got, message.len());
        };
        for _ in 0..3 {
            fresh();
        }
        let ((), m) = measure(|| {
            for _ in 0..100 {
                fresh();
            }
        });
        assert!(
            m.allocations <= allowed,
            "{format} {dict:?}: {} allocations in 100 pooled messages",
            m.allocations
        );
        println!("{format} {dict:?}: {} allocations in 100 pooled messages", m.allocations);
    }
}

/// `SeekableDecoder`: after opening (the index), reads cost the cache (one block by default),
/// one block's compressed bytes and the codec, however many reads and wherever they land.
#[test]
fn seekable_reads_stay_within_the_block_and_the_codec() {
    let block = 64 * 1024;
    let data = text(8 << 20, 31);
    for format in [Format::Zstd, Format::Gzip].into_iter().filter(|f| f.is_enabled()) {
        let block = if format == Format::Gzip { 65_280 } else { block };
        let packed = compressio::compress_with(&data, format, &Config::default().seekable(block)).unwrap();
        let (mut file, open) =
            measure(|| compressio::SeekableDecoder::new(io::Cursor::new(&packed[..])).unwrap());
        let mut buf = vec![0u8; 4096];
        // the first read builds the codec and the block buffers
        let (_, first) = measure(|| file.read_at(0, &mut buf).unwrap());
        let mut rng = Rng::new(32);
        let ((), reads) = measure(|| {
            for _ in 0..500 {
                let pos = rng.below(data.len() - 4096);
                file.read_at(pos as u64, &mut buf).unwrap();
                assert!(buf == data[pos..pos + 4096]);
            }
            io::Seek::rewind(&mut file).unwrap();
            let mut chunk = [0u8; 8192];
            while file.read(&mut chunk).unwrap() > 0 {}
        });
        println!(
            "{format}: index {} for {} blocks; first read {}; then 500 random reads and a sequential pass: \
             peak {}, {} allocations",
            kib(open.peak),
            file.block_count(),
            kib(first.peak),
            kib(reads.peak),
            reads.allocations
        );
        assert!(open.peak < file.block_count() * 128, "{format}: the index: {open:?}");
        assert!(first.peak <= 2 * block + 512 * 1024, "{format}: block, compressed block, codec: {first:?}");
        // no new memory however many reads: the buffers are reused
        assert!(reads.peak <= 64 * 1024 && reads.allocations <= 8, "{format}: {reads:?}");
    }
}

/// Drain `r` in reads of `size` bytes through a stack buffer.
fn drain_in(mut r: impl Read, size: usize) -> u64 {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        match r.read(&mut buf[..size]).unwrap() {
            0 => return total,
            n => total += n as u64,
        }
    }
}

#[test]
fn small_reads_add_one_stage_of_at_most_8_kib_allocated_once() {
    // reads under 2 KiB are served from output decoded ahead: one allocation of at most
    // 8 KiB (at most the buffer size), made at the first small read, kept across `reset`;
    // for lz4, a whole block that takes the place of the codec's own block buffer
    use compressio::{bufread, read};
    for format in formats() {
        let input = text(300_000, 9);
        let packed = compress(&input, format).unwrap();
        for buffer in [64 << 10, 4096] {
            let config = Config::default().buffer_size(buffer);
            let stage = buffer.min(8192);
            type Run<'a> = Box<dyn Fn(usize) -> u64 + 'a>;
            let runs: [(&str, Run); 2] = [
                (
                    "read",
                    Box::new(|size| {
                        drain_in(read::Decoder::with_config(&packed[..], format, &config).unwrap(), size)
                    }),
                ),
                (
                    "bufread",
                    Box::new(|size| {
                        drain_in(bufread::Decoder::with_config(&packed[..], format, &config).unwrap(), size)
                    }),
                ),
            ];
            for (shape, run) in &runs {
                let case = format!("{format:?}, {shape}, buffer {buffer}");
                // warm-up: thread-local and lazily made state of the backends
                run(16 * 1024);
                let (n, large) = measure(|| run(16 * 1024));
                assert_eq!(n, input.len() as u64);
                let (n, small) = measure(|| run(333));
                assert_eq!(n, input.len() as u64);
                if format == Format::Lz4 && buffer >= 64 << 10 {
                    // the stage is a whole block (64 KiB, within the buffer size), which the
                    // codec decodes into instead of a block buffer of its own: nothing added
                    assert_eq!(
                        (small.allocations, small.peak),
                        (large.allocations, large.peak),
                        "{case}: {small:?} / {large:?}"
                    );
                } else {
                    assert_eq!(small.allocations, large.allocations + 1, "{case}: {small:?} / {large:?}");
                    assert!(
                        small.peak <= large.peak + stage && small.peak >= large.peak,
                        "{case}: {small:?} / {large:?}"
                    );
                }
                assert_eq!((small.net, large.net), (0, 0), "{case}");
            }
        }
        // kept across `reset`: a decoder read in small pieces again allocates no new stage
        let mut decoder = read::Decoder::new(&packed[..], format).unwrap();
        drain_in(&mut decoder, 333);
        decoder.reset(&packed[..]);
        let (n, m) = measure(|| drain_in(&mut decoder, 333));
        assert_eq!(n, input.len() as u64);
        if !matches!(format, Format::Xz | Format::Lzma | Format::Brotli | Format::Bzip2) {
            // (those build a new coder on reset; see reset_and_a_small_message_...)
            assert_eq!(m.allocations, 0, "{format:?}: {m:?}");
        }
    }
}

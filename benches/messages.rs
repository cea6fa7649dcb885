//! Many small messages: a fresh adapter per message vs `reset` vs pooled adapters.
//!
//! `cargo bench --bench messages` (add a filter such as `zstd/1KiB` to run part of it).
//! Before criterion's timings it prints allocations per message for each case, counted by
//! `compressio::alloc::TrackingAllocator` (zstd's contexts included; liblzma's C heap is not
//! visible to it, see `examples/memory.rs`).

use std::alloc::System;
use std::hint::black_box;
use std::io::{Read, Write};

use compressio::alloc::TrackingAllocator;
use compressio::{compress_with, BufferPool, Config, Decoder, Dictionary, Encoder, Format};
use criterion::{criterion_group, Criterion, Throughput};

#[global_allocator]
static ALLOC: TrackingAllocator = TrackingAllocator::new(System);

/// A writer that keeps nothing (so the sink's own allocations do not count).
#[derive(Default)]
struct Sink(u64);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn message(len: usize) -> Vec<u8> {
    message_seeded(len, 0)
}

fn message_seeded(len: usize, seed: u64) -> Vec<u8> {
    let words = ["request", "user", "id", "status", "ok", "latency", "ms", "path", "/api/v1/items"];
    let mut out = Vec::with_capacity(len + 16);
    let mut i = seed;
    while out.len() < len {
        i = i.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.extend_from_slice(words[(i >> 60) as usize % words.len()].as_bytes());
        out.extend_from_slice(format!("={} ", (i >> 40) % 1000).as_bytes());
    }
    out.truncate(len);
    out
}

/// One message through an encoder and back through a decoder, in each mode.
struct Case {
    format: Format,
    msg: Vec<u8>,
    packed: Vec<u8>,
    out: Vec<u8>,
}

impl Case {
    fn new(format: Format, len: usize) -> Self {
        Self::with_config(format, len, &Config::default())
    }

    fn with_config(format: Format, len: usize, config: &Config) -> Self {
        let msg = message(len);
        let packed = compress_with(&msg, format, config).unwrap();
        Case { format, msg, packed, out: vec![0; 64 * 1024] }
    }

    fn drain<R: Read>(out: &mut [u8], dec: &mut Decoder<R>) -> usize {
        let mut n = 0;
        while let k @ 1.. = dec.read(out).unwrap() {
            n += k;
        }
        n
    }

    fn fresh(&mut self, config: &Config) {
        let mut enc = Encoder::with_config(Sink::default(), self.format, config).unwrap();
        enc.write_all(&self.msg).unwrap();
        black_box(enc.finish().unwrap());
        let mut dec = Decoder::with_config(&self.packed[..], self.format, config).unwrap();
        black_box(Self::drain(&mut self.out, &mut dec));
    }
}

/// Reusable adapters for the `reset` mode.
struct Reused<'a> {
    enc: Encoder<Sink>,
    dec: Decoder<&'a [u8]>,
}

impl<'a> Reused<'a> {
    fn new(case: &'a Case) -> Self {
        Self::with_config(case, &Config::default())
    }

    fn with_config(case: &'a Case, config: &Config) -> Self {
        Reused {
            enc: Encoder::with_config(Sink::default(), case.format, config).unwrap(),
            dec: Decoder::with_config(&case.packed[..], case.format, config).unwrap(),
        }
    }

    fn round(&mut self, case: &'a Case, out: &mut [u8]) {
        self.enc.write_all(&case.msg).unwrap();
        black_box(self.enc.reset(Sink::default()).unwrap());
        black_box(Case::drain(out, &mut self.dec));
        self.dec.reset(&case.packed[..]);
    }
}

const FORMATS: &[Format] = &[Format::Gzip, Format::Zstd, Format::Lz4, Format::Xz];
const SIZES: &[(usize, &str)] = &[(1024, "1KiB"), (16 * 1024, "16KiB")];

fn allocations_per_message() {
    println!("allocations per message (encode + decode), after warm-up, 200 messages each:");
    println!("| format | size | fresh | reset | pooled |");
    println!("|---|---|--:|--:|--:|");
    for &format in FORMATS {
        for &(len, name) in SIZES {
            let mut case = Case::new(format, len);
            let count = |f: &mut dyn FnMut()| {
                for _ in 0..5 {
                    f();
                }
                let before = ALLOC.allocations();
                for _ in 0..200 {
                    f();
                }
                (ALLOC.allocations() - before) as f64 / 200.0
            };
            let fresh = count(&mut || case.fresh(&Config::default()));
            let pool = BufferPool::new(4);
            let pooled_config = Config::default().pool(&pool);
            let pooled = count(&mut || case.fresh(&pooled_config));
            let case2 = Case::new(format, len);
            let mut out = vec![0u8; 64 * 1024];
            let mut reused = Reused::new(&case2);
            let reset = count(&mut || reused.round(&case2, &mut out));
            println!("| {format} | {name} | {fresh:.1} | {reset:.1} | {pooled:.1} |");
        }
    }
}

/// 1 KiB messages with a dictionary trained on others like them (`<format>+dict/1KiB`), in
/// the three modes; compare with `<format>/1KiB`.
fn bench_dictionary(c: &mut Criterion) {
    let samples: Vec<Vec<u8>> = (1..=500).map(|seed| message_seeded(1024, seed)).collect();
    let dict = Dictionary::train(&samples, 16 << 10).unwrap();
    let config = Config::default().dictionary(&dict);
    for format in [Format::Zstd, Format::Zlib, Format::Lz4] {
        let mut group = c.benchmark_group(format!("{format}+dict/1KiB"));
        group.throughput(Throughput::Elements(1));
        let mut case = Case::with_config(format, 1024, &config);
        group.bench_function("fresh", |b| b.iter(|| case.fresh(&config)));
        let pool = BufferPool::new(4);
        let pooled = config.clone().pool(&pool);
        group.bench_function("pooled", |b| b.iter(|| case.fresh(&pooled)));
        let case2 = Case::with_config(format, 1024, &config);
        let mut out = vec![0u8; 64 * 1024];
        let mut reused = Reused::with_config(&case2, &config);
        group.bench_function("reset", |b| b.iter(|| reused.round(&case2, &mut out)));
        group.finish();
    }
}

fn bench(c: &mut Criterion) {
    for &format in FORMATS {
        for &(len, name) in SIZES {
            let mut group = c.benchmark_group(format!("{format}/{name}"));
            group.throughput(Throughput::Elements(1)); // elements/s = messages/s
            let mut case = Case::new(format, len);
            group.bench_function("fresh", |b| b.iter(|| case.fresh(&Config::default())));
            let pool = BufferPool::new(4);
            let config = Config::default().pool(&pool);
            group.bench_function("pooled", |b| b.iter(|| case.fresh(&config)));
            let case2 = Case::new(format, len);
            let mut out = vec![0u8; 64 * 1024];
            let mut reused = Reused::new(&case2);
            group.bench_function("reset", |b| b.iter(|| reused.round(&case2, &mut out)));
            group.finish();
        }
    }
}

criterion_group! {
    name = messages;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench, bench_dictionary
}

fn main() {
    allocations_per_message();
    messages();
    Criterion::default().configure_from_args().final_summary();
}

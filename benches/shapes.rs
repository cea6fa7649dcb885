//! Every adapter shape against the same shape of flate2, zstd and async-compression, under
//! criterion: the cases of examples/shapes_bench.rs (which prints their ratios from one
//! interleaved run), each measured as `ours` and `theirs` in one group.
//!
//! `cargo bench --features tokio --bench shapes`

#[path = "../examples/shapes_bench.rs"]
#[allow(dead_code)]
mod shapes_bench;

use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let data: &'static [u8] = Box::leak(shapes_bench::generated(8 << 20).into_boxed_slice());
    for mut case in shapes_bench::cases(data) {
        let mut group = c.benchmark_group(case.name.clone());
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function("compressio", |b| b.iter(|| (case.ours)()));
        group.bench_function(case.theirs_name, |b| b.iter(|| (case.theirs)()));
        group.finish();
    }
}

criterion_group! {
    name = shapes;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}

fn main() {
    shapes();
    Criterion::default().configure_from_args().final_summary();
}

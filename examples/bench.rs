//! Measure compressio against the backend crates' own streaming adapters and the reference
//! command-line tools, side by side in one run, on files you give it.
//!
//! ```text
//! cargo run --release --example bench -- [--formats gzip,zstd,...] [--level L | --levels L,L,...]
//!     [--reps N] [--threads 1,2,0] [--no-cli] [--svg chart.svg] FILE...
//! ```
//!
//! `--threads` adds `Config::threads(n)` runs of our encoder (and, for n > 1, the
//! multithreaded CLIs: `pigz -pN`, `zstd -TN`, `xz -TN`); `--levels` runs every format at each
//! level; `--svg` draws ratio against compression speed for every implementation, format and
//! level (plotters' SVG backend: a colour per format, a marker per kind — compressio, backend
//! crate, CLI — filled for one thread, hollow for more); `--per-file` also prints each file's
//! own figures (lines starting with `file`). `docs/chart.svg` is such a chart.
//!
//! Method (the same as `shared/corpus/BASELINE.md`): each file is read into memory first; a
//! compressor gets 64 KiB `write_all`s into a pre-faulted `Vec`; a decompressor is read into a
//! 64 KiB buffer that is discarded. Repetitions are the outer loop, implementations the inner
//! one (interleaved, so that a noisy neighbour hits all alike); per file the median time is
//! kept, and a format's MB/s is Σ bytes / Σ medians (MB = 10^6 bytes of *uncompressed* data,
//! both directions). CLIs run as `tool < file > /dev/null` from the page cache (exec included),
//! decompressing their own output (compression is timed writing to `/dev/null`, and run once
//! more, untimed, into a pipe for the bytes). Ratios travel between machines; absolute MB/s
//! do not.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use compressio::{Config, Decoder, Encoder, Format, Level};

#[path = "../benches/support/backends.rs"]
mod backends;
use backends::{backend, backend_level, drain, feed, Impl};

struct Args {
    formats: Vec<Format>,
    levels: Vec<Level>,
    reps: usize,
    cli: bool,
    threads: Vec<usize>,
    svg: Option<PathBuf>,
    per_file: bool,
    files: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        formats: Format::ALL.to_vec(),
        levels: vec![Level::Default],
        reps: 3,
        cli: true,
        threads: Vec::new(),
        svg: None,
        per_file: false,
        files: Vec::new(),
    };
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
                a.levels =
                    vec![it.next().ok_or("--level needs a value")?.parse().map_err(|e| format!("{e}"))?]
            }
            "--levels" => {
                let list = it.next().ok_or("--levels needs a list")?;
                a.levels = list
                    .split(',')
                    .map(|l| l.parse().map_err(|e| format!("{e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--reps" => {
                a.reps = it.next().ok_or("--reps needs a value")?.parse().map_err(|e| format!("{e}"))?
            }
            "--no-cli" => a.cli = false,
            "--per-file" => a.per_file = true,
            "--threads" => {
                let list = it.next().ok_or("--threads needs a list")?;
                a.threads = list
                    .split(',')
                    .map(|s| s.parse().map_err(|e| format!("{e}")))
                    .collect::<Result<_, _>>()?;
            }
            "--svg" => a.svg = Some(it.next().ok_or("--svg needs a path")?.into()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => a.files.push(arg.into()),
        }
    }
    if a.files.is_empty() {
        return Err("give at least one file (e.g. the corpus from shared/corpus/make_corpus.sh)".into());
    }
    Ok(a)
}

/// Our encoder and decoder, single-threaded or with `threads(n)`; with `hinted`, the encoder
/// also gets the input's size (`Config::size_hint`), as the CLIs do for a file.
fn ours(format: Format, level: Level, threads: Option<usize>, hinted: bool) -> Impl {
    let config = match threads {
        Some(n) => Config::default().level(level).threads(n),
        None => Config::default().level(level),
    };
    let decode_config = config.clone();
    Impl {
        name: match (threads, hinted) {
            (Some(n), _) => format!("compressio threads({n})"),
            (None, true) => "compressio size_hint".into(),
            (None, false) => "compressio".into(),
        },
        compress: Box::new(move |data, sink| {
            let config = if hinted { config.clone().size_hint(data.len() as u64) } else { config.clone() };
            let mut e = Encoder::with_config(sink, format, &config).unwrap();
            feed(&mut e, data);
            e.finish().unwrap()
        }),
        decompress: Box::new(move |packed| {
            drain(Decoder::with_config(packed, format, &decode_config).unwrap())
        }),
    }
}

/// A reference CLI run: program, compress args, decompress args.
type Cli = (&'static str, Vec<String>, Vec<String>);

/// The reference CLI for `format` (single-threaded), then its multithreaded runs for every
/// thread count above 1.
fn clis(format: Format, level: Level, threads: &[usize]) -> Vec<Cli> {
    let l = backend_level(format, level);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut out = match format {
        Format::Gzip => vec![("gzip", s(&["-c", &format!("-{l}")]), s(&["-dc"]))],
        Format::Zstd => vec![("zstd", s(&["-c", "-q", "-T1", &format!("-{l}")]), s(&["-dc", "-q"]))],
        Format::Lz4 => vec![("lz4", s(&["-c", "-q", "-1"]), s(&["-dc", "-q"]))],
        Format::Xz => vec![("xz", s(&["-c", "-T1", &format!("-{l}")]), s(&["-dc"]))],
        Format::Lzma => {
            vec![("xz", s(&["-c", "--format=lzma", &format!("-{l}")]), s(&["-dc", "--format=lzma"]))]
        }
        // the window compressio uses (the CLI's default is 2^24)
        Format::Brotli => vec![("brotli", s(&["-c", "-q", &l.to_string(), "-w", "22"]), s(&["-dc"]))],
        Format::Bzip2 => vec![("bzip2", s(&["-c", &format!("-{l}")]), s(&["-dc"]))],
        _ => vec![],
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for &n in threads {
        let n = if n == 0 { cores } else { n };
        if n < 2 {
            continue;
        }
        let t = n.to_string();
        match format {
            Format::Gzip => out.push(("pigz", s(&["-c", &format!("-{l}"), "-p", &t]), s(&["-dc"]))),
            Format::Zstd => {
                out.push(("zstd", s(&["-c", "-q", &format!("-T{t}"), &format!("-{l}")]), s(&["-dc", "-q"])))
            }
            Format::Xz => out.push((
                "xz",
                s(&["-c", &format!("-T{t}"), &format!("-{l}")]),
                s(&["-dc", &format!("-T{t}")]),
            )),
            Format::Bzip2 => {
                out.push((
                    "pbzip2",
                    s(&["-c", &format!("-{l}"), &format!("-p{t}")]),
                    s(&["-dc", &format!("-p{t}")]),
                ));
                out.push(("lbzip2", s(&["-c", &format!("-{l}"), "-n", &t]), s(&["-dc", "-n", &t])));
            }
            _ => {}
        }
    }
    out.into_iter().filter(|(p, _, _)| which(p)).collect()
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
        eprintln!("usage: bench [--formats a,b] [--level L] [--reps N] [--threads 1,2,0] [--no-cli] [--per-file] [--svg F] FILE...");
    })?;
    println!(
        "| format | impl | compress MB/s | decompress MB/s | ratio | compress vs backend | decompress vs backend | compress vs CLI | decompress vs CLI |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|");
    let mut points: Vec<Point> = Vec::new();
    let runs: Vec<(Format, Level)> =
        args.formats.iter().flat_map(|&f| args.levels.iter().map(move |&l| (f, l))).collect();
    for (format, level) in runs {
        let lvl = backend_level(format, level);
        let mut impls = vec![ours(format, level, None, false)];
        impls.extend(backend(format, level));
        let backend_index = (impls.len() == 2).then_some(1);
        for &n in &args.threads {
            impls.push(ours(format, level, Some(n), false));
        }
        if format == Format::Brotli {
            // the only codec that sizes its search by the stream's size
            impls.push(ours(format, level, None, true));
        }
        let tools = if args.cli { clis(format, level, &args.threads) } else { Vec::new() };
        let k = impls.len();
        let count = k + tools.len();
        let mut totals = vec![Totals::default(); count];
        for file in &args.files {
            let data = std::fs::read(file)?;
            let mut ctimes = vec![Vec::new(); count];
            let mut dtimes = vec![Vec::new(); count];
            let mut packed_len = vec![0u64; count];
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
                for (j, (program, cargs, dargs)) in tools.iter().enumerate() {
                    // timed writing to /dev/null (a pipe would slow the tool down), then once
                    // more into a pipe for the bytes
                    ctimes[k + j].push(run_cli(program, cargs, file, false).0);
                    let (_, packed) = run_cli(program, cargs, file, true);
                    packed_len[k + j] = packed.len() as u64;
                    let tmp = std::env::temp_dir().join(format!("compressio-bench.{}", format.extension()));
                    std::fs::write(&tmp, &packed)?;
                    dtimes[k + j].push(run_cli(program, dargs, &tmp, false).0);
                    std::fs::remove_file(&tmp)?;
                }
            }
            if args.per_file {
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let labels = impls
                    .iter()
                    .map(|i| i.name.clone())
                    .chain(tools.iter().map(|(p, a, _)| format!("{p} {}", a.join(" "))));
                for (i, label) in labels.enumerate() {
                    let (c, d) = (median(ctimes[i].clone()), median(dtimes[i].clone()));
                    println!(
                        "file {format} {name} | {label} | {:.1} | {:.1} | {:.3}",
                        data.len() as f64 / c / 1e6,
                        data.len() as f64 / d / 1e6,
                        data.len() as f64 / packed_len[i] as f64
                    );
                }
            }
            for i in 0..count {
                totals[i].bytes += data.len() as u64;
                totals[i].packed += packed_len[i];
                totals[i].csecs += median(ctimes[i].clone());
                totals[i].dsecs += median(dtimes[i].clone());
            }
        }
        let mbs = |t: &Totals, secs: f64| t.bytes as f64 / secs / 1e6;
        let versus = |base: Option<&Totals>, t: &Totals| match base {
            Some(b) => (format!("{:.3}×", b.csecs / t.csecs), format!("{:.3}×", b.dsecs / t.dsecs)),
            None => ("–".into(), "–".into()),
        };
        let backend = backend_index.map(|i| &totals[i]);
        let cli = (!tools.is_empty()).then(|| &totals[k]);
        let mut names: Vec<String> = impls.iter().map(|i| i.name.clone()).collect();
        names.extend(tools.iter().map(|(p, a, _)| format!("`{p} {}`", a.join(" "))));
        for (t, name) in totals.iter().zip(names) {
            let (bc, bd) = versus(backend, t);
            let (cc, cd) = versus(cli, t);
            let ratio = t.bytes as f64 / t.packed as f64;
            println!(
                "| {format} {lvl} | {name} | {:.1} | {:.1} | {ratio:.3} | {bc} | {bd} | {cc} | {cd} |",
                mbs(t, t.csecs),
                mbs(t, t.dsecs),
            );
            let kind = if name.starts_with("compressio") {
                Kind::Ours
            } else if name.starts_with('`') {
                Kind::Cli
            } else {
                Kind::Backend
            };
            // more than one thread: threads(n ≥ 2), or a CLI's -T/-p/-n with a count above 1
            let threaded = ["threads(", "-T", "-p", "-n "].iter().any(|flag| {
                name.split(flag).skip(1).any(|rest| {
                    let digits: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<usize>().is_ok_and(|n| n > 1)
                })
            });
            points.push(Point { format, level: lvl, kind, threaded, mbs: mbs(t, t.csecs), ratio });
        }
    }
    if let Some(path) = &args.svg {
        chart(path, &points)?;
        println!("\nchart: {}", path.display());
    }
    Ok(())
}

/// Who made a point.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ours,
    Backend,
    Cli,
}

/// One implementation's result at one format and level, for the chart.
struct Point {
    format: Format,
    level: i32,
    kind: Kind,
    threaded: bool,
    mbs: f64,
    ratio: f64,
}

/// Ratio against compression speed (log scale): a colour per format, a marker per kind
/// (circle: compressio, triangle: the backend crate, cross: the CLI), filled for one thread and
/// hollow for more; compressio's points are labelled with their level.
fn chart(path: &std::path::Path, points: &[Point]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (1400, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_speed = points.iter().map(|p| p.mbs).fold(1.0, f64::max) * 2.0;
    let min_speed = points.iter().map(|p| p.mbs).fold(f64::INFINITY, f64::min).min(max_speed) / 2.0;
    let max_ratio = points.iter().map(|p| p.ratio).fold(1.0, f64::max) * 1.1;
    let min_ratio =
        (points.iter().map(|p| p.ratio).fold(f64::INFINITY, f64::min).min(max_ratio) * 0.9).floor();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "ratio vs compression speed: compressio (●), the backend crates (▲), the CLIs (✕); filled: 1 thread, hollow: 2",
            ("sans-serif", 20),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d((min_speed.max(0.01)..max_speed).log_scale(), min_ratio.max(0.0)..max_ratio)?;
    chart.configure_mesh().x_desc("compress MB/s (log)").y_desc("ratio (in / out)").draw()?;
    let formats: Vec<Format> =
        Format::ALL.iter().copied().filter(|f| points.iter().any(|p| p.format == *f)).collect();
    for (i, &format) in formats.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let style = |threaded: bool| if threaded { color.stroke_width(2) } else { color.filled() };
        let mine: Vec<&Point> = points.iter().filter(|p| p.format == format).collect();
        chart
            .draw_series(
                mine.iter()
                    .filter(|p| p.kind == Kind::Ours)
                    .map(|p| Circle::new((p.mbs, p.ratio), 6, style(p.threaded))),
            )?
            .label(format.to_string())
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, color.filled()));
        chart.draw_series(
            mine.iter()
                .filter(|p| p.kind == Kind::Backend)
                .map(|p| TriangleMarker::new((p.mbs, p.ratio), 7, style(p.threaded))),
        )?;
        chart.draw_series(
            mine.iter()
                .filter(|p| p.kind == Kind::Cli)
                .map(|p| Cross::new((p.mbs, p.ratio), 6, color.stroke_width(2))),
        )?;
        chart.draw_series(mine.iter().filter(|p| p.kind == Kind::Ours && !p.threaded).map(|p| {
            Text::new(format!("{} {}", format, p.level), (p.mbs * 1.06, p.ratio), ("sans-serif", 11))
        }))?;
    }
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
    root.present()?;
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

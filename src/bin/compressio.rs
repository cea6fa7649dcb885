//! `compressio`: compress, decompress, test or list files in any of compressio's formats,
//! behaving like gzip, zstd and xz.
//!
//! Built only with the `cli` feature (`cargo install compressio --features cli`), so that the
//! library itself never depends on clap or indicatif. Run `compressio --help` for the options.
//!
//! Data safety: output goes to a temporary file in the target's directory, which is synced and
//! renamed into place only after the stream finished; the input is removed only after that
//! (and only without `-k`); an existing output is refused without `--force`; compressed data
//! is never written to a terminal; any failure removes the temporary file.
//!
//! Exit status, as gzip: 0 success, 1 error, 2 warning (a file skipped, e.g. it already has the
//! format's suffix).

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};
use compressio::{Config, Decoder, Dictionary, Direction, Encoder, Error, Format, Level, SeekableDecoder};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Compress or decompress files in any of compressio's formats.
///
/// With no FILE, or when FILE is -, read standard input and write standard output.
#[derive(Parser, Debug)]
#[command(name = "compressio", version, about, long_about = None)]
struct Cli {
    /// Decompress (the format is detected from the data; by the name only for formats without a header, raw deflate and brotli)
    #[arg(short = 'd', long = "decompress", visible_alias = "uncompress")]
    decompress: bool,
    /// Test the integrity of compressed files: decompress and discard
    #[arg(short = 't', long = "test")]
    test: bool,
    /// List format, compressed and uncompressed size and ratio of compressed files
    #[arg(long = "list", conflicts_with_all = ["test", "stdout", "output"])]
    list: bool,
    /// Compress a sample of each FILE with every format at a few levels and recommend one
    #[arg(long = "advise", conflicts_with_all = ["decompress", "test", "list", "stdout", "output"])]
    advise: bool,
    /// Write to standard output and keep the input files
    #[arg(short = 'c', long = "stdout", visible_alias = "to-stdout")]
    stdout: bool,
    /// Write the (single) output to PATH
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    output: Option<PathBuf>,
    /// Format (the list is filled in from the library's formats)
    #[arg(short = 'f', long = "format", value_name = "FORMAT")]
    format: Option<Format>,
    /// Level: fastest, fast, default, best, or N on the format's own scale
    #[arg(short = 'l', long = "level", value_name = "LEVEL")]
    level: Option<Level>,
    /// Compress, or decompress what splits (multi-block xz, lz4 independent blocks, bzip2,
    /// zstd frames, gzip members), with THREADS worker threads (0: one per core)
    #[arg(short = 'T', long = "threads", value_name = "THREADS")]
    threads: Option<usize>,
    /// Compress, decompress or test with the dictionary DICT (zstd, zlib, deflate, lz4): a file
    /// `--train` or `zstd --train` wrote, or any raw content
    #[arg(short = 'D', long = "dict", value_name = "DICT")]
    dict: Option<PathBuf>,
    /// Delta compression against OLD, the previous version (zstd, as zstd --patch-from);
    /// decompressing needs the same OLD
    #[arg(long = "patch-from", value_name = "OLD", conflicts_with = "dict")]
    patch_from: Option<PathBuf>,
    /// The reference `--patch-from` names, loaded once
    #[arg(skip)]
    reference: Option<bytes::Bytes>,
    /// Train a zstd dictionary on the FILEs (sample messages, one per file) into -o DICT
    #[arg(long = "train", requires = "output", conflicts_with_all = ["decompress", "test", "list", "advise", "stdout", "dict", "patch_from"])]
    train: bool,
    /// With --train: the dictionary's maximum size in bytes
    #[arg(long = "maxdict", value_name = "BYTES", default_value_t = 112_640, requires = "train")]
    maxdict: usize,
    /// The dictionary `-D` names, loaded once
    #[arg(skip)]
    dictionary: Option<Dictionary>,
    /// Compress into a seekable stream of independent SIZE-byte blocks with an index (zstd
    /// seekable format, BGZF for gzip (SIZE <= 65280), xz blocks); suffixes K, M, G
    #[arg(long = "seekable", value_name = "SIZE", value_parser = parse_size, conflicts_with_all = ["decompress", "test", "list", "advise"])]
    seekable: Option<usize>,
    /// With -d: write only LEN bytes of the content from offset START, read through the
    /// file's index (a seekable stream: see --seekable) without decoding from the start
    #[arg(long = "range", value_name = "START:LEN", value_parser = parse_range, requires = "decompress", conflicts_with_all = ["test", "list"])]
    range: Option<(u64, u64)>,
    /// Keep (don't delete) input files
    #[arg(short = 'k', long = "keep")]
    keep: bool,
    /// Overwrite existing output files
    #[arg(long = "force")]
    force: bool,
    /// Suppress warnings and the progress bar
    #[arg(short = 'q', long = "quiet", action = ArgAction::SetTrue)]
    quiet: bool,
    /// Report each file's sizes, ratio and speed
    #[arg(short = 'v', long = "verbose", action = ArgAction::SetTrue)]
    verbose: bool,
    /// Files to process
    #[arg(value_name = "FILE")]
    files: Vec<String>,
}

/// What happened to one file.
enum Outcome {
    Done,
    /// Skipped with a warning (exit status 2).
    Warning(String),
}

type AnyError = Box<dyn std::error::Error>;

/// A file being written: its temporary name, the open file, and the name it will get.
type Pending = (TempOutput, File, PathBuf);

/// One `--advise` measurement.
struct Row {
    format: Format,
    level: Level,
    ratio: f64,
    compress: f64,
}

/// The command line, with the `--format` help listing every format this build has.
fn parse_cli() -> Cli {
    let names: Vec<String> = Format::ALL
        .iter()
        .filter(|f| f.is_enabled())
        .map(|&f| match f.to_string().as_str() {
            name if f.extension() != name => format!("{name}|{}", f.extension()),
            name => name.to_string(),
        })
        .collect();
    let help = format!("Format: {} (compressing: {DEFAULT_FORMAT} by default)", names.join(", "));
    let matches = Cli::command().mut_arg("format", |arg| arg.help(help)).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// A byte count: digits, optionally followed by K, M or G (KiB, MiB, GiB).
fn parse_size(arg: &str) -> Result<usize, String> {
    let (digits, shift) = match arg.char_indices().last() {
        Some((i, 'k' | 'K')) => (&arg[..i], 10),
        Some((i, 'm' | 'M')) => (&arg[..i], 20),
        Some((i, 'g' | 'G')) => (&arg[..i], 30),
        _ => (arg, 0),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{arg:?} is not a size (digits, then K, M or G)"))
}

/// `START:LEN`, each a size.
fn parse_range(arg: &str) -> Result<(u64, u64), String> {
    let (start, len) = arg.split_once(':').ok_or_else(|| format!("{arg:?} is not START:LEN"))?;
    Ok((parse_size(start)? as u64, parse_size(len)? as u64))
}

/// What compressing writes when no `-f` is given.
const DEFAULT_FORMAT: Format = Format::Zstd;

fn main() -> ExitCode {
    let mut cli = parse_cli();
    if cli.files.is_empty() {
        cli.files.push("-".into());
    }
    if cli.train {
        return match train(&cli) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("compressio: --train: {e}");
                ExitCode::from(1)
            }
        };
    }
    if cli.output.is_some() && cli.files.len() > 1 {
        eprintln!("compressio: -o works with one input only");
        return ExitCode::from(1);
    }
    if let Some(path) = &cli.patch_from {
        match std::fs::read(path) {
            Ok(old) => cli.reference = Some(old.into()),
            Err(e) => {
                eprintln!("compressio: {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
    }
    if let Some(path) = &cli.dict {
        match std::fs::read(path).map_err(Error::from).and_then(Dictionary::from_bytes) {
            Ok(dict) => cli.dictionary = Some(dict),
            Err(e) => {
                eprintln!("compressio: {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
    }
    let mut status = 0u8;
    for file in &cli.files {
        let result = if cli.list {
            list(&cli, file)
        } else if let Some((start, len)) = cli.range {
            range(&cli, file, start, len)
        } else if cli.advise {
            advise(file)
        } else {
            process(&cli, file)
        };
        match result {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Warning(w)) => {
                if !cli.quiet {
                    eprintln!("compressio: {file}: {w}");
                }
                status = status.max(2);
            }
            Err(e) => {
                eprintln!("compressio: {}: {e}", display_name(file));
                status = 1;
            }
        }
    }
    ExitCode::from(status)
}

fn display_name(file: &str) -> &str {
    if file == "-" {
        "(stdin)"
    } else {
        file
    }
}

fn open_input(file: &str) -> io::Result<(Box<dyn Read>, Option<u64>)> {
    if file == "-" {
        return Ok((Box::new(io::stdin().lock()), None));
    }
    let f = File::open(file)?;
    let meta = f.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "is a directory"));
    }
    Ok((Box::new(f), Some(meta.len())))
}

/// The output path for `file`, `None` for standard output (or nowhere, with `-t`).
fn output_path(cli: &Cli, file: &str) -> Result<Option<PathBuf>, Outcome> {
    if let Some(path) = &cli.output {
        return Ok(Some(path.clone()));
    }
    if cli.test || cli.stdout || file == "-" {
        return Ok(None);
    }
    let path = Path::new(file);
    if cli.decompress {
        match Format::from_path(path) {
            Some(_) => Ok(Some(path.with_extension(""))),
            None => Err(Outcome::Warning("unknown suffix -- ignored".into())),
        }
    } else {
        let format = cli.format.unwrap_or(DEFAULT_FORMAT);
        if Format::from_path(path) == Some(format) {
            return Err(Outcome::Warning(format!("already has .{} suffix -- unchanged", format.extension())));
        }
        Ok(Some(PathBuf::from(format!("{file}.{}", format.extension()))))
    }
}

/// A temporary file next to `target`, removed on drop unless kept.
struct TempOutput {
    path: PathBuf,
    kept: bool,
}

impl TempOutput {
    fn create(target: &Path) -> io::Result<(Self, File)> {
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = target.with_file_name(format!(".{name}.{}.compressio-tmp", std::process::id()));
        let file = fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        Ok((TempOutput { path, kept: false }, file))
    }

    /// The data is on disk, then the name points at it, then the directory entry is on disk.
    fn commit(mut self, file: File, target: &Path) -> io::Result<()> {
        file.sync_all()?;
        drop(file);
        fs::rename(&self.path, target)?;
        self.kept = true;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // best effort: not every platform lets a directory be opened and synced
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Counts the bytes that pass through, for the progress bar.
struct Counted<T> {
    inner: T,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A progress bar on stderr when stderr is a terminal (and not `-q`): bytes read, rate,
/// ratio so far, ETA from the input's size. Hidden otherwise.
struct Progress {
    bar: ProgressBar,
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
    ticker: Option<std::thread::JoinHandle<()>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    fn new(cli: &Cli, file: &str, size: Option<u64>, compressing: bool) -> Self {
        let visible = !cli.quiet && io::stderr().is_terminal();
        let bar = match size {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::no_length(),
        };
        bar.set_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let template = if size.is_some() {
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg} ETA {eta}"
        } else {
            "{prefix} {spinner} {bytes} {bytes_per_sec} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(display_name(file).to_string());
        let (read, written) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticker = visible.then(|| {
            let (bar, read, written, stop) = (bar.clone(), read.clone(), written.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (r, w) = (read.load(Ordering::Relaxed), written.load(Ordering::Relaxed));
                    bar.set_position(r);
                    let (raw, packed) = if compressing { (r, w) } else { (w, r) };
                    if packed > 0 {
                        bar.set_message(format!("ratio {:.2}", raw as f64 / packed as f64));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        });
        Progress { bar, read, written, ticker, stop }
    }

    fn done(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }
}

fn config(cli: &Cli) -> Config {
    let mut config = Config::default().level(cli.level.unwrap_or_default());
    if let Some(n) = cli.threads {
        config = config.threads(n);
    }
    if let Some(dict) = &cli.dictionary {
        config = config.dictionary(dict);
    }
    if let Some(bytes) = cli.seekable {
        config = config.seekable(bytes);
    }
    if let Some(old) = &cli.reference {
        // a window over the reference: let the decoder have what it needs (as zstd does
        // with --patch-from), up to 2 GiB
        config = config.reference(old.clone()).max_memory((4 * old.len() as u64).clamp(256 << 20, 2 << 30));
    }
    config
}

/// `--train`: a zstd dictionary from the sample FILEs, written to `-o`.
fn train(cli: &Cli) -> Result<(), AnyError> {
    let samples = cli.files.iter().map(std::fs::read).collect::<io::Result<Vec<_>>>()?;
    let dict = Dictionary::train(&samples, cli.maxdict)?;
    let path = cli.output.as_ref().ok_or("--train needs -o DICT")?;
    std::fs::write(path, dict.as_bytes())?;
    if !cli.quiet {
        eprintln!(
            "compressio: trained dictionary {:#010x} of {} bytes on {} samples: {}",
            dict.id(),
            dict.as_bytes().len(),
            samples.len(),
            path.display()
        );
    }
    Ok(())
}

fn process(cli: &Cli, file: &str) -> Result<Outcome, AnyError> {
    let decompressing = cli.decompress || cli.test;
    let target = match output_path(cli, file) {
        Ok(t) => t,
        Err(warning) => return Ok(warning),
    };
    let to_stdout = target.is_none() && !cli.test;
    if to_stdout && !decompressing && io::stdout().is_terminal() && !cli.force {
        return Err("compressed data not written to a terminal (use --force to force it)".into());
    }
    if let Some(path) = &target {
        if path.exists() && !cli.force {
            return Err(format!("{} already exists (use --force to overwrite)", path.display()).into());
        }
    }
    let (input, size) = open_input(file)?;
    let progress = Progress::new(cli, file, size, !decompressing);
    let input = Counted { inner: input, count: progress.read.clone() };
    let (temp, sink): (Option<Pending>, Box<dyn Write>) = match &target {
        Some(path) => {
            let (temp, f) = TempOutput::create(path)?;
            let handle = f.try_clone()?;
            (
                Some((temp, f, path.clone())),
                Box::new(Counted { inner: handle, count: progress.written.clone() }),
            )
        }
        None if cli.test => (None, Box::new(io::sink())),
        None => (None, Box::new(Counted { inner: io::stdout().lock(), count: progress.written.clone() })),
    };
    let sink = BufWriter::with_capacity(64 * 1024, sink);
    let start = Instant::now();
    let result =
        if decompressing { decompress(cli, file, input, sink) } else { compress(cli, size, input, sink) };
    progress.done();
    let (format, bytes_in, bytes_out) = result?; // on error the temporary file is removed
    if let Some((temp, file, path)) = temp {
        temp.commit(file, &path)?;
    }
    // the input goes only once the output is safely in place
    if target.is_some() && cli.output.is_none() && !cli.keep && !cli.test && file != "-" {
        fs::remove_file(file)?;
    }
    if cli.verbose {
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let (raw, packed) = if decompressing { (bytes_out, bytes_in) } else { (bytes_in, bytes_out) };
        eprintln!(
            "{}: {format}, {packed} compressed / {raw} raw bytes (ratio {:.3}), {:.1} MB/s{}",
            display_name(file),
            raw as f64 / packed.max(1) as f64,
            raw as f64 / secs / 1e6,
            match (&target, cli.test) {
                (_, true) => " -- OK".to_string(),
                (Some(p), _) => format!(" -> {}", p.display()),
                (None, _) => String::new(),
            }
        );
    }
    Ok(Outcome::Done)
}

/// Compress `input` (of `size` bytes, when it is a file) into `sink`.
fn compress(
    cli: &Cli,
    size: Option<u64>,
    mut input: impl Read,
    sink: BufWriter<Box<dyn Write>>,
) -> Result<(Format, u64, u64), AnyError> {
    let format = cli.format.unwrap_or(DEFAULT_FORMAT);
    // a file's size tells the codecs that size their search by it what to expect, as the
    // brotli CLI does
    let config = size.map_or_else(|| config(cli), |size| config(cli).size_hint(size));
    let mut encoder = Encoder::with_config(sink, format, &config)?;
    io::copy(&mut input, &mut encoder)?;
    encoder.try_finish()?;
    let (bytes_in, bytes_out) = (encoder.total_in(), encoder.total_out());
    finish_sink(encoder.finish()?)?;
    Ok((format, bytes_in, bytes_out))
}

/// The decoder for `file`: the format given with `-f`; else one that cannot be detected from
/// the data (raw deflate, brotli) when the file's name says so; else detected from the data.
fn decoder<R: Read>(cli: &Cli, file: &str, input: R) -> Result<Decoder<R>, Error> {
    let config = config(cli);
    let named = Format::from_path(file).filter(|f| file != "-" && !f.is_detectable());
    match cli.format.or(named) {
        Some(format) => Decoder::with_config(input, format, &config),
        None => Decoder::auto_with_config(input, &config),
    }
}

fn decompress(
    cli: &Cli,
    file: &str,
    input: impl Read,
    mut sink: BufWriter<Box<dyn Write>>,
) -> Result<(Format, u64, u64), AnyError> {
    let mut decoder = decoder(cli, file, input)?;
    // io::copy hands back an io::Error; Error::from recovers Corrupt, Truncated, ...
    io::copy(&mut decoder, &mut sink).map_err(Error::from)?;
    finish_sink(sink)?;
    Ok((decoder.format(), decoder.total_in(), decoder.total_out()))
}

fn finish_sink(sink: BufWriter<Box<dyn Write>>) -> io::Result<()> {
    let mut inner = sink.into_inner().map_err(|e| e.into_error())?;
    inner.flush()
}

/// `--list`: format, sizes and ratio. The uncompressed size is found by decoding: gzip's
/// ISIZE is modulo 4 GiB and covers only the last member, zstd and lz4 headers may omit the
/// size or carry several frames, and any header can lie; decoding also checks the data.
fn list(cli: &Cli, file: &str) -> Result<Outcome, AnyError> {
    let (input, _) = open_input(file)?;
    let mut decoder = decoder(cli, file, input)?;
    let raw = io::copy(&mut decoder, &mut io::sink()).map_err(Error::from)?;
    let packed = decoder.total_in();
    // seekable: the index's block count (only files can be opened at random)
    let seekable = match File::open(file).map(SeekableDecoder::new) {
        Ok(Ok(index)) if file != "-" => format!("seekable:{}", index.block_count()),
        _ => "-".into(),
    };
    println!(
        "{:<8} {:>14} {:>14} {:>7.3}  {:<14} {}",
        decoder.format().name(),
        packed,
        raw,
        raw as f64 / packed.max(1) as f64,
        seekable,
        display_name(file)
    );
    Ok(Outcome::Done)
}

/// `-d --range START:LEN`: that range of the content, through the file's index.
fn range(cli: &Cli, file: &str, start: u64, len: u64) -> Result<Outcome, AnyError> {
    if file == "-" {
        return Err("--range needs a file (the index is read from its end)".into());
    }
    let mut reader = SeekableDecoder::with_config(File::open(file)?, &config(cli))?;
    reader.seek(SeekFrom::Start(start))?;
    let mut sink: Box<dyn Write> = match &cli.output {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    io::copy(&mut reader.take(len), &mut sink)?;
    sink.flush()?;
    Ok(Outcome::Done)
}

/// `--advise`: a sample of the file through every format at a few levels.
fn advise(file: &str) -> Result<Outcome, AnyError> {
    let sample = sample(file)?;
    println!("{}: sample of {} bytes", display_name(file), sample.len());
    println!(
        "{:<8} {:<8} {:>7} {:>12} {:>12} {:>11} {:>11}",
        "format", "level", "ratio", "compress", "decompress", "mem comp.", "mem decomp."
    );
    let mut rows: Vec<Row> = Vec::new();
    // one format per backend: zlib and raw deflate are gzip's codec in other wrappers, lzma is
    // xz's in a legacy one, with the same figures
    let mut candidates: Vec<Format> = Vec::new();
    for &format in Format::ALL.iter().filter(|f| f.is_enabled()) {
        if candidates.iter().all(|c| c.cargo_feature() != format.cargo_feature()) {
            candidates.push(format);
        }
    }
    for format in candidates {
        for level in [Level::Fastest, Level::Default, Level::Best] {
            let config = Config::default().level(level);
            let start = Instant::now();
            let packed = compressio::compress_with(&sample, format, &config)?;
            let csecs = start.elapsed().as_secs_f64().max(1e-9);
            let start = Instant::now();
            let back = compressio::decompress_with(&packed, format, &config)?;
            let dsecs = start.elapsed().as_secs_f64().max(1e-9);
            assert_eq!(back.len(), sample.len());
            let ratio = sample.len() as f64 / packed.len().max(1) as f64;
            let (cmbs, dmbs) = (sample.len() as f64 / csecs / 1e6, sample.len() as f64 / dsecs / 1e6);
            let mib = |d| config.memory_estimate(format, d).map_or(0.0, |b| b as f64 / (1 << 20) as f64);
            println!(
                "{:<8} {:<8} {ratio:>7.3} {:>7.1} MB/s {:>7.1} MB/s {:>7.1} MiB {:>7.1} MiB",
                format.name(),
                level_name(level),
                cmbs,
                dmbs,
                mib(Direction::Compress),
                mib(Direction::Decompress)
            );
            rows.push(Row { format, level, ratio, compress: cmbs });
        }
    }
    let pick = |score: &dyn Fn(&Row) -> f64| {
        rows.iter()
            .max_by(|a, b| {
                // ties (e.g. two levels with the same ratio) go to the faster one
                score(a).total_cmp(&score(b)).then(a.compress.total_cmp(&b.compress))
            })
            .map(|r| format!("{} -l {}", r.format, level_name(r.level)))
    };
    let fastest_speed = rows.iter().map(|r| r.compress).fold(0.0, f64::max);
    println!();
    println!("fastest:  {}", pick(&|r| r.compress).unwrap_or_default());
    // the best ratio among what still compresses at a quarter of the fastest speed or more
    println!(
        "balanced: {}",
        pick(&|r| if r.compress >= fastest_speed / 4.0 { r.ratio } else { 0.0 }).unwrap_or_default()
    );
    println!("smallest: {}", pick(&|r| r.ratio).unwrap_or_default());
    Ok(Outcome::Done)
}

fn level_name(level: Level) -> String {
    match level {
        Level::Fastest => "fastest".into(),
        Level::Fast => "fast".into(),
        Level::Default => "default".into(),
        Level::Best => "best".into(),
        Level::Exact(n) => n.to_string(),
        _ => "?".into(),
    }
}

/// Up to 2 MiB of the file: all of it if smaller, else 16 slices of 128 KiB spread evenly
/// (reading only those), so that a 1 GiB file is advised on in a few seconds. Codecs with
/// large windows (xz, zstd at high levels) find less to match in a sample than in the whole
/// file, so their ratios are understated a little.
fn sample(file: &str) -> io::Result<Vec<u8>> {
    const SLICES: u64 = 16;
    const SLICE: u64 = 128 * 1024;
    let (mut input, size) = open_input(file)?;
    match size {
        Some(size) if size > SLICES * SLICE => {
            use std::io::{Seek, SeekFrom};
            let mut f = File::open(file)?;
            let mut out = Vec::with_capacity((SLICES * SLICE) as usize);
            for i in 0..SLICES {
                f.seek(SeekFrom::Start(i * (size - SLICE) / (SLICES - 1)))?;
                (&mut f).take(SLICE).read_to_end(&mut out)?;
            }
            Ok(out)
        }
        _ => {
            let mut out = Vec::new();
            input.by_ref().take(SLICES * SLICE).read_to_end(&mut out)?;
            Ok(out)
        }
    }
}

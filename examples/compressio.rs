//! `compressio`: compress, decompress or test files (or stdin to stdout) in any format.
//!
//! ```text
//! cargo run --release --example compressio -- [OPTIONS] [FILE...]
//!
//!   FILE            compress FILE to FILE.<ext> (FILE itself is kept); `-` or none: stdin -> stdout
//!   -d              decompress (the format is detected from the data unless -f is given);
//!                   FILE.<ext> is written to FILE, anything else to FILE.out
//!   -t              test: decompress and discard, report the result
//!   -f FORMAT       gzip|zlib|deflate|zstd|lz4|xz|lzma (default zstd when compressing)
//!   -l LEVEL        fastest|fast|default|best|N (N on the backend's own scale)
//!   -c              write to stdout
//!   -o PATH         write to PATH
//!   --force         overwrite an existing output file
//!   -q              no summary on stderr
//! ```
//!
//! Output goes to a temporary file next to the target, renamed into place only after the
//! stream was finished and synced: an error never leaves a partial output behind.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use compressio::{Config, Decoder, Encoder, Format, Level};

#[derive(Default)]
struct Options {
    decompress: bool,
    test: bool,
    format: Option<Format>,
    level: Option<Level>,
    stdout: bool,
    output: Option<PathBuf>,
    force: bool,
    quiet: bool,
    files: Vec<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-d" | "--decompress" => o.decompress = true,
            "-t" | "--test" => o.test = true,
            "-f" | "--format" => o.format = Some(value("-f")?.parse().map_err(|e| format!("{e}"))?),
            "-l" | "--level" => o.level = Some(value("-l")?.parse().map_err(|e| format!("{e}"))?),
            "-c" | "--stdout" => o.stdout = true,
            "-o" | "--output" => o.output = Some(PathBuf::from(value("-o")?)),
            "--force" => o.force = true,
            "-q" | "--quiet" => o.quiet = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') && s != "-" => return Err(format!("unknown option {s}")),
            _ => o.files.push(arg),
        }
    }
    if o.files.is_empty() {
        o.files.push("-".into());
    }
    if o.output.is_some() && o.files.len() > 1 {
        return Err("-o works with one input only".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("compressio: {e}");
            }
            eprintln!(
                "usage: compressio [-d|-t] [-f FORMAT] [-l LEVEL] [-c|-o PATH] [--force] [-q] [FILE...]"
            );
            return ExitCode::from(1);
        }
    };
    let mut status = ExitCode::SUCCESS;
    for file in &options.files {
        if let Err(e) = run(&options, file) {
            eprintln!("compressio: {file}: {e}");
            status = ExitCode::from(1);
        }
    }
    status
}

/// Where the output of `file` goes: `None` = stdout (or nowhere, for -t).
fn output_path(o: &Options, file: &str, format: Option<Format>) -> Option<PathBuf> {
    if o.test || o.stdout || file == "-" {
        return o.output.clone();
    }
    if let Some(path) = &o.output {
        return Some(path.clone());
    }
    if o.decompress {
        let path = Path::new(file);
        let known = Format::from_path(path).is_some();
        Some(if known { path.with_extension("") } else { PathBuf::from(format!("{file}.out")) })
    } else {
        Some(PathBuf::from(format!("{file}.{}", format.unwrap_or(Format::Zstd).extension())))
    }
}

fn run(o: &Options, file: &str) -> Result<(), Box<dyn std::error::Error>> {
    let input: Box<dyn Read> =
        if file == "-" { Box::new(io::stdin().lock()) } else { Box::new(File::open(file)?) };
    let target = output_path(o, file, o.format);
    if let Some(path) = &target {
        if path.exists() && !o.force {
            return Err(format!("{} already exists (use --force to overwrite)", path.display()).into());
        }
    }
    // write into a temporary file beside the target; rename only once everything succeeded
    let temp = target.as_ref().map(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        p.with_file_name(format!(".{name}.compressio-tmp"))
    });
    let sink: Box<dyn Write> = match (&temp, o.test) {
        (Some(t), _) => Box::new(File::create(t)?),
        (None, true) => Box::new(io::sink()),
        (None, false) => Box::new(io::stdout().lock()),
    };
    let sink = BufWriter::with_capacity(64 * 1024, sink);

    let start = Instant::now();
    let result = if o.decompress || o.test { decompress(o, input, sink) } else { compress(o, input, sink) };
    let (format, bytes_in, bytes_out) = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(t) = &temp {
                let _ = fs::remove_file(t);
            }
            return Err(e);
        }
    };
    if let (Some(t), Some(p)) = (&temp, &target) {
        File::open(t)?.sync_all()?; // the data is on disk before the name points at it
        fs::rename(t, p)?;
    }
    if !o.quiet {
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let (raw, packed) =
            if o.decompress || o.test { (bytes_out, bytes_in) } else { (bytes_in, bytes_out) };
        eprintln!(
            "{file}: {format}, {packed} compressed / {raw} raw bytes (ratio {:.3}), {:.1} MB/s{}",
            raw as f64 / packed.max(1) as f64,
            raw as f64 / secs / 1e6,
            match (&target, o.test) {
                (_, true) => " -- OK".to_string(),
                (Some(p), _) => format!(" -> {}", p.display()),
                (None, _) => String::new(),
            }
        );
    }
    Ok(())
}

fn compress(
    o: &Options,
    mut input: Box<dyn Read>,
    sink: BufWriter<Box<dyn Write>>,
) -> Result<(Format, u64, u64), Box<dyn std::error::Error>> {
    let format = o.format.unwrap_or(Format::Zstd);
    let config = Config::default().level(o.level.unwrap_or_default());
    let mut encoder = Encoder::with_config(sink, format, &config)?;
    io::copy(&mut input, &mut encoder)?;
    encoder.try_finish()?;
    let (bytes_in, bytes_out) = (encoder.total_in(), encoder.total_out());
    let sink = encoder.finish()?;
    finish_sink(sink)?;
    Ok((format, bytes_in, bytes_out))
}

fn decompress(
    o: &Options,
    input: Box<dyn Read>,
    mut sink: BufWriter<Box<dyn Write>>,
) -> Result<(Format, u64, u64), Box<dyn std::error::Error>> {
    let mut decoder = match o.format {
        Some(format) => Decoder::new(input, format)?,
        None => Decoder::auto(input)?,
    };
    // io::copy hands back an io::Error; compressio::Error::from recovers Corrupt, Truncated...
    io::copy(&mut decoder, &mut sink).map_err(compressio::Error::from)?;
    finish_sink(sink)?;
    Ok((decoder.format(), decoder.total_in(), decoder.total_out()))
}

fn finish_sink(sink: BufWriter<Box<dyn Write>>) -> io::Result<()> {
    let mut inner = sink.into_inner().map_err(|e| e.into_error())?;
    inner.flush()
}

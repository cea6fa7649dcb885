//! Helpers shared by the integration tests: deterministic data, faulty readers and writers,
//! chunked I/O, and discovery of the reference command-line tools.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::process::{Command, Stdio};

use compressio::{Config, Decoder, Encoder, Error, Format};

pub mod adapters;
pub mod asyncio;

/// A small deterministic PRNG (xorshift64*): test data must not depend on a crate's version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Incompressible bytes.
pub fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    Rng::new(seed).fill(&mut v);
    v
}

/// Compressible, text-like bytes (words from a small vocabulary, numbers, newlines).
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "stream",
        "buffer",
        "decoder",
        "encoder",
        "the",
        "of",
        "and",
        "memory",
        "bounded",
        "frame",
        "member",
        "checksum",
        "window",
        "block",
        "a",
        "to",
        "compress",
        "data",
        "error",
        "truncated",
    ];
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        match rng.below(12) {
            0 => out.extend_from_slice(format!("{} ", rng.below(100_000)).as_bytes()),
            1 => out.push(b'\n'),
            _ => {
                out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
                out.push(b' ');
            }
        }
    }
    out.truncate(len);
    out
}

/// The input shapes every round trip covers.
pub fn shapes() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("empty", Vec::new()),
        ("one byte", vec![42]),
        ("text 100k", text(100_000, 1)),
        ("random 100k", random(100_000, 2)),
        ("mixed 300k", [text(150_000, 3), random(50_000, 4), vec![0u8; 100_000]].concat()),
    ]
}

/// The formats this build can use.
pub fn formats() -> impl Iterator<Item = Format> {
    Format::ALL.iter().copied().filter(|f| f.is_enabled())
}

/// Formats that auto-detection can recognise (not raw deflate or brotli: no header).
pub fn detectable() -> impl Iterator<Item = Format> {
    formats().filter(|f| f.is_detectable())
}

/// Formats that check their data (CRC, xxhash, Adler-32): raw deflate, lzma and brotli do not,
/// so a corrupt stream of theirs can decode to wrong data without an error.
pub fn checksummed(format: Format) -> bool {
    !matches!(format, Format::Deflate | Format::Lzma | Format::Brotli)
}

/// Formats whose files may hold several members (multi-member gzip, concatenated frames,
/// several xz or bzip2 streams); the others are single-stream.
pub fn concatenable(format: Format) -> bool {
    matches!(format, Format::Gzip | Format::Zstd | Format::Lz4 | Format::Xz | Format::Bzip2)
}

/// Compress with an `Encoder` over a `Vec`, writing `data` in chunks of the given sizes
/// (cycled).
pub fn compress_chunked(data: &[u8], format: Format, config: &Config, chunks: &[usize]) -> Vec<u8> {
    let mut enc = Encoder::with_config(Vec::new(), format, config).unwrap();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % chunks.len()].clamp(1, rest.len());
        enc.write_all(&rest[..n]).unwrap();
        rest = &rest[n..];
        i += 1;
    }
    enc.finish().unwrap()
}

/// Decompress with a `Decoder`, reading into buffers of the given sizes (cycled).
pub fn decompress_chunked(
    data: &[u8],
    format: Format,
    config: &Config,
    chunks: &[usize],
) -> Result<Vec<u8>, Error> {
    let mut dec = Decoder::with_config(data, format, config)?;
    read_chunked(&mut dec, chunks).map_err(Error::from)
}

pub fn read_chunked<R: Read>(r: &mut R, chunks: &[usize]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunks.iter().copied().max().unwrap_or(1).max(1)];
    let mut i = 0;
    loop {
        let n = chunks[i % chunks.len()].max(1);
        i += 1;
        match r.read(&mut buf[..n]) {
            Ok(0) => return Ok(out),
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// What a faulty reader or writer does on its next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Behave normally, moving at most this many bytes.
    Ok(usize),
    Interrupted,
    WouldBlock,
    /// Fail with a permanent-looking error (kind `Other`).
    Fail,
}

/// Cycles through a fault script forever.
pub struct Script {
    faults: Vec<Fault>,
    next: usize,
}

impl Script {
    pub fn new(faults: &[Fault]) -> Self {
        Script { faults: faults.to_vec(), next: 0 }
    }

    pub fn step(&mut self) -> Fault {
        let f = self.faults[self.next % self.faults.len()];
        self.next += 1;
        f
    }
}

pub fn fault_error(f: Fault) -> io::Error {
    match f {
        Fault::Interrupted => io::ErrorKind::Interrupted.into(),
        Fault::WouldBlock => io::ErrorKind::WouldBlock.into(),
        _ => io::Error::other("injected failure"),
    }
}

/// A writer into a `Vec` that follows a fault script on every call (on `flush` too, with
/// `faulty_flush`).
pub struct FaultyWriter {
    pub data: Vec<u8>,
    script: Script,
    pub flushes: usize,
    faulty_flush: bool,
}

impl FaultyWriter {
    pub fn new(faults: &[Fault]) -> Self {
        FaultyWriter { data: Vec::new(), script: Script::new(faults), flushes: 0, faulty_flush: false }
    }

    /// The same, with `flush` calls taking their turn in the script.
    pub fn with_faulty_flush(faults: &[Fault]) -> Self {
        FaultyWriter { faulty_flush: true, ..Self::new(faults) }
    }
}

impl Write for FaultyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.script.step() {
            Fault::Ok(n) => {
                let n = n.min(buf.len());
                self.data.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            f => Err(fault_error(f)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.faulty_flush {
            match self.script.step() {
                Fault::Ok(_) => {}
                f => return Err(fault_error(f)),
            }
        }
        self.flushes += 1;
        Ok(())
    }
}

/// A reader over bytes that follows a fault script on every call.
pub struct FaultyReader<'a> {
    data: &'a [u8],
    script: Script,
}

impl<'a> FaultyReader<'a> {
    pub fn new(data: &'a [u8], faults: &[Fault]) -> Self {
        FaultyReader { data, script: Script::new(faults) }
    }
}

impl Read for FaultyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.script.step() {
            Fault::Ok(n) => {
                let n = n.min(buf.len()).min(self.data.len());
                buf[..n].copy_from_slice(&self.data[..n]);
                self.data = &self.data[n..];
                Ok(n)
            }
            f => Err(fault_error(f)),
        }
    }
}

/// A pipe: bytes written at one end become readable at the other; reading an empty pipe
/// gives `WouldBlock` (the writer has not sent more yet), or end of file once the other end
/// has been dropped.
#[derive(Default)]
pub struct Pipe {
    queue: std::rc::Rc<std::cell::RefCell<VecDeque<u8>>>,
}

impl Pipe {
    pub fn new() -> (Pipe, Pipe) {
        let p = Pipe::default();
        let q = Pipe { queue: p.queue.clone() };
        (p, q)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.queue.borrow_mut().extend(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut q = self.queue.borrow_mut();
        if q.is_empty() {
            if std::rc::Rc::strong_count(&self.queue) == 1 {
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(q.len());
        for (dst, src) in buf.iter_mut().zip(q.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

/// Whether reference tools must be present (CI sets `COMPRESSIO_REQUIRE_TOOLS=1`); on a
/// developer machine without them the tool-driven checks are skipped with a note.
pub fn tools_required() -> bool {
    std::env::var_os("COMPRESSIO_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// Whether `program` can be run (`program --version` or `-V` succeeds).
pub fn have_tool(program: &str) -> bool {
    let found = ["--version", "-V"].iter().any(|flag| {
        Command::new(program)
            .arg(flag)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !found {
        assert!(!tools_required(), "{program} is required (COMPRESSIO_REQUIRE_TOOLS=1) but not installed");
        eprintln!("note: {program} not installed; skipping the checks that run it");
    }
    found
}

/// Run `program args` with `input` on stdin; returns stdout, panicking with stderr on failure.
pub fn run_tool(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let (ok, out, err) = try_tool(program, args, input);
    assert!(ok, "{program} {args:?} failed: {}", String::from_utf8_lossy(&err));
    out
}

/// Run `program args` with `input` on stdin; (success, stdout, stderr).
pub fn try_tool(program: &str, args: &[&str], input: &[u8]) -> (bool, Vec<u8>, Vec<u8>) {
    let out = run_with_stdin(program, args, input);
    (out.status.success(), out.stdout, out.stderr)
}

/// Run `program args` with `input` fed to its stdin from another thread (so that a large
/// output cannot deadlock against a large input); its whole `Output`.
pub fn run_with_stdin(program: &str, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// A reader producing `len` bytes of log-like text on the fly, never holding more than one
/// line: runs of 256 consecutive lines from a fixed table of 4096, each run starting at a
/// random line and followed by a counter line. Long repeats let every codec (xz included,
/// ~8 MB/s at preset 6) run near its top speed, so gigabyte streams stay affordable in tests.
/// The same seed gives the same bytes, so a second instance can check a decoder's output
/// without storing it.
pub struct Lines {
    left: u64,
    rng: Rng,
    table: Vec<Vec<u8>>,
    line: Vec<u8>,
    pos: usize,
    run_start: usize,
    run_pos: usize,
    counter: u64,
}

const RUN: usize = 256;

impl Lines {
    pub fn new(len: u64, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let table = (0..4096)
            .map(|_| {
                let n = 20 + rng.below(100);
                let mut l = text(n, rng.next_u64());
                l.push(b'\n');
                l
            })
            .collect();
        Lines {
            left: len,
            rng,
            table,
            line: Vec::with_capacity(256),
            pos: 0,
            run_start: 0,
            run_pos: RUN,
            counter: 0,
        }
    }

    fn next_line(&mut self) {
        self.line.clear();
        if self.run_pos == RUN {
            self.counter += 1;
            self.run_start = self.rng.below(self.table.len());
            self.run_pos = 0;
            // formatting into the line's reserved capacity: no allocation
            let _ = writeln!(self.line, "# run {}", self.counter);
        } else {
            let i = (self.run_start + self.run_pos) % self.table.len();
            self.line.extend_from_slice(&self.table[i]);
            self.run_pos += 1;
        }
        self.pos = 0;
    }
}

impl Read for Lines {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            if self.pos == self.line.len() {
                self.next_line();
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

/// A field of `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:`), 0 where unavailable.
pub fn vm_kib(field: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// In a child started by `run_child`: the case it was asked to run.
pub fn child_case() -> Option<String> {
    std::env::var("COMPRESSIO_CHILD_CASE").ok()
}

/// Run the test function `test` of this test binary in a child process with `case` (see
/// `child_case`), and return what it printed after `RESULT ` on stdout. A child process has a
/// peak RSS (`VmHWM`) of its own, which is how C allocations are measured.
pub fn run_child(test: &str, case: &str) -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("COMPRESSIO_CHILD_CASE", case)
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().find_map(|l| l.split_once("RESULT ")) {
        Some((_, v)) => v.to_string(),
        None => panic!("child {test} {case}: no result\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// A JSON-ish log message of exactly `len` bytes: shared keys, varying values.
pub fn json_message(i: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut n = i.wrapping_add(1);
    while out.len() < len {
        n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.extend_from_slice(
            format!(
                r#"{{"ts":{},"level":"{}","service":"checkout","path":"/api/v2/orders/{}","status":{},"user":"u{}","ms":{}}}"#,
                1_700_000_000 + (n >> 40) % 100_000,
                ["info", "warn", "error", "debug"][(n >> 20) as usize % 4],
                (n >> 30) % 100_000,
                [200, 201, 404, 500][(n >> 10) as usize % 4],
                (n >> 50) % 5000,
                (n >> 5) % 900
            )
            .as_bytes(),
        );
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

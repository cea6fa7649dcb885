//! The `compressio` binary end to end (built with the `cli` feature): round trips through
//! files and pipes, `-t`, `--list`, `--advise`, refusal to overwrite, no partial output after
//! a failure, exit codes, and the progress bar under a pseudo-terminal (util-linux `script`)
//! but not in a pipe.

#![cfg(feature = "cli")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;
use compressio::Format;

const BIN: &str = env!("CARGO_BIN_EXE_compressio");

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("compressio-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// Every entry's name, sorted (to see leftovers such as temporary files).
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_with_stdin(BIN, args, stdin)
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn files_round_trip_in_every_format_and_the_input_goes_only_after_success() {
    let dir = TempDir::new("files");
    let data = text(300_000, 1);
    for format in Format::ALL.iter().filter(|f| f.is_enabled()) {
        let input = dir.path("data.txt");
        fs::write(&input, &data).unwrap();
        let out = run(&["-f", format.name(), s(&input)], b"");
        assert_eq!(code(&out), 0, "{format}: {}", stderr(&out));
        let packed = dir.path(&format!("data.txt.{}", format.extension()));
        assert!(packed.exists() && !input.exists(), "{format}: {:?}", dir.entries());
        // decompress: the format comes from the data, or for formats without a header (raw
        // deflate, brotli) from the name
        let out = run(&["-d", s(&packed)], b"");
        assert_eq!(code(&out), 0, "{format}: {}", stderr(&out));
        assert_eq!(fs::read(&input).unwrap(), data, "{format}");
        assert!(!packed.exists());
        assert_eq!(dir.entries(), ["data.txt"], "{format}: leftovers");
        fs::remove_file(&input).unwrap();
    }
    // -k keeps the input; -T compresses with threads and writes the same as one thread
    let input = dir.path("keep.txt");
    fs::write(&input, &data).unwrap();
    assert_eq!(code(&run(&["-k", "-f", "gzip", "-T", "2", s(&input)], b"")), 0);
    assert!(input.exists() && dir.path("keep.txt.gz").exists());
    assert_eq!(run(&["-d", "-c", s(&dir.path("keep.txt.gz"))], b"").stdout, data);
}

#[test]
fn stdin_to_stdout_is_a_filter() {
    let data = text(200_000, 2);
    for format in ["gzip", "zstd", "lz4", "xz"] {
        let packed = run(&["-f", format, "-l", "fast"], &data);
        assert_eq!(code(&packed), 0, "{}", stderr(&packed));
        assert_eq!(Format::detect(&packed.stdout).unwrap().name(), format);
        let back = run(&["-d"], &packed.stdout);
        assert_eq!(code(&back), 0);
        assert_eq!(back.stdout, data, "{format}");
        // `-` is stdin too
        let back = run(&["-d", "-c", "-"], &packed.stdout);
        assert_eq!(back.stdout, data, "{format}");
    }
}

#[test]
fn test_mode_reports_corrupt_files_by_name_and_writes_nothing() {
    let dir = TempDir::new("test");
    let good = dir.path("good.gz");
    let packed = compressio::compress(&text(100_000, 3), Format::Gzip).unwrap();
    fs::write(&good, &packed).unwrap();
    let mut bad = packed.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    let corrupt = dir.path("bad.gz");
    fs::write(&corrupt, &bad).unwrap();
    let truncated = dir.path("short.gz");
    fs::write(&truncated, &packed[..packed.len() - 10]).unwrap();

    let out = run(&["-t", s(&good)], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&["-t", s(&good), s(&corrupt), s(&truncated)], b"");
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("bad.gz") && err.contains("corrupt"), "{err}");
    assert!(err.contains("short.gz") && err.contains("truncated"), "{err}");
    assert!(!err.contains("good.gz"), "{err}");
    assert_eq!(dir.entries(), ["bad.gz", "good.gz", "short.gz"], "-t writes nothing, removes nothing");
}

#[test]
fn refuses_to_overwrite_without_force() {
    let dir = TempDir::new("overwrite");
    let input = dir.path("a.txt");
    let target = dir.path("a.txt.zst");
    fs::write(&input, b"new content").unwrap();
    fs::write(&target, b"precious").unwrap();
    let out = run(&[s(&input)], b"");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(fs::read(&target).unwrap(), b"precious");
    assert!(input.exists());
    let out = run(&["--force", s(&input)], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(compressio::decompress(&fs::read(&target).unwrap(), Format::Zstd).unwrap(), b"new content");
    assert!(!input.exists());
}

#[test]
fn a_failure_leaves_no_partial_output_and_keeps_the_input() {
    let dir = TempDir::new("failure");
    let data = text(2_000_000, 4);
    let packed = compressio::compress(&data, Format::Xz).unwrap();
    // truncated in the middle: the decoder has written ~1 MB when it fails
    let input = dir.path("cut.xz");
    fs::write(&input, &packed[..packed.len() / 2]).unwrap();
    let out = run(&["-d", s(&input)], b"");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("cut.xz"), "{}", stderr(&out));
    assert_eq!(dir.entries(), ["cut.xz"], "no cut, no temporary file");

    // a full disk: stdout on /dev/full
    if Path::new("/dev/full").exists() {
        let src = dir.path("src.txt");
        fs::write(&src, &data).unwrap();
        let out = Command::new(BIN)
            .args(["-c", s(&src)])
            .stdout(fs::OpenOptions::new().write(true).open("/dev/full").unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(code(&out), 1);
        assert!(stderr(&out).contains("No space left"), "{}", stderr(&out));
        assert!(src.exists());
    }

    // a full file system (a 256 KiB tmpfs, where mounting is allowed: root in CI)
    let mnt = dir.path("small");
    fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs", s(&mnt)])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|st| st.success());
    if mounted {
        let src = mnt.join("big.bin");
        // fits, but its compressed copy beside it does not
        fs::write(&src, random(200_000, 5)).unwrap();
        let out = run(&["-f", "lz4", s(&src)], b"");
        let leftovers: Vec<_> = fs::read_dir(&mnt).unwrap().flatten().map(|e| e.file_name()).collect();
        let _ = Command::new("umount").arg(s(&mnt)).status();
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains("No space left"), "{}", stderr(&out));
        assert_eq!(leftovers, ["big.bin"], "only the input remains");
    } else {
        eprintln!("note: cannot mount a tmpfs here (not root?): the full-file-system case is skipped");
    }
}

#[test]
fn warnings_exit_2_and_leave_files_alone() {
    let dir = TempDir::new("warnings");
    let already = dir.path("x.zst");
    fs::write(&already, compressio::compress(b"hi", Format::Zstd).unwrap()).unwrap();
    let out = run(&[s(&already)], b"");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("already has .zst suffix"));
    let unknown = dir.path("x.bin");
    fs::write(&unknown, b"whatever").unwrap();
    let out = run(&["-d", s(&unknown)], b"");
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("unknown suffix"));
    assert_eq!(dir.entries(), ["x.bin", "x.zst"]);
    // -q silences warnings, not the status
    let out = run(&["-q", s(&already)], b"");
    assert_eq!((code(&out), out.stderr.is_empty()), (2, true));
    // errors win over warnings; a missing file is an error naming it
    let out = run(&[s(&already), s(&dir.path("missing.txt"))], b"");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("missing.txt"));
}

#[test]
fn list_prints_format_sizes_and_ratio() {
    let dir = TempDir::new("list");
    let data = text(500_000, 6);
    let mut files = Vec::new();
    // every format: the detectable ones from their data, raw deflate and brotli by the name
    let formats: Vec<Format> = Format::ALL.iter().copied().filter(|f| f.is_enabled()).collect();
    for &format in &formats {
        let path = dir.path(&format!("f.{}", format.extension()));
        fs::write(&path, compressio::compress(&data, format).unwrap()).unwrap();
        files.push(path);
    }
    let args: Vec<&str> = std::iter::once("--list").chain(files.iter().map(|p| s(p))).collect();
    let out = run(&args, b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listing = String::from_utf8(out.stdout).unwrap();
    for (line, &format) in listing.lines().zip(&formats) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[0], format.name(), "{line}");
        assert_eq!(fields[2], data.len().to_string(), "{line}");
        let packed: u64 = fields[1].parse().unwrap();
        assert_eq!(fields[4], "-", "not seekable: {line}");
        assert_eq!(packed, fs::metadata(fields[5]).unwrap().len(), "{line}");
    }
    assert_eq!(listing.lines().count(), formats.len());
}

#[test]
fn seekable_files_list_their_blocks_and_print_any_range() {
    let dir = TempDir::new("seekable");
    let data = text(1_000_000, 12);
    let input = dir.path("log.txt");
    fs::write(&input, &data).unwrap();
    for (format, size, blocks) in [("zstd", "64K", 16), ("gzip", "65280", 17), ("xz", "256k", 4)] {
        if !format.parse::<Format>().unwrap().is_enabled() {
            continue;
        }
        let packed = dir.path(&format!("log.{format}"));
        let out = run(&["-k", "-f", format, "--seekable", size, "-o", s(&packed), s(&input)], b"");
        assert_eq!(code(&out), 0, "{format}: {}", stderr(&out));
        let out = run(&["--list", s(&packed)], b"");
        let listing = String::from_utf8(out.stdout).unwrap();
        // (BGZF's end-of-file marker is a block of its own)
        assert_eq!(
            listing.split_whitespace().nth(4),
            Some(format!("seekable:{blocks}").as_str()),
            "{listing}"
        );
        let out = run(&["-d", "--range", "777777:1000", s(&packed)], b"");
        assert_eq!(code(&out), 0, "{format}: {}", stderr(&out));
        assert!(out.stdout == data[777_777..778_777], "{format}: the range");
        // a range past the end is cut at the end
        let out = run(&["-d", "--range", "999990:100", s(&packed)], b"");
        assert!(out.stdout == data[999_990..], "{format}: the tail");
    }
    // no layout for lz4; no index in a plain stream
    let out = run(&["-k", "-f", "lz4", "--seekable", "64K", "-c", s(&input)], b"");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("seekable"), "{}", stderr(&out));
    let plain = dir.path("plain.zst");
    fs::write(&plain, compressio::compress(&data, Format::Zstd).unwrap()).unwrap();
    let out = run(&["-d", "--range", "0:10", s(&plain)], b"");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("no index"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn advise_recommends_a_format_for_each_goal() {
    let dir = TempDir::new("advise");
    let path = dir.path("sample.txt");
    fs::write(&path, text(300_000, 7)).unwrap();
    let out = run(&["--advise", s(&path)], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report = String::from_utf8(out.stdout).unwrap();
    for goal in ["fastest:", "balanced:", "smallest:"] {
        let line = report.lines().find(|l| l.starts_with(goal)).unwrap_or_else(|| panic!("{report}"));
        let pick = line[goal.len()..].trim();
        assert!(pick.contains(" -l "), "{line}");
    }
    assert!(report.contains("lz4") && report.contains("xz") && report.contains("MiB"), "{report}");
    // one format per backend: every backend this build has, and no wrapper of one twice
    for format in Format::ALL.iter().filter(|f| f.is_enabled()) {
        let rows = report.lines().filter(|l| l.split_whitespace().next() == Some(format.name())).count();
        let expected = match format {
            Format::Zlib | Format::Deflate | Format::Lzma => 0,
            _ => 3,
        };
        assert_eq!(rows, expected, "{format}: {report}");
    }
}

#[test]
fn brotli_and_bzip2_by_their_short_names_with_test_and_keep() {
    let dir = TempDir::new("br-bz2");
    let data = text(200_000, 9);
    for (short, format) in [("br", Format::Brotli), ("bz2", Format::Bzip2)] {
        if !format.is_enabled() {
            continue;
        }
        let input = dir.path("data.txt");
        fs::write(&input, &data).unwrap();
        let out = run(&["-k", "-f", short, "-l", "best", s(&input)], b"");
        assert_eq!(code(&out), 0, "{format}: {}", stderr(&out));
        let packed = dir.path(&format!("data.txt.{short}"));
        assert_eq!(compressio::decompress(&fs::read(&packed).unwrap(), format).unwrap(), data);
        let out = run(&["-t", s(&packed)], b"");
        assert_eq!(code(&out), 0, "{format}: {}", stderr(&out));
        let bytes = fs::read(&packed).unwrap();
        let short_file = dir.path(&format!("short.{short}"));
        fs::write(&short_file, &bytes[..bytes.len() - 3]).unwrap();
        let out = run(&["-t", s(&short_file)], b"");
        assert_eq!(code(&out), 1, "{format}");
        assert!(stderr(&out).contains("truncated"), "{format}: {}", stderr(&out));
        // stdin has no name: brotli needs -f there, bzip2 is detected
        let out = run(&["-d", "-c", "-f", short], &bytes);
        assert_eq!(out.stdout, data, "{format}");
        fs::remove_file(&short_file).unwrap();
        fs::remove_file(&packed).unwrap();
        fs::remove_file(&input).unwrap();
    }
}

/// Run `args` under a pseudo-terminal (util-linux `script`); returns everything the terminal
/// showed, or `None` without `script`.
fn under_pty(args: &[&str], dir: &TempDir) -> Option<(i32, String)> {
    if !have_tool("script") {
        return None;
    }
    let command = std::iter::once(BIN).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
    let log = dir.path("pty.log");
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &command, s(&log)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let shown = String::from_utf8_lossy(&fs::read(&log).unwrap_or_default()).into_owned();
    Some((out.code().unwrap_or(-1), shown))
}

#[test]
fn progress_bar_on_a_terminal_not_in_a_pipe() {
    let dir = TempDir::new("progress");
    let input = dir.path("big.txt");
    // large enough to take a few hundred milliseconds at xz's slowest level
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut Lines::new(24 << 20, 8), &mut data).unwrap();
    fs::write(&input, &data).unwrap();
    let Some((status, shown)) = under_pty(&["-k", "-f", "xz", "-l", "best", s(&input)], &dir) else {
        return;
    };
    assert_eq!(status, 0, "{shown}");
    assert!(shown.contains("big.txt") && shown.contains("/s") && shown.contains("ratio"), "{shown:?}");
    assert!(dir.path("big.txt.xz").exists());
    fs::remove_file(dir.path("big.txt.xz")).unwrap();
    // in a pipe: nothing on stderr
    let out = run(&["-k", "-f", "xz", "-l", "best", s(&input)], b"");
    assert_eq!(code(&out), 0);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    // and compressed data is not sent to a terminal
    let (status, shown) = under_pty(&["-c", s(&input)], &dir).unwrap();
    assert_eq!(status, 1, "{shown}");
    assert!(shown.contains("not written to a terminal"), "{shown}");
}

#[test]
#[cfg(all(feature = "zstd", feature = "deflate"))]
fn train_a_dictionary_and_use_it_both_ways_with_the_zstd_cli() {
    let dir = TempDir::new("dict");
    let mut samples = Vec::new();
    for i in 0..500u32 {
        let path = dir.path(&format!("s{i}.json"));
        let line = format!(
            r#"{{"id":{i},"user":"user{}","action":"{}","status":"ok","path":"/api/v1/items/{}"}}"#,
            i % 37,
            ["login", "view", "edit"][i as usize % 3],
            i * 7
        );
        fs::write(&path, line.repeat(3)).unwrap();
        samples.push(path.to_string_lossy().into_owned());
    }
    let dict = dir.path("ours.dict");
    let mut args = vec!["--train", "-q", "--maxdict", "4096", "-o", s(&dict)];
    args.extend(samples.iter().map(String::as_str));
    let out = run(&args, b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let message = fs::read(&samples[0]).unwrap();
    // -D compresses, decompresses and tests
    let packed = run(&["-D", s(&dict), "-c"], &message).stdout;
    let plain = run(&["-c"], &message).stdout;
    assert!(packed.len() < plain.len(), "{} with the dictionary, {} without", packed.len(), plain.len());
    assert_eq!(run(&["-D", s(&dict), "-d", "-c"], &packed).stdout, message);
    // without it: an error naming the dictionary, exit 1, no output
    let out = run(&["-d", "-c"], &packed);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("needs dictionary 0x"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    // zlib too; gzip refuses
    let zlib = run(&["-f", "zlib", "-D", s(&dict), "-c"], &message).stdout;
    assert_eq!(run(&["-f", "zlib", "-D", s(&dict), "-d", "-c"], &zlib).stdout, message);
    assert_eq!(code(&run(&["-f", "gzip", "-D", s(&dict), "-c"], &message)), 1);
    // the zstd CLI reads our frames with our dictionary, and we read its
    if have_tool("zstd") {
        assert_eq!(run_tool("zstd", &["-d", "-q", "-c", "-D", s(&dict)], &packed), message);
        let theirs = run_tool("zstd", &["-q", "-c", "-D", s(&dict)], &message);
        assert_eq!(run(&["-D", s(&dict), "-d", "-c"], &theirs).stdout, message);
    } else {
        assert!(!tools_required(), "zstd is required");
    }
}

#[test]
#[cfg(feature = "zstd")]
fn patch_from_compresses_a_new_version_against_the_old_both_ways_with_zstd() {
    let dir = TempDir::new("patch");
    let old: Vec<u8> =
        (0..40_000u32).flat_map(|i| format!("row {i}: value {}\n", i * 7919 % 10007).into_bytes()).collect();
    let mut new = old.clone();
    new.splice(200_000..200_000, b"a new row in the middle\n".iter().copied());
    let (old_path, new_path) = (dir.path("old"), dir.path("new"));
    fs::write(&old_path, &old).unwrap();
    fs::write(&new_path, &new).unwrap();
    let patch = run(&["--patch-from", s(&old_path), "-c", s(&new_path)], b"");
    assert_eq!(code(&patch), 0, "{}", stderr(&patch));
    let alone = run(&["-c", s(&new_path)], b"").stdout;
    assert!(patch.stdout.len() * 20 < alone.len(), "{} vs {}", patch.stdout.len(), alone.len());
    assert_eq!(run(&["--patch-from", s(&old_path), "-d", "-c"], &patch.stdout).stdout, new);
    if have_tool("zstd") {
        let arg = format!("--patch-from={}", s(&old_path));
        assert_eq!(run_tool("zstd", &["-d", "-q", "-c", &arg], &patch.stdout), new);
        let theirs = run_tool("zstd", &["-q", "-c", &arg, s(&new_path)], b"");
        assert_eq!(run(&["--patch-from", s(&old_path), "-d", "-c"], &theirs).stdout, new);
    } else {
        assert!(!tools_required(), "zstd is required");
    }
}

//! Interoperability with the reference tools, both directions.
//!
//! - Files made by gzip, pigz, zstd, xz, lz4, brotli, bzip2, pbzip2, lbzip2 and Python
//!   (committed under `tests/data/`, made
//!   by `tests/data/make.sh`, listed in its MANIFEST) decode to their inputs, always.
//! - Live: the tools decode what we write (every format, several levels, multi-member), and
//!   we decode what they write right now. These need the tools; without them the checks are
//!   skipped with a note, unless `COMPRESSIO_REQUIRE_TOOLS=1` (as `.ci/run` sets).

mod common;

use std::path::PathBuf;

use common::*;
use compressio::{compress, compress_with, decompress, Config, Decoder, Error, Format, Level};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(name)).unwrap_or_else(|e| panic!("tests/data/{name}: {e}"))
}

#[test]
fn committed_files_from_the_reference_tools_decode() {
    let manifest = String::from_utf8(read("MANIFEST")).unwrap();
    let mut checked = 0;
    for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (file, format, expected) = (fields[0], fields[1].parse::<Format>().unwrap(), fields[2]);
        if !format.is_enabled() {
            continue;
        }
        let packed = read(file);
        let result = decompress(&packed, format);
        if let Some(variant) = expected.strip_prefix("error:") {
            let err = result.expect_err(file);
            assert!(format!("{err:?}").starts_with(variant), "{file}: expected {variant}, got {err:?}");
        } else {
            let want: Vec<u8> = expected.split('+').flat_map(read).collect();
            let got = result.unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(got == want, "{file}: output differs");
            // auto-detection and tiny buffers agree
            if format.is_detectable() {
                let mut dec = Decoder::auto(&packed[..]).unwrap();
                assert_eq!(dec.format(), format, "{file}");
                assert!(read_chunked(&mut dec, &[4096]).unwrap() == want, "{file} (auto)");
            }
            let config = Config::default().buffer_size(3);
            assert!(
                decompress_chunked(&packed, format, &config, &[1, 999]).unwrap() == want,
                "{file} (3-byte buffer)"
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} files checked");
}

#[test]
fn committed_files_truncated_are_truncated() {
    for (file, format) in
        [("gzip_all_fields.gz", Format::Gzip), ("lz4_linked.lz4", Format::Lz4), ("xz_blocks.xz", Format::Xz)]
    {
        let packed = read(file);
        for cut in [1, 10, packed.len() / 2, packed.len() - 1] {
            assert!(
                matches!(decompress(&packed[..cut], format), Err(Error::Truncated { .. })),
                "{file} cut {cut}"
            );
        }
    }
}

/// (format, command that decompresses stdin to stdout, levels to write at)
fn decoders() -> Vec<(Format, &'static str, Vec<&'static str>)> {
    vec![
        (Format::Gzip, "gzip", vec!["-d", "-c"]),
        (Format::Gzip, "pigz", vec!["-d", "-c"]),
        (Format::Zlib, "pigz", vec!["-d", "-z", "-c"]),
        (Format::Zstd, "zstd", vec!["-d", "-c", "-q"]),
        (Format::Lz4, "lz4", vec!["-d", "-c", "-q"]),
        (Format::Xz, "xz", vec!["-d", "-c"]),
        (Format::Lzma, "xz", vec!["-d", "-c", "--format=lzma"]),
        (Format::Brotli, "brotli", vec!["-d", "-c"]),
        (Format::Bzip2, "bzip2", vec!["-d", "-c"]),
        (Format::Bzip2, "pbzip2", vec!["-d", "-c"]),
        (Format::Bzip2, "lbzip2", vec!["-d", "-c"]),
    ]
}

#[test]
fn the_tools_decode_what_we_write() {
    let data = [text(300_000, 91), random(20_000, 92), vec![0; 50_000]].concat();
    for (format, tool, args) in decoders() {
        if !format.is_enabled() || !have_tool(tool) {
            continue;
        }
        for level in [Level::Fastest, Level::Default, Level::Best] {
            for checksum in [true, false] {
                let config = Config::default().level(level).checksum(checksum);
                let packed = compress_with(&data, format, &config).unwrap();
                let out = run_tool(tool, &args, &packed);
                assert!(out == data, "{tool} {args:?} on our {format} {level:?} checksum={checksum}");
            }
        }
        // several members / frames / streams, and a stream with sync flushes in it
        if concatenable(format) {
            let packed =
                [compress(&data[..1000], format).unwrap(), compress(&data[1000..], format).unwrap()].concat();
            assert!(run_tool(tool, &args, &packed) == data, "{tool}: our multi-member {format}");
            let mut enc = compressio::Encoder::new(Vec::new(), format).unwrap();
            for chunk in data.chunks(33_333) {
                std::io::Write::write_all(&mut enc, chunk).unwrap();
                std::io::Write::flush(&mut enc).unwrap();
            }
            assert!(run_tool(tool, &args, &enc.finish().unwrap()) == data, "{tool}: our flushed {format}");
        }
        // and `-t` agrees that a truncated stream of ours is broken
        let packed = compress(&data, format).unwrap();
        let (ok, _, _) = try_tool(tool, &args, &packed[..packed.len() - 5]);
        assert!(!ok, "{tool} accepted our truncated {format}");
    }
}

#[test]
fn the_lz4_tool_reads_our_linked_blocks() {
    if !Format::Lz4.is_enabled() || !have_tool("lz4") {
        return;
    }
    // several blocks of each size: 1 MiB (`Level::Best`'s own) and 64 KiB (memory level 1),
    // each referring to the one before
    let data = text(2_500_000, 93);
    for (config, block_code) in
        [(Config::default().level(Level::Best), 6), (Config::default().level(Level::Best).memory_level(1), 4)]
    {
        let packed = compress_with(&data, Format::Lz4, &config).unwrap();
        // FLG: version 01, block independence bit clear (linked); BD: the block maximum
        assert_eq!(packed[4] & 0xe0, 0x40, "linked blocks");
        assert_eq!(packed[5] >> 4, block_code, "block maximum code");
        assert_eq!(run_tool("lz4", &["-d", "-c", "-q"], &packed), data);
        assert_eq!(decompress(&packed, Format::Lz4).unwrap(), data);
    }
}

/// (format, command that compresses stdin to stdout)
fn encoders() -> Vec<(Format, &'static str, Vec<&'static str>)> {
    vec![
        (Format::Gzip, "gzip", vec!["-c", "-1"]),
        (Format::Gzip, "gzip", vec!["-c", "-9"]),
        (Format::Gzip, "pigz", vec!["-c", "-p", "2", "-b", "64"]),
        (Format::Zlib, "pigz", vec!["-c", "-z", "-p", "2", "-b", "64"]),
        (Format::Zstd, "zstd", vec!["-c", "-q", "-3"]),
        (Format::Zstd, "zstd", vec!["-c", "-q", "-19", "--no-check"]),
        (Format::Zstd, "zstd", vec!["-c", "-q", "-T2", "-3", "--long=24"]),
        (Format::Lz4, "lz4", vec!["-c", "-q"]),
        (Format::Lz4, "lz4", vec!["-c", "-q", "-B4", "-BD", "-BX"]),
        (Format::Lz4, "lz4", vec!["-c", "-q", "-12", "-B7"]),
        (Format::Xz, "xz", vec!["-c", "-0", "--check=crc32"]),
        (Format::Xz, "xz", vec!["-c", "-6", "--check=sha256"]),
        (Format::Xz, "xz", vec!["-c", "-T2", "--block-size=100KiB"]),
        (Format::Lzma, "xz", vec!["-c", "--format=lzma"]),
        (Format::Brotli, "brotli", vec!["-c", "-q", "5"]),
        (Format::Brotli, "brotli", vec!["-c", "-q", "11", "-w", "24"]),
        (Format::Brotli, "brotli", vec!["-c", "-q", "0"]),
        (Format::Bzip2, "bzip2", vec!["-c", "-1"]),
        (Format::Bzip2, "bzip2", vec!["-c", "-9"]),
        (Format::Bzip2, "pbzip2", vec!["-c", "-p2", "-b1"]),
        (Format::Bzip2, "lbzip2", vec!["-c", "-n", "2", "-1"]),
    ]
}

#[test]
fn we_decode_what_the_tools_write() {
    let data = [text(400_000, 94), random(10_000, 95)].concat();
    for (format, tool, args) in encoders() {
        if !format.is_enabled() || !have_tool(tool) {
            continue;
        }
        let packed = run_tool(tool, &args, &data);
        let back = decompress(&packed, format).unwrap_or_else(|e| panic!("{tool} {args:?}: {e}"));
        assert!(back == data, "{tool} {args:?}");
        if format.is_detectable() {
            assert_eq!(Decoder::auto(&packed[..]).unwrap().format(), format, "{tool} {args:?}");
        }
    }
}

/// Python's zlib, gzip, lzma and bz2 modules, both directions.
#[test]
fn python_stdlib_interop() {
    if !have_tool("python3") {
        return;
    }
    let data = text(200_000, 96);
    let cases: &[(Format, &str, &str)] = &[
        (Format::Gzip, "import gzip as m; f = m.decompress", "import gzip as m; f = lambda d: m.compress(d, 6)"),
        (Format::Zlib, "import zlib as m; f = m.decompress", "import zlib as m; f = lambda d: m.compress(d, 6)"),
        (
            Format::Deflate,
            "import zlib as m; f = lambda d: m.decompress(d, -15)",
            "import zlib as m\ndef f(d):\n    c = m.compressobj(6, m.DEFLATED, -15)\n    return c.compress(d) + c.flush()",
        ),
        (Format::Xz, "import lzma as m; f = m.decompress", "import lzma as m; f = m.compress"),
        (
            Format::Lzma,
            "import lzma as m; f = lambda d: m.decompress(d, m.FORMAT_ALONE)",
            "import lzma as m; f = lambda d: m.compress(d, m.FORMAT_ALONE)",
        ),
        (Format::Bzip2, "import bz2 as m; f = m.decompress", "import bz2 as m; f = lambda d: m.compress(d, 9)"),
    ];
    for &(format, decode, encode) in cases {
        if !format.is_enabled() {
            continue;
        }
        let script =
            |body: &str| format!("import sys\n{body}\nsys.stdout.buffer.write(f(sys.stdin.buffer.read()))");
        let ours = compress(&data, format).unwrap();
        assert!(run_tool("python3", &["-c", &script(decode)], &ours) == data, "python reads our {format}");
        let theirs = run_tool("python3", &["-c", &script(encode)], &data);
        assert!(decompress(&theirs, format).unwrap() == data, "we read python's {format}");
    }
}

#[test]
fn brotli_large_window_streams_decode_when_allowed() {
    if !Format::Brotli.is_enabled() {
        return;
    }
    // `brotli --large_window=26`: a 64 MiB window, past RFC 7932's 16 MiB
    let packed = read("brotli_large.br");
    let strict = decompress(&packed, Format::Brotli);
    assert!(matches!(strict, Err(Error::Unsupported { format: Format::Brotli, .. })), "{strict:?}");
    let allowed = Config::default().large_window(true);
    assert_eq!(compressio::decompress_with(&packed, Format::Brotli, &allowed).unwrap(), read("input.txt"));
    // allowed, but the window must still fit max_memory
    let small = allowed.max_memory(32 << 20);
    assert!(matches!(
        compressio::decompress_with(&packed, Format::Brotli, &small),
        Err(Error::LimitExceeded { limit }) if limit == 32 << 20
    ));
}

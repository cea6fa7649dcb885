//! Random access: `Config::seekable` writes zstd seekable-format, BGZF and multi-block xz
//! streams; `SeekableDecoder` reads any range of them (and of the same layouts from other
//! writers) through the index, strictly, in bounded memory.

mod common;

use std::io::{Cursor, Read, Seek, SeekFrom, Write};

use common::*;
use compressio::{compress, compress_with, decompress, Config, Encoder, Error, Format, SeekableDecoder};

/// The formats with a seekable layout, and a block size for each to test with.
fn seekable_formats() -> Vec<(Format, usize)> {
    [(Format::Zstd, 100_000), (Format::Gzip, 65_280), (Format::Xz, 150_000)]
        .into_iter()
        .filter(|(f, _)| f.is_enabled())
        .collect()
}

fn open(bytes: Vec<u8>) -> compressio::Result<SeekableDecoder<Cursor<Vec<u8>>>> {
    SeekableDecoder::new(Cursor::new(bytes))
}

/// Random reads (position, length) checked against `data`, through `read_at` and through
/// `seek` + `read_exact`.
fn check_random_reads(file: &mut SeekableDecoder<Cursor<Vec<u8>>>, data: &[u8], seed: u64) {
    let mut rng = Rng::new(seed);
    for _ in 0..60 {
        let pos = rng.below(data.len() + 10);
        let len = [1, 7, 4096, 70_000, 300_000][rng.below(5)];
        let mut buf = vec![0u8; len];
        let n = file.read_at(pos as u64, &mut buf).unwrap();
        let want = &data[pos.min(data.len())..(pos + len).min(data.len())];
        assert_eq!(n, want.len(), "read_at({pos}, {len})");
        assert!(buf[..n] == *want, "read_at({pos}, {len}) content");
        if pos + len <= data.len() {
            file.seek(SeekFrom::Start(pos as u64)).unwrap();
            file.read_exact(&mut buf).unwrap();
            assert!(buf == data[pos..pos + len]);
            assert_eq!(file.stream_position().unwrap(), (pos + len) as u64);
        }
    }
}

#[test]
fn seekable_streams_are_ordinary_streams_and_open_anywhere() {
    let data = text(1_500_000, 1);
    for (format, block) in seekable_formats() {
        for threads in [None, Some(2)] {
            let mut config = Config::default().seekable(block);
            if let Some(n) = threads {
                config = config.threads(n);
            }
            let packed = compress_with(&data, format, &config).unwrap();
            assert_eq!(
                decompress(&packed, format).unwrap(),
                data,
                "{format} {threads:?}: an ordinary stream"
            );
            for read_threads in [1, 2] {
                let mut file = SeekableDecoder::with_config(
                    Cursor::new(packed.clone()),
                    &Config::default().threads(read_threads),
                )
                .unwrap();
                assert_eq!(file.format(), format);
                assert_eq!(file.len(), data.len() as u64);
                // (BGZF's end-of-file marker is an empty member of its own)
                let eof = usize::from(format == Format::Gzip);
                assert_eq!(file.block_count(), data.len().div_ceil(block) + eof, "{format}");
                check_random_reads(&mut file, &data, block as u64);
                let mut all = Vec::new();
                file.seek(SeekFrom::Start(0)).unwrap();
                file.read_to_end(&mut all).unwrap();
                assert!(all == data, "{format}: sequential read");
                file.seek(SeekFrom::End(-5)).unwrap();
                let mut tail = Vec::new();
                file.read_to_end(&mut tail).unwrap();
                assert_eq!(tail, data[data.len() - 5..]);
                assert_eq!(file.seek(SeekFrom::Current(10)).unwrap(), data.len() as u64 + 10);
                assert_eq!(file.read(&mut [0u8; 10]).unwrap(), 0, "past the end");
            }
        }
    }
}

#[test]
fn seekable_output_does_not_depend_on_threads_or_write_sizes() {
    let data = text(400_000, 2);
    for (format, block) in seekable_formats() {
        if format == Format::Xz {
            continue; // liblzma's block encoder: same blocks, its own threads
        }
        let one = compress_with(&data, format, &Config::default().seekable(block)).unwrap();
        let two = compress_with(&data, format, &Config::default().seekable(block).threads(2)).unwrap();
        let chunked = compress_chunked(&data, format, &Config::default().seekable(block), &[1, 1000, 77_777]);
        assert!(one == two && one == chunked, "{format}");
    }
}

#[test]
fn empty_small_and_flushed_streams() {
    for (format, block) in seekable_formats() {
        let config = Config::default().seekable(block);
        let empty = compress_with(b"", format, &config).unwrap();
        assert_eq!(decompress(&empty, format).unwrap(), b"");
        let file = open(empty).unwrap();
        assert_eq!((file.len(), file.is_empty()), (0, true), "{format}");
        // input smaller than a block: one block, still seekable (xz: its header declares sizes)
        let small = compress_with(b"small input", format, &config).unwrap();
        let mut file = open(small).unwrap();
        let mut four = [0u8; 4];
        file.read_at(6, &mut four).unwrap();
        assert_eq!(&four, b"inpu", "{format}");

        // a flush ends the block early: still seekable, still exact
        let mut encoder = Encoder::with_config(Vec::new(), format, &config).unwrap();
        encoder.write_all(b"first part, ").unwrap();
        encoder.flush().unwrap();
        encoder.write_all(&text(200_000, 3)).unwrap();
        let packed = encoder.finish().unwrap();
        let mut want = b"first part, ".to_vec();
        want.extend_from_slice(&text(200_000, 3));
        let mut file = open(packed).unwrap();
        assert!(file.block_count() >= 2);
        let mut got = Vec::new();
        file.read_to_end(&mut got).unwrap();
        assert!(got == want, "{format}");
    }
}

#[test]
fn the_settings_are_checked() {
    for format in formats() {
        let result = compress_with(b"x", format, &Config::default().seekable(1000));
        let has_layout = matches!(format, Format::Zstd | Format::Gzip | Format::Xz);
        assert_eq!(result.is_ok(), has_layout, "{format}");
        if !has_layout {
            assert!(matches!(result, Err(Error::InvalidConfig(_))));
        }
    }
    for (format, bytes) in [(Format::Gzip, 65_281), (Format::Zstd, (1 << 30) + 1), (Format::Zstd, 0)] {
        if format.is_enabled() {
            let result = compress_with(b"x", format, &Config::default().seekable(bytes));
            assert!(matches!(result, Err(Error::InvalidConfig(_))), "{format} {bytes}");
        }
    }
    // decoders ignore it: one config serves both directions
    let config = Config::default().seekable(1 << 20);
    let packed = compress_with(b"both ways", Format::Zstd, &config).unwrap();
    assert_eq!(compressio::decompress_with(&packed, Format::Zstd, &config).unwrap(), b"both ways");
}

#[test]
fn streams_without_an_index_are_refused_by_name() {
    let data = text(100_000, 4);
    for format in
        [Format::Gzip, Format::Zstd, Format::Lz4, Format::Bzip2].into_iter().filter(|f| f.is_enabled())
    {
        let err = open(compress(&data, format).unwrap()).unwrap_err();
        match err {
            Error::Unsupported { format: f, detail } => {
                assert_eq!(f, format);
                assert!(detail.starts_with("no index"), "{format}: {detail}");
            }
            other => panic!("{format}: {other:?}"),
        }
    }
    assert!(matches!(open(b"not compressed at all".to_vec()), Err(Error::UnknownFormat)));
    assert!(matches!(open(Vec::new()), Err(Error::UnknownFormat)));
}

#[test]
fn a_corrupt_block_is_reported_and_the_others_still_read() {
    let data = text(1_000_000, 5);
    for (format, block) in seekable_formats() {
        let mut packed = compress_with(&data, format, &Config::default().seekable(block)).unwrap();
        assert!(open(packed.clone()).unwrap().block_count() > 4);
        // a byte inside the third block's compressed data
        let at = locate_block_start(&data, format, block, 2) + 40;
        packed[at] ^= 0x55;
        for threads in [1, 2] {
            let mut file = SeekableDecoder::with_config(
                Cursor::new(packed.clone()),
                &Config::default().threads(threads),
            )
            .unwrap();
            let mut buf = vec![0u8; 1000];
            let err = file.read_at((2 * block + 10) as u64, &mut buf).unwrap_err();
            let err = Error::from(err);
            assert!(matches!(err, Error::Corrupt { .. }), "{format}: {err:?}");
            // the blocks before and after are fine
            assert_eq!(file.read_at(10, &mut buf).unwrap(), 1000);
            assert!(buf == data[10..1010]);
            assert_eq!(file.read_at((4 * block) as u64, &mut buf).unwrap(), 1000);
            assert!(buf == data[4 * block..4 * block + 1000]);
            // a sequential read stops with the error, after exactly the good blocks
            let mut seq = SeekableDecoder::with_config(
                Cursor::new(packed.clone()),
                &Config::default().threads(threads),
            )
            .unwrap();
            let mut got = Vec::new();
            let mut chunk = vec![0u8; 8192];
            let err = loop {
                match seq.read(&mut chunk) {
                    Ok(0) => panic!("{format}: read to the end over a corrupt block"),
                    Ok(n) => got.extend_from_slice(&chunk[..n]),
                    Err(e) => break e,
                }
            };
            assert!(matches!(Error::from(err), Error::Corrupt { .. }));
            assert!(
                got.len() <= 2 * block && got == data[..got.len()],
                "{format}: no output past the bad block"
            );
        }
    }
}

/// The file offset where block `n` starts: the length of the stream of the first `n` blocks
/// alone without its trailer (the encoder is deterministic and the blocks independent).
fn locate_block_start(data: &[u8], format: Format, block: usize, n: usize) -> usize {
    let prefix = compress_with(&data[..n * block], format, &Config::default().seekable(block)).unwrap();
    let len = prefix.len();
    len - match format {
        Format::Gzip => 28,             // the end-of-file member
        Format::Zstd => 8 + 12 * n + 9, // the seek table
        // xz: the footer (12) and the index, whose size the footer gives
        _ => 12 + (u32::from_le_bytes(prefix[len - 8..len - 4].try_into().unwrap()) as usize + 1) * 4,
    }
}

#[test]
fn a_lying_index_is_corrupt_not_a_crash_or_a_huge_allocation() {
    if !Format::Zstd.is_enabled() || !Format::Gzip.is_enabled() {
        return;
    }
    let data = text(600_000, 6);
    let zstd = compress_with(&data, Format::Zstd, &Config::default().seekable(100_000)).unwrap();
    let n = zstd.len();
    let table_entries = n - 9 - 6 * 12; // 6 frames, 12-byte entries
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a compressed size one too large", {
            let mut b = zstd.clone();
            b[table_entries] = b[table_entries].wrapping_add(1);
            b
        }),
        ("a decompressed size one too small", {
            let mut b = zstd.clone();
            b[table_entries + 4] = b[table_entries + 4].wrapping_sub(1);
            b
        }),
        ("a decompressed size of 4 GiB", {
            let mut b = zstd.clone();
            b[table_entries + 4..table_entries + 8].copy_from_slice(&u32::MAX.to_le_bytes());
            b
        }),
        ("a wrong content checksum", {
            let mut b = zstd.clone();
            b[table_entries + 8] ^= 1;
            b
        }),
        ("a frame count of 2^27", {
            let mut b = zstd.clone();
            b[n - 9..n - 5].copy_from_slice(&(1u32 << 27).to_le_bytes());
            b
        }),
        ("reserved descriptor bits", {
            let mut b = zstd.clone();
            b[n - 5] |= 1;
            b
        }),
        ("cut in the seek table", zstd[..n - 3].to_vec()),
    ];
    for (what, bytes) in cases {
        let result = open(bytes).and_then(|mut file| {
            let mut all = Vec::new();
            file.read_to_end(&mut all).map_err(Error::from)?;
            Ok(all)
        });
        match result {
            Err(Error::Corrupt { .. }) | Err(Error::Unsupported { .. }) => {}
            other => panic!("{what}: {:?}", other.map(|v| v.len())),
        }
    }

    // BGZF: a block size that points past the file, an ISIZE over 64 KiB
    let bgzf = compress_with(&data, Format::Gzip, &Config::default().seekable(65_280)).unwrap();
    let mut past = bgzf.clone();
    past[16..18].copy_from_slice(&u16::MAX.to_le_bytes());
    let mut big = bgzf.clone();
    let first_len = u16::from_le_bytes([bgzf[16], bgzf[17]]) as usize + 1;
    big[first_len - 4..first_len].copy_from_slice(&1_000_000u32.to_le_bytes());
    for bytes in [past, big] {
        let result = open(bytes).and_then(|mut f| {
            let mut all = Vec::new();
            f.read_to_end(&mut all).map_err(Error::from)?;
            Ok(all)
        });
        assert!(
            matches!(result, Err(Error::Corrupt { .. }) | Err(Error::Truncated { .. })),
            "{:?}",
            result.map(|v| v.len())
        );
    }

    // xz: an index record claiming 2^40 bytes is a limit, not an allocation
    if Format::Xz.is_enabled() {
        let xz = compress_with(&data, Format::Xz, &Config::default().seekable(100_000)).unwrap();
        for at in [xz.len() - 1, xz.len() - 20, xz.len() - 30, 20] {
            let mut bytes = xz.clone();
            bytes[at] ^= 0x10;
            let result = open(bytes).and_then(|mut f| {
                let mut all = Vec::new();
                f.read_to_end(&mut all).map_err(Error::from)?;
                Ok(all)
            });
            assert!(result.is_err(), "xz byte {at}");
        }
    }
}

#[test]
fn max_memory_bounds_the_blocks() {
    if !Format::Zstd.is_enabled() {
        return;
    }
    let data = text(3_000_000, 7);
    let packed = compress_with(&data, Format::Zstd, &Config::default().seekable(2_000_000)).unwrap();
    let mut file =
        SeekableDecoder::with_config(Cursor::new(packed), &Config::default().max_memory(1 << 20)).unwrap();
    let err = file.read_at(0, &mut [0u8; 10]).unwrap_err();
    assert!(matches!(Error::from(err), Error::LimitExceeded { limit } if limit == 1 << 20));
}

/// A seek table written by hand from the format's description, without checksums (as other
/// writers may), over frames from libzstd itself: our reader follows the layout, not just our
/// own writer.
#[test]
fn a_seek_table_from_another_writer_opens() {
    if !Format::Zstd.is_enabled() {
        return;
    }
    let data = text(300_000, 8);
    let mut file = Vec::new();
    let mut table = Vec::new();
    for chunk in data.chunks(70_000) {
        let frame = compress(chunk, Format::Zstd).unwrap();
        table.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        table.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        file.extend_from_slice(&frame);
    }
    let frames = data.chunks(70_000).count() as u32;
    file.extend_from_slice(&0x184D_2A5Eu32.to_le_bytes());
    file.extend_from_slice(&(table.len() as u32 + 9).to_le_bytes());
    file.extend_from_slice(&table);
    file.extend_from_slice(&frames.to_le_bytes());
    file.push(0); // descriptor: no checksums
    file.extend_from_slice(&0x8F92_EAB1u32.to_le_bytes());
    let mut reader = open(file).unwrap();
    assert_eq!(reader.block_count(), 5);
    check_random_reads(&mut reader, &data, 9);
}

#[test]
fn the_reference_tools_read_ours_and_we_read_theirs() {
    let data = text(2_000_000, 10);
    let dir = std::env::temp_dir().join(format!("compressio-seekable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if Format::Zstd.is_enabled() && have_tool("zstd") {
        let ours = compress_with(&data, Format::Zstd, &Config::default().seekable(1 << 18)).unwrap();
        assert!(run_tool("zstd", &["-d", "-c"], &ours) == data, "zstd -d");
    }
    if Format::Gzip.is_enabled() && have_tool("gzip") {
        let ours = compress_with(&data, Format::Gzip, &Config::default().seekable(65_280)).unwrap();
        assert!(run_tool("gzip", &["-d", "-c"], &ours) == data, "gzip -d");
        if have_tool("bgzip") {
            assert!(run_tool("bgzip", &["-d", "-c"], &ours) == data, "bgzip -d");
            let path = dir.join("ours.gz");
            std::fs::write(&path, &ours).unwrap();
            // bgzip's own index of our file (-r), and its random access into it
            run_tool("bgzip", &["-r", path.to_str().unwrap()], b"");
            let range =
                run_tool("bgzip", &["-b", "1000000", "-s", "20", "-d", "-c", path.to_str().unwrap()], b"");
            assert_eq!(range, data[1_000_000..1_000_020]);
            let theirs = run_tool("bgzip", &["-c"], &data);
            let mut file = open(theirs).unwrap();
            assert_eq!(file.format(), Format::Gzip);
            assert!(file.block_count() > 30);
            check_random_reads(&mut file, &data, 11);
        }
    }
    if Format::Xz.is_enabled() && have_tool("xz") {
        let ours = compress_with(&data, Format::Xz, &Config::default().seekable(300_000)).unwrap();
        assert!(run_tool("xz", &["-d", "-c"], &ours) == data, "xz -d");
        let path = dir.join("ours.xz");
        std::fs::write(&path, &ours).unwrap();
        let list =
            String::from_utf8(run_tool("xz", &["--robot", "--list", path.to_str().unwrap()], b"")).unwrap();
        let blocks: Vec<&str> = list.lines().find(|l| l.starts_with("file")).unwrap().split('\t').collect();
        assert_eq!(blocks[2], "7", "xz --list: {list}");
        let theirs = run_tool("xz", &["-T2", "--block-size=250000", "-c"], &data);
        let mut file = open(theirs.clone()).unwrap();
        assert_eq!(file.block_count(), 8);
        check_random_reads(&mut file, &data, 12);
        // two streams with padding between them, as `cat a.xz b.xz` with padding makes
        let mut two = theirs.clone();
        two.extend_from_slice(&[0u8; 8]);
        two.extend_from_slice(&theirs);
        two.extend_from_slice(&[0u8; 4]);
        let mut file = open(two).unwrap();
        let doubled: Vec<u8> = data.iter().chain(data.iter()).copied().collect();
        assert_eq!(file.len(), doubled.len() as u64);
        check_random_reads(&mut file, &doubled, 13);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_seekable_decoder_is_send_and_can_move_threads_mid_read() {
    fn send<T: Send>(_: &T) {}
    let data = text(500_000, 14);
    let packed = compress_with(&data, Format::Zstd, &Config::default().seekable(50_000)).unwrap();
    let mut file = SeekableDecoder::with_config(Cursor::new(packed), &Config::default().threads(2)).unwrap();
    send(&file);
    let mut first = vec![0u8; 120_000];
    file.read_exact(&mut first).unwrap(); // read-ahead workers running
    let rest = std::thread::spawn(move || {
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).unwrap();
        rest
    })
    .join()
    .unwrap();
    assert!(first == data[..120_000] && rest == data[120_000..]);
}

#[test]
fn read_ahead_keeps_up_with_jumps_runs_and_small_limits() {
    // Sequential runs (which start read-ahead) broken by jumps back and forth (which leave
    // blocks in flight that nobody waits for), with several thread counts, cache sizes and
    // memory limits (smaller ones shrink the read-ahead below the file's length, or turn it
    // off): every byte is right.
    let data = text(5_000_000, 15);
    for (format, block) in seekable_formats() {
        let packed = compress_with(&data, format, &Config::default().seekable(block)).unwrap();
        // (xz at its default preset needs 9 MiB for its dictionary whatever the threads)
        let small = if format == Format::Xz { 10 << 20 } else { 1 << 20 };
        for (threads, cache, limit) in [(2, 1, 256 << 20), (3, 4, 256 << 20), (4, 1, 12 << 20), (2, 2, small)]
        {
            let config = Config::default().threads(threads).max_memory(limit);
            let mut file = SeekableDecoder::with_config(Cursor::new(packed.clone()), &config)
                .unwrap()
                .cache_blocks(cache);
            let mut rng = Rng::new(threads as u64 * 100 + cache as u64);
            let mut chunk = vec![0u8; 20_000];
            for _ in 0..30 {
                let pos = rng.below(data.len());
                file.seek(SeekFrom::Start(pos as u64)).unwrap();
                let mut at = pos;
                let run = rng.below(12 * block);
                while at < (pos + run).min(data.len()) {
                    let n = file.read(&mut chunk).unwrap();
                    assert!(
                        n > 0 && chunk[..n] == data[at..at + n],
                        "{format} {threads}/{cache}/{limit} at {at}"
                    );
                    at += n;
                }
            }
        }
    }
}

//! The traps found in the backends' own adapters. Each test first shows the naive adapter
//! falling in (so the test would fail on a thin wrapper), then shows that ours does not.
#![cfg(all(feature = "deflate", feature = "zstd", feature = "lz4", feature = "xz"))]

mod common;

use std::io::{self, Read, Write};

use common::*;
use compressio::{compress, decompress, decompress_with, Config, Decoder, Encoder, Error, Format};

fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).map(|_| v)
}

// ---- flate2 ----------------------------------------------------------------------------

#[test]
fn flate2_gz_decoder_ignores_bytes_after_the_end() {
    let input = [compress(b"member", Format::Gzip).unwrap(), b"GARBAGE".to_vec()].concat();
    let naive = read_all(flate2::read::GzDecoder::new(&input[..]));
    assert_eq!(naive.unwrap(), b"member", "naive: garbage silently ignored");
    assert!(matches!(decompress(&input, Format::Gzip), Err(Error::TrailingData { .. })));
}

#[test]
fn flate2_gz_decoder_reads_only_the_first_member() {
    let input = [compress(b"one ", Format::Gzip).unwrap(), compress(b"two", Format::Gzip).unwrap()].concat();
    let naive = read_all(flate2::read::GzDecoder::new(&input[..]));
    assert_eq!(naive.unwrap(), b"one ", "naive: second member dropped");
    assert_eq!(decompress(&input, Format::Gzip).unwrap(), b"one two");
}

#[test]
fn flate2_zlib_and_deflate_decoders_ignore_bytes_after_the_end() {
    for format in [Format::Zlib, Format::Deflate] {
        let input = [compress(b"stream", format).unwrap(), b"GARBAGE".to_vec()].concat();
        let naive = if format == Format::Zlib {
            read_all(flate2::read::ZlibDecoder::new(&input[..]))
        } else {
            read_all(flate2::read::DeflateDecoder::new(&input[..]))
        };
        assert_eq!(naive.unwrap(), b"stream", "naive {format}: garbage silently ignored");
        assert!(matches!(decompress(&input, format), Err(Error::TrailingData { .. })), "{format}");
    }
}

#[test]
fn flate2_finishing_in_drop_swallows_write_errors() {
    // the naive encoder finishes in Drop: it tries to write, fails, and nobody hears of it
    // (the writer takes flate2's 10-byte header, then fails for good)
    let script: Vec<Fault> = std::iter::once(Fault::Ok(10)).chain([Fault::Fail; 1000]).collect();
    let mut failing = FaultyWriter::new(&script);
    {
        let mut naive = flate2::write::GzEncoder::new(&mut failing, flate2::Compression::default());
        naive.write_all(b"data that never arrives").unwrap();
    } // drop: finishing failed, and the error is lost
    assert_eq!(failing.data.len(), 10, "only the header arrived, and nobody was told");
    // ours: drop writes nothing, and finish reports the error
    let mut ours = Encoder::new(FaultyWriter::new(&[Fault::Fail]), Format::Gzip).unwrap();
    ours.write_all(b"data that never arrives").unwrap();
    let err = ours.finish().err().expect("finish must report the failure");
    assert_eq!(err.to_string(), "injected failure");
}

// ---- zstd ------------------------------------------------------------------------------

/// A minimal zstd frame declaring a window of 2^`log` bytes, holding one raw byte.
fn zstd_frame_with_window(log: u8) -> Vec<u8> {
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd];
    f.push(0x00); // FHD: no content size, no checksum, not single-segment, no dictionary
    f.push((log - 10) << 3); // window descriptor: exponent, mantissa 0
    f.extend_from_slice(&[0x09, 0x00, 0x00]); // last block, raw, size 1
    f.push(b'z');
    f
}

#[test]
fn zstd_large_window_is_a_plain_io_error_in_the_naive_decoder_and_limit_exceeded_in_ours() {
    let frame = zstd_frame_with_window(28);
    let naive = read_all(zstd::stream::read::Decoder::new(&frame[..]).unwrap()).unwrap_err();
    assert_eq!(naive.kind(), io::ErrorKind::Other, "naive: {naive}");
    let ours = decompress(&frame, Format::Zstd).unwrap_err();
    assert!(matches!(ours, Error::LimitExceeded { .. }), "{ours:?}");
    // a limit high enough lets the same frame through (the window is not actually allocated
    // beyond what the one byte needs: this is a header check)
    let config = Config::default().max_memory(1 << 29);
    assert_eq!(decompress_with(&frame, Format::Zstd, &config).unwrap(), b"z");
    // 2^31 is refused by every sane limit
    let huge = zstd_frame_with_window(31);
    assert!(matches!(decompress(&huge, Format::Zstd), Err(Error::LimitExceeded { .. })));
}

#[test]
fn zstd_and_lz4_flex_writers_do_not_finish_on_drop_and_lz4_flex_reads_the_result_as_complete() {
    let data = text(100_000, 71);
    let mut zstd_out = Vec::new();
    {
        let mut naive = zstd::stream::write::Encoder::new(&mut zstd_out, 3).unwrap();
        naive.write_all(&data).unwrap();
    }
    let mut lz4_out = Vec::new();
    {
        let mut naive = lz4_flex::frame::FrameEncoder::new(&mut lz4_out);
        naive.write_all(&data).unwrap();
    }
    // lz4_flex's decoder takes the unfinished frame for a complete one: short output, no error
    let short = read_all(lz4_flex::frame::FrameDecoder::new(&lz4_out[..])).unwrap();
    assert!(short.len() < data.len(), "naive lz4: {} of {} bytes, no error", short.len(), data.len());
    // ours reports both as truncated
    assert!(matches!(decompress(&zstd_out, Format::Zstd), Err(Error::Truncated { .. })));
    assert!(matches!(decompress(&lz4_out, Format::Lz4), Err(Error::Truncated { .. })));
}

// ---- lz4_flex ------------------------------------------------------------------------------

#[test]
fn lz4_flex_frame_decoder_accepts_truncated_frames() {
    let packed = compress(&text(200_000, 72), Format::Lz4).unwrap();
    let cut = &packed[..packed.len() - 10]; // inside the last block's... end mark and checksum
    let naive = read_all(lz4_flex::frame::FrameDecoder::new(&packed[..packed.len() - 8]));
    assert!(naive.is_ok(), "naive: a frame missing its end mark and checksum is accepted");
    assert!(matches!(decompress(cut, Format::Lz4), Err(Error::Truncated { .. })));
    assert!(matches!(decompress(&packed[..packed.len() - 8], Format::Lz4), Err(Error::Truncated { .. })));
}

#[test]
fn lz4_flex_frame_decoder_stops_after_the_first_frame() {
    let input =
        [compress(b"first ", Format::Lz4).unwrap(), compress(b"second", Format::Lz4).unwrap()].concat();
    let naive = read_all(lz4_flex::frame::FrameDecoder::new(&input[..])).unwrap();
    assert_eq!(naive, b"first ", "naive: second frame dropped");
    assert_eq!(decompress(&input, Format::Lz4).unwrap(), b"first second");
}

#[test]
fn lz4_flex_frame_encoder_flush_does_not_flush_the_inner_writer() {
    let mut naive = lz4_flex::frame::FrameEncoder::new(FaultyWriter::new(&[Fault::Ok(usize::MAX)]));
    naive.write_all(b"abc").unwrap();
    naive.flush().unwrap();
    assert_eq!(naive.get_ref().flushes, 0, "naive: inner writer not flushed");
    let mut ours = Encoder::new(FaultyWriter::new(&[Fault::Ok(usize::MAX)]), Format::Lz4).unwrap();
    ours.write_all(b"abc").unwrap();
    ours.flush().unwrap();
    assert_eq!(ours.get_ref().flushes, 1);
}

#[test]
fn lz4_flex_frame_encoder_and_would_block() {
    // a writer that says WouldBlock now and then, with the caller retrying as it should
    let data = text(400_000, 73);
    let script = [Fault::Ok(5000), Fault::WouldBlock, Fault::Ok(3), Fault::WouldBlock];
    let retry_write = |w: &mut dyn Write, mut buf: &[u8]| {
        while !buf.is_empty() {
            match w.write(buf) {
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
    };
    // lz4_flex 0.14.2 either writes a corrupt frame or trips an internal assertion
    // ("candidate <= input_stream_offset + cur") and panics; without debug assertions
    // (`cargo test --release`) it never returns from its compressor, so only debug builds
    // (CI's) run this half
    let naive = if !cfg!(debug_assertions) {
        Ok(None)
    } else {
        std::panic::catch_unwind(|| {
            let mut naive = lz4_flex::frame::FrameEncoder::new(FaultyWriter::new(&script));
            for chunk in data.chunks(10_000) {
                retry_write(&mut naive, chunk);
            }
            let out = loop {
                match naive.try_finish() {
                    Ok(()) => break naive.get_ref().data.clone(),
                    Err(lz4_flex::frame::Error::IoError(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
            };
            read_all(lz4_flex::frame::FrameDecoder::new(&out[..])).ok()
        })
    };
    assert!(!matches!(naive, Ok(Some(ref v)) if *v == data), "naive: expected a panic or a corrupt frame");

    let mut ours = Encoder::new(FaultyWriter::new(&script), Format::Lz4).unwrap();
    for chunk in data.chunks(10_000) {
        retry_write(&mut ours, chunk);
    }
    let ours_out = loop {
        match ours.try_finish() {
            Ok(()) => break ours.get_ref().data.clone(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(decompress(&ours_out, Format::Lz4).unwrap(), data);
}

// ---- liblzma ---------------------------------------------------------------------------

#[test]
fn liblzma_has_no_memory_limit_by_default_ours_does() {
    // a .lzma header claiming a 3 GiB dictionary; liblzma's default (UINT64_MAX) limit
    // would allocate it. Ours refuses before allocating.
    let mut packed = compress(b"tiny", Format::Lzma).unwrap();
    packed[1..5].copy_from_slice(&0xC000_0000u32.to_le_bytes());
    let start = std::time::Instant::now();
    let err = decompress(&packed, Format::Lzma).unwrap_err();
    assert!(
        matches!(err, Error::LimitExceeded { limit } if limit == compressio::DEFAULT_MAX_MEMORY),
        "{err:?}"
    );
    assert!(start.elapsed().as_secs() < 5);
    // and the limit is the configured one
    let config = Config::default().max_memory(1 << 20);
    let normal = compress(&text(10_000, 74), Format::Xz).unwrap(); // preset 6: 8 MiB dictionary
    assert!(matches!(
        decompress_with(&normal, Format::Xz, &config),
        Err(Error::LimitExceeded { limit: 1048576 })
    ));
}

#[test]
fn liblzma_writer_busy_loops_on_ok_zero_ours_is_write_zero() {
    // liblzma::write::XzEncoder::finish never returns for a writer that keeps answering
    // Ok(0) (it loops on write until it "succeeds"), so it is not run here; ours:
    for format in [Format::Xz, Format::Lzma] {
        let mut ours = Encoder::new(FaultyWriter::new(&[Fault::Ok(0)]), format).unwrap();
        ours.write_all(b"x").unwrap();
        assert_eq!(ours.try_finish().unwrap_err().kind(), io::ErrorKind::WriteZero);
    }
}

// ---- bzip2 and brotli -----------------------------------------------------------------------

#[cfg(feature = "bzip2")]
#[test]
fn bzip2_bz_decoder_reads_only_the_first_stream_of_a_pbzip2_style_file() {
    // pbzip2 (and our threads(n) encoder) write one stream per block
    let data = text(300_000, 70);
    let packed = compressio::compress_with(
        &data,
        Format::Bzip2,
        &Config::default().level(compressio::Level::Exact(1)).threads(2),
    )
    .unwrap();
    let naive = read_all(bzip2::read::BzDecoder::new(&packed[..])).unwrap();
    assert!(naive.len() < data.len(), "naive: {} of {} bytes, and no error", naive.len(), data.len());
    assert!(decompress(&packed, Format::Bzip2).unwrap() == data);
}

#[cfg(feature = "brotli")]
#[test]
fn brotli_decompressor_ignores_bytes_after_the_end() {
    let input = [compress(b"stream", Format::Brotli).unwrap(), b"GARBAGE".to_vec()].concat();
    let naive = read_all(brotli::Decompressor::new(&input[..], 4096));
    assert_eq!(naive.unwrap(), b"stream", "naive: garbage silently ignored");
    assert!(matches!(decompress(&input, Format::Brotli), Err(Error::TrailingData { .. })));
}

#[cfg(feature = "brotli")]
#[test]
fn brotli_decompressor_reports_truncation_as_invalid_data_ours_as_truncated() {
    let packed = compress(&text(50_000, 71), Format::Brotli).unwrap();
    let cut = &packed[..packed.len() - 1];
    let naive = read_all(brotli::Decompressor::new(cut, 4096)).unwrap_err();
    assert_eq!(naive.kind(), io::ErrorKind::InvalidData, "naive: {naive}");
    assert!(matches!(decompress(cut, Format::Brotli), Err(Error::Truncated { format: Format::Brotli })));
}

#[test]
fn ours_reads_what_the_naive_encoders_write() {
    let data = text(300_000, 75);
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&data).unwrap();
        e.finish().unwrap()
    };
    let zst = zstd::stream::encode_all(&data[..], 3).unwrap();
    let lz4 = {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(&data).unwrap();
        e.finish().unwrap()
    };
    let xz = {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(&data).unwrap();
        e.finish().unwrap()
    };
    for (format, packed) in [(Format::Gzip, gz), (Format::Zstd, zst), (Format::Lz4, lz4), (Format::Xz, xz)] {
        assert_eq!(decompress(&packed, format).unwrap(), data, "{format}");
        let mut dec = Decoder::auto(&packed[..]).unwrap();
        assert_eq!(dec.format(), format);
        assert_eq!(read_all(&mut dec).unwrap(), data);
    }
    // and the naive decoders read ours
    for format in [Format::Gzip, Format::Zstd, Format::Lz4, Format::Xz] {
        let packed = compress(&data, format).unwrap();
        let back = match format {
            Format::Gzip => read_all(flate2::read::GzDecoder::new(&packed[..])),
            Format::Zstd => zstd::stream::decode_all(&packed[..]),
            Format::Lz4 => read_all(lz4_flex::frame::FrameDecoder::new(&packed[..])),
            _ => read_all(liblzma::read::XzDecoder::new(&packed[..])),
        };
        assert_eq!(back.unwrap(), data, "{format}");
    }
}

#[cfg(feature = "brotli")]
#[test]
fn ours_reads_what_the_naive_brotli_encoder_writes_and_it_reads_ours() {
    let data = text(300_000, 76);
    let br = {
        let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 6, 22);
        w.write_all(&data).unwrap();
        w.into_inner()
    };
    assert!(decompress(&br, Format::Brotli).unwrap() == data);
    let ours = compress(&data, Format::Brotli).unwrap();
    assert!(read_all(brotli::Decompressor::new(&ours[..], 4096)).unwrap() == data);
}

#[cfg(feature = "bzip2")]
#[test]
fn ours_reads_what_the_naive_bzip2_encoder_writes_and_it_reads_ours() {
    let data = text(300_000, 77);
    let bz = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        e.write_all(&data).unwrap();
        e.finish().unwrap()
    };
    assert!(decompress(&bz, Format::Bzip2).unwrap() == data);
    assert_eq!(Decoder::auto(&bz[..]).unwrap().format(), Format::Bzip2);
    let ours = compress(&data, Format::Bzip2).unwrap();
    assert!(read_all(bzip2::read::MultiBzDecoder::new(&ours[..])).unwrap() == data);
}

//! The backend crates' own streaming adapters, configured as compressio configures them:
//! the baseline that `examples/bench.rs` and `benches/throughput.rs` measure us against.
//! (Included by both with `#[path]`; in a subdirectory so that cargo does not take it for a
//! benchmark of its own.)

#![allow(dead_code)]

use std::io::{self, Read, Write};

use compressio::{Format, Level};

pub const CHUNK: usize = 64 * 1024;

/// Compress the data into the given (pre-faulted) sink, returning it.
pub type CompressFn = Box<dyn Fn(&[u8], Vec<u8>) -> Vec<u8>>;
/// Decompress, returning the number of bytes produced.
pub type DecompressFn = Box<dyn Fn(&[u8]) -> u64>;

/// One implementation under test: compress `data`, and decompress what it produced.
pub struct Impl {
    pub name: String,
    pub compress: CompressFn,
    pub decompress: DecompressFn,
}

pub fn feed(w: &mut impl Write, data: &[u8]) {
    for chunk in data.chunks(CHUNK) {
        w.write_all(chunk).unwrap();
    }
}

pub fn drain(mut r: impl Read) -> u64 {
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return n,
            Ok(k) => n += k as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// The backend crate's own reading decoder for `format` over `packed` (the one its users
/// reach for: multi-member gzip and bzip2, lzma_alone for lzma); `None` for formats without
/// a backend here.
pub fn reader<'a>(format: Format, packed: &'a [u8]) -> Option<Box<dyn Read + 'a>> {
    Some(match format {
        Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(packed)),
        Format::Zlib => Box::new(flate2::read::ZlibDecoder::new(packed)),
        Format::Deflate => Box::new(flate2::read::DeflateDecoder::new(packed)),
        Format::Zstd => Box::new(zstd::stream::read::Decoder::new(packed).unwrap()),
        Format::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(packed)),
        Format::Xz => Box::new(liblzma::read::XzDecoder::new(packed)),
        Format::Lzma => {
            let stream = liblzma::stream::Stream::new_lzma_decoder(u64::MAX).unwrap();
            Box::new(liblzma::read::XzDecoder::new_stream(packed, stream))
        }
        Format::Brotli => Box::new(brotli::Decompressor::new(packed, CHUNK)),
        Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(packed)),
        _ => return None,
    })
}

/// `level` on the backend's own scale, as compressio maps it.
pub fn backend_level(format: Format, level: Level) -> i32 {
    level.backend_level(format).unwrap_or_else(|e| panic!("{e}"))
}

/// The backend crate's own streaming adapters, same settings as ours (checksums on where we
/// write them by default).
pub fn backend(format: Format, level: Level) -> Option<Impl> {
    let l = backend_level(format, level);
    let (name, compress, decompress): (&str, CompressFn, DecompressFn) = match format {
        Format::Gzip => (
            "flate2 Gz",
            Box::new(move |d, s| {
                let mut e = flate2::write::GzEncoder::new(s, flate2::Compression::new(l as u32));
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            decompress_with(Format::Gzip),
        ),
        Format::Zlib => (
            "flate2 Zlib",
            Box::new(move |d, s| {
                let mut e = flate2::write::ZlibEncoder::new(s, flate2::Compression::new(l as u32));
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            decompress_with(Format::Zlib),
        ),
        Format::Deflate => (
            "flate2 Deflate",
            Box::new(move |d, s| {
                let mut e = flate2::write::DeflateEncoder::new(s, flate2::Compression::new(l as u32));
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            decompress_with(Format::Deflate),
        ),
        Format::Zstd => (
            "zstd stream",
            Box::new(move |d, s| {
                let mut e = zstd::stream::write::Encoder::new(s, l).unwrap();
                e.include_checksum(true).unwrap();
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            decompress_with(Format::Zstd),
        ),
        Format::Lz4 => (
            "lz4_flex frame",
            Box::new(move |d, s| {
                let info = lz4_flex::frame::FrameInfo::new().content_checksum(true).block_mode(if l >= 2 {
                    lz4_flex::frame::BlockMode::Linked
                } else {
                    lz4_flex::frame::BlockMode::Independent
                });
                let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, s);
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            decompress_with(Format::Lz4),
        ),
        Format::Xz => (
            "liblzma Xz",
            Box::new(move |d, s| {
                let mut e = liblzma::write::XzEncoder::new(s, l as u32);
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            decompress_with(Format::Xz),
        ),
        Format::Lzma => (
            "liblzma alone",
            Box::new(move |d, s| {
                let opts = liblzma::stream::LzmaOptions::new_preset(l as u32).unwrap();
                let stream = liblzma::stream::Stream::new_lzma_encoder(&opts).unwrap();
                let mut e = liblzma::write::XzEncoder::new_stream(s, stream);
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            decompress_with(Format::Lzma),
        ),
        Format::Brotli => (
            "brotli CompressorWriter",
            Box::new(move |d, s| {
                // the window compressio's encoder uses (brotli's default, 2^22)
                let mut e = brotli::CompressorWriter::new(s, CHUNK, l as u32, 22);
                feed(&mut e, d);
                e.into_inner()
            }),
            decompress_with(Format::Brotli),
        ),
        Format::Bzip2 => (
            "bzip2 BzEncoder",
            Box::new(move |d, s| {
                let mut e = bzip2::write::BzEncoder::new(s, bzip2::Compression::new(l as u32));
                feed(&mut e, d);
                e.finish().unwrap()
            }),
            decompress_with(Format::Bzip2),
        ),
        _ => return None,
    };
    Some(Impl { name: name.into(), compress, decompress })
}

/// Drain the backend's reader for `format` in 64 KiB reads.
fn decompress_with(format: Format) -> DecompressFn {
    Box::new(move |p| drain(reader(format, p).expect("a backend reader")))
}

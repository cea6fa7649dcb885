//! Faulty inner I/O: `Interrupted` is retried; `WouldBlock` and other errors come back with
//! the adapter intact, and retrying continues with no byte lost or repeated; short and
//! zero-length I/O; sync flush over a pipe; drop never writes.

mod common;

use std::io::{self, Read, Write};

use common::*;
use compressio::{compress, decompress, Decoder, Encoder, Error, Format};

/// Call `op` until it succeeds, retrying injected `WouldBlock` and `Other` failures.
fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> T {
    let mut last = None;
    for _ in 0..1_000_000 {
        match op() {
            Ok(v) => return v,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Other) => last = Some(e),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    panic!("no progress after a million retries; the last error: {last:?}");
}

const WRITER_SCRIPTS: &[&[Fault]] = &[
    &[Fault::Ok(1)],
    &[Fault::Interrupted, Fault::Ok(3), Fault::Interrupted, Fault::Ok(100)],
    &[Fault::WouldBlock, Fault::Ok(7), Fault::Fail, Fault::Ok(4096), Fault::WouldBlock],
    &[Fault::Ok(usize::MAX), Fault::WouldBlock, Fault::Fail],
];

#[test]
fn encoder_survives_a_faulty_writer_without_losing_or_repeating_bytes() {
    let data = [text(150_000, 51), random(30_000, 52)].concat();
    for format in formats() {
        for (i, script) in WRITER_SCRIPTS.iter().enumerate() {
            for buffer in [1, 100, 64 * 1024] {
                let config = compressio::Config::default().buffer_size(buffer);
                let mut enc = Encoder::with_config(FaultyWriter::new(script), format, &config).unwrap();
                let mut rest = &data[..];
                let mut calls = 0usize;
                while !rest.is_empty() {
                    let n = [1, 1000, 70_000][calls % 3].min(rest.len());
                    let written = retry(|| enc.write(&rest[..n]));
                    rest = &rest[written..];
                    calls += 1;
                    if calls.is_multiple_of(50) {
                        retry(|| enc.flush());
                    }
                }
                retry(|| enc.try_finish());
                let out = enc.finish().unwrap().data;
                let back = decompress(&out, format)
                    .unwrap_or_else(|e| panic!("{format} script {i} buffer {buffer}: {e}"));
                assert!(back == data, "{format} script {i} buffer {buffer}");
            }
        }
    }
}

#[test]
fn interrupted_is_retried_everywhere_the_inner_flush_included() {
    // every third call fails with Interrupted, write and flush alike, and no call moves more
    // than 7 bytes: nothing of that may reach the caller
    let data = text(256 * 1024, 58);
    let script = [Fault::Ok(7), Fault::Ok(7), Fault::Interrupted];
    for format in formats() {
        let config = compressio::Config::default().buffer_size(4096);
        let mut enc =
            Encoder::with_config(FaultyWriter::with_faulty_flush(&script), format, &config).unwrap();
        for chunk in data.chunks(10_000) {
            enc.write_all(chunk).unwrap_or_else(|e| panic!("{format}: write: {e}"));
            enc.flush().unwrap_or_else(|e| panic!("{format}: flush: {e}"));
        }
        enc.try_finish().unwrap_or_else(|e| panic!("{format}: try_finish: {e}"));
        let out = enc.finish().unwrap_or_else(|e| panic!("{format}: finish: {e}")).data;
        assert!(decompress(&out, format).unwrap() == data, "{format}");
    }
}

#[test]
fn writing_after_an_interrupted_flush_continues_the_stream() {
    // a flush stopped by WouldBlock is not retried: the caller writes more first (a
    // non-blocking socket that became writable again), and finishes later
    let data = [text(100_000, 56), random(20_000, 57)].concat();
    for format in formats() {
        for buffer in [1, 16, 4096] {
            let config = compressio::Config::default().buffer_size(buffer);
            let script = [Fault::Ok(5), Fault::WouldBlock, Fault::Ok(5), Fault::Ok(5)];
            let mut enc = Encoder::with_config(FaultyWriter::new(&script), format, &config).unwrap();
            let mut interrupted = 0;
            for chunk in data.chunks(7_919) {
                let mut rest = chunk;
                while !rest.is_empty() {
                    rest = &rest[retry(|| enc.write(rest))..];
                }
                if enc.flush().is_err() {
                    interrupted += 1;
                }
            }
            retry(|| enc.try_finish());
            let out = enc.finish().unwrap().data;
            assert!(interrupted > 0, "{format} buffer {buffer}: no flush was interrupted");
            let back = decompress(&out, format).unwrap_or_else(|e| panic!("{format} buffer {buffer}: {e}"));
            assert!(back == data, "{format} buffer {buffer}");
        }
    }
}

#[test]
fn a_writer_that_accepts_nothing_is_write_zero_not_a_busy_loop() {
    for format in formats() {
        let config = compressio::Config::default().buffer_size(16);
        let mut enc = Encoder::with_config(FaultyWriter::new(&[Fault::Ok(0)]), format, &config).unwrap();
        // the 16-byte buffer fills quickly; then the writer must be asked, and refuse
        let err = enc.write_all(&random(10_000, 53)).and_then(|_| enc.try_finish()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero, "{format}");
        // and try_finish too, directly
        let mut enc = Encoder::new(FaultyWriter::new(&[Fault::Ok(0)]), format).unwrap();
        enc.write_all(b"x").unwrap();
        assert_eq!(enc.try_finish().unwrap_err().kind(), io::ErrorKind::WriteZero, "{format}");
    }
}

#[test]
fn inner_write_errors_are_returned_unchanged() {
    for format in formats() {
        let mut enc = Encoder::new(FaultyWriter::new(&[Fault::Fail]), format).unwrap();
        enc.write_all(b"some data").unwrap(); // buffered: the writer is not asked yet
        let err = enc.try_finish().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert_eq!(err.to_string(), "injected failure");
        assert!(matches!(Error::from(err), Error::Io(_)));
    }
}

#[test]
fn flush_and_finish_flush_the_inner_writer() {
    for format in formats() {
        let mut enc = Encoder::new(FaultyWriter::new(&[Fault::Ok(usize::MAX)]), format).unwrap();
        enc.write_all(b"abc").unwrap();
        assert_eq!(enc.get_ref().flushes, 0);
        enc.flush().unwrap();
        assert_eq!(enc.get_ref().flushes, 1);
        let inner = enc.finish().unwrap();
        assert_eq!(inner.flushes, 2);
    }
}

const READER_SCRIPTS: &[&[Fault]] = &[
    &[Fault::Ok(1)],
    &[Fault::Interrupted, Fault::Ok(2), Fault::Interrupted, Fault::Ok(5000)],
    &[Fault::WouldBlock, Fault::Ok(13), Fault::Fail, Fault::Ok(100_000)],
    &[Fault::Ok(usize::MAX), Fault::WouldBlock],
];

#[test]
fn decoder_survives_a_faulty_reader_without_losing_or_repeating_bytes() {
    let data = [text(150_000, 54), random(30_000, 55)].concat();
    for format in formats() {
        let packed = [compress(&data, format).unwrap(), compress(b"second", format).unwrap()].concat();
        let concatenable = concatenable(format);
        let packed = if concatenable { packed } else { compress(&data, format).unwrap() };
        let expected = if concatenable { [&data[..], b"second"].concat() } else { data.clone() };
        for (i, script) in READER_SCRIPTS.iter().enumerate() {
            for buffer in [1, 100, 64 * 1024] {
                let config = compressio::Config::default().buffer_size(buffer);
                let mut dec =
                    Decoder::with_config(FaultyReader::new(&packed, script), format, &config).unwrap();
                let mut out = Vec::new();
                let mut buf = [0u8; 777];
                loop {
                    let n = retry(|| dec.read(&mut buf));
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                assert!(out == expected, "{format} script {i} buffer {buffer}");
            }
        }
    }
}

#[test]
fn auto_detection_survives_a_one_byte_interrupting_reader() {
    for format in detectable() {
        let packed = compress(b"detect me through a difficult reader", format).unwrap();
        let reader = FaultyReader::new(&packed, &[Fault::Interrupted, Fault::Ok(1)]);
        let mut dec = Decoder::auto(reader).unwrap();
        assert_eq!(dec.format(), format);
        let mut out = Vec::new();
        dec.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"detect me through a difficult reader");
    }
}

#[test]
fn inner_read_errors_are_returned_unchanged_and_not_sticky() {
    for format in formats() {
        let packed = compress(b"payload", format).unwrap();
        let script: Vec<Fault> = std::iter::once(Fault::Fail).chain([Fault::Ok(usize::MAX); 100]).collect();
        let reader = FaultyReader::new(&packed, &script);
        let mut dec = Decoder::new(reader, format).unwrap();
        let mut buf = [0u8; 64];
        let err = dec.read(&mut buf).unwrap_err();
        assert_eq!(err.to_string(), "injected failure");
        let mut out = Vec::new();
        dec.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"payload");
    }
}

#[test]
fn flush_makes_everything_written_so_far_decodable() {
    for format in formats().filter(|&f| f != Format::Lzma) {
        for buffer in [1, 64 * 1024] {
            let config = compressio::Config::default().buffer_size(buffer);
            let (tx, rx) = Pipe::new();
            let mut enc = Encoder::with_config(tx, format, &config).unwrap();
            let mut dec = Decoder::with_config(rx, format, &config).unwrap();
            let mut sent = Vec::new();
            let mut received = Vec::new();
            for i in 0..20u64 {
                let message = if i % 3 == 0 {
                    random(500 + i as usize * 97, i)
                } else {
                    text(10 + i as usize * 1000, i)
                };
                enc.write_all(&message).unwrap();
                enc.flush().unwrap();
                sent.extend_from_slice(&message);
                // read until the pipe is empty: everything sent must have arrived
                let mut buf = [0u8; 4096];
                loop {
                    match dec.read(&mut buf) {
                        Ok(0) => panic!("{format}: unexpected end of stream"),
                        Ok(n) => received.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("{format}: {e}"),
                    }
                }
                assert_eq!(
                    received.len(),
                    sent.len(),
                    "{format} buffer {buffer}: message {i} not decodable after flush"
                );
                assert!(received == sent);
            }
            // a flush with nothing new adds nothing
            let before = enc.total_out();
            enc.flush().unwrap();
            enc.flush().unwrap();
            assert!(enc.total_out() - before <= 8, "{format}: idle flushes grew the stream");
            drop(enc.finish().unwrap()); // closes the pipe
            let mut rest = Vec::new();
            dec.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());
        }
    }
}

#[test]
fn lzma_flush_is_accepted_and_the_stream_stays_valid() {
    if !Format::Lzma.is_enabled() {
        return;
    }
    let mut enc = Encoder::new(Vec::new(), Format::Lzma).unwrap();
    enc.write_all(b"legacy lzma has no sync flush").unwrap();
    enc.flush().unwrap();
    enc.write_all(b", but flushing is not an error").unwrap();
    let packed = enc.finish().unwrap();
    assert_eq!(
        decompress(&packed, Format::Lzma).unwrap(),
        b"legacy lzma has no sync flush, but flushing is not an error"
    );
}

#[test]
fn drop_never_writes_and_leaves_a_truncated_stream() {
    let data = random(300_000, 56);
    for format in formats() {
        let mut out = Vec::new();
        {
            let mut enc = Encoder::new(&mut out, format).unwrap();
            enc.write_all(&data).unwrap();
            let before = enc.get_ref().len();
            drop(enc);
            assert_eq!(out.len(), before, "{format}: drop wrote bytes");
        }
        let result = decompress(&out, format);
        assert!(matches!(result, Err(Error::Truncated { .. })), "{format}: {result:?}");
    }
}

#[test]
fn finish_is_idempotent_and_writing_after_it_fails() {
    for format in formats() {
        let mut enc = Encoder::new(Vec::new(), format).unwrap();
        enc.write_all(b"once").unwrap();
        enc.try_finish().unwrap();
        let len = enc.get_ref().len();
        enc.try_finish().unwrap();
        enc.flush().unwrap();
        assert_eq!(enc.get_ref().len(), len, "{format}");
        assert!(enc.write(b"more").is_err());
        assert_eq!(decompress(&enc.finish().unwrap(), format).unwrap(), b"once");
    }
}

#[test]
fn adapters_are_send_when_the_inner_io_is() {
    fn assert_send<T: Send>() {}
    assert_send::<Encoder<Vec<u8>>>();
    assert_send::<Encoder<std::fs::File>>();
    assert_send::<Decoder<&[u8]>>();
    assert_send::<Decoder<std::net::TcpStream>>();
    fn assert_sync<T: Send + Sync + std::error::Error>() {}
    assert_sync::<Error>();
    // and across a thread, for real
    let data = text(50_000, 57);
    for format in formats() {
        let mut enc = Encoder::new(Vec::new(), format).unwrap();
        enc.write_all(&data[..1000]).unwrap();
        let enc = std::thread::spawn({
            let data = data.clone();
            move || {
                let mut enc = enc;
                enc.write_all(&data[1000..]).unwrap();
                enc
            }
        })
        .join()
        .unwrap();
        assert_eq!(decompress(&enc.finish().unwrap(), format).unwrap(), data);
    }
}

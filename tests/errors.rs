//! `Error`: variants survive the trip through `std::io::Error` (as they must inside
//! `Read`/`Write` pipelines), kinds are the documented ones, messages name the format.

mod common;

use std::io::{self, Read};

use common::*;
use compressio::{compress, Decoder, Error, Format};

fn all_variants() -> Vec<Error> {
    vec![
        Error::Io(io::Error::new(io::ErrorKind::BrokenPipe, "pipe")),
        Error::Corrupt { format: Format::Gzip, detail: "header CRC mismatch".into() },
        Error::Truncated { format: Format::Xz },
        Error::TrailingData { format: Format::Zstd },
        Error::UnknownFormat,
        Error::LimitExceeded { limit: 42 },
        Error::InvalidConfig("bad".into()),
        Error::Unsupported { format: Format::Lz4, detail: "dictionary".into() },
        Error::NeedsDictionary { format: Format::Zstd, id: 0x1234_5678 },
    ]
}

#[test]
fn io_error_round_trip_keeps_the_variant() {
    let kinds = [
        io::ErrorKind::BrokenPipe,
        io::ErrorKind::InvalidData,
        io::ErrorKind::UnexpectedEof,
        io::ErrorKind::InvalidData,
        io::ErrorKind::InvalidData,
        io::ErrorKind::InvalidData,
        io::ErrorKind::InvalidInput,
        io::ErrorKind::Unsupported,
        io::ErrorKind::InvalidInput,
    ];
    for (err, kind) in all_variants().into_iter().zip(kinds) {
        let text = err.to_string();
        let debug = format!("{err:?}");
        assert_eq!(err.io_kind(), kind);
        let io: io::Error = err.into();
        assert_eq!(io.kind(), kind, "{text}");
        let back = Error::from(io);
        assert_eq!(back.to_string(), text);
        assert_eq!(format!("{back:?}"), debug);
    }
}

#[test]
fn messages_are_lowercase_and_name_the_format() {
    for err in all_variants() {
        let text = err.to_string();
        assert!(!text.ends_with('.'), "{text}");
        assert_eq!(text.chars().next().map(|c| c.is_lowercase()), Some(true), "{text}");
        assert_ne!(text, format!("{err:?}"));
    }
    assert_eq!(
        Error::Corrupt { format: Format::Gzip, detail: "header CRC mismatch".into() }.to_string(),
        "gzip: header CRC mismatch"
    );
}

#[test]
fn a_foreign_io_error_becomes_io_and_keeps_its_source() {
    let err = Error::from(io::Error::new(io::ErrorKind::TimedOut, "slow"));
    assert!(matches!(&err, Error::Io(e) if e.kind() == io::ErrorKind::TimedOut));
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn errors_from_read_to_end_and_io_copy_come_back_typed() {
    for format in formats() {
        let packed = compress(&text(5000, 81), format).unwrap();
        let mut dec = Decoder::new(&packed[..packed.len() - 1], format).unwrap();
        let err = io::copy(&mut dec, &mut io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(matches!(Error::from(err), Error::Truncated { format: f } if f == format));
        let mut dec = Decoder::new(&packed[..packed.len() - 1], format).unwrap();
        let err = dec.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(Error::from(err), Error::Truncated { .. }));
    }
}

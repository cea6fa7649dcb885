//! `std::io::copy` pipelines: transcode a stream from one format to another without ever
//! holding it in memory, and stack adapters.
//!
//! `cargo run --example pipeline -- xz < some.gz > some.xz` transcodes stdin (any detected
//! format) to the format named on stdout. Without an argument it runs a self-contained
//! demonstration.

use std::io::{self, Read, Write};

use compressio::{compress, Decoder, Encoder, Error, Format};

/// Read whatever format `input` is in, write it as `to`.
fn transcode<R: Read, W: Write>(input: R, output: W, to: Format) -> Result<(u64, u64), Error> {
    let mut decoder = Decoder::auto(input)?;
    let mut encoder = Encoder::new(output, to)?;
    io::copy(&mut decoder, &mut encoder)?;
    encoder.try_finish()?;
    Ok((decoder.total_in(), encoder.total_out()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(to) = std::env::args().nth(1) {
        let to: Format = to.parse()?;
        let (read, written) = transcode(io::stdin().lock(), io::stdout().lock(), to)?;
        eprintln!("transcoded {read} compressed bytes into {written} bytes of {to}");
        return Ok(());
    }

    let text: Vec<u8> = (0..20_000).flat_map(|i| format!("record {i}: status ok\n").into_bytes()).collect();

    // gzip -> zstd, streaming
    let gz = compress(&text, Format::Gzip)?;
    let mut zst = Vec::new();
    let (read, written) = transcode(&gz[..], &mut zst, Format::Zstd)?;
    println!("gzip {read} bytes -> zstd {written} bytes");

    // adapters stack: lz4 inside xz, read back through two decoders
    let mut outer = Encoder::new(Encoder::new(Vec::new(), Format::Xz)?, Format::Lz4)?;
    outer.write_all(&text)?;
    let nested = outer.finish()?.finish()?;
    let mut back = Vec::new();
    Decoder::new(Decoder::new(&nested[..], Format::Xz)?, Format::Lz4)?.read_to_end(&mut back)?;
    assert_eq!(back, text);
    println!("lz4 inside xz: {} bytes -> {} bytes and back", text.len(), nested.len());

    // errors keep their type through io::copy
    let mut truncated = Decoder::auto(&zst[..zst.len() - 1])?;
    let err = Error::from(io::copy(&mut truncated, &mut io::sink()).unwrap_err());
    println!("a truncated stream: {err}");
    assert!(matches!(err, Error::Truncated { .. }));
    Ok(())
}

//! Every adapter shape, driven the same way, so that one contract suite (tests/shapes.rs) runs
//! over all of them: each compresses or decompresses through I/O that follows a fault script
//! (`Interrupted`, `WouldBlock` — `Pending` for the async shapes —, short transfers), moving
//! the caller's data in chunks of the given sizes, and retrying what a careful caller retries.
//! The async shapes run on `futures::executor::block_on`; the tokio ones need no runtime.

use std::io::{self, BufRead, BufReader, Read, Write};

use compressio::{bufread, read, write, Config, Error, Format};

use super::{Fault, FaultyReader, FaultyWriter};

/// An encoder shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncoderShape {
    /// `write::Encoder`: the caller writes plain bytes, the inner writer gets compressed ones.
    Write,
    /// `read::Encoder`: the caller reads compressed bytes, the inner reader gives plain ones.
    Read,
    /// `bufread::Encoder` over a `BufReader` of the given capacity.
    BufRead(usize),
    /// `tokio::write::Encoder`.
    #[cfg(feature = "tokio")]
    TokioWrite,
    /// `tokio::bufread::Encoder` over a tokio `BufReader` of the given capacity.
    #[cfg(feature = "tokio")]
    TokioBufRead(usize),
    /// `futures::write::Encoder`.
    #[cfg(feature = "futures")]
    FuturesWrite,
    /// `futures::bufread::Encoder` over a futures `BufReader` of the given capacity.
    #[cfg(feature = "futures")]
    FuturesBufRead(usize),
}

/// A decoder shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecoderShape {
    /// `read::Decoder`: its own input buffer.
    Read,
    /// `bufread::Decoder` over a `BufReader` of the given capacity.
    BufRead(usize),
    /// `write::Decoder`: the caller writes compressed bytes.
    Write,
    /// `tokio::bufread::Decoder` over a tokio `BufReader` of the given capacity.
    #[cfg(feature = "tokio")]
    TokioBufRead(usize),
    /// `tokio::write::Decoder`.
    #[cfg(feature = "tokio")]
    TokioWrite,
    /// `futures::bufread::Decoder` over a futures `BufReader` of the given capacity.
    #[cfg(feature = "futures")]
    FuturesBufRead(usize),
    /// `futures::write::Decoder`.
    #[cfg(feature = "futures")]
    FuturesWrite,
}

/// Every encoder shape this build has (the async ones with their features).
pub fn encoders() -> Vec<EncoderShape> {
    #[allow(unused_mut)]
    let mut shapes = vec![
        EncoderShape::Write,
        EncoderShape::Read,
        EncoderShape::BufRead(1),
        EncoderShape::BufRead(64 * 1024),
    ];
    #[cfg(feature = "tokio")]
    shapes.extend([
        EncoderShape::TokioWrite,
        EncoderShape::TokioBufRead(1),
        EncoderShape::TokioBufRead(64 * 1024),
    ]);
    #[cfg(feature = "futures")]
    shapes.extend([
        EncoderShape::FuturesWrite,
        EncoderShape::FuturesBufRead(1),
        EncoderShape::FuturesBufRead(8192),
    ]);
    shapes
}

/// Every decoder shape this build has (the async ones with their features).
pub fn decoders() -> Vec<DecoderShape> {
    #[allow(unused_mut)]
    let mut shapes = vec![
        DecoderShape::Read,
        DecoderShape::BufRead(1),
        DecoderShape::BufRead(64 * 1024),
        DecoderShape::Write,
    ];
    #[cfg(feature = "tokio")]
    shapes.extend([
        DecoderShape::TokioBufRead(1),
        DecoderShape::TokioBufRead(64 * 1024),
        DecoderShape::TokioWrite,
    ]);
    #[cfg(feature = "futures")]
    shapes.extend([
        DecoderShape::FuturesBufRead(1),
        DecoderShape::FuturesBufRead(8192),
        DecoderShape::FuturesWrite,
    ]);
    shapes
}

/// Call `op` until it succeeds, retrying `WouldBlock` and the scripts' injected failures.
pub fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    for _ in 0..10_000_000 {
        match op() {
            Err(e) if is_transient(&e) => {}
            other => return other,
        }
    }
    panic!("no progress after ten million retries");
}

/// What a script injects and a caller may retry: `WouldBlock`, and the `Fail` fault.
pub fn is_transient(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
        || (e.kind() == io::ErrorKind::Other && e.to_string() == "injected failure")
}

/// The chunk for call number `i`.
fn chunk(chunks: &[usize], i: usize, left: usize) -> usize {
    chunks[i % chunks.len()].clamp(1, left.max(1))
}

impl EncoderShape {
    /// Compress `data`, `chunks` bytes at a time, through I/O following `faults`.
    pub fn compress(
        self,
        data: &[u8],
        format: Format,
        config: &Config,
        chunks: &[usize],
        faults: &[Fault],
    ) -> Result<Vec<u8>, Error> {
        match self {
            EncoderShape::Write => {
                let mut enc = write::Encoder::with_config(FaultyWriter::new(faults), format, config)?;
                let mut rest = data;
                let mut i = 0;
                while !rest.is_empty() {
                    let n = chunk(chunks, i, rest.len());
                    let written = retry(|| enc.write(&rest[..n]))?;
                    rest = &rest[written..];
                    i += 1;
                }
                retry(|| enc.try_finish())?;
                Ok(enc.finish()?.data)
            }
            EncoderShape::Read => {
                let mut enc = read::Encoder::with_config(FaultyReader::new(data, faults), format, config)?;
                read_all_chunked(&mut enc, chunks)
            }
            EncoderShape::BufRead(capacity) => {
                let reader = BufReader::with_capacity(capacity, FaultyReader::new(data, faults));
                let mut enc = bufread::Encoder::with_config(reader, format, config)?;
                read_all_chunked(&mut enc, chunks)
            }
            #[cfg(feature = "tokio")]
            EncoderShape::TokioWrite => tokio_shapes::compress_write(data, format, config, chunks, faults),
            #[cfg(feature = "tokio")]
            EncoderShape::TokioBufRead(capacity) => {
                tokio_shapes::compress_bufread(data, format, config, chunks, faults, capacity)
            }
            #[cfg(feature = "futures")]
            EncoderShape::FuturesWrite => {
                futures_shapes::compress_write(data, format, config, chunks, faults)
            }
            #[cfg(feature = "futures")]
            EncoderShape::FuturesBufRead(capacity) => {
                futures_shapes::compress_bufread(data, format, config, chunks, faults, capacity)
            }
        }
    }
}

impl DecoderShape {
    /// Decompress `packed` as `format` (or detected, with `None`), `chunks` bytes at a time,
    /// through I/O following `faults`.
    pub fn decompress(
        self,
        packed: &[u8],
        format: Option<Format>,
        config: &Config,
        chunks: &[usize],
        faults: &[Fault],
    ) -> Result<Vec<u8>, Error> {
        let reader = FaultyReader::new(packed, faults);
        match self {
            DecoderShape::Read => {
                let mut dec = match format {
                    Some(f) => read::Decoder::with_config(reader, f, config)?,
                    None => read::Decoder::auto_with_config(reader, config)?,
                };
                read_all_chunked(&mut dec, chunks)
            }
            DecoderShape::BufRead(capacity) => {
                let reader = BufReader::with_capacity(capacity, reader);
                let mut dec = match format {
                    Some(f) => bufread::Decoder::with_config(reader, f, config)?,
                    None => bufread::Decoder::auto_with_config(reader, config)?,
                };
                read_all_chunked(&mut dec, chunks)
            }
            DecoderShape::Write => {
                let writer = FaultyWriter::new(faults);
                let mut dec = match format {
                    Some(f) => write::Decoder::with_config(writer, f, config)?,
                    None => write::Decoder::auto_with_config(writer, config)?,
                };
                let mut rest = packed;
                let mut i = 0;
                while !rest.is_empty() {
                    let n = chunk(chunks, i, rest.len());
                    let taken = retry(|| dec.write(&rest[..n]))?;
                    if taken == 0 {
                        break; // single_stream: the stream has ended
                    }
                    rest = &rest[taken..];
                    i += 1;
                }
                retry(|| dec.try_finish())?;
                Ok(dec.finish()?.data)
            }
            #[cfg(feature = "tokio")]
            DecoderShape::TokioBufRead(capacity) => {
                tokio_shapes::decompress_bufread(packed, format, config, chunks, faults, capacity)
            }
            #[cfg(feature = "tokio")]
            DecoderShape::TokioWrite => {
                tokio_shapes::decompress_write(packed, format, config, chunks, faults)
            }
            #[cfg(feature = "futures")]
            DecoderShape::FuturesBufRead(capacity) => {
                futures_shapes::decompress_bufread(packed, format, config, chunks, faults, capacity)
            }
            #[cfg(feature = "futures")]
            DecoderShape::FuturesWrite => {
                futures_shapes::decompress_write(packed, format, config, chunks, faults)
            }
        }
    }

    /// Decode the first member of `data` with `single_stream`, and return its output and the
    /// bytes after it as the shape hands them back (the reader's unread bytes, the decoder's
    /// read-ahead, the part of the data a write did not take).
    pub fn first_member(self, data: &[u8], format: Format) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let config = Config::default().single_stream(true);
        match self {
            DecoderShape::Read => {
                let mut dec = read::Decoder::with_config(data, format, &config)?;
                let out = read_all_chunked(&mut dec, &[1000])?;
                let (rest, ahead) = dec.into_parts();
                Ok((out, [&ahead[..], rest].concat()))
            }
            DecoderShape::BufRead(capacity) => {
                let mut reader = BufReader::with_capacity(capacity, data);
                let mut dec = bufread::Decoder::with_config(&mut reader, format, &config)?;
                let out = read_all_chunked(&mut dec, &[1000])?;
                drop(dec);
                // what is still in the BufReader, then what it has not read yet
                let buffered = reader.fill_buf().map_err(Error::from)?.to_vec();
                let n = buffered.len();
                reader.consume(n);
                let mut rest = buffered;
                reader.read_to_end(&mut rest).map_err(Error::from)?;
                Ok((out, rest))
            }
            DecoderShape::Write => {
                let mut dec = write::Decoder::with_config(Vec::new(), format, &config)?;
                let mut rest = data;
                while !rest.is_empty() {
                    let taken = dec.write(&rest[..rest.len().min(1000)]).map_err(Error::from)?;
                    if taken == 0 {
                        break;
                    }
                    rest = &rest[taken..];
                }
                Ok((dec.finish().map_err(Error::from)?, rest.to_vec()))
            }
            #[cfg(feature = "tokio")]
            DecoderShape::TokioBufRead(capacity) => {
                tokio_shapes::first_member_bufread(data, format, capacity)
            }
            #[cfg(feature = "tokio")]
            DecoderShape::TokioWrite => tokio_shapes::first_member_write(data, format),
            #[cfg(feature = "futures")]
            DecoderShape::FuturesBufRead(capacity) => {
                futures_shapes::first_member_bufread(data, format, capacity)
            }
            #[cfg(feature = "futures")]
            DecoderShape::FuturesWrite => futures_shapes::first_member_write(data, format),
        }
    }
}

/// Read `r` to the end into buffers of the `chunks` sizes, retrying transient failures.
pub fn read_all_chunked<R: Read>(r: &mut R, chunks: &[usize]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunks.iter().copied().max().unwrap_or(1).max(1)];
    let mut i = 0;
    loop {
        let n = chunks[i % chunks.len()].max(1);
        i += 1;
        match retry(|| r.read(&mut buf[..n])) {
            Ok(0) => return Ok(out),
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::from(e)),
        }
    }
}

/// Await `$op` until it succeeds, retrying the scripts' injected failures (`Pending` never
/// surfaces: the executor polls again).
#[allow(unused_macros)]
macro_rules! retry_async {
    ($op:expr) => {
        loop {
            match $op.await {
                Err(e) if is_transient(&e) => {}
                other => break other,
            }
        }
    };
}

/// The four async shapes of one ecosystem, driven exactly like their sync counterparts.
#[allow(unused_macros)]
macro_rules! async_shapes {
    ($name:ident, [$($adapters:ident)::+], [$($io:ident)::+], $close:ident) => {
        pub mod $name {
            use super::*;
            use crate::common::asyncio::{AsyncFaultyReader, AsyncFaultyWriter};
            use $($adapters)::+::{bufread, write};
            use $($io)::+::{AsyncReadExt, AsyncWriteExt, BufReader};
            use futures::executor::block_on;

            pub fn compress_write(
                data: &[u8],
                format: Format,
                config: &Config,
                chunks: &[usize],
                faults: &[Fault],
            ) -> Result<Vec<u8>, Error> {
                block_on(async {
                    let mut enc = write::Encoder::with_config(AsyncFaultyWriter::new(faults), format, config)?;
                    let mut rest = data;
                    let mut i = 0;
                    while !rest.is_empty() {
                        let n = chunk(chunks, i, rest.len());
                        let written = retry_async!(enc.write(&rest[..n]))?;
                        rest = &rest[written..];
                        i += 1;
                    }
                    retry_async!(enc.$close())?;
                    Ok(enc.into_inner().data)
                })
            }

            pub fn compress_bufread(
                data: &[u8],
                format: Format,
                config: &Config,
                chunks: &[usize],
                faults: &[Fault],
                capacity: usize,
            ) -> Result<Vec<u8>, Error> {
                block_on(async {
                    let reader = BufReader::with_capacity(capacity, AsyncFaultyReader::new(data, faults));
                    let mut enc = bufread::Encoder::with_config(reader, format, config)?;
                    read_all(&mut enc, chunks).await
                })
            }

            pub fn decompress_bufread(
                packed: &[u8],
                format: Option<Format>,
                config: &Config,
                chunks: &[usize],
                faults: &[Fault],
                capacity: usize,
            ) -> Result<Vec<u8>, Error> {
                block_on(async {
                    let reader = BufReader::with_capacity(capacity, AsyncFaultyReader::new(packed, faults));
                    let mut dec = match format {
                        Some(f) => bufread::Decoder::with_config(reader, f, config)?,
                        None => bufread::Decoder::auto_with_config(reader, config)?,
                    };
                    read_all(&mut dec, chunks).await
                })
            }

            pub fn decompress_write(
                packed: &[u8],
                format: Option<Format>,
                config: &Config,
                chunks: &[usize],
                faults: &[Fault],
            ) -> Result<Vec<u8>, Error> {
                block_on(async {
                    let writer = AsyncFaultyWriter::new(faults);
                    let mut dec = match format {
                        Some(f) => write::Decoder::with_config(writer, f, config)?,
                        None => write::Decoder::auto_with_config(writer, config)?,
                    };
                    let mut rest = packed;
                    let mut i = 0;
                    while !rest.is_empty() {
                        let n = chunk(chunks, i, rest.len());
                        let taken = retry_async!(dec.write(&rest[..n]))?;
                        if taken == 0 {
                            break; // single_stream: the stream has ended
                        }
                        rest = &rest[taken..];
                        i += 1;
                    }
                    retry_async!(dec.$close())?;
                    Ok(dec.into_inner().data)
                })
            }

            pub fn first_member_bufread(
                data: &[u8],
                format: Format,
                capacity: usize,
            ) -> Result<(Vec<u8>, Vec<u8>), Error> {
                let config = Config::default().single_stream(true);
                block_on(async {
                    let reader = BufReader::with_capacity(capacity, AsyncFaultyReader::new(data, &[Fault::Ok(333)]));
                    let mut dec = bufread::Decoder::with_config(reader, format, &config)?;
                    let out = read_all(&mut dec, &[1000]).await?;
                    let reader = dec.into_inner();
                    // what is still in the BufReader, then what it has not read yet
                    let rest = [reader.buffer(), reader.get_ref().rest()].concat();
                    Ok((out, rest))
                })
            }

            pub fn first_member_write(data: &[u8], format: Format) -> Result<(Vec<u8>, Vec<u8>), Error> {
                let config = Config::default().single_stream(true);
                block_on(async {
                    let writer = AsyncFaultyWriter::new(&[Fault::Ok(usize::MAX)]);
                    let mut dec = write::Decoder::with_config(writer, format, &config)?;
                    let mut rest = data;
                    while !rest.is_empty() {
                        let taken = dec.write(&rest[..rest.len().min(1000)]).await?;
                        if taken == 0 {
                            break;
                        }
                        rest = &rest[taken..];
                    }
                    dec.$close().await?;
                    Ok((dec.into_inner().data, rest.to_vec()))
                })
            }

            async fn read_all<R: AsyncReadExt + Unpin>(r: &mut R, chunks: &[usize]) -> Result<Vec<u8>, Error> {
                let mut out = Vec::new();
                let mut buf = vec![0u8; chunks.iter().copied().max().unwrap_or(1).max(1)];
                let mut i = 0;
                loop {
                    let n = chunks[i % chunks.len()].max(1);
                    i += 1;
                    match retry_async!(r.read(&mut buf[..n])) {
                        Ok(0) => return Ok(out),
                        Ok(k) => out.extend_from_slice(&buf[..k]),
                        Err(e) => return Err(Error::from(e)),
                    }
                }
            }
        }
    };
}

#[cfg(feature = "tokio")]
async_shapes!(tokio_shapes, [compressio::tokio], [tokio::io], shutdown);
#[cfg(feature = "futures")]
async_shapes!(futures_shapes, [compressio::futures], [futures::io], close);

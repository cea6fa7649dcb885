//! Async adapters over the futures-io traits (feature `futures`; async-std, smol and the
//! `futures` crate use them): the [`write`](mod@write)`::{Encoder, Decoder}` over an [`AsyncWrite`], the
//! [`bufread`]`::{Encoder, Decoder}` over an [`AsyncBufRead`]. The same types, state and
//! promises as `compressio::tokio` — only the traits differ
//! (`poll_close` where tokio has `poll_shutdown`).
//!
//! ```
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use compressio::{futures::{bufread, write}, Format};
//!
//! # futures::executor::block_on(async {
//! let mut encoder = write::Encoder::new(Vec::new(), Format::Lz4)?;
//! encoder.write_all(b"the same bytes, the same bytes").await?;
//! encoder.close().await?; // the end of the stream, then the inner writer's close
//! let compressed = encoder.into_inner();
//!
//! let mut decoder = bufread::Decoder::auto(&compressed[..])?;
//! let mut text = String::new();
//! decoder.read_to_string(&mut text).await?;
//! assert_eq!(text, "the same bytes, the same bytes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use crate::asyncio;

/// The marker of futures-io's bridges.
pub(crate) enum Futures {}

crate::asyncio::async_adapters! {
    eco: "futures-io",
    write_encoder_example: r#"
```
use futures::io::AsyncWriteExt;
use compressio::{decompress, futures::write::Encoder, Format};

# futures::executor::block_on(async {
let mut encoder = Encoder::new(Vec::new(), Format::Xz)?;
encoder.write_all(b"compressed on the way out").await?;
encoder.flush().await?; // a sync flush: all of it can be decoded from what went out
encoder.close().await?; // the end of the stream, then the inner writer's close
assert_eq!(decompress(encoder.get_ref(), Format::Xz)?, b"compressed on the way out");
# Ok::<(), Box<dyn std::error::Error>>(())
# }).unwrap();
```
"#,
    write_decoder_example: r#"
```
use futures::io::AsyncWriteExt;
use compressio::{compress, futures::write::Decoder, Error, Format};

# futures::executor::block_on(async {
let packed = compress(b"decompressed on the way out", Format::Bzip2)?;
let mut decoder = Decoder::new(Vec::new(), Format::Bzip2)?;
decoder.write_all(&packed[..packed.len() - 1]).await?; // the last byte never comes
let err = decoder.close().await.unwrap_err();
assert!(matches!(Error::from(err), Error::Truncated { .. }));
# Ok::<(), Box<dyn std::error::Error>>(())
# }).unwrap();
```
"#,
    bufread_encoder_example: r#"
```
use futures::io::AsyncReadExt;
use compressio::{decompress, futures::bufread::Encoder, Format};

# futures::executor::block_on(async {
let body: &[u8] = b"a body, compressed as it is sent";
let mut encoder = Encoder::new(body, Format::Deflate)?; // &[u8] is an AsyncBufRead
let mut compressed = Vec::new();
encoder.read_to_end(&mut compressed).await?;
assert_eq!(decompress(&compressed, Format::Deflate)?, body);
# Ok::<(), Box<dyn std::error::Error>>(())
# }).unwrap();
```
"#,
    bufread_decoder_example: r#"
```
use futures::io::AsyncReadExt;
use compressio::{compress, futures::bufread::Decoder, Config, Format};

# futures::executor::block_on(async {
let mut data = compress(b"first", Format::Gzip)?;
data.extend_from_slice(b"not compressed");
let mut input = &data[..];
let config = Config::default().single_stream(true);
let mut decoder = Decoder::with_config(&mut input, Format::Gzip, &config)?;
let mut text = String::new();
decoder.read_to_string(&mut text).await?;
assert_eq!(text, "first");
assert_eq!(input, b"not compressed"); // left in the inner reader
# Ok::<(), Box<dyn std::error::Error>>(())
# }).unwrap();
```
"#,
}

crate::asyncio::bridge_io!(Futures, AsyncWrite, AsyncBufRead);
crate::asyncio::async_write!(Futures, AsyncWrite, poll_close, Encoder);
crate::asyncio::async_write!(Futures, AsyncWrite, poll_close, Decoder);

impl<R: AsyncBufRead> AsyncRead for bufread::Encoder<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        let (inner, state, budget) = self.split();
        asyncio::read_encoded::<_, Futures>(inner, cx, budget, state, out)
    }
}

impl<R: AsyncBufRead> AsyncRead for bufread::Decoder<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        let (inner, state, budget) = self.split();
        asyncio::read_decoded::<_, Futures>(inner, cx, budget, state, out)
    }
}

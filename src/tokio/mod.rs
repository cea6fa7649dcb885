//! Async adapters over tokio's I/O traits (feature `tokio`): the
//! [`write`](mod@write)`::{Encoder, Decoder}` over an [`AsyncWrite`], the [`bufread`]`::{Encoder,
//! Decoder}` over an [`AsyncBufRead`] — the shapes async-compression users know, with the
//! strictness, limits, pools and threads of every other adapter here, because they drive the
//! very same state (see the crate's [`write`](crate::write) and [`bufread`](crate::bufread)
//! modules).
//!
//! - `poll_flush` on a write adapter is a sync flush the peer can decode at once;
//!   `poll_shutdown` ends the stream (encoder) or checks that it ended (decoder), then shuts
//!   the inner writer down. `Drop` writes nothing.
//! - No poll holds the executor for more than one buffer ([`Config::buffer_size`]) of codec
//!   work: after that it wakes itself and yields. `Pending` from the inner I/O, and a future
//!   dropped mid-operation, leave the adapter consistent, with no byte lost or repeated.
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
//! use compressio::{tokio::{bufread, write}, Format};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // compress into any AsyncWrite...
//! let mut encoder = write::Encoder::new(Vec::new(), Format::Zstd)?;
//! encoder.write_all(b"the same bytes, the same bytes").await?;
//! encoder.shutdown().await?;
//! let compressed = encoder.into_inner();
//!
//! // ...and read it back from any AsyncBufRead, detecting the format
//! let mut decoder = bufread::Decoder::auto(BufReader::new(&compressed[..]))?;
//! let mut text = String::new();
//! decoder.read_to_string(&mut text).await?;
//! assert_eq!(text, "the same bytes, the same bytes");
//! # Ok(())
//! # }
//! ```
//!
//! [`Config::buffer_size`]: crate::Config::buffer_size

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

use crate::asyncio;

/// The marker of tokio's bridges.
pub(crate) enum Tokio {}

crate::asyncio::async_adapters! {
    eco: "tokio",
    write_encoder_example: r#"
```
use tokio::io::AsyncWriteExt;
use compressio::{decompress, tokio::write::Encoder, Format};

# #[tokio::main(flavor = "current_thread")]
# async fn main() -> Result<(), Box<dyn std::error::Error>> {
let mut encoder = Encoder::new(Vec::new(), Format::Gzip)?;
encoder.write_all(b"compressed on the way out").await?;
encoder.flush().await?; // a sync flush: all of it can be decoded from what went out
encoder.shutdown().await?; // the end of the stream, then the inner writer's shutdown
assert_eq!(decompress(encoder.get_ref(), Format::Gzip)?, b"compressed on the way out");
# Ok(())
# }
```
"#,
    write_decoder_example: r#"
```
use tokio::io::AsyncWriteExt;
use compressio::{compress, tokio::write::Decoder, Format};

# #[tokio::main(flavor = "current_thread")]
# async fn main() -> Result<(), Box<dyn std::error::Error>> {
let packed = compress(b"decompressed on the way out", Format::Zstd)?;
let mut decoder = Decoder::new(Vec::new(), Format::Zstd)?;
for chunk in packed.chunks(7) {
    decoder.write_all(chunk).await?;
}
decoder.shutdown().await?; // Truncated here if the stream were incomplete
assert_eq!(decoder.into_inner(), b"decompressed on the way out");
# Ok(())
# }
```
"#,
    bufread_encoder_example: r#"
```
use tokio::io::AsyncReadExt;
use compressio::{decompress, tokio::bufread::Encoder, Format};

# #[tokio::main(flavor = "current_thread")]
# async fn main() -> Result<(), Box<dyn std::error::Error>> {
let body: &[u8] = b"a response body, compressed as it is sent";
let mut encoder = Encoder::new(body, Format::Brotli)?; // &[u8] is an AsyncBufRead
let mut compressed = Vec::new();
encoder.read_to_end(&mut compressed).await?;
assert_eq!(decompress(&compressed, Format::Brotli)?, body);
# Ok(())
# }
```
"#,
    bufread_decoder_example: r#"
```
use tokio::io::AsyncReadExt;
use compressio::{compress, tokio::bufread::Decoder, Config, Error, Format};

# #[tokio::main(flavor = "current_thread")]
# async fn main() -> Result<(), Box<dyn std::error::Error>> {
let upload = compress(&vec![0u8; 10 << 20], Format::Gzip)?; // 10 MiB of zeros in ~10 KiB
let config = Config::default().max_output(1 << 20);
let mut decoder = Decoder::with_config(&upload[..], Format::Gzip, &config)?;
let err = decoder.read_to_end(&mut Vec::new()).await.unwrap_err();
assert!(matches!(Error::from(err), Error::LimitExceeded { .. })); // a 413, not an OOM
# Ok(())
# }
```
"#,
}

crate::asyncio::bridge_io!(Tokio, AsyncWrite, AsyncBufRead);
crate::asyncio::async_write!(Tokio, AsyncWrite, poll_shutdown, Encoder);
crate::asyncio::async_write!(Tokio, AsyncWrite, poll_shutdown, Decoder);

impl<R: AsyncBufRead> AsyncRead for bufread::Encoder<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let (inner, state, budget) = self.split();
        let n =
            ready!(asyncio::read_encoded::<_, Tokio>(inner, cx, budget, state, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncBufRead> AsyncRead for bufread::Decoder<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let (inner, state, budget) = self.split();
        let n =
            ready!(asyncio::read_decoded::<_, Tokio>(inner, cx, budget, state, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

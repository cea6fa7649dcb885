//! Write-shaped adapters: [`Encoder`] compresses what is written to it into the inner writer,
//! [`Decoder`] decompresses what is written to it into the inner writer. Both own one buffer
//! of output waiting for the inner writer, and drive the same codecs as every other shape.
//!
//! Both follow the same rules for the inner writer: `Interrupted` is retried (from `flush`
//! too); any other error, `WouldBlock` included, comes back with the adapter intact, and
//! calling again continues with no byte lost or repeated; a writer that accepts nothing
//! (`Ok(0)`) is `WriteZero`; `Drop` writes nothing.

use std::io::{self, Write};

use crate::pool::Buffer;

mod decoder;
mod encoder;

#[cfg(any(feature = "tokio", feature = "futures"))]
pub(crate) use decoder::DecodeState;
pub use decoder::Decoder;
#[cfg(any(feature = "tokio", feature = "futures"))]
pub(crate) use encoder::EncodeState;
pub use encoder::Encoder;

/// Write `buf`'s pending bytes to `inner`, retrying `Interrupted`.
fn write_out<W: Write + ?Sized>(inner: &mut W, buf: &mut Buffer) -> io::Result<()> {
    while !buf.is_empty() {
        match inner.write(buf.pending()) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "inner writer accepted nothing")),
            Ok(n) => buf.consume(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Flush `inner`, retrying `Interrupted` as every other call to it does.
fn flush_retrying<W: Write + ?Sized>(inner: &mut W) -> io::Result<()> {
    loop {
        match inner.flush() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

//! BufRead-shaped adapters: they take their input straight from the inner reader's own
//! buffer (`fill_buf`/`consume`), so they own no input buffer and copy nothing in.
//! [`Decoder`] yields the decompressed form of what it reads, [`Encoder`] the compressed form.
//!
//! Both follow the same rules for the inner reader as the [`read`](crate::read) adapters:
//! `Interrupted` is retried; any other error, `WouldBlock` included, comes back with the
//! adapter intact, and a later `read` continues with no byte lost or repeated. Each `read`
//! asks the inner reader for more only while it has produced nothing, so an error from the
//! reader never costs output already produced.

use std::io::{self, BufRead};

use crate::error::{Error, Result};

mod decoder;
mod encoder;

#[cfg(any(feature = "tokio", feature = "futures"))]
pub(crate) use decoder::DecodeState;
pub use decoder::Decoder;
pub(crate) use encoder::EncodeState;
pub use encoder::Encoder;

/// The reader's buffered bytes, reading more if there are none; `Interrupted` is retried.
fn fill_buf<R: BufRead + ?Sized>(inner: &mut R) -> Result<&[u8]> {
    loop {
        match inner.fill_buf() {
            // the end of the input: nothing to borrow
            Ok([]) => return Ok(&[]),
            // the borrow checker cannot see that the loop ends here (NLL problem case 3), so
            // the buffer is borrowed again below: a non-empty buffer comes back without a read
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
    inner.fill_buf().map_err(Error::Io)
}

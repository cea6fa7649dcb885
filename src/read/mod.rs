//! Read-shaped adapters: [`Decoder`] yields the decompressed form of what it reads from the
//! inner reader, [`Encoder`] the compressed form. Both own one buffer of input read ahead and
//! write straight into the caller's buffer.
//!
//! Both follow the same rules for the inner reader: `Interrupted` is retried; any other
//! error, `WouldBlock` included, comes back with the adapter intact, and a later `read`
//! continues with no byte lost or repeated.

mod decoder;
mod encoder;

pub use decoder::Decoder;
pub use encoder::Encoder;

//! One raw deflate or zlib compressor and decompressor over flate2's `Compress`/`Decompress`.
//!
//! flate2's own stream adapters ignore bytes after the end of the stream and finish in
//! `Drop`; we use only its state machines, so the adapters' end-of-stream policy applies.
//! With `zlib: false` they are also the body of a gzip member.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use crate::codec::spec::preset;
use crate::codec::{drive, CodecResult, Decode, Decoded, Encode, Fault, InBuf, OutBuf, Status};
use crate::dictionary::{Dictionaries, Dictionary};
use crate::settings::Settings;

/// A failure of zlib-rs itself (never the data's: the compressor accepts any input).
pub(crate) fn compressor_error(e: impl std::fmt::Display) -> Fault {
    Fault::backend(format!("deflate compressor failed: {e}"))
}

/// Raw deflate or zlib compressor.
pub(crate) struct DeflateEncoder {
    inner: Compress,
    /// A sync flush has been issued and its output is still being drained.
    flushing: bool,
    /// The preset dictionary, set again after every reset (zlib keeps no prepared form of it:
    /// setting one hashes its last 32 KiB into the window, per stream).
    dictionary: Option<Dictionary>,
}

impl DeflateEncoder {
    /// With `zlib`, a zlib stream (RFC 1950: with a dictionary, its header carries FDICT and
    /// the dictionary's Adler-32); otherwise raw deflate.
    pub fn new(zlib: bool, settings: &Settings) -> CodecResult<Self> {
        let level = Compression::new(preset(settings));
        let inner = Compress::new_with_window_bits(level, zlib, super::window_bits(settings));
        let mut encoder =
            DeflateEncoder { inner, flushing: false, dictionary: settings.dictionary().cloned() };
        encoder.set_dictionary()?;
        Ok(encoder)
    }

    fn set_dictionary(&mut self) -> CodecResult<()> {
        if let Some(dict) = &self.dictionary {
            self.inner.set_dictionary(dict.content()).map_err(compressor_error)?;
        }
        Ok(())
    }

    /// One call into zlib-rs; returns (consumed, flate2 status).
    fn run(
        &mut self,
        input: &[u8],
        output: &mut OutBuf<'_>,
        flush: FlushCompress,
    ) -> CodecResult<(usize, flate2::Status)> {
        let (in0, out0) = (self.inner.total_in(), self.inner.total_out());
        let status = self.inner.compress(input, output.spare(), flush).map_err(compressor_error)?;
        output.advance((self.inner.total_out() - out0) as usize);
        Ok(((self.inner.total_in() - in0) as usize, status))
    }
}

impl Encode for DeflateEncoder {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
        let (consumed, _) = self.run(input.rest(), output, FlushCompress::None)?;
        input.advance(consumed);
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        // Issue Z_SYNC_FLUSH once, then drain what it left pending with Z_NO_FLUSH. Repeating
        // Z_SYNC_FLUSH while the output keeps filling up (a small buffer) makes zlib emit a new
        // empty stored block on every call, and the flush never ends.
        let mode = if self.flushing { FlushCompress::None } else { FlushCompress::Sync };
        self.flushing = true;
        self.run(&[], output, mode)?;
        // the flush is complete once a call returns with output space left
        if output.is_full() {
            return Ok(Status::Ongoing);
        }
        self.flushing = false;
        Ok(Status::Done)
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        let (_, status) = self.run(&[], output, FlushCompress::Finish)?;
        Ok(if status == flate2::Status::StreamEnd { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.inner.reset();
        self.flushing = false;
        self.set_dictionary()
    }
}

/// Raw deflate or zlib decompressor.
pub(crate) struct DeflateDecoder {
    inner: Decompress,
    zlib: bool,
    /// Preset dictionaries: a zlib stream names its own (by Adler-32) when it needs one; raw
    /// deflate cannot name one, so it starts from the first.
    dictionaries: Dictionaries,
}

impl DeflateDecoder {
    /// With `zlib`, zlib streams (RFC 1950); otherwise raw deflate.
    pub fn new(zlib: bool, dictionaries: Dictionaries) -> CodecResult<Self> {
        let mut decoder = DeflateDecoder { inner: Decompress::new(zlib), zlib, dictionaries };
        decoder.start()?;
        Ok(decoder)
    }

    /// Raw deflate: the dictionary is the window the stream starts with.
    fn start(&mut self) -> CodecResult<()> {
        if let (false, Some(dict)) = (self.zlib, self.dictionaries.as_deref().and_then(<[_]>::first)) {
            self.inner
                .set_dictionary(dict.content())
                .map_err(|e| Fault::backend(format!("inflate refused the dictionary: {e}")))?;
        }
        Ok(())
    }

    /// A zlib stream asks for the dictionary whose Adler-32 is `id`: zlib-rs checks each
    /// candidate against it.
    fn supply(&mut self, id: u32) -> CodecResult<()> {
        for dict in self.dictionaries.as_deref().unwrap_or_default() {
            if self.inner.set_dictionary(dict.content()).is_ok() {
                return Ok(());
            }
        }
        Err(Fault::Dictionary(id))
    }
}

impl Decode for DeflateDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        drive(input, output, |input, output| loop {
            let (in0, out0) = (self.inner.total_in(), self.inner.total_out());
            let result = self.inner.decompress(input.rest(), output.spare(), FlushDecompress::None);
            input.advance((self.inner.total_in() - in0) as usize);
            output.advance((self.inner.total_out() - out0) as usize);
            return match result {
                Ok(status) => Ok(status == flate2::Status::StreamEnd),
                Err(e) => match e.needs_dictionary() {
                    // the header is read; with its dictionary set, decoding goes on
                    Some(id) => {
                        self.supply(id)?;
                        continue;
                    }
                    None => Err(Fault::corrupt(e.message().unwrap_or("invalid deflate data").to_string())),
                },
            };
        })
    }

    /// inflate copies the last 32 KiB of each call's output into its window: calls of at
    /// least 128 KiB keep that copy to a quarter of the output or less (measured with
    /// examples/read_patterns, `read_to_end` of 25 MB of prose: 0.96× flate2 at 64 KiB,
    /// 1.02× at 128 KiB, no better beyond).
    fn output_unit(&self) -> usize {
        128 << 10
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.inner.reset(self.zlib);
        self.start()
    }
}

//! xz and legacy .lzma over liblzma's `Stream`.
//!
//! liblzma's default memory limit is "unlimited": a 13-byte .lzma header claiming a 4 GiB
//! dictionary makes it commit gigabytes. Every decoder here gets the configured `max_memory`
//! as its memlimit, and `LZMA_MEMLIMIT_ERROR` (raised before the allocation) becomes
//! `LimitExceeded`. Concatenated .xz streams and stream padding are handled by the adapter,
//! so the decoder is built without `LZMA_CONCATENATED` and reports each stream's end.

use liblzma::stream::{Action, Check, Filters, LzmaOptions, Stream};

use crate::buf::{InBuf, OutBuf, Status};
use crate::codec::{Decode, Encode};
use crate::config::Settings;
use crate::{Error, Format, Result};

fn encoder_error(format: Format, e: liblzma::stream::Error) -> Error {
    match e {
        liblzma::stream::Error::Mem => Error::Io(std::io::ErrorKind::OutOfMemory.into()),
        liblzma::stream::Error::Options => {
            Error::InvalidConfig(format!("{format}: options not supported by liblzma"))
        }
        other => Error::Io(std::io::Error::other(format!("{format}: compressor failed: {other}"))),
    }
}

/// One liblzma call over our cursors.
fn process(
    stream: &mut Stream,
    input: &mut InBuf<'_>,
    output: &mut OutBuf<'_>,
    action: Action,
) -> std::result::Result<liblzma::stream::Status, liblzma::stream::Error> {
    let (in0, out0) = (stream.total_in(), stream.total_out());
    let result = stream.process(input.rest(), output.spare(), action);
    input.advance((stream.total_in() - in0) as usize);
    output.advance((stream.total_out() - out0) as usize);
    result
}

/// xz or lzma compressor.
pub(crate) struct XzEncoder {
    format: Format,
    preset: u32,
    /// The dictionary size, when a memory level makes it smaller than the preset's.
    dict: Option<u32>,
    check: Check,
    stream: Stream,
}

impl XzEncoder {
    pub fn new(format: Format, settings: &Settings) -> Result<Self> {
        let preset = settings.level.clamp(0, 9) as u32;
        let check = if settings.checksum { Check::Crc64 } else { Check::None };
        let dict = crate::memory::lzma::dict_size(preset, settings.history_budget());
        let dict = (settings.history_budget().is_some()
            && dict < crate::memory::lzma::dict_size(preset, None))
        .then_some(dict);
        let stream = Self::stream(format, preset, dict, check)?;
        Ok(XzEncoder { format, preset, dict, check, stream })
    }

    fn stream(format: Format, preset: u32, dict: Option<u32>, check: Check) -> Result<Stream> {
        let fail = |e| encoder_error(format, e);
        let mut options = LzmaOptions::new_preset(preset).map_err(fail)?;
        if let Some(dict) = dict {
            options.dict_size(dict);
        }
        let stream = match (format, dict) {
            (Format::Lzma, _) => Stream::new_lzma_encoder(&options),
            (_, None) => Stream::new_easy_encoder(preset, check),
            (_, Some(_)) => Stream::new_stream_encoder(Filters::new().lzma2(&options), check),
        };
        stream.map_err(fail)
    }
}

impl Encode for XzEncoder {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<()> {
        process(&mut self.stream, input, output, Action::Run).map_err(|e| encoder_error(self.format, e))?;
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        if self.format == Format::Lzma {
            // LZMA1 in the .lzma container has no sync flush; see the `Encoder` docs
            return Ok(Status::Done);
        }
        let status = process(&mut self.stream, &mut InBuf::new(&[]), output, Action::SyncFlush)
            .map_err(|e| encoder_error(self.format, e))?;
        Ok(if status == liblzma::stream::Status::StreamEnd { Status::Done } else { Status::Ongoing })
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        let status = process(&mut self.stream, &mut InBuf::new(&[]), output, Action::Finish)
            .map_err(|e| encoder_error(self.format, e))?;
        Ok(if status == liblzma::stream::Status::StreamEnd { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> Result<()> {
        // liblzma has no reset for a finished encoder: build a new one
        self.stream = Self::stream(self.format, self.preset, self.dict, self.check)?;
        Ok(())
    }

    fn reusable(&self) -> bool {
        false
    }
}

/// xz or lzma decompressor; one .xz stream (or the one .lzma stream) per member.
pub(crate) struct XzDecoder {
    format: Format,
    max_memory: u64,
    stream: Stream,
}

impl XzDecoder {
    pub fn new(format: Format, settings: &Settings) -> Result<Self> {
        let stream = Self::stream(format, settings.max_memory)?;
        Ok(XzDecoder { format, max_memory: settings.max_memory, stream })
    }

    fn stream(format: Format, max_memory: u64) -> Result<Stream> {
        // liblzma treats a memlimit of 0 as 1 byte; the smallest useful one is a few KiB
        let memlimit = max_memory.max(1);
        let stream = if format == Format::Lzma {
            Stream::new_lzma_decoder(memlimit)
        } else {
            Stream::new_stream_decoder(memlimit, 0)
        };
        stream.map_err(|e| encoder_error(format, e))
    }
}

impl Decode for XzDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<Status> {
        match process(&mut self.stream, input, output, Action::Run) {
            Ok(liblzma::stream::Status::StreamEnd) => Ok(Status::Done),
            Ok(_) => Ok(Status::Ongoing),
            Err(liblzma::stream::Error::MemLimit) => Err(Error::LimitExceeded { limit: self.max_memory }),
            Err(liblzma::stream::Error::Mem) => Err(Error::Io(std::io::ErrorKind::OutOfMemory.into())),
            Err(liblzma::stream::Error::Format) => Err(Error::corrupt(
                self.format,
                if self.format == Format::Xz {
                    "not an xz stream (bad header)"
                } else {
                    "invalid lzma header"
                },
            )),
            Err(liblzma::stream::Error::Options) => {
                Err(Error::unsupported(self.format, "stream uses options liblzma does not support"))
            }
            Err(liblzma::stream::Error::Data) => {
                Err(Error::corrupt(self.format, "compressed data is corrupt"))
            }
            Err(e) => Err(Error::corrupt(self.format, e.to_string())),
        }
    }

    fn reset(&mut self) -> Result<()> {
        self.stream = Self::stream(self.format, self.max_memory)?;
        Ok(())
    }

    fn reusable(&self) -> bool {
        false
    }
}

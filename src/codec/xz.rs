//! xz and legacy .lzma over liblzma's `Stream`.
//!
//! liblzma's default memory limit is "unlimited": a 13-byte .lzma header claiming a 4 GiB
//! dictionary makes it commit gigabytes. Every decoder here gets the configured `max_memory`
//! as its memlimit, and `LZMA_MEMLIMIT_ERROR` (raised before the allocation) becomes
//! `LimitExceeded`. Concatenated .xz streams and stream padding are handled by the adapter,
//! so the decoder is built without `LZMA_CONCATENATED` and reports each stream's end.

use liblzma::stream::{Action, Check, Filters, LzmaOptions, MtStreamBuilder, Stream};

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
    /// Worker threads for liblzma's multithreaded encoder (xz only).
    threads: Option<u32>,
    stream: Stream,
}

/// The block size of the multithreaded xz encoder: the dictionary size (8 MiB at preset 6),
/// at least 1 MiB. Blocks are compressed independently, so the split decides the scaling:
/// `k` blocks on 2 threads take `ceil(k / 2)` block-times. liblzma's own default, 3 × the
/// dictionary, gives a 48–64 MiB input only 2–3 blocks (1.5× for 3); one dictionary per block
/// gives it 6–8 (≥ 1.75×, 2× for an even count) and more for larger inputs. The cost is ratio:
/// a block starts with an empty dictionary; measured on the corpus's binaries.tar (50 MB,
/// preset 6), 15.37 MB instead of 15.02 MB (+2.3 %); 16 MiB blocks +1.1 %, 4 MiB +3.7 %.
pub(crate) fn mt_block_size(dict: u32) -> u64 {
    u64::from(dict).max(1 << 20)
}

impl XzEncoder {
    pub fn new(format: Format, settings: &Settings) -> Result<Self> {
        let preset = settings.level.clamp(0, 9) as u32;
        let check = if settings.checksum { Check::Crc64 } else { Check::None };
        let dict = crate::memory::lzma::dict_size(preset, settings.history_budget());
        let dict = (settings.history_budget().is_some()
            && dict < crate::memory::lzma::dict_size(preset, None))
        .then_some(dict);
        let threads = match format {
            Format::Xz => settings.threads.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            _ => None, // .lzma is one LZMA1 stream: nothing to split
        };
        let stream = Self::stream(format, preset, dict, check, threads)?;
        Ok(XzEncoder { format, preset, dict, check, threads, stream })
    }

    fn stream(
        format: Format,
        preset: u32,
        dict: Option<u32>,
        check: Check,
        threads: Option<u32>,
    ) -> Result<Stream> {
        let fail = |e| encoder_error(format, e);
        let mut options = LzmaOptions::new_preset(preset).map_err(fail)?;
        if let Some(dict) = dict {
            options.dict_size(dict);
        }
        if let Some(threads) = threads {
            let dict = dict.unwrap_or_else(|| crate::memory::lzma::dict_size(preset, None));
            let mut filters = Filters::new();
            filters.lzma2(&options);
            let mut builder = MtStreamBuilder::new();
            builder
                .threads(threads.max(1))
                .block_size(mt_block_size(dict))
                .timeout_ms(0)
                .check(check)
                .filters(filters);
            return builder.encoder().map_err(fail);
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
        // the multithreaded encoder has no sync flush (liblzma 5.8); a full flush ends the
        // block, which makes everything so far decodable just the same
        let action = if self.threads.is_some() { Action::FullFlush } else { Action::SyncFlush };
        let status = process(&mut self.stream, &mut InBuf::new(&[]), output, action)
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
        self.stream = Self::stream(self.format, self.preset, self.dict, self.check, self.threads)?;
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
    /// liblzma's multithreaded decoder (xz with `threads(n)`, n > 1).
    threads: Option<u32>,
    stream: Stream,
}

impl XzDecoder {
    pub fn new(format: Format, settings: &Settings) -> Result<Self> {
        let threads = match (format, settings.threads) {
            (Format::Xz, Some(n)) if n > 1 => Some(u32::try_from(n).unwrap_or(u32::MAX)),
            _ => None,
        };
        let stream = Self::stream(format, settings.max_memory, threads)?;
        Ok(XzDecoder { format, max_memory: settings.max_memory, threads, stream })
    }

    fn stream(format: Format, max_memory: u64, threads: Option<u32>) -> Result<Stream> {
        // liblzma treats a memlimit of 0 as 1 byte; the smallest useful one is a few KiB
        let memlimit = max_memory.max(1);
        let stream = if format == Format::Lzma {
            Stream::new_lzma_decoder(memlimit)
        } else if let Some(threads) = threads {
            // blocks decode in parallel when the stream has several with their sizes in the
            // headers (ours and `xz -T`'s); liblzma falls back to one thread when the
            // threads' memory would pass `memlimit_threading`, and fails only past
            // `memlimit_stop`. Both are our limit: the same bound as one thread.
            MtStreamBuilder::new()
                .threads(threads)
                .timeout_ms(0)
                .memlimit_threading(memlimit)
                .memlimit_stop(memlimit)
                .decoder()
        } else {
            Stream::new_stream_decoder(memlimit, 0)
        };
        stream.map_err(|e| encoder_error(format, e))
    }
}

impl Decode for XzDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<Status> {
        let r = process(&mut self.stream, input, output, Action::Run);
        match r {
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

    fn eager_input(&self) -> bool {
        // the workers decode blocks ahead of the output only if their input is there
        self.threads.is_some()
    }

    fn reset(&mut self) -> Result<()> {
        self.stream = Self::stream(self.format, self.max_memory, self.threads)?;
        Ok(())
    }

    fn reusable(&self) -> bool {
        false
    }
}

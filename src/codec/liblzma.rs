//! The liblzma engine behind xz (`codec/xz.rs`) and legacy .lzma (`codec/lzma.rs`): one
//! compressor and one decompressor over liblzma's `Stream`, for either container.
//!
//! liblzma's default memory limit is "unlimited": a 13-byte .lzma header claiming a 4 GiB
//! dictionary makes it commit gigabytes. Every decoder here gets the configured `max_memory`
//! as its memlimit, and `LZMA_MEMLIMIT_ERROR` (raised before the allocation) becomes a limit
//! fault. Concatenated .xz streams and stream padding are handled by the adapter, so the
//! decoder is built without `LZMA_CONCATENATED` and reports each stream's end.

use liblzma::stream::{Action, Check, Filters, LzmaOptions, MtStreamBuilder, Stream};

use crate::codec::spec::preset;
use crate::codec::{drive, CodecResult, Decode, Decoded, Encode, Fault, InBuf, OutBuf, Status};
use crate::memory;
use crate::settings::Settings;

/// The two containers liblzma writes and reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Container {
    /// .xz: LZMA2 in blocks, with a check, an index, and a multithreaded coder.
    Stream,
    /// Legacy .lzma ("lzma_alone"): one LZMA1 stream behind a 13-byte header.
    Alone,
}

fn encoder_error(e: liblzma::stream::Error) -> Fault {
    match e {
        liblzma::stream::Error::Mem => Fault::out_of_memory(),
        liblzma::stream::Error::Options => Fault::InvalidConfig("options not supported by liblzma".into()),
        other => Fault::backend(format!("liblzma compressor failed: {other}")),
    }
}

/// The dictionary size of `preset`, capped by the memory level's budget; `None` when the
/// preset's own applies.
pub(crate) fn capped_dict_size(settings: &Settings) -> Option<u32> {
    let own = memory::liblzma::preset_dict_size(preset(settings));
    match settings.history_budget() {
        Some(b) if b < u64::from(own) => Some((b as u32).max(4096)),
        _ => None,
    }
}

/// The dictionary an encoder with these settings uses.
pub(crate) fn dict_size(settings: &Settings) -> u32 {
    capped_dict_size(settings).unwrap_or_else(|| memory::liblzma::preset_dict_size(preset(settings)))
}

/// One liblzma call over our cursors, with at most `most` bytes of the input.
fn process(
    stream: &mut Stream,
    input: &mut InBuf<'_>,
    output: &mut OutBuf<'_>,
    action: Action,
    most: usize,
) -> std::result::Result<liblzma::stream::Status, liblzma::stream::Error> {
    let (in0, out0) = (stream.total_in(), stream.total_out());
    let rest = input.rest();
    let result = stream.process(&rest[..rest.len().min(most)], output.spare(), action);
    input.advance((stream.total_in() - in0) as usize);
    output.advance((stream.total_out() - out0) as usize);
    result
}

/// The most input a single-threaded decoder gets per `lzma_code` call. Where LZMA2 stores
/// data uncompressed (incompressible input), liblzma copies as much as a call gives it into
/// its dictionary and from there to the output, and those copies run at cache speed only when
/// they are small. 16 MiB of random bytes as .xz, `decompress` (a `bufread::Decoder` over the
/// slice, which hands liblzma the whole rest of the input), medians of 41 decodes, three
/// rounds alternating with the binary before: 6132–6193 → 6512–6782 MB/s. In a scratch loop of
/// 100 decodes, steps of 2, 4, 8, 16, 32 KiB and none in the same binary: 7246, 8216, 7654,
/// 7667, 7289, 7106 MB/s (2 KiB: the calls' own cost shows), liblzma's `XzDecoder` (8 KiB
/// reads, so 8 KiB copies) 7784. `read::Decoder`, which copies the input into its buffer
/// first, gained 6–11 % in that loop but nothing visible in `read_patterns` (64 KiB reads:
/// 7643 and 7644 MB/s before, 7449 and 7601 after, against `XzDecoder`'s 8685–9323: that gap
/// is the README's). Compressed data, which liblzma decodes at ~150 MB/s, is the same either
/// way (25.6 MB of prose through `decompress`: 145–153 MB/s before, 136–156 after).
const DECODE_STEP: usize = 4 << 10;

/// How an encoder is built; kept, since liblzma cannot reset a finished coder and `reset`
/// builds a new one.
#[derive(Clone, Copy)]
pub(crate) struct Recipe {
    pub container: Container,
    pub preset: u32,
    /// The dictionary size, when a memory level makes it smaller than the preset's.
    pub dict: Option<u32>,
    pub check: Check,
    /// liblzma's multithreaded .xz encoder: worker threads and block size.
    pub mt: Option<(u32, u64)>,
}

impl Recipe {
    fn build(&self) -> CodecResult<Stream> {
        let mut options = LzmaOptions::new_preset(self.preset).map_err(encoder_error)?;
        if let Some(dict) = self.dict {
            options.dict_size(dict);
        }
        if let Some((threads, block_size)) = self.mt {
            let mut filters = Filters::new();
            filters.lzma2(&options);
            let mut builder = MtStreamBuilder::new();
            builder
                .threads(threads.max(1))
                .block_size(block_size)
                .timeout_ms(0)
                .check(self.check)
                .filters(filters);
            return builder.encoder().map_err(encoder_error);
        }
        let stream = match (self.container, self.dict) {
            (Container::Alone, _) => Stream::new_lzma_encoder(&options),
            (Container::Stream, None) => Stream::new_easy_encoder(self.preset, self.check),
            (Container::Stream, Some(_)) => {
                Stream::new_stream_encoder(Filters::new().lzma2(&options), self.check)
            }
        };
        stream.map_err(encoder_error)
    }
}

/// xz or lzma compressor.
pub(crate) struct LzmaEncoder {
    recipe: Recipe,
    stream: Stream,
}

impl LzmaEncoder {
    pub fn new(recipe: Recipe) -> CodecResult<Self> {
        Ok(LzmaEncoder { stream: recipe.build()?, recipe })
    }
}

impl Encode for LzmaEncoder {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
        process(&mut self.stream, input, output, Action::Run, usize::MAX).map_err(encoder_error)?;
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        let action = match (self.recipe.container, self.recipe.mt) {
            // LZMA1 in the .lzma container has no sync flush; see the `Encoder` docs
            (Container::Alone, _) => return Ok(Status::Done),
            // the multithreaded encoder has no sync flush (liblzma 5.8); a full flush ends the
            // block, which makes everything so far decodable just the same
            (Container::Stream, Some(_)) => Action::FullFlush,
            (Container::Stream, None) => Action::SyncFlush,
        };
        let status =
            process(&mut self.stream, &mut InBuf::new(&[]), output, action, 0).map_err(encoder_error)?;
        Ok(if status == liblzma::stream::Status::StreamEnd { Status::Done } else { Status::Ongoing })
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        let status = process(&mut self.stream, &mut InBuf::new(&[]), output, Action::Finish, 0)
            .map_err(encoder_error)?;
        Ok(if status == liblzma::stream::Status::StreamEnd { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> CodecResult<()> {
        // liblzma has no reset for a finished encoder: build a new one
        self.stream = self.recipe.build()?;
        Ok(())
    }

    fn reusable(&self) -> bool {
        false
    }
}

/// xz or lzma decompressor; one .xz stream (or the one .lzma stream) per member.
pub(crate) struct LzmaDecoder {
    container: Container,
    max_memory: u64,
    /// liblzma's multithreaded decoder (xz with `threads(n)`, n > 1).
    threads: Option<u32>,
    stream: Stream,
}

impl LzmaDecoder {
    pub fn new(container: Container, settings: &Settings) -> CodecResult<Self> {
        let threads = match (container, settings.threads) {
            (Container::Stream, Some(n)) if n > 1 => Some(u32::try_from(n).unwrap_or(u32::MAX)),
            _ => None,
        };
        let stream = Self::stream(container, settings.max_memory, threads)?;
        Ok(LzmaDecoder { container, max_memory: settings.max_memory, threads, stream })
    }

    fn stream(container: Container, max_memory: u64, threads: Option<u32>) -> CodecResult<Stream> {
        // liblzma treats a memlimit of 0 as 1 byte; the smallest useful one is a few KiB
        let memlimit = max_memory.max(1);
        let stream = match (container, threads) {
            (Container::Alone, _) => Stream::new_lzma_decoder(memlimit),
            // blocks decode in parallel when the stream has several with their sizes in the
            // headers (ours and `xz -T`'s); liblzma falls back to one thread when the
            // threads' memory would pass `memlimit_threading`, and fails only past
            // `memlimit_stop`. Both are our limit: the same bound as one thread.
            (Container::Stream, Some(threads)) => MtStreamBuilder::new()
                .threads(threads)
                .timeout_ms(0)
                .memlimit_threading(memlimit)
                .memlimit_stop(memlimit)
                .decoder(),
            (Container::Stream, None) => Stream::new_stream_decoder(memlimit, 0),
        };
        stream.map_err(encoder_error)
    }
}

impl Decode for LzmaDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        let (container, max_memory) = (self.container, self.max_memory);
        // (the multithreaded decoder takes all the input there is: its workers decode ahead)
        let step = if self.threads.is_some() { usize::MAX } else { DECODE_STEP };
        drive(input, output, |input, output| {
            match process(&mut self.stream, input, output, Action::Run, step) {
                Ok(status) => Ok(status == liblzma::stream::Status::StreamEnd),
                Err(liblzma::stream::Error::MemLimit) => Err(Fault::Limit(max_memory)),
                Err(liblzma::stream::Error::Mem) => Err(Fault::out_of_memory()),
                Err(liblzma::stream::Error::Format) => Err(Fault::corrupt(match container {
                    Container::Stream => "not an xz stream (bad header)",
                    Container::Alone => "invalid lzma header",
                })),
                Err(liblzma::stream::Error::Options) => {
                    Err(Fault::unsupported("stream uses options liblzma does not support"))
                }
                Err(liblzma::stream::Error::Data) => Err(Fault::corrupt("compressed data is corrupt")),
                Err(e) => Err(Fault::corrupt(e.to_string())),
            }
        })
    }

    fn eager_input(&self) -> bool {
        // the workers decode blocks ahead of the output only if their input is there
        self.threads.is_some()
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.stream = Self::stream(self.container, self.max_memory, self.threads)?;
        Ok(())
    }

    fn reusable(&self) -> bool {
        false
    }
}

//! One bzip2 stream: libbz2's compressor and decompressor over our cursors.

use bzip2::{Action, Compress, Compression, Decompress};

use super::{small_mode, HEADER};
use crate::codec::{drive, CodecResult, Decode, Decoded, Encode, Fault, InBuf, OutBuf, Status};
use crate::settings::Settings;

/// libbz2's default effort before it falls back to its slower sort on repetitive input.
const WORK_FACTOR: u32 = 30;

fn compressor_error(e: bzip2::Error) -> Fault {
    Fault::backend(format!("bzip2 compressor failed: {e}"))
}

/// A fresh compressor: libbz2 cannot be reset after a stream's end.
pub(super) fn compressor(level: u32) -> Compress {
    Compress::new(Compression::new(level), WORK_FACTOR)
}

/// One libbz2 compressor call over our cursors.
pub(super) fn compress(
    bz: &mut Compress,
    input: &mut InBuf<'_>,
    output: &mut OutBuf<'_>,
    action: Action,
) -> CodecResult<bzip2::Status> {
    let (in0, out0) = (bz.total_in(), bz.total_out());
    let status = bz.compress(input.rest(), output.spare(), action).map_err(compressor_error);
    input.advance((bz.total_in() - in0) as usize);
    output.advance((bz.total_out() - out0) as usize);
    status
}

/// bzip2 compressor: one stream, or one per flush.
///
/// libbz2's `BZ_FLUSH` ends a block, but bzip2 blocks are not byte-aligned: the block's last
/// bits stay in libbz2's bit buffer, so nothing written before the flush could be decoded
/// yet. The end of a stream is the format's only sync point, so a flush ends the stream and
/// the next input starts another; every bzip2 decoder reads the streams as one file.
pub(crate) struct Bzip2Encoder {
    bz: Compress,
    level: u32,
    /// A flush is ending the current stream.
    flushing: bool,
    /// A stream has been ended by a flush (so `finish` with no input since adds no empty
    /// stream).
    flushed: bool,
}

impl Bzip2Encoder {
    pub fn new(level: u32) -> Self {
        Bzip2Encoder { bz: compressor(level), level, flushing: false, flushed: false }
    }

    /// End the current stream for a flush; `Done` once it has ended and a new one is ready.
    fn end_stream_for_flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        self.flushing = true;
        match compress(&mut self.bz, &mut InBuf::new(&[]), output, Action::Finish)? {
            bzip2::Status::StreamEnd => {
                self.bz = compressor(self.level);
                self.flushing = false;
                self.flushed = true;
                Ok(Status::Done)
            }
            _ => Ok(Status::Ongoing),
        }
    }
}

impl Encode for Bzip2Encoder {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
        compress(&mut self.bz, input, output, Action::Run)?;
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if !self.flushing && self.bz.total_in() == 0 {
            return Ok(Status::Done); // nothing since the last stream ended
        }
        self.end_stream_for_flush(output)
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if self.flushed && self.bz.total_in() == 0 {
            return Ok(Status::Done); // the last flush ended the last stream
        }
        match compress(&mut self.bz, &mut InBuf::new(&[]), output, Action::Finish)? {
            bzip2::Status::StreamEnd => Ok(Status::Done),
            _ => Ok(Status::Ongoing),
        }
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.bz = compressor(self.level);
        self.flushing = false;
        self.flushed = false;
        Ok(())
    }

    fn reusable(&self) -> bool {
        false
    }
}

/// bzip2 decompressor; one stream per member.
pub(crate) struct Bzip2Decoder {
    settings: Settings,
    /// The stream's `BZhN` header, read before libbz2 is made for it: `head[fed..len]` is
    /// still to go to libbz2.
    head: [u8; 4],
    head_len: usize,
    fed: usize,
    /// libbz2's decompressor, in the mode the header's block size allows.
    bz: Option<Decompress>,
    /// An error found in a call that produced output, for the next call (see `decode`).
    deferred: Option<Fault>,
}

impl Bzip2Decoder {
    pub fn new(settings: &Settings) -> Self {
        Bzip2Decoder {
            settings: settings.clone(),
            head: [0; 4],
            head_len: 0,
            fed: 0,
            bz: None,
            deferred: None,
        }
    }

    /// Read the header and make libbz2's decompressor for it. True once made.
    fn start(&mut self, input: &mut InBuf<'_>) -> CodecResult<bool> {
        if !input.fill(&mut self.head, &mut self.head_len, 4) {
            return Ok(false);
        }
        if self.head[..3] != HEADER {
            return Err(Fault::corrupt("not a bzip2 stream (bad magic bytes)"));
        }
        let level = match self.head[3] {
            digit @ b'1'..=b'9' => u32::from(digit - b'0'),
            _ => return Err(Fault::corrupt("invalid block size in the stream header")),
        };
        let small = small_mode(level, &self.settings).ok_or(Fault::Limit(self.settings.max_memory))?;
        self.bz = Some(Decompress::new(small));
        Ok(true)
    }
}

/// libbz2's data error (a bad block, block CRC or stream CRC), in the words the threaded
/// decoder uses too.
pub(super) const DATA_ERROR: &str = "compressed data is corrupt (bad block or CRC)";

/// One libbz2 decompressor call over our cursors; true at the stream's end.
pub(super) fn decompress(
    bz: &mut Decompress,
    input: &mut InBuf<'_>,
    output: &mut OutBuf<'_>,
) -> CodecResult<bool> {
    let (in0, out0) = (bz.total_in(), bz.total_out());
    let status = bz.decompress(input.rest(), output.spare());
    input.advance((bz.total_in() - in0) as usize);
    output.advance((bz.total_out() - out0) as usize);
    match status {
        Ok(bzip2::Status::StreamEnd) => Ok(true),
        Ok(bzip2::Status::MemNeeded) => Err(Fault::out_of_memory()),
        Ok(_) => Ok(false),
        Err(bzip2::Error::Data) => Err(Fault::corrupt(DATA_ERROR)),
        Err(bzip2::Error::DataMagic) => Err(Fault::corrupt("not a bzip2 stream (bad magic bytes)")),
        Err(e) => Err(Fault::backend(format!("bzip2 decompressor failed: {e}"))),
    }
}

impl Decode for Bzip2Decoder {
    /// libbz2 writes a block out before it checks the block's CRC: an error found in a call
    /// that produced output is reported by the next call, so that the caller gets all that
    /// libbz2 gave, as from the threaded decoder (whose workers decode whole blocks).
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        if let Some(fault) = self.deferred.take() {
            return Err(fault);
        }
        let start = output.pos;
        match self.decode_some(input, output) {
            Err(fault) if output.pos > start => {
                self.deferred = Some(fault);
                Ok(Decoded::OutputFull)
            }
            result => result,
        }
    }

    fn reset(&mut self) -> CodecResult<()> {
        // libbz2 cannot be reset after a stream's end: the next stream gets a new one, made
        // when its header is read (its block size decides the mode)
        self.bz = None;
        self.head_len = 0;
        self.fed = 0;
        self.deferred = None;
        Ok(())
    }

    fn reusable(&self) -> bool {
        false
    }
}

impl Bzip2Decoder {
    fn decode_some(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        if self.bz.is_none() && !self.start(input)? {
            return Ok(Decoded::InputEmpty);
        }
        let Some(bz) = &mut self.bz else { return Ok(Decoded::InputEmpty) };
        // the header we took first, then the caller's input
        if self.fed < self.head_len {
            let mut head = InBuf::new(&self.head[self.fed..self.head_len]);
            let ended = decompress(bz, &mut head, output)?;
            self.fed += head.pos;
            if ended {
                return Err(Fault::corrupt("stream ends inside its header"));
            }
            if self.fed < self.head_len {
                return Ok(Decoded::InputEmpty);
            }
        }
        drive(input, output, |input, output| decompress(bz, input, output))
    }
}

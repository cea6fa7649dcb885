//! A gzip member: header, deflate body, CRC-32 + ISIZE trailer (encoder and decoder).

use super::{DEFLATE, MAGIC};
use crate::codec::deflate::parallel::ParallelDeflate;
use crate::codec::deflate::stream::{DeflateDecoder, DeflateEncoder};
use crate::codec::{CodecResult, Decode, Decoded, Encode, Fault, HoldsOutput, InBuf, OutBuf, Status};
use crate::settings::Settings;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED_FLAGS: u8 = 0xe0;
/// OS byte "unknown": the output does not depend on the platform that wrote it.
const OS_UNKNOWN: u8 = 255;
/// Longest FNAME or FCOMMENT we accept, terminator included. File names are at most a few
/// KiB on every system; anything longer is an attack or garbage.
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// The deflate body of a gzip member: one compressor, or pigz-style parallel blocks (whose
/// CRC-32s are combined as they are written out).
enum Body {
    Serial(DeflateEncoder),
    Parallel(ParallelDeflate),
}

impl Body {
    fn deflate(&mut self) -> &mut dyn Encode {
        match self {
            Body::Serial(deflate) => deflate,
            Body::Parallel(deflate) => deflate,
        }
    }
}

/// gzip compressor: header, raw deflate, CRC-32 + ISIZE trailer.
pub(crate) struct GzipEncoder {
    body: Body,
    header: [u8; 10],
    header_pos: usize,
    crc: crc32fast::Hasher,
    size: u32,
    trailer: [u8; 8],
    /// `None` until the deflate stream has finished.
    trailer_pos: Option<usize>,
}

impl GzipEncoder {
    pub fn new(settings: &Settings) -> CodecResult<Self> {
        // XFL: 2 = slowest/best, 4 = fastest (RFC 1952 2.3.1)
        let xfl = match settings.level {
            9 => 2,
            1 => 4,
            _ => 0,
        };
        let body = match settings.threads {
            Some(threads) => Body::Parallel(ParallelDeflate::new(settings, threads)?),
            None => Body::Serial(DeflateEncoder::new(false, settings)?),
        };
        Ok(GzipEncoder {
            body,
            header: [MAGIC[0], MAGIC[1], DEFLATE, 0, 0, 0, 0, 0, xfl, OS_UNKNOWN],
            header_pos: 0,
            crc: crc32fast::Hasher::new(),
            size: 0,
            trailer: [0; 8],
            trailer_pos: None,
        })
    }

    /// Write out the header first; false while it does not fit yet.
    fn header_written(&mut self, output: &mut OutBuf<'_>) -> bool {
        output.drain(&self.header, &mut self.header_pos)
    }
}

impl Encode for GzipEncoder {
    fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<()> {
        if !self.header_written(output) {
            return Ok(());
        }
        let start = input.pos;
        self.body.deflate().encode(input, output)?;
        let consumed = &input.data[start..input.pos];
        if let Body::Serial(_) = self.body {
            self.crc.update(consumed);
        }
        self.size = self.size.wrapping_add(consumed.len() as u32);
        Ok(())
    }

    fn flush(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if !self.header_written(output) {
            return Ok(Status::Ongoing);
        }
        self.body.deflate().flush(output)
    }

    fn finish(&mut self, output: &mut OutBuf<'_>) -> CodecResult<Status> {
        if !self.header_written(output) {
            return Ok(Status::Ongoing);
        }
        let pos = match &mut self.trailer_pos {
            Some(pos) => pos,
            None => {
                if self.body.deflate().finish(output)? == Status::Ongoing {
                    return Ok(Status::Ongoing);
                }
                let crc = match &self.body {
                    Body::Serial(_) => std::mem::take(&mut self.crc).finalize(),
                    Body::Parallel(deflate) => deflate.crc(),
                };
                self.trailer[..4].copy_from_slice(&crc.to_le_bytes());
                self.trailer[4..].copy_from_slice(&self.size.to_le_bytes());
                self.trailer_pos.insert(0)
            }
        };
        Ok(if output.drain(&self.trailer, pos) { Status::Done } else { Status::Ongoing })
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.body.deflate().reset()?;
        self.header_pos = 0;
        self.crc = crc32fast::Hasher::new();
        self.size = 0;
        self.trailer_pos = None;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Fixed,
    ExtraLen,
    Extra,
    Name,
    Comment,
    HeaderCrc,
    Body,
    Trailer,
    Done,
}

/// gzip decompressor for one member.
pub(crate) struct GzipDecoder {
    state: State,
    /// Fixed-size fields assembled across calls: the 10-byte header, XLEN, HCRC, trailer.
    field: [u8; 10],
    have: usize,
    flags: u8,
    /// FEXTRA bytes still to skip, or FNAME/FCOMMENT bytes seen so far.
    count: usize,
    header_crc: crc32fast::Hasher,
    crc: crc32fast::Hasher,
    size: u32,
    deflate: DeflateDecoder,
    /// An error found in a call that produced output: the next call's (`HoldsOutput`).
    deferred: Option<Fault>,
}

impl GzipDecoder {
    pub fn new() -> CodecResult<Self> {
        Ok(GzipDecoder {
            state: State::Fixed,
            field: [0; 10],
            have: 0,
            flags: 0,
            count: 0,
            header_crc: crc32fast::Hasher::new(),
            crc: crc32fast::Hasher::new(),
            size: 0,
            deflate: DeflateDecoder::new(false, None)?,
            deferred: None,
        })
    }

    /// The header part that follows `after`, skipping those whose flag is not set.
    fn next_header_state(&self, after: State) -> State {
        const ORDER: [(State, u8); 4] = [
            (State::ExtraLen, FEXTRA),
            (State::Name, FNAME),
            (State::Comment, FCOMMENT),
            (State::HeaderCrc, FHCRC),
        ];
        let start = ORDER.iter().position(|(s, _)| *s == after).map_or(0, |i| i + 1);
        ORDER[start..].iter().find(|(_, flag)| self.flags & flag != 0).map_or(State::Body, |(s, _)| *s)
    }

    /// Assemble `need` bytes of a fixed field, feeding them to the header CRC if asked.
    fn fill_field(&mut self, input: &mut InBuf<'_>, need: usize, header: bool) -> bool {
        let start = input.pos;
        let done = input.fill(&mut self.field, &mut self.have, need);
        if header {
            self.header_crc.update(&input.data[start..input.pos]);
        }
        done
    }
}

/// The member's output before an error reaches the caller whatever the buffers' sizes (a bad
/// CRC-32 comes after all of it): a threaded decoder's workers, which decode into larger
/// buffers, give the same bytes before the same error.
impl HoldsOutput for GzipDecoder {
    fn deferred(&mut self) -> &mut Option<Fault> {
        &mut self.deferred
    }

    fn drop_work(&mut self) {}
}

impl Decode for GzipDecoder {
    fn decode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        self.deferring(output, Decoded::OutputFull, |this, output| this.step(input, output))
    }

    fn output_unit(&self) -> usize {
        self.deflate.output_unit()
    }

    fn reset(&mut self) -> CodecResult<()> {
        self.deferred = None;
        self.deflate.reset()?;
        self.state = State::Fixed;
        self.have = 0;
        self.flags = 0;
        self.count = 0;
        self.header_crc = crc32fast::Hasher::new();
        self.crc = crc32fast::Hasher::new();
        self.size = 0;
        Ok(())
    }
}

impl GzipDecoder {
    fn step(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> CodecResult<Decoded> {
        loop {
            match self.state {
                State::Fixed => {
                    if !self.fill_field(input, 10, true) {
                        return Ok(Decoded::InputEmpty);
                    }
                    if self.field[..2] != MAGIC {
                        return Err(Fault::corrupt("not a gzip stream (bad magic bytes)"));
                    }
                    if self.field[2] != DEFLATE {
                        return Err(Fault::corrupt(format!("unknown compression method {}", self.field[2])));
                    }
                    self.flags = self.field[3];
                    if self.flags & RESERVED_FLAGS != 0 {
                        return Err(Fault::corrupt("reserved header flags are set"));
                    }
                    self.have = 0;
                    self.state = self.next_header_state(State::Fixed);
                }
                State::ExtraLen => {
                    if !self.fill_field(input, 2, true) {
                        return Ok(Decoded::InputEmpty);
                    }
                    self.count = usize::from(u16::from_le_bytes([self.field[0], self.field[1]]));
                    self.have = 0;
                    self.state = State::Extra;
                }
                State::Extra => {
                    let n = self.count.min(input.rest().len());
                    self.header_crc.update(&input.rest()[..n]);
                    input.advance(n);
                    self.count -= n;
                    if self.count > 0 {
                        return Ok(Decoded::InputEmpty);
                    }
                    self.state = self.next_header_state(State::ExtraLen);
                }
                State::Name | State::Comment => {
                    let rest = input.rest();
                    let (n, terminated) = match rest.iter().position(|&b| b == 0) {
                        Some(i) => (i + 1, true),
                        None => (rest.len(), false),
                    };
                    self.header_crc.update(&rest[..n]);
                    input.advance(n);
                    self.count += n;
                    if self.count > MAX_TEXT_FIELD {
                        return Err(Fault::corrupt(if self.state == State::Name {
                            "file name field is longer than 64 KiB"
                        } else {
                            "comment field is longer than 64 KiB"
                        }));
                    }
                    if !terminated {
                        return Ok(Decoded::InputEmpty);
                    }
                    self.count = 0;
                    self.state = self.next_header_state(self.state);
                }
                State::HeaderCrc => {
                    if !self.fill_field(input, 2, false) {
                        return Ok(Decoded::InputEmpty);
                    }
                    let expected = u16::from_le_bytes([self.field[0], self.field[1]]);
                    let actual = std::mem::take(&mut self.header_crc).finalize() as u16;
                    if expected != actual {
                        return Err(Fault::corrupt("header CRC mismatch"));
                    }
                    self.have = 0;
                    self.state = State::Body;
                }
                State::Body => {
                    let start = output.pos;
                    let outcome = self.deflate.decode(input, output)?;
                    let produced = &output.data[start..output.pos];
                    self.crc.update(produced);
                    self.size = self.size.wrapping_add(produced.len() as u32);
                    if outcome != Decoded::End {
                        return Ok(outcome);
                    }
                    self.state = State::Trailer;
                }
                State::Trailer => {
                    if !self.fill_field(input, 8, false) {
                        return Ok(Decoded::InputEmpty);
                    }
                    let crc =
                        u32::from_le_bytes([self.field[0], self.field[1], self.field[2], self.field[3]]);
                    let size =
                        u32::from_le_bytes([self.field[4], self.field[5], self.field[6], self.field[7]]);
                    if crc != std::mem::take(&mut self.crc).finalize() {
                        return Err(Fault::corrupt("CRC-32 mismatch (data is corrupt)"));
                    }
                    if size != self.size {
                        return Err(Fault::corrupt("size mismatch (ISIZE field does not match the data)"));
                    }
                    self.state = State::Done;
                }
                State::Done => return Ok(Decoded::End),
            }
        }
    }
}

//! `EncodeCore`: the encoding state machine that every encoder shape drives —
//! `write::Encoder` (output into its own buffer, then the inner writer), `read::Encoder`
//! (output straight into the caller's buffer) and the async ones. Sans-I/O: each call gets
//! input and output space; the shapes own the I/O.
//!
//! It keeps the rules that must hold whatever the shape: a sync flush, once started, is
//! completed before the codec sees anything else; a flush with nothing new written adds
//! nothing; nothing is encoded after `finish` began; a codec that makes no progress is an
//! error, never a spin.

use crate::codec::{Encode, InBuf, OutBuf, Status};
use crate::config::{Config, Direction};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::pool::Pooled;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Accepting input.
    Open,
    /// `finish` has begun; the codec may still have trailer bytes to produce.
    Finishing,
    /// The stream is complete (its last bytes may still be in the shape's buffer).
    Finished,
}

/// The encoding state machine (see the module docs).
pub(crate) struct EncodeCore {
    codec: Pooled<dyn Encode>,
    format: Format,
    state: State,
    /// A sync flush completed and nothing was written since: another flush adds nothing.
    synced: bool,
    /// A sync flush has started in the codec and not completed (an I/O error of the shape
    /// interrupted it): it is completed before the codec sees anything else, since codecs
    /// (liblzma, brotli) take no input and no other action in the middle of a flush.
    flushing: bool,
    total_in: u64,
    total_out: u64,
}

impl EncodeCore {
    pub fn new(format: Format, config: &Config) -> Result<Self> {
        let settings = config.resolve(format, Direction::Compress)?;
        let codec = Pooled::encoder(format, &settings, config.pool.as_ref())?;
        Ok(EncodeCore {
            codec,
            format,
            state: State::Open,
            synced: false,
            flushing: false,
            total_in: 0,
            total_out: 0,
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// Run one codec step into `output`, counting what it produced.
    fn run<F>(&mut self, output: &mut OutBuf<'_>, step: F) -> Result<Status>
    where
        F: FnOnce(&mut dyn Encode, &mut OutBuf<'_>) -> crate::codec::CodecResult<Status>,
    {
        let start = output.pos;
        let status = step(&mut *self.codec, output);
        self.total_out += (output.pos - start) as u64;
        status.map_err(|fault| Error::from_fault(self.format, fault))
    }

    /// Complete a flush in progress, as far as `output` allows; true once none is.
    fn complete_flush(&mut self, output: &mut OutBuf<'_>) -> Result<bool> {
        while self.flushing {
            if output.is_full() {
                return Ok(false);
            }
            if self.run(output, |codec, out| codec.flush(out))? == Status::Done {
                self.flushing = false;
            }
        }
        Ok(true)
    }

    /// Encode from `input` into `output` (non-empty). Consumes or produces something unless
    /// `output` is full; an error after `finish` began.
    pub fn encode(&mut self, input: &mut InBuf<'_>, output: &mut OutBuf<'_>) -> Result<()> {
        if self.state != State::Open {
            return Err(Error::InvalidConfig(format!("{}: write after finish", self.format)));
        }
        if !self.complete_flush(output)? || input.is_empty() {
            return Ok(());
        }
        let (in0, out0) = (input.pos, output.pos);
        let result = self.codec.encode(input, output);
        self.total_in += (input.pos - in0) as u64;
        self.total_out += (output.pos - out0) as u64;
        result.map_err(|fault| Error::from_fault(self.format, fault))?;
        if input.pos > in0 {
            self.synced = false;
        } else if output.pos == out0 && !output.is_full() {
            // the codec contract forbids this; never spin on it
            return Err(Error::backend(self.format, "compressor made no progress"));
        }
        Ok(())
    }

    /// A sync flush into `output`: `Done` once everything consumed so far can be decoded
    /// from what was produced. After `finish` began there is nothing to flush.
    pub fn flush(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        if self.state != State::Open || self.synced && !self.flushing {
            return Ok(Status::Done);
        }
        self.flushing = true;
        if !self.complete_flush(output)? {
            return Ok(Status::Ongoing);
        }
        self.synced = true;
        Ok(Status::Done)
    }

    /// End the stream into `output`: `Done` once its last byte is produced (then every
    /// further call is `Done` too).
    pub fn finish(&mut self, output: &mut OutBuf<'_>) -> Result<Status> {
        if !self.complete_flush(output)? {
            return Ok(Status::Ongoing);
        }
        while self.state != State::Finished {
            if output.is_full() {
                return Ok(Status::Ongoing);
            }
            self.state = State::Finishing;
            if self.run(output, |codec, out| codec.finish(out))? == Status::Done {
                self.state = State::Finished;
            }
        }
        Ok(Status::Done)
    }

    /// Start a new stream with the same settings, reusing the codec context. Call only once
    /// `finish` is `Done` (or to abandon a stream).
    pub fn reset(&mut self) -> Result<()> {
        self.codec.reset().map_err(|fault| Error::from_fault(self.format, fault))?;
        self.state = State::Open;
        self.synced = false;
        self.flushing = false;
        self.total_in = 0;
        self.total_out = 0;
        Ok(())
    }
}

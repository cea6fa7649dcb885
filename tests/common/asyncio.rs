//! Faulty async I/O for the contract suite: the sync fault scripts, with `WouldBlock` played as
//! `Pending` (after waking the task, as a real reader or writer does once it is ready again),
//! for tokio's and futures-io's traits alike.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{fault_error, Fault, Script};

/// What a script's next step means for a poll: `Pending` (the waker woken first), an error, or
/// the most bytes to move.
fn poll_step(script: &mut Script, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
    match script.step() {
        Fault::Ok(n) => Poll::Ready(Ok(n)),
        Fault::WouldBlock => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        f => Poll::Ready(Err(fault_error(f))),
    }
}

/// An async writer into a `Vec` following a fault script on every poll (`poll_flush` and
/// `poll_shutdown`/`poll_close` included).
pub struct AsyncFaultyWriter {
    pub data: Vec<u8>,
    script: Script,
    pub flushes: usize,
    pub shutdowns: usize,
}

impl AsyncFaultyWriter {
    pub fn new(faults: &[Fault]) -> Self {
        AsyncFaultyWriter { data: Vec::new(), script: Script::new(faults), flushes: 0, shutdowns: 0 }
    }

    fn write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_step(&mut self.script, cx).map_ok(|n| {
            let n = n.min(buf.len());
            self.data.extend_from_slice(&buf[..n]);
            n
        })
    }

    fn flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_step(&mut self.script, cx).map_ok(|_| self.flushes += 1)
    }

    fn shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_step(&mut self.script, cx).map_ok(|_| self.shutdowns += 1)
    }
}

impl tokio::io::AsyncWrite for AsyncFaultyWriter {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().shutdown(cx)
    }
}

impl futures::io::AsyncWrite for AsyncFaultyWriter {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().shutdown(cx)
    }
}

/// An async reader over bytes following a fault script on every poll; wrap it in the
/// ecosystem's `BufReader` for the bufread shapes.
pub struct AsyncFaultyReader<'a> {
    data: &'a [u8],
    script: Script,
}

impl<'a> AsyncFaultyReader<'a> {
    pub fn new(data: &'a [u8], faults: &[Fault]) -> Self {
        AsyncFaultyReader { data, script: Script::new(faults) }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }

    fn read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        poll_step(&mut self.script, cx).map_ok(|n| {
            let n = n.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            n
        })
    }
}

impl tokio::io::AsyncRead for AsyncFaultyReader<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = std::task::ready!(self.get_mut().read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl futures::io::AsyncRead for AsyncFaultyReader<'_> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().read(cx, buf)
    }
}

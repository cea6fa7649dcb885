//! What only the async adapters have to show (the contract they share with the sync shapes is
//! tests/shapes.rs): a poll does a bounded amount of work, `threads(n)` never makes a poll
//! wait for a worker, a flush reaches a peer over a real socket, and a cancelled write leaves
//! an adapter that carries on.
#![cfg(feature = "tokio")]

mod common;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use common::asyncio::AsyncFaultyWriter;
use common::{formats, text, Fault};
use compressio::tokio::{bufread, write};
use compressio::{compress, decompress, Config, Format};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};

/// A waker that counts its wakes.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter::default());
    (counter.clone(), Waker::from(counter))
}

/// An always-ready writer that remembers how many bytes each poll was given.
#[derive(Default)]
struct Recorder {
    data: Vec<u8>,
    /// Bytes written since `mark`.
    since_mark: usize,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recorder({} bytes)", self.data.len())
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.data.extend_from_slice(buf);
        self.since_mark += buf.len();
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An always-ready buffered reader over bytes that counts what was consumed.
struct Source {
    data: Vec<u8>,
    pos: usize,
}

impl AsyncRead for Source {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = buf.remaining().min(self.data.len() - self.pos);
        let pos = self.pos;
        buf.put_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncBufRead for Source {
    fn poll_fill_buf(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        Poll::Ready(Ok(&this.data[this.pos..]))
    }
    fn consume(mut self: Pin<&mut Self>, n: usize) {
        self.pos += n;
    }
}

const BUFFER: usize = 4096;

/// A decompression bomb (64 MiB of zeros) in `format`.
fn bomb(format: Format) -> Vec<u8> {
    compress(&vec![0u8; 64 << 20], format).unwrap()
}

#[test]
fn a_poll_moves_at_most_two_buffers_and_yields_by_waking_itself() {
    let config = Config::default().buffer_size(BUFFER);
    let (counter, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    for format in formats() {
        let packed = bomb(format);

        // write::Decoder: one poll_write of the whole bomb decodes at most two buffers into
        // the inner writer, and takes at most one buffer of input
        let mut dec = write::Decoder::with_config(Recorder::default(), format, &config).unwrap();
        let mut dec = Pin::new(&mut dec);
        let (mut rest, mut polls, woken) = (&packed[..], 0, counter.0.load(Ordering::SeqCst));
        while !rest.is_empty() {
            dec.as_mut().get_pin_mut().since_mark = 0;
            match dec.as_mut().poll_write(&mut cx, rest) {
                Poll::Ready(Ok(n)) => {
                    assert!(n <= BUFFER, "{format}: a poll took {n} bytes of input");
                    rest = &rest[n..];
                }
                Poll::Ready(Err(e)) => panic!("{format}: {e}"),
                Poll::Pending => {}
            }
            let moved = dec.as_mut().get_pin_mut().since_mark;
            assert!(moved <= 2 * BUFFER, "{format}: a poll wrote {moved} bytes");
            polls += 1;
        }
        while dec.as_mut().poll_shutdown(&mut cx).is_pending() {
            polls += 1;
        }
        assert_eq!(dec.get_ref().data.len(), 64 << 20, "{format}");
        // every Pending came with a wake: the task is never left asleep
        let wakes = counter.0.load(Ordering::SeqCst) - woken;
        assert!(wakes > 0 && wakes <= polls, "{format}: {wakes} wakes over {polls} polls");

        // bufread::Decoder: a poll_read into a huge buffer returns at most one buffer
        let mut dec =
            bufread::Decoder::with_config(Source { data: packed, pos: 0 }, format, &config).unwrap();
        let mut dec = Pin::new(&mut dec);
        let mut out = vec![0u8; 1 << 20];
        let mut total = 0;
        loop {
            let before = dec.get_ref().pos;
            let mut buf = ReadBuf::new(&mut out);
            match dec.as_mut().poll_read(&mut cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => break,
                Poll::Ready(Ok(())) => {
                    assert!(buf.filled().len() <= BUFFER, "{format}: {} bytes in a poll", buf.filled().len());
                    total += buf.filled().len();
                }
                Poll::Ready(Err(e)) => panic!("{format}: {e}"),
                Poll::Pending => {}
            }
            let consumed = dec.get_ref().pos - before;
            assert!(consumed <= 2 * BUFFER, "{format}: a poll consumed {consumed} bytes");
        }
        assert_eq!(total, 64 << 20, "{format}");
    }
}

#[test]
fn with_threads_a_poll_returns_pending_instead_of_waiting_for_a_worker() {
    let data = text(24 << 20, 7);
    for format in [Format::Gzip, Format::Zstd, Format::Xz, Format::Lz4, Format::Bzip2] {
        if !format.is_enabled() {
            continue;
        }
        let config = Config::default().threads(2);
        let mut enc = write::Encoder::with_config(Recorder::default(), format, &config).unwrap();
        assert!(format!("{enc:?}").contains("offloaded: true"), "{enc:?}");
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut enc = Pin::new(&mut enc);
        let (mut rest, mut pending) = (&data[..], 0);
        while !rest.is_empty() {
            match enc.as_mut().poll_write(&mut cx, rest) {
                Poll::Ready(Ok(n)) => rest = &rest[n..],
                Poll::Ready(Err(e)) => panic!("{format}: {e}"),
                // the queue to the encoder's thread is full: this poll did not wait for it
                Poll::Pending => {
                    pending += 1;
                    wait_for_wake(&counter);
                }
            }
        }
        loop {
            match enc.as_mut().poll_shutdown(&mut cx) {
                Poll::Ready(result) => break result.unwrap(),
                Poll::Pending => wait_for_wake(&counter),
            }
        }
        // compressing 24 MiB takes far longer than handing it over
        assert!(pending > 0, "{format}: no poll was pending");
        assert_eq!(decompress(&enc.get_ref().data, format).unwrap(), data, "{format}");
    }
}

/// Block until the waker has been woken once more than it had (the thread wakes the task).
fn wait_for_wake(counter: &Counter) {
    let seen = counter.0.swap(0, Ordering::SeqCst);
    if seen > 0 {
        return;
    }
    for _ in 0..60_000 {
        if counter.0.swap(0, Ordering::SeqCst) > 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the task was never woken");
}

#[test]
fn a_cancelled_write_leaves_the_adapter_consistent() {
    let data = text(1 << 20, 3);
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    for format in formats() {
        for (inline, config) in
            [(true, Config::default().buffer_size(1000)), (false, Config::default().threads(2))]
        {
            // the inner writer takes 100 bytes, then is pending, again and again
            let faults = [Fault::Ok(100), Fault::WouldBlock];
            let mut enc =
                write::Encoder::with_config(AsyncFaultyWriter::new(&faults), format, &config).unwrap();
            {
                let mut write = std::pin::pin!(enc.write_all(&data));
                for _ in 0..50 {
                    if write.as_mut().poll(&mut cx).is_ready() {
                        break;
                    }
                }
                // dropped mid-way: what total_in says was taken is in the stream
            }
            let taken = enc.total_in() as usize;
            // brotli produces nothing until a meta-block of megabytes is complete, so its
            // inner writer is never pending here and the write completes in one poll; with
            // threads, whether output (and so Pending) comes before the 50 polls are over
            // depends on the encoder's thread (xz's first block is 24 MiB): only the inline
            // encoder is sure to be cut off mid-way
            if format != Format::Brotli && inline {
                assert!(taken < data.len(), "{format}: the write was not cancelled mid-way");
            }
            let out = futures::executor::block_on(async {
                enc.write_all(&data[taken..]).await?;
                enc.shutdown().await?;
                io::Result::Ok(enc.into_inner().data)
            })
            .unwrap();
            assert_eq!(decompress(&out, format).unwrap(), data, "{format} {config:?}");

            // the same for a decoder
            let packed = compress(&data, format).unwrap();
            let mut dec = write::Decoder::new(AsyncFaultyWriter::new(&faults), format).unwrap();
            {
                let mut write = std::pin::pin!(dec.write_all(&packed));
                for _ in 0..50 {
                    if write.as_mut().poll(&mut cx).is_ready() {
                        break;
                    }
                }
            }
            let taken = dec.total_in() as usize;
            let out = futures::executor::block_on(async {
                dec.write_all(&packed[taken..]).await?;
                dec.shutdown().await?;
                io::Result::Ok(dec.into_inner().data)
            })
            .unwrap();
            assert_eq!(out, data, "{format}");
        }
    }
}

/// Formats whose flush makes everything written so far decodable (the .lzma container has
/// no sync flush).
fn flushable() -> impl Iterator<Item = Format> {
    formats().filter(|&f| f != Format::Lzma)
}

#[test]
fn a_flush_over_a_socket_reaches_the_peer_before_the_next_message() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        for format in flushable() {
            for config in [Config::default(), Config::default().threads(2)] {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let messages: Vec<Vec<u8>> = (0..8).map(|i| text(1000 + 5000 * i, i as u64)).collect();
                let expected = messages.clone();
                // the server decodes each message as it arrives and sends its length back
                let server = tokio::spawn(async move {
                    let (socket, _) = listener.accept().await.unwrap();
                    let (read, mut write) = socket.into_split();
                    let mut dec = bufread::Decoder::new(BufReader::new(read), format).unwrap();
                    for message in &expected {
                        let mut got = vec![0u8; message.len()];
                        dec.read_exact(&mut got).await.unwrap();
                        assert_eq!(&got, message, "{format}");
                        write.write_all(&(got.len() as u32).to_le_bytes()).await.unwrap();
                    }
                    let mut rest = Vec::new();
                    dec.read_to_end(&mut rest).await.unwrap();
                    assert!(rest.is_empty());
                });
                let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (mut read, write) = socket.into_split();
                let mut enc = write::Encoder::with_config(write, format, &config).unwrap();
                for message in &messages {
                    enc.write_all(message).await.unwrap();
                    enc.flush().await.unwrap();
                    // the peer can decode it all now, before another byte is sent
                    let mut ack = [0u8; 4];
                    tokio::time::timeout(Duration::from_secs(60), read.read_exact(&mut ack))
                        .await
                        .unwrap_or_else(|_| panic!("{format} {config:?}: the flushed message never decoded"))
                        .unwrap();
                    assert_eq!(u32::from_le_bytes(ack) as usize, message.len());
                }
                enc.shutdown().await.unwrap();
                server.await.unwrap();
            }
        }
    });
}

#[test]
#[cfg(feature = "zstd")]
fn an_offloaded_encoder_dropped_mid_stream_stops_its_thread() {
    // alone in a process of its own: other tests' encoders have threads too
    if common::child_case().is_none() {
        let result = common::run_child("an_offloaded_encoder_dropped_mid_stream_stops_its_thread", "drop");
        assert_eq!(result, "0 threads left");
        return;
    }
    let data = text(8 << 20, 9);
    for _ in 0..20 {
        let config = Config::default().threads(2);
        let mut enc = write::Encoder::with_config(Recorder::default(), Format::Zstd, &config).unwrap();
        let (_, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let _ = Pin::new(&mut enc).poll_write(&mut cx, &data);
        drop(enc);
    }
    // every thread is told and ends at its next step: none is left behind
    for _ in 0..600 {
        if offload_threads() == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("RESULT {} threads left", offload_threads());
}

/// Threads named "compressio-offload" in this process.
fn offload_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|name| name.trim() == "compressio-offload")
        })
        .count()
}

#[test]
fn a_bufread_encoder_with_threads_streams_a_body() {
    let data = text(6 << 20, 11);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    for format in formats() {
        let config = Config::default().threads(2);
        let out = runtime.block_on(async {
            let mut enc = bufread::Encoder::with_config(BufReader::new(&data[..]), format, &config).unwrap();
            assert!(format!("{enc:?}").contains("offloaded: true"));
            let mut out = Vec::new();
            enc.read_to_end(&mut out).await.unwrap();
            assert_eq!(enc.total_in(), data.len() as u64);
            assert_eq!(enc.total_out(), out.len() as u64);
            out
        });
        assert_eq!(decompress(&out, format).unwrap(), data, "{format}");
    }
}

//! An HTTP server (hyper 1 on tokio) that compresses its responses and decompresses uploads
//! with compressio's async adapters.
//!
//! - `GET /data?size=N` answers `N` bytes of generated text (default 8 MiB), compressed on the
//!   fly through [`compressio::tokio::bufread::Encoder`] in the coding the client prefers
//!   among `zstd`, `br`, `gzip` and `deflate` (`Accept-Encoding` with q-values; the body is
//!   never held in memory whole, compressed or not).
//! - `POST /upload` with a `Content-Encoding` decodes the body through
//!   [`compressio::tokio::bufread::Decoder`] under [`Config::max_output`]: it answers the
//!   decoded size and a checksum, **413** for a body that decodes to more than the limit (a
//!   decompression bomb costs the server one buffer, not memory), **400** for a corrupt or
//!   truncated body, **415** for a coding it does not know.
//!
//! ```text
//! cargo run --example http_server --features tokio -- 127.0.0.1:8080
//! curl --compressed -s http://127.0.0.1:8080/data?size=1000000 | wc -c
//! gzip -c big.txt | curl -s -H 'Content-Encoding: gzip' --data-binary @- http://127.0.0.1:8080/upload
//! ```
//!
//! tests/http.rs runs this server and fetches from it with curl and with hyper's client.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use compressio::{tokio::bufread, Config, Error, Format};
use futures::TryStreamExt;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, BodyStream, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use hyper::{Method, Request, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader, ReadBuf};
use tokio::net::TcpListener;
use tokio_util::io::{ReaderStream, StreamReader};

/// The most an upload may decode to.
pub const UPLOAD_LIMIT: u64 = 16 << 20;
/// `GET /data` without `size`.
pub const DEFAULT_SIZE: u64 = 8 << 20;

/// A response body; unsync: the encoders are `Send`, not `Sync`.
type Body = UnsyncBoxBody<Bytes, io::Error>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener).await?;
    Ok(())
}

/// Serve HTTP/1.1 on `listener`, one task per connection, until accepting fails.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = hyper::service::service_fn(handle);
            if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
                eprintln!("connection: {e}");
            }
        });
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/data") => data(&req),
        (&Method::POST, "/upload") => upload(req).await,
        _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
    })
}

/// A plain-text response.
fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response =
        Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, "text/plain; charset=utf-8".parse().unwrap());
    response
}

/// `GET /data?size=N`: generated text, compressed as the client prefers.
fn data(req: &Request<Incoming>) -> Response<Body> {
    let size = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("size=")))
        .map_or(Ok(DEFAULT_SIZE), str::parse);
    let Ok(size) = size else { return text(StatusCode::BAD_REQUEST, "size: not a number\n".into()) };
    let accept = req.headers().get(ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let source = BufReader::new(Generated::new(size));
    let (body, coding) = match negotiate(accept) {
        Some((format, coding)) => match bufread::Encoder::new(source, format) {
            // the compressed bytes stream out as they are produced, a buffer at a time
            Ok(encoder) => {
                (StreamBody::new(ReaderStream::new(encoder).map_ok(Frame::data)).boxed_unsync(), Some(coding))
            }
            Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        },
        None => (StreamBody::new(ReaderStream::new(source).map_ok(Frame::data)).boxed_unsync(), None),
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, "text/plain; charset=utf-8".parse().unwrap());
    headers.insert(VARY, "accept-encoding".parse().unwrap());
    if let Some(coding) = coding {
        headers.insert(CONTENT_ENCODING, coding.parse().unwrap());
    }
    response
}

/// `POST /upload`: the body decoded under `UPLOAD_LIMIT`; its size and checksum.
async fn upload(req: Request<Incoming>) -> Response<Body> {
    let coding =
        req.headers().get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity").to_owned();
    let Some(format) = coding_format(&coding) else {
        return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("unknown content-coding {coding:?}\n"));
    };
    // the body as an AsyncBufRead of its data frames
    let frames = BodyStream::new(req.into_body())
        .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
        .map_err(io::Error::other);
    let reader = StreamReader::new(frames);
    let config = Config::default().max_output(UPLOAD_LIMIT);
    let mut body: Pin<Box<dyn AsyncRead + Send>> = match format {
        Some(format) => match bufread::Decoder::with_config(reader, format, &config) {
            Ok(decoder) => Box::pin(decoder),
            Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        },
        None => Box::pin(reader.take(UPLOAD_LIMIT + 1)),
    };
    let (mut size, mut hash) = (0u64, Fnv::default());
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match body.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                size += n as u64;
                hash.update(&buf[..n]);
            }
            Err(e) => {
                let status = match Error::from(e) {
                    Error::LimitExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    Error::Io(e) => return text(StatusCode::BAD_REQUEST, format!("reading the body: {e}\n")),
                    _ => StatusCode::BAD_REQUEST,
                };
                return text(
                    status,
                    format!("{coding} body rejected: {}\n", status.canonical_reason().unwrap_or("")),
                );
            }
        }
    }
    if size > UPLOAD_LIMIT {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "identity body over the limit\n".into());
    }
    text(StatusCode::OK, format!("{size} bytes, fnv1a {:016x}\n", hash.0))
}

/// The response coding for an `Accept-Encoding` header: the highest q-value among those we
/// produce, ties going to the better ratio (zstd, br, gzip, deflate); `None` for identity.
/// An absent header means identity (RFC 9110 12.5.3 allows any, but clients that decode
/// say so).
pub fn negotiate(accept: Option<&str>) -> Option<(Format, &'static str)> {
    const OURS: [(&str, Format); 4] =
        [("zstd", Format::Zstd), ("br", Format::Brotli), ("gzip", Format::Gzip), ("deflate", Format::Zlib)];
    let offered: Vec<(String, f32)> = accept?
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let coding = parts.next()?.trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((coding, q))
        })
        .collect();
    let q_of = |name: &str| {
        let exact = offered.iter().find(|(c, _)| c == name).map(|&(_, q)| q);
        exact.or_else(|| offered.iter().find(|(c, _)| c == "*").map(|&(_, q)| q)).unwrap_or(0.0)
    };
    let mut best: Option<(Format, &'static str, f32)> = None;
    for (name, format) in OURS {
        let q = q_of(name);
        if q > 0.0 && format.is_enabled() && best.is_none_or(|(_, _, b)| q > b) {
            best = Some((format, name, q));
        }
    }
    best.map(|(format, name, _)| (format, name))
}

/// The format of a request's `Content-Encoding`: `Some(None)` for identity, `None` for a
/// coding we do not know. (HTTP's `deflate` is the zlib format, RFC 9110 8.4.1.2.)
pub fn coding_format(coding: &str) -> Option<Option<Format>> {
    Some(Some(match coding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => return Some(None),
        "gzip" | "x-gzip" => Format::Gzip,
        "deflate" => Format::Zlib,
        "br" => Format::Brotli,
        "zstd" => Format::Zstd,
        _ => return None,
    }))
}

/// FNV-1a, 64 bits: a checksum both sides can compute without a dependency.
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// `size` bytes of generated log-like text, produced as it is read (an `AsyncRead` that is
/// always ready): numbered lines that compress like real logs, not like zeros.
pub struct Generated {
    left: u64,
    line: u64,
    pending: Vec<u8>,
    pos: usize,
}

impl Generated {
    pub fn new(size: u64) -> Self {
        Generated { left: size, line: 0, pending: Vec::new(), pos: 0 }
    }

    /// The whole text at once, for comparing.
    pub fn all(size: u64) -> Vec<u8> {
        let mut g = Generated::new(size);
        let mut out = Vec::with_capacity(size as usize);
        let mut buf = [0u8; 8192];
        loop {
            let n = g.fill(&mut buf);
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn fill(&mut self, out: &mut [u8]) -> usize {
        if self.pos == self.pending.len() {
            if self.left == 0 {
                return 0;
            }
            self.pending.clear();
            self.pos = 0;
            let n = self.line;
            self.line += 1;
            let level = ["INFO", "DEBUG", "WARN", "INFO", "ERROR"][(n * 7 % 5) as usize];
            let line = format!(
                "{:010} {level} request id={:08x} path=/api/v1/items/{} status={} took={}us\n",
                1_700_000_000 + n * 3,
                n.wrapping_mul(0x9e37_79b9) & 0xffff_ffff,
                n * 31 % 1000,
                [200, 200, 304, 404, 500][(n * 3 % 5) as usize],
                n * 97 % 10_000
            );
            self.pending.extend_from_slice(line.as_bytes());
        }
        let available = &self.pending[self.pos..];
        let n = available.len().min(out.len()).min(usize::try_from(self.left).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&available[..n]);
        self.pos += n;
        self.left -= n as u64;
        if self.left == 0 {
            self.pos = self.pending.len();
        }
        n
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

//! An HTTP-like exchange over loopback TCP: requests and responses with compressed bodies,
//! on one long-lived connection, where `flush()` is the message boundary.
//!
//! The client sends a request (a header line, then a gzip body), flushes, and *waits for the
//! response* before sending the next request: without a real sync flush the server could not
//! decode the request and both sides would wait forever. The server answers each request with
//! a zstd-compressed body on its own long-lived stream. Both compression contexts live for
//! the whole connection, so later messages benefit from earlier ones.
//!
//! `cargo run --example http_like`

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use compressio::{Decoder, Encoder, Format};

/// One message: a header line with the body length, then the body. Both sides read and write
/// messages through their adapters, so everything on the wire is compressed.
fn write_message(w: &mut impl Write, body: &str) -> std::io::Result<()> {
    writeln!(w, "Content-Length: {}", body.len())?;
    w.write_all(body.as_bytes())?;
    w.flush() // the boundary: everything so far is decodable on the other side
}

fn read_message(r: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut header = String::new();
    if r.read_line(&mut header)? == 0 {
        return Ok(None); // the stream ended cleanly
    }
    let len: usize =
        header.trim().strip_prefix("Content-Length: ").and_then(|n| n.parse().ok()).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad header {header:?}"))
        })?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    String::from_utf8(body).map(Some).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;

    let server = thread::spawn(move || -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
        let (socket, _) = listener.accept()?;
        let mut requests = BufReader::new(Decoder::new(socket.try_clone()?, Format::Gzip)?);
        let mut responses = Encoder::new(socket, Format::Zstd)?;
        let mut served = 0;
        while let Some(request) = read_message(&mut requests)? {
            let path = request.lines().next().unwrap_or_default().to_string();
            let body = format!("200 OK for {path}\n{}", "response payload line\n".repeat(50));
            write_message(&mut responses, &body)?;
            served += 1;
        }
        let socket = responses.finish()?;
        socket.shutdown(std::net::Shutdown::Write)?;
        Ok(served)
    });

    let socket = TcpStream::connect(addr)?;
    let mut requests = Encoder::new(socket.try_clone()?, Format::Gzip)?;
    let mut responses = BufReader::new(Decoder::new(socket, Format::Zstd)?);
    for path in ["GET /index.html", "GET /api/items?page=2", "POST /api/items"] {
        let body = format!("{path}\nuser-agent: compressio-example\n{}", "request field: value\n".repeat(20));
        write_message(&mut requests, &body)?;
        // an interactive exchange: the response arrives before the next request is sent
        let response = read_message(&mut responses)?.ok_or("the server hung up")?;
        println!(
            "{path}: {} byte response, first line {:?}; request bytes on the wire so far: {}",
            response.len(),
            response.lines().next().unwrap_or_default(),
            requests.total_out()
        );
        assert!(response.starts_with(&format!("200 OK for {path}")));
    }
    let socket = requests.finish()?;
    socket.shutdown(std::net::Shutdown::Write)?;
    assert!(read_message(&mut responses)?.is_none(), "the response stream ends after ours");
    let served = server.join().expect("server thread panicked").map_err(|e| e.to_string())?;
    println!("{served} requests served over one connection");
    Ok(())
}

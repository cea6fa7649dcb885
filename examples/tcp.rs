//! A compressed conversation over a loopback TCP connection.
//!
//! The client sends several messages through one zstd stream, calling `flush()` after each:
//! that is the message boundary, so the server can decode every message as soon as it
//! arrives, while the stream (and the compression context) lives on. `finish()` ends it.
//!
//! `cargo run --example tcp`

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use compressio::{Decoder, Encoder, Format};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;

    let server = thread::spawn(move || -> Result<Vec<String>, compressio::Error> {
        let (socket, _) = listener.accept()?;
        // one line per message; BufReader on top of the Decoder splits the lines
        let decoder = Decoder::new(socket, Format::Zstd)?;
        let mut lines = Vec::new();
        for line in BufReader::new(decoder).lines() {
            let line = line?;
            println!("server received: {line}");
            lines.push(line);
        }
        Ok(lines)
    });

    let socket = TcpStream::connect(addr)?;
    let mut encoder = Encoder::new(socket, Format::Zstd)?;
    let messages =
        ["hello over zstd".to_string(), "the second message".into(), "and a third, longer one: ".repeat(20)];
    for message in &messages {
        writeln!(encoder, "{message}")?;
        encoder.flush()?; // message boundary: everything so far is decodable by the server
    }
    let socket = encoder.finish()?;
    socket.shutdown(std::net::Shutdown::Write)?;

    let received = server.join().expect("server thread panicked")?;
    assert_eq!(received, messages);
    println!("{} messages, all received", received.len());
    Ok(())
}

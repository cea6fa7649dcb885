//! Compress a file *while uploading it*: `read::Encoder` turns the file into a `Read` of its
//! compressed form, so `io::copy` sends it to a socket with no temporary file and no second
//! buffer. The receiving side (a thread here, on loopback TCP) decodes as the bytes arrive
//! and checks that it got the file.
//!
//! `cargo run --example upload [FILE]` (default: this example's own binary)

use std::fs::File;
use std::io::{self, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use compressio::{read, Format};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = match std::env::args_os().nth(1) {
        Some(path) => path.into(),
        None => std::env::current_exe()?,
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;

    // the receiver: decodes the upload as it arrives
    let receiver = thread::spawn(move || -> Result<(u64, u64, Vec<u8>), compressio::Error> {
        let (socket, _) = listener.accept()?;
        let mut decoder = read::Decoder::new(socket, Format::Zstd)?;
        let mut received = Vec::new();
        decoder.read_to_end(&mut received)?;
        Ok((decoder.total_in(), decoder.total_out(), received))
    });

    // the sender: the file, compressed on the way out
    let mut socket = TcpStream::connect(addr)?;
    let mut upload = read::Encoder::new(File::open(&path)?, Format::Zstd)?;
    let sent = io::copy(&mut upload, &mut socket)?;
    socket.shutdown(Shutdown::Write)?;
    println!("sent {} ({} bytes) as {sent} bytes of zstd", path.display(), upload.total_in());

    let (compressed, decoded, received) = receiver.join().expect("receiver thread")?;
    assert_eq!(compressed, sent);
    assert_eq!(received, std::fs::read(&path)?, "the receiver got the file");
    println!("received {compressed} bytes, decoded {decoded}: identical to the file");
    Ok(())
}

//! Compress a file to disk and read it back, in every format, with a custom `Config`.
//!
//! `cargo run --example file [PATH]` (default: this crate's Cargo.toml)

use std::fs::File;
use std::io::{self, BufReader, Read};

use compressio::{Config, Decoder, Encoder, Format, Level};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path =
        std::env::args().nth(1).unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").into());
    let original = std::fs::read(&path)?;
    let dir = std::env::temp_dir();
    let config = Config::default().level(Level::Best).buffer_size(128 * 1024);

    for &format in Format::ALL.iter().filter(|f| f.is_enabled()) {
        let packed_path = dir.join(format!("compressio-example.{}", format.extension()));

        // compress: File -> Encoder -> File
        let mut encoder = Encoder::with_config(File::create(&packed_path)?, format, &config)?;
        io::copy(&mut BufReader::new(File::open(&path)?), &mut encoder)?;
        let file = encoder.finish()?; // explicit: dropping an encoder writes nothing
        file.sync_all()?;

        // decompress: File -> Decoder -> Vec (the format comes from the file name here)
        let detected = Format::from_path(&packed_path).unwrap_or(format);
        let mut decoder = Decoder::new(File::open(&packed_path)?, detected)?;
        let mut back = Vec::new();
        decoder.read_to_end(&mut back)?;
        assert_eq!(back, original);

        println!(
            "{format:>7}: {} -> {} bytes ({:.2}x) in {}",
            original.len(),
            decoder.total_in(),
            original.len() as f64 / decoder.total_in() as f64,
            packed_path.display()
        );
        std::fs::remove_file(&packed_path)?;
    }
    Ok(())
}

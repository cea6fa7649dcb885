//! Archives: build a .tar.gz and a .tar.zst with the `tar` crate over our `Encoder`, and read
//! them back through `Decoder::auto` (the format comes from the data).
//!
//! The archive format is the tar crate's job; the stream is ours. Memory stays bounded
//! whatever the archive's size: the tar crate streams entries, we stream the bytes.
//!
//! `cargo run --example tar_gz`

use std::fs;
use std::io::Read;
use std::path::PathBuf;

use compressio::{Config, Decoder, Encoder, Format, Level};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("compressio-tar-example-{}", std::process::id()));
    fs::create_dir_all(dir.join("src/data"))?;
    let files: Vec<(PathBuf, Vec<u8>)> = vec![
        ("src/README.txt".into(), b"an archive built by examples/tar_gz.rs\n".repeat(100)),
        (
            "src/data/numbers.csv".into(),
            (0..20_000).map(|i| format!("{i},{}\n", i * i)).collect::<String>().into(),
        ),
        ("src/data/empty".into(), Vec::new()),
    ];
    for (path, content) in &files {
        fs::write(dir.join(path), content)?;
    }

    for format in [Format::Gzip, Format::Zstd] {
        let archive = dir.join(format!("src.tar.{}", format.extension()));
        // write: tar::Builder -> Encoder -> File
        let encoder =
            Encoder::with_config(fs::File::create(&archive)?, format, &Config::default().level(Level::Best))?;
        let mut builder = tar::Builder::new(encoder);
        builder.append_dir_all("src", dir.join("src"))?;
        let encoder = builder.into_inner()?; // the tar end blocks are written
        encoder.finish()?.sync_all()?; // our end of stream, then the file

        // read: File -> Decoder::auto -> tar::Archive
        let decoder = Decoder::auto(fs::File::open(&archive)?)?;
        println!("{}: {} ({} bytes)", archive.display(), decoder.format(), fs::metadata(&archive)?.len());
        let mut found = 0;
        let mut tar = tar::Archive::new(decoder);
        for entry in tar.entries()? {
            let mut entry = entry?;
            let path = entry.path()?.into_owned();
            if let Some((_, expected)) = files.iter().find(|(p, _)| *p == path) {
                let mut content = Vec::new();
                entry.read_to_end(&mut content)?;
                assert_eq!(&content, expected, "{}", path.display());
                println!("  {} ({} bytes) ok", path.display(), content.len());
                found += 1;
            }
        }
        assert_eq!(found, files.len());
        // tar stops at its end-of-archive blocks: read the rest (tar's record padding) so that
        // the decoder reaches the end of the stream and checks its trailer
        let padding = std::io::copy(&mut tar.into_inner(), &mut std::io::sink())?;
        println!("  end of stream verified after {padding} bytes of tar padding");
    }
    fs::remove_dir_all(&dir)?;
    Ok(())
}

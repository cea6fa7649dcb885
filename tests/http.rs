//! examples/http_server.rs, run for real: its responses fetched with curl `--compressed`
//! (Debian's curl decodes gzip, deflate, br and zstd itself) and with hyper's client, its
//! upload endpoint fed good, corrupt, truncated and bomb bodies.
#![cfg(all(feature = "tokio", feature = "deflate", feature = "zstd", feature = "brotli"))]

mod common;

#[path = "../examples/http_server.rs"]
#[allow(dead_code)]
mod http_server;

use std::net::SocketAddr;
use std::process::Command;

use bytes::Bytes;
use compressio::{compress, decompress, tokio::bufread, Format};
use futures::TryStreamExt;
use http_body_util::{BodyExt, BodyStream, Full};
use hyper::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use hyper::{Request, StatusCode};
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;

use http_server::{negotiate, Fnv, Generated};

const CODINGS: [(&str, Format); 4] =
    [("zstd", Format::Zstd), ("br", Format::Brotli), ("gzip", Format::Gzip), ("deflate", Format::Zlib)];

/// The example's server on a loopback port, on a runtime of its own.
fn server() -> (tokio::runtime::Runtime, SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(http_server::serve(listener));
    (runtime, addr)
}

/// The codings this machine's curl decodes (all four for Debian's; `COMPRESSIO_REQUIRE_TOOLS`
/// makes a missing curl or coding a failure, as in CI).
fn curl_codings() -> Vec<(&'static str, Format)> {
    let version = Command::new("curl").arg("--version").output();
    let features = match version {
        Ok(out) => String::from_utf8_lossy(&out.stdout).to_lowercase(),
        Err(_) => {
            assert!(!common::tools_required(), "curl is required");
            eprintln!("curl not found: skipped");
            return Vec::new();
        }
    };
    let has = |feature: &str| features.lines().any(|l| l.starts_with("features:") && l.contains(feature));
    CODINGS
        .into_iter()
        .filter(|&(name, _)| {
            let ok = match name {
                "zstd" => has("zstd"),
                "br" => has("brotli"),
                _ => has("libz"),
            };
            assert!(ok || !common::tools_required(), "curl cannot decode {name}");
            ok
        })
        .collect()
}

/// `curl --compressed` with an `Accept-Encoding` of its own or curl's: the body it decoded and
/// the `Content-Encoding` it was sent.
fn curl(url: &str, accept: Option<&str>) -> (Vec<u8>, String) {
    let headers = tempfile_path();
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-f", "--compressed", "-D"]).arg(&headers).arg(url);
    if let Some(accept) = accept {
        cmd.args(["-H", &format!("Accept-Encoding: {accept}")]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "curl {url}: {}", String::from_utf8_lossy(&out.stderr));
    let headers = std::fs::read_to_string(&headers).unwrap();
    let coding = headers
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-encoding:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    (out.stdout, coding)
}

fn tempfile_path() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "compressio-http-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ))
}

#[test]
fn curl_decodes_every_coding_the_server_streams() {
    let (_runtime, addr) = server();
    let size = 5_000_000;
    let expected = Generated::all(size);
    let url = format!("http://{addr}/data?size={size}");
    for (name, _) in curl_codings() {
        let (body, coding) = curl(&url, Some(name));
        assert_eq!(coding, name);
        assert!(body == expected, "{name}: curl decoded {} bytes, not the {size} sent", body.len());
        println!("curl --compressed, Accept-Encoding: {name}: {} bytes decoded, identical", body.len());
    }
    if !curl_codings().is_empty() {
        // curl's own Accept-Encoding (every coding it decodes): the server picks the best
        let (body, coding) = curl(&url, None);
        assert!(body == expected);
        println!("curl --compressed (its own Accept-Encoding): {coding}, {} bytes, identical", body.len());
        // no Accept-Encoding at all: identity
        let out = Command::new("curl").args(["-s", "-f", &url]).output().unwrap();
        assert!(out.stdout == expected);
    }
}

/// A GET with hyper's client: the response's coding and its raw body.
async fn get(
    addr: SocketAddr,
    path: &str,
    accept: &str,
) -> (StatusCode, Option<String>, hyper::body::Incoming) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", addr.to_string())
        .header(ACCEPT_ENCODING, accept)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    let coding = response.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_owned());
    (response.status(), coding, response.into_body())
}

#[test]
fn a_rust_client_gets_the_same_bytes_in_every_coding() {
    let (runtime, addr) = server();
    let size = 3_000_000;
    let expected = Generated::all(size);
    runtime.block_on(async {
        for (name, format) in CODINGS {
            let (status, coding, body) = get(addr, &format!("/data?size={size}"), name).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(coding.as_deref(), Some(name));
            // decoded as it streams in, through the async decoder
            let frames = BodyStream::new(body)
                .try_filter_map(|frame| async move { Ok(frame.into_data().ok()) })
                .map_err(std::io::Error::other);
            let mut decoder = Box::pin(bufread::Decoder::new(StreamReader::new(frames), format).unwrap());
            let mut got = Vec::new();
            decoder.read_to_end(&mut got).await.unwrap();
            assert!(got == expected, "{name}");
            println!(
                "hyper client, {name}: {} compressed -> {} bytes, identical",
                decoder.total_in(),
                got.len()
            );
        }
        // q-values decide; identity when nothing we produce is acceptable
        let (_, coding, body) = get(addr, "/data?size=1000", "gzip;q=0.5, br;q=0.9, zstd;q=0").await;
        assert_eq!(coding.as_deref(), Some("br"));
        assert_eq!(
            decompress(&body.collect().await.unwrap().to_bytes(), Format::Brotli).unwrap(),
            Generated::all(1000)
        );
        let (_, coding, body) = get(addr, "/data?size=1000", "compress, identity").await;
        assert_eq!(coding, None);
        assert_eq!(body.collect().await.unwrap().to_bytes(), Generated::all(1000));
    });
}

/// POST `body` to /upload with `coding`: the status and the answer.
async fn upload(addr: SocketAddr, coding: &str, body: Vec<u8>) -> (StatusCode, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let req = Request::post("/upload")
        .header("host", addr.to_string())
        .header(CONTENT_ENCODING, coding)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(req).await.unwrap();
    let status = response.status();
    let text = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&text).into_owned())
}

#[test]
fn uploads_decode_under_the_limit_and_bombs_get_413() {
    let (runtime, addr) = server();
    let data = Generated::all(2_000_000);
    let mut fnv = Fnv::default();
    fnv.update(&data);
    let answer = format!("{} bytes, fnv1a {:016x}\n", data.len(), fnv.0);
    let bomb = vec![0u8; (http_server::UPLOAD_LIMIT + (1 << 20)) as usize];
    runtime.block_on(async {
        for (name, format) in CODINGS {
            let packed = compress(&data, format).unwrap();
            assert_eq!(upload(addr, name, packed.clone()).await, (StatusCode::OK, answer.clone()), "{name}");
            // one byte short: truncated, never a short body taken as whole
            let (status, _) = upload(addr, name, packed[..packed.len() - 1].to_vec()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name} truncated");
            // a bomb: 17 MiB of zeros in a few KiB, stopped at the 16 MiB limit
            let packed_bomb = compress(&bomb, format).unwrap();
            let (status, text) = upload(addr, name, packed_bomb.clone()).await;
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{name} bomb: {text}");
            println!(
                "upload {name}: {} bytes -> 200; bomb of {} bytes -> 413",
                packed.len(),
                packed_bomb.len()
            );
        }
        let (status, _) = upload(addr, "gzip", b"not gzip at all".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // (a small body: the server answers without reading it)
        let (status, _) = upload(addr, "compress", b"LZW".to_vec()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(upload(addr, "identity", data.clone()).await, (StatusCode::OK, answer.clone()));
    });
}

#[test]
fn accept_encoding_negotiation() {
    assert_eq!(negotiate(None), None);
    assert_eq!(negotiate(Some("gzip, deflate, br, zstd")).map(|c| c.1), Some("zstd"));
    assert_eq!(negotiate(Some("gzip, deflate")).map(|c| c.1), Some("gzip"));
    assert_eq!(negotiate(Some("deflate")), Some((Format::Zlib, "deflate")));
    assert_eq!(negotiate(Some("GZIP;q=0.2, Br;q=0.4")).map(|c| c.1), Some("br"));
    assert_eq!(negotiate(Some("*;q=0.1, zstd;q=0")).map(|c| c.1), Some("br"));
    assert_eq!(negotiate(Some("gzip;q=0, identity")), None);
    assert_eq!(negotiate(Some("")), None);
}

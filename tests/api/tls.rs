//! Issue #13, HTTPS: a certificate made here (rcgen), `server.tls_cert` / `server.tls_key`,
//! content added and read back over TLS with rustls as the client; plain HTTP is not served.

use crate::helpers::*;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn https(port: u16, roots: &rustls::RootCertStore, request: &[u8]) -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(request).await.unwrap();
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.ok();
    out
}

fn body(response: &[u8]) -> &[u8] {
    let at = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    &response[at + 4..]
}

#[tokio::test]
async fn content_is_served_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut settings = test_settings();
    settings.server.tls_cert = Some(cert_path);
    settings.server.tls_key = Some(key_path);
    let app = ipfs_mcp::startup::Application::build(settings)
        .await
        .unwrap();
    let port = app.port();
    let handle = app.handle();
    let task = tokio::spawn(app.run_until_stopped());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();

    let data = b"bytes that crossed TLS";
    let mut add = format!(
        "POST /api/v0/mcp/ipfs/add HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        data.len()
    )
    .into_bytes();
    add.extend_from_slice(data);
    let answer = https(port, &roots, &add).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let added: serde_json::Value = serde_json::from_slice(body(&answer)).unwrap();
    let cid = added["cid"].as_str().unwrap();
    let get = format!(
        "GET /api/v0/mcp/ipfs/cat/{cid} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let answer = https(port, &roots, get.as_bytes()).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    assert_eq!(body(&answer), data);

    // plain HTTP on the TLS port gets no answer
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v0/health"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // half a TLS configuration is refused at start
    let mut half = test_settings();
    half.server.tls_cert = Some(dir.path().join("cert.pem"));
    let err = ipfs_mcp::startup::Application::build(half)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("tls_cert and server.tls_key"),
        "{err}"
    );
    handle.stop(true).await;
    task.await.unwrap().unwrap();
}

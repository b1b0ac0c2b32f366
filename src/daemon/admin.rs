//! The admin HTTP endpoint (loopback by default): `GET /healthz` (200 when every enabled
//! adapter is connected, 503 otherwise, JSON per adapter) and `GET /metrics` (Prometheus
//! text). Two read-only routes do not need a web framework: a small HTTP/1.1 responder on
//! tokio keeps the binary lean; every connection gets one answer and is closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::service::Bot;

use super::Status;

/// A request head larger than this is refused: only `GET /path` is expected.
const MAX_REQUEST: usize = 8 * 1024;
/// A client that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("admin: cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds the admin address (an error names it, so a port clash is obvious at start-up).
pub async fn bind(address: SocketAddr) -> Result<TcpListener, AdminError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| AdminError::Bind { address, source })
}

/// Serves until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    status: Arc<Status>,
    bot: Arc<Bot>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let status = status.clone();
                let bot = bot.clone();
                tokio::spawn(async move {
                    let _ = answer(stream, &status, &bot).await;
                });
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

async fn answer(mut stream: TcpStream, status: &Status, bot: &Bot) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = tokio::time::timeout(READ_TIMEOUT, stream.read(&mut chunk)).await;
        match read {
            Ok(Ok(0)) | Err(_) => return Ok(()),
            Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return Err(e),
        }
        if buffer.len() > MAX_REQUEST {
            return respond(&mut stream, 431, "text/plain", "request too large\n").await;
        }
    }
    let head = String::from_utf8_lossy(&buffer);
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or(path);
    match (method, path) {
        ("GET", "/healthz") => {
            let code = if status.healthy() { 200 } else { 503 };
            respond(&mut stream, code, "application/json", &status.health_json()).await
        }
        ("GET", "/metrics") => {
            let conversations = bot.store().conversation_count().unwrap_or(0);
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4",
                &status.metrics(conversations),
            )
            .await
        }
        ("GET", _) => respond(&mut stream, 404, "text/plain", "not found\n").await,
        _ => respond(&mut stream, 405, "text/plain", "method not allowed\n").await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    code: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// `guichet health`: asks the admin endpoint, blocking, with a short timeout (for Docker's
/// HEALTHCHECK, which has no curl in a slim image). Returns the status code and body.
pub fn probe(address: SocketAddr) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(3))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((code, body))
}

//! REST over HTTPS as `discord.com`: a certificate made at start, a TLS listener for the REST
//! router, and the HTTP client a bot under test uses to reach it.
//!
//! Why: serenity 0.12.5 honours a base URL other than `https://discord.com` only through its
//! "proxy" mode, and that mode works only with its rate limiter off (its limiter builds every
//! request for discord.com). Keeping serenity's own URLs and limiter, and changing where the
//! name `discord.com` leads (reqwest's DNS override, port included) and which root certificate
//! is trusted (this one), tests the limiter production runs with.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// The host serenity sends every REST call to.
pub const DISCORD_HOST: &str = "discord.com";

/// A self-signed certificate for [`DISCORD_HOST`] and its key, as the server needs them.
pub(crate) struct Identity {
    pub certificate: CertificateDer<'static>,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

impl Identity {
    /// A new certificate and key, made with ring (the provider reqwest already uses).
    pub fn new() -> std::io::Result<Self> {
        let made = rcgen::generate_simple_self_signed(vec![DISCORD_HOST.to_owned()])
            .map_err(std::io::Error::other)?;
        let certificate = made.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .map_err(std::io::Error::other)?;
        // reqwest offers h2 and HTTP/1.1; the router serves HTTP/1.1.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            certificate,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// TLS connections, handshaken off the accept loop (a stalled handshake delays no one else),
/// handed to axum as a [`axum::serve::Listener`].
pub(crate) struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// The listener, and its accept loop (to stop with the fake).
    pub fn new(
        listener: TcpListener,
        identity: &Identity,
    ) -> std::io::Result<(Self, JoinHandle<()>)> {
        let local = listener.local_addr()?;
        let acceptor = identity.acceptor.clone();
        let (tx, accepted) = mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok((Self { local, accepted }, accepting))
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept loop is gone with the runtime: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// A reqwest client for which `discord.com` is this fake: the name resolves to `https` (port
/// included: reqwest keeps a non-zero port from a DNS override when the URL names none, as
/// serenity's `https://discord.com/api/v10/…` does not), and the fake's certificate is the
/// only root trusted. rustls, as serenity's `rustls_backend` sets up its own client.
pub(crate) fn client(https: SocketAddr, identity: &Identity) -> reqwest::Result<reqwest::Client> {
    let root = reqwest::Certificate::from_der(identity.certificate.as_ref())?;
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .resolve(DISCORD_HOST, https)
        .build()
}

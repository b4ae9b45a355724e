//! A TCP proxy in the test process that can take its upstream away: `stop` breaks every
//! open connection and closes the port, so new connections are refused (as with a
//! stopped Postgres); `resume` listens on the same port again. Put between the server
//! and Postgres, it makes "the database went down under a running server" a test rather
//! than an ops drill.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A running proxy to one upstream address.
pub struct Proxy {
    /// The port to connect to instead of the upstream's.
    pub port: u16,
    upstream: SocketAddr,
    open: Arc<Mutex<Vec<AbortHandle>>>,
    accept: Mutex<Option<AbortHandle>>,
}

impl Proxy {
    /// Listens on a free local port and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let proxy = Self {
            port,
            upstream,
            open: Arc::default(),
            accept: Mutex::new(None),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tracked) = (self.upstream, self.open.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut open = tracked.lock().unwrap();
                open.retain(|p| !p.is_finished());
                open.push(pipe.abort_handle());
            }
        });
        *self.accept.lock().unwrap() = Some(accept.abort_handle());
    }

    /// Breaks every open connection and closes the port: connecting is refused until
    /// [`Proxy::resume`].
    pub fn stop(&self) {
        if let Some(accept) = self.accept.lock().unwrap().take() {
            accept.abort();
        }
        for pipe in self.open.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    /// Listens on the same port again.
    pub async fn resume(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the proxy's port again");
        self.serve(listener);
    }

    /// `url` (`scheme://user@host:port/db?…`) pointed at this proxy.
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let user = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"));
        format!(
            "{scheme}://{}127.0.0.1:{}/{path}",
            user.unwrap_or_default(),
            self.port
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

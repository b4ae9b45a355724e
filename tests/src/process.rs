//! The server as its own process, for tests that kill it the hard way (SIGKILL: no
//! shutdown hook, no flush, no rollback but the database's own). The binary is
//! `orderly_server` of this crate (the `orderly` command line, built with the tests):
//! integration tests name it with `env!("CARGO_BIN_EXE_orderly_server")`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::TestApp;

/// A running server process; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    child: Child,
    /// Where its log goes (appended across restarts).
    pub log: std::path::PathBuf,
}

impl ServerProcess {
    /// Starts `bin` on `database_url` (migrated on start, no demo data, no Redis, rate
    /// limiting off) on a free port, logging into `dir/server.log`; waits until `/ready`
    /// answers 200 and returns the process with a client attached to it.
    pub async fn start(bin: &str, database_url: &str, secret: &str, dir: &Path) -> (Self, TestApp) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = dir.join("server.log");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the server log");
        let child = Command::new(bin)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("ORDERLY_BIND", format!("127.0.0.1:{port}"))
            .env("ORDERLY_JWT_SECRET", secret)
            .env("ORDERLY_SEED_DEMO", "false")
            .env("ORDERLY_WORKERS", "2")
            .env("ORDERLY_DB_POOL", "8")
            .env("ORDERLY_RATE_BUDGET", "0")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin}: {e}"));
        let server = Self { child, log };
        let app = TestApp::attach(
            format!("http://127.0.0.1:{port}"),
            port,
            database_url.to_owned(),
            secret,
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = app
                .client
                .get(format!("{}/ready", app.address))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server never became ready; its log:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (server, app)
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

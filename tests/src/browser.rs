//! A real browser for the tests: Debian's headless Chromium driven over WebDriver
//! (`chromedriver`, from the `chromium-driver` package) with `fantoccini`. Each
//! `Browser` starts its own chromedriver on a free port and its own Chromium profile,
//! and can only reach 127.0.0.1: every other host name resolves to nothing, so a page
//! that needs a CDN fails the test. Screenshots go to `target/screenshots/`.
//!
//! Missing Chromium or chromedriver fails the test with what to install; it never skips.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session; the driver process stops when this is dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session (1280×900).
    pub async fn start() -> Self {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's Chromium and its driver \
                 (apt-get install -y chromium chromium-driver; `.ci/run` installs them); \
                 package {package}"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                    // Nothing but the server under test: any other host fails to resolve.
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                // Not listening yet.
                Err(_) if started.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("could not start a Chromium session: {err}"),
            }
        };
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        self.client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(25))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no `{css}` within {timeout:?}: {err}"))
    }

    /// Waits up to `timeout` until the text of `css` contains `text`; returns how long it took.
    pub async fn wait_for_text(&self, css: &str, text: &str, timeout: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let found = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if found.contains(text) {
                return started.elapsed();
            }
            if started.elapsed() >= timeout {
                self.screenshot("failed").await;
                let logs = self
                    .client
                    .execute(
                        "return document.getElementById('toasts')?.innerText ?? '';",
                        vec![],
                    )
                    .await
                    .unwrap_or_default();
                panic!(
                    "`{css}` did not show {text:?} within {timeout:?}; it shows {found:?} \
                     (messages on the page: {logs}; screenshot: target/screenshots/failed.png)"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.on_element(css, "click", |element| async move {
            element.click().await.map(|_| ())
        })
        .await;
    }

    /// Replaces the value of the input matching `css` with `text`, typed.
    pub async fn fill(&self, css: &str, text: &str) {
        self.on_element(css, "type into", |element| async move {
            element.clear().await?;
            element.send_keys(text).await
        })
        .await;
    }

    /// Does `act` on the element matching `css`. The pages re-render a list when a live
    /// event refreshes one of its entries, so an element found a moment ago may have
    /// been replaced: then the new one is found and `act` done on it, as a user would.
    async fn on_element<F, Fut>(&self, css: &str, what: &str, act: F)
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        let started = Instant::now();
        loop {
            match act(self.wait_for(css, Duration::from_secs(10)).await).await {
                Ok(()) => return,
                Err(err)
                    if err.is_stale_element_reference()
                        && started.elapsed() < Duration::from_secs(10) => {}
                Err(err) => panic!("{what} `{css}`: {err}"),
            }
        }
    }

    /// Saves a PNG of the window as `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Ends the session and stops the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `target/screenshots` of the workspace.
fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("screenshots")
}

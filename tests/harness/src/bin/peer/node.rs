//! The Node peer (`bench/peer`): installed by `npm ci`, started on a free loopback port.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use facteur_harness::support::{eventually, free_port};
use serde_json::Value;

/// The Node peer; killed when dropped.
pub struct Peer {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Peer {
    pub async fn start(dir: &Path, public_key: &str, role_map: &str) -> Result<Self> {
        let port = free_port();
        let child = Command::new("node")
            .arg("server.js")
            .arg(port.to_string())
            .current_dir(dir)
            .env("DISCORD_PUBLIC_KEY", public_key)
            .env("ROLE_MAP", role_map)
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the Node peer (`node`, Node 20)")?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut peer = Self { child, addr };
        let up = eventually(Duration::from_secs(20), async || {
            if !matches!(peer.child.try_wait(), Ok(None)) {
                return Some(false);
            }
            tokio::net::TcpStream::connect(addr).await.ok().map(|_| true)
        })
        .await;
        ensure!(up == Some(true), "the Node peer did not start (see its stderr above)");
        Ok(peer)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `npm ci` in `bench/peer` unless its `node_modules` is there.
pub fn install_peer(dir: &Path) -> Result<()> {
    if dir.join("node_modules").is_dir() {
        return Ok(());
    }
    eprintln!("installing the Node peer: npm ci in {}", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()
        .context("running `npm ci` (Node 20 and npm are needed for the peer)")?;
    ensure!(status.success(), "`npm ci` in {} failed", dir.display());
    Ok(())
}

pub fn package_version(dir: &Path, package: &str) -> String {
    std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

//! CPU time and process trees from `/proc`: what each side spent, and when it is idle.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// User + system CPU time of `pid` and its descendants (all threads).
pub fn cpu_time(pid: u32) -> Duration {
    let ticks: u64 = family(pid).iter().filter_map(|p| stat(*p)).map(|s| s.utime + s.stime).sum();
    from_ticks(ticks)
}

/// User + system CPU time of the calling thread.
pub fn thread_cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|text| parse_stat(&text))
        .map_or(0, |s| s.utime + s.stime);
    from_ticks(ticks)
}

pub fn from_ticks(ticks: u64) -> Duration {
    static TICK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let tick = *TICK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100)
    });
    Duration::from_micros(ticks * 1_000_000 / tick)
}

pub struct Stat {
    pub ppid: u32,
    pub comm: String,
    pub utime: u64,
    pub stime: u64,
}

pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub fn parse_stat(text: &str) -> Option<Stat> {
    let (head, rest) = text.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state, ppid, … utime is the 14th field of the line, stime the 15th.
    Some(Stat {
        ppid: fields.get(1)?.parse().ok()?,
        comm,
        utime: fields.get(11)?.parse().ok()?,
        stime: fields.get(12)?.parse().ok()?,
    })
}

pub fn processes() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// `pid` and every process below it.
pub fn family(pid: u32) -> Vec<u32> {
    let all: Vec<(u32, u32)> = processes().into_iter().filter_map(|p| Some((p, stat(p)?.ppid))).collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|(_, ppid)| *ppid == parent).map(|(p, _)| *p));
        i += 1;
    }
    found
}

/// Waits (at most `limit`) until the server's processes are idle: its work after the responses is done.
pub async fn settle(pid: u32, limit: Duration) -> Duration {
    let started = Instant::now();
    let window = Duration::from_millis(250);
    loop {
        let before = cpu_time(pid);
        tokio::time::sleep(window).await;
        // Less than 4% of a core over the window (the tick is 10 ms).
        if cpu_time(pid).saturating_sub(before) <= Duration::from_millis(10) || started.elapsed() > limit {
            return started.elapsed();
        }
    }
}

/// The `spin` process this run started (the harness keeps its `Child` to itself).
pub fn spin_pid() -> Result<u32> {
    let me = std::process::id();
    processes()
        .into_iter()
        .filter_map(|p| stat(p).map(|s| (p, s)))
        .find(|(_, s)| s.ppid == me && s.comm.starts_with("spin"))
        .map(|(p, _)| p)
        .context("the spin process")
}

//! The section of BENCHMARKS.md: the table, the environment it was measured in, and writing
//! it between its markers.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use crate::ROUNDS;
use crate::load::Run;
use crate::load::WARM_UP;
use crate::node::package_version;
use crate::requests::Kind;

pub const BEGIN: &str = "<!-- peer-bench: begin. Written by `cargo run --profile native -p facteur-harness --bin peer`; re-runs replace everything up to the end marker. -->";
pub const END: &str = "<!-- peer-bench: end -->";

pub fn text(command: &str, args: &[&str], dir: &Path) -> String {
    Command::new(command)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The commit the components were built from, and whether they differ from it.
pub fn commit(root: &Path) -> String {
    let head = text("git", &["rev-parse", "--short", "HEAD"], root);
    let changed =
        text("git", &["status", "--porcelain", "--", "components", "config", "spin.toml", "Cargo.lock"], root);
    if changed.is_empty() { head } else { format!("{head} with uncommitted changes") }
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

pub struct Cell {
    pub kind: Kind,
    pub concurrency: usize,
    /// Per side (facteur, peer), one run per round.
    pub runs: [Vec<Run>; 2],
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.2}") } else { format!("{ms:.1}") }
}

pub fn thousands(n: f64) -> String {
    let n = n.round() as u64;
    if n >= 1000 { format!("{},{:03}", n / 1000, n % 1000) } else { n.to_string() }
}

pub fn joined(runs: &[Run], f: impl Fn(&Run) -> String) -> String {
    runs.iter().map(f).collect::<Vec<_>>().join(" / ")
}

pub fn mean_throughput(runs: &[Run]) -> f64 {
    runs.iter().map(Run::throughput).sum::<f64>() / runs.len().max(1) as f64
}

pub fn table(cells: &[Cell]) -> String {
    let mut out = String::new();
    out.push_str(
        "| request | conc. | facteur req/s | p50 ms | p99 ms | CPU/req | peer req/s | p50 ms | p99 ms | CPU/req | ratio |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for cell in cells {
        let mut row = format!("| {} | {} |", cell.kind.label(), cell.concurrency);
        for runs in &cell.runs {
            let _ = write!(
                row,
                " {} | {} | {} | {} |",
                joined(runs, |r| {
                    let rate = thousands(r.throughput());
                    if r.failures > 0 { format!("{rate} ({} failed)", thousands(r.failures as f64)) } else { rate }
                }),
                joined(runs, |r| ms(r.quantile(0.5))),
                joined(runs, |r| ms(r.quantile(0.99))),
                joined(runs, |r| format!("{:.0} µs", r.cpu_per_request().as_secs_f64() * 1e6)),
            );
        }
        let ratio = mean_throughput(&cell.runs[0]) / mean_throughput(&cell.runs[1]);
        let _ = writeln!(
            row,
            " {}{ratio:.2}×{} |",
            if ratio < 1.0 { "**" } else { "" },
            if ratio < 1.0 { "**" } else { "" }
        );
        out.push_str(&row);
    }
    out
}

/// Replaces the section between the markers, or puts it first among the hand-written
/// sections (after `bench`'s marker, which keeps what follows it), or at the end.
pub fn write_section(path: &Path, section: &str) -> Result<()> {
    let previous = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{section}{END}\n");
    let updated = if let (Some(begin), Some(end)) = (previous.find(BEGIN), previous.find(END)) {
        format!("{}{block}\n{}", &previous[..begin], previous[end + END.len()..].trim_start_matches('\n'))
    } else if let Some(at) = previous.find("<!-- Written by hand below this line") {
        let line_end = previous[at..].find('\n').map_or(previous.len(), |n| at + n + 1);
        format!("{}\n{block}\n{}", &previous[..line_end], previous[line_end..].trim_start_matches('\n'))
    } else {
        format!("{}\n\n{block}", previous.trim_end())
    };
    std::fs::write(path, updated)?;
    Ok(())
}

/// Where and how the figures were measured.
pub struct Setting<'a> {
    pub quick: bool,
    pub sqlite: bool,
    pub log_files: bool,
    pub spin_version: &'a str,
    pub root: &'a Path,
    pub peer_dir: &'a Path,
    pub duration: Duration,
}

/// The heading, how the figures were measured, and the table.
pub fn heading(setting: &Setting, cells: &[Cell]) -> Result<String> {
    let generator: Vec<f64> = cells
        .iter()
        .flat_map(|c| c.runs.iter().flatten())
        .map(|r| r.generator_cpu_per_request().as_secs_f64() * 1e6)
        .collect();
    let mut section = String::new();
    writeln!(section, "## Real Spin against the Node peer\n")?;
    writeln!(
        section,
        "Produced by `cargo run --profile native -p facteur-harness --bin peer`{} on {} cores ({}): facteur under `spin up` \
         (Spin {}, components built by `spin build` at commit {}; {}) beside the Node peer `bench/peer/server.js` (Node {}, \
         discord-interactions {}, express {}), one after the other on the same machine, each request signed with the \
         same non-development key; facteur keeps sessions in {}. Load: this command's generator (hyper, one thread, keep-alive connections), {} s \
         rounds after a {} ms warm-up, {ROUNDS} rounds per cell, alternating facteur and peer; each cell shows both \
         rounds. CPU/req: CPU time of the server's processes (all threads) per answered request (the generator \
         itself took {:.0}–{:.0} µs per request). Ratio: facteur's mean throughput over the peer's.\n",
        if setting.quick { " -- --quick" } else { "" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        setting.spin_version,
        commit(setting.root),
        if setting.log_files {
            "with `spin up`'s log files, which it opens again for every instance"
        } else {
            "without log files (`--state-dir \"\"`): components write to Spin's stderr, as under SpinKube's shim \
             (`--log-files`: `spin up`'s default, which opens each component's two files for every instance)"
        },
        text("node", &["--version"], setting.root).trim_start_matches('v'),
        package_version(setting.peer_dir, "discord-interactions"),
        package_version(setting.peer_dir, "express"),
        if setting.sqlite {
            "Spin's default SQLite key-value store (`--sqlite`)"
        } else {
            "Redis, as on the cluster (`--sqlite`: Spin's default SQLite store)"
        },
        setting.duration.as_secs_f64(),
        WARM_UP.as_millis(),
        generator.iter().copied().fold(f64::MAX, f64::min),
        generator.iter().copied().fold(0.0, f64::max),
    )?;
    section.push_str(&table(cells));
    Ok(section)
}

/// The `/plan` acknowledgement against its target, the work after the responses, and the
/// failed answers with Spin's own reasons (`spin_output`).
pub fn plan_and_failures(
    section: &mut String,
    cells: &[Cell],
    (edits, plans_acknowledged): (usize, usize),
    failures: &[String],
    spin_output: &str,
) -> Result<()> {
    let plan = cells.iter().find(|c| c.kind == Kind::Plan && c.concurrency == 1).expect("measured");
    writeln!(
        section,
        "\n`/plan` acknowledgement at concurrency 1 under real Spin: p50 {} ms, p99 {} ms (target: p99 < 5 ms). \
         facteur's `/plan` does its work after the response in the same run (Argo submit to a fake Argo, Discord edit \
         to a fake Discord, key-value session; {edits} edits for {plans_acknowledged} acknowledged, none lost), on the \
         same two cores; the peer's work after the response is a no-op. The peer does not check the signature's \
         timestamp (facteur refuses one older than 300 s) and writes no audit line.\n",
        joined(&plan.runs[0], |r| ms(r.quantile(0.5))),
        joined(&plan.runs[0], |r| ms(r.quantile(0.99))),
    )?;
    if failures.is_empty() {
        return Ok(());
    }
    // Spin's own reasons, once each, without timestamps.
    let mut reasons: Vec<&str> =
        spin_output.lines().filter_map(|l| l.split_once(" ERROR ").map(|(_, m)| m.trim())).collect();
    reasons.sort();
    reasons.dedup();
    writeln!(section, "Failed answers (not counted in req/s or latency):\n")?;
    for failure in failures {
        writeln!(section, "- {failure}")?;
    }
    for reason in reasons.iter().take(5) {
        writeln!(section, "- `spin up` said: `{reason}`")?;
    }
    writeln!(section)?;
    Ok(())
}

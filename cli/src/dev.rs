//! `facteur dev`: the playground. Stand-ins for the Argo Server and Discord's API on loopback
//! (`facteur-playground`), with the catalog's WorkflowTemplates and runs on a clock; prints the
//! `spin up` command that points facteur at them, then what they receive, until Ctrl-C.

use std::time::Duration;

use anyhow::{Context, Result};
use facteur::catalog::Catalog;
use facteur_playground::argo::Clock;
use facteur_playground::faults::Faults;
use facteur_playground::playground::{Options, Playground};

#[derive(clap::Args)]
pub struct Args {
    /// Port of the Argo Server stand-in (2746 is `argo_server_url`'s default; 0: any).
    #[arg(long, default_value_t = 2746)]
    argo_port: u16,
    /// Port of the Discord API stand-in (0: any).
    #[arg(long, default_value_t = 2747)]
    discord_port: u16,
    /// Where facteur listens: runs that end are reported to its `/bridge/lifecycle`, as the
    /// example WorkflowTemplate's exit handler does.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    app: String,
    /// Do not report runs that end.
    #[arg(long)]
    no_report: bool,
    /// Seconds a run stays Pending.
    #[arg(long, default_value_t = 3.0)]
    pending_secs: f64,
    /// Seconds a run stays Running before it succeeds (or fails, when an option contains "fail").
    #[arg(long, default_value_t = 20.0)]
    running_secs: f64,
    /// Transport faults of the Argo stand-in, by request count: `late=N:MS` (every N-th answered
    /// after MS milliseconds, having taken effect), `dropped=N` (taken, connection closed
    /// unanswered), `unreachable=N:MS` (port closed for MS), comma-separated.
    #[arg(long, value_parser = Faults::parse, default_value = "")]
    argo_faults: Faults,
    /// The same for the Discord stand-in.
    #[arg(long, value_parser = Faults::parse, default_value = "")]
    discord_faults: Faults,
}

/// The catalog's WorkflowTemplates, (namespace, name), and the role map keys the playground
/// grants: its command names and their approvers' keys (approve as another member, `--user`).
fn from_catalog() -> (Vec<(String, String)>, Vec<String>) {
    let catalog = Catalog::embedded();
    let mut templates = Vec::new();
    for command in &catalog.commands {
        let Some(mapping) = &command.workflow else { continue };
        let namespace = mapping.namespace.clone().unwrap_or_else(|| "argo".to_owned());
        for template in mapping.template.iter().chain(mapping.allowed_templates.iter().flatten()) {
            let entry = (namespace.clone(), template.clone());
            if !templates.contains(&entry) {
                templates.push(entry);
            }
        }
    }
    let approvers = catalog.commands.iter().filter_map(|c| c.approval.as_ref().map(|a| a.approvers.clone()));
    (templates, catalog.commands.iter().map(|c| c.name.clone()).chain(approvers).collect())
}

pub fn run(args: &Args) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: &Args) -> Result<()> {
    let (templates, commands) = from_catalog();
    let seconds = |s: f64| Duration::try_from_secs_f64(s).context("seconds must be zero or more");
    let options = Options {
        argo_port: args.argo_port,
        discord_port: args.discord_port,
        clock: Clock { pending: seconds(args.pending_secs)?, running: seconds(args.running_secs)? },
        app: (!args.no_report).then(|| args.app.clone()),
        templates,
        commands,
    };
    let playground = Playground::start(options)
        .await
        .context("starting the playground (is a port taken? --argo-port, --discord-port)")?;
    playground.argo.server.inject(args.argo_faults);
    playground.discord.server.inject(args.discord_faults);
    // Listening before the instructions say Ctrl-C stops it: `ctrl_c()` would install its
    // handler only when first awaited, and a SIGINT sent on reading them could kill the process.
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).context("listening for Ctrl-C")?;
    println!("{}", playground.instructions());
    playground.on_activity(|line| println!("[{}] {line}", chrono_free_clock()));
    interrupt.recv().await;
    let (argo, discord) = (playground.argo.violations(), playground.discord.violations());
    drop(playground);
    println!();
    if argo.is_empty() && discord.is_empty() {
        println!("Playground stopped. No request broke the Argo or Discord specs.");
    } else {
        println!(
            "Playground stopped. Requests that broke the specs: {} (Argo), {} (Discord).",
            argo.len(),
            discord.len()
        );
    }
    Ok(())
}

/// `HH:MM:SS` (UTC) for activity lines.
fn chrono_free_clock() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{:02}:{:02}:{:02}", secs / 3600 % 24, secs / 60 % 60, secs % 60)
}

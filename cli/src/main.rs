//! `facteur`: register the catalog's commands with Discord, run a local playground, send signed
//! test interactions to a local instance, make a development key pair, and validate the
//! configuration.

mod dev;
mod interact;
mod register;
mod render;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "facteur", version, about = "Run Argo Workflows from Discord: facteur's command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Slash commands on Discord.
    Commands {
        #[command(subcommand)]
        action: CommandsAction,
    },
    /// Runs a playground on loopback: stand-ins for the Argo Server and Discord's API (checked
    /// against their official OpenAPI specs) and the `spin up` command that points facteur at them.
    Dev(dev::Args),
    /// Sends a signed interaction to a running facteur, as Discord would, and prints the answer
    /// (against a playground: the message a member would see, and its buttons to press).
    Interact(interact::Args),
    /// Prints a new key pair for trying facteur locally.
    Keygen,
    /// Configuration files.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum CommandsAction {
    /// Shows how Discord's commands differ from config/commands.json, then overwrites them.
    Register(register::Args),
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Checks every config file against its schema, and the catalog against spin.toml.
    Validate {
        /// The repository (where spin.toml is).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// A fresh key pair: the public half for `discord_public_key`, the seed for `facteur interact`.
fn keygen() -> anyhow::Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the system: {e}"))?;
    let key = facteur::signature::SigningKey::from_seed(&seed);
    let (public, seed) = (key.public_key_hex(), key.seed_hex());
    println!("discord_public_key = {public}");
    println!("FACTEUR_SIGNING_SEED = {seed}");
    println!("# Start facteur with the public key and sign with the seed:");
    println!("#   spin up --build --variable discord_public_key={public}");
    println!("#   FACTEUR_SIGNING_SEED={seed} facteur interact help");
    Ok(())
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match Cli::parse().command {
        Command::Commands { action: CommandsAction::Register(args) } => register::run(&args),
        Command::Dev(args) => dev::run(&args),
        Command::Interact(args) => interact::run(&args),
        Command::Keygen => keygen(),
        Command::Config { action: ConfigAction::Validate { dir } } => validate::run(&dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("facteur: {e:#}");
            ExitCode::FAILURE
        }
    }
}

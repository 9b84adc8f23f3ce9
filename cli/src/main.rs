//! `facteur`: register the catalog's commands with Discord, send signed test interactions to a
//! local instance, make a development key pair, and validate the configuration.

mod interact;
mod register;
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
    /// Sends a signed interaction to a running facteur, as Discord would, and prints the answer.
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

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match Cli::parse().command {
        Command::Commands { action: CommandsAction::Register(args) } => register::run(&args),
        Command::Interact(args) => interact::run(&args),
        Command::Keygen => {
            let pair = ed25519_compact::KeyPair::generate();
            println!("discord_public_key = {}", hex::encode(*pair.pk));
            println!("FACTEUR_SIGNING_SEED = {}", hex::encode(*pair.sk.seed()));
            println!("# Start facteur with the public key and sign with the seed:");
            println!("#   spin up --build --variable discord_public_key={}", hex::encode(*pair.pk));
            println!("#   FACTEUR_SIGNING_SEED={} facteur interact help", hex::encode(*pair.sk.seed()));
            Ok(())
        }
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

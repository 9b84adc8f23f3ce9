//! `facteur interact`: a realistic signed interaction, sent like Discord sends it.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use facteur::catalog::{Catalog, OptionKind};
use facteur::signature::SigningKey;
use serde_json::{Value, json};

#[derive(clap::Args)]
pub struct Args {
    /// The command (`plan`), or `ping` for Discord's endpoint check.
    command: String,
    /// A subcommand (`/workflow status`).
    #[arg(long)]
    sub: Option<String>,
    /// Options as name=value, typed by the catalog.
    #[arg(long = "option", value_name = "NAME=VALUE")]
    options: Vec<String>,
    /// The member's role ids, comma-separated.
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    #[arg(long, default_value = "100000000000000001")]
    user: String,
    #[arg(long, default_value = "100000000000000002")]
    guild: String,
    #[arg(long, default_value = "100000000000000003")]
    channel: String,
    #[arg(long, default_value = "http://127.0.0.1:3000/interactions")]
    url: String,
    /// Hex seed of the signing key (default: the public development key's, which facteur's
    /// `spin up` defaults accept).
    #[arg(long, env = "FACTEUR_SIGNING_SEED", hide_env_values = true)]
    seed: Option<String>,
}

pub fn run(args: &Args) -> Result<()> {
    let body = interaction(args)?.to_string();
    let seed = match &args.seed {
        Some(hex_seed) => {
            let mut seed = [0u8; 32];
            hex::decode_to_slice(hex_seed.trim(), &mut seed)
                .map_err(|_| anyhow::anyhow!("the seed must be 64 hex characters"))?;
            seed
        }
        None => *facteur::config::DEV_SEED,
    };
    let key = SigningKey::from_seed(&seed);
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs().to_string();
    let response = reqwest::blocking::Client::new()
        .post(&args.url)
        .header("content-type", "application/json")
        .header("x-signature-ed25519", key.sign(&timestamp, body.as_bytes()))
        .header("x-signature-timestamp", timestamp)
        .body(body)
        .send()
        .with_context(|| format!("sending to {}", args.url))?;
    println!("{}", response.status());
    println!("{}", response.text()?);
    Ok(())
}

fn interaction(args: &Args) -> Result<Value> {
    let id = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis().to_string();
    if args.command == "ping" {
        return Ok(
            json!({"id": id, "application_id": "100000000000000000", "type": 1, "token": "local", "version": 1}),
        );
    }
    let catalog = Catalog::embedded();
    let command =
        catalog.command(&args.command).with_context(|| format!("`{}` is not in the catalog", args.command))?;
    let specs = match &args.sub {
        Some(sub) => {
            &command
                .subcommands
                .iter()
                .find(|s| &s.name == sub)
                .with_context(|| format!("`/{}` has no subcommand `{sub}`", command.name))?
                .options
        }
        None => &command.options,
    };
    let mut options = Vec::new();
    for pair in &args.options {
        let Some((name, value)) = pair.split_once('=') else { bail!("`{pair}` is not name=value") };
        let (kind, value) = match specs.iter().find(|o| o.name == name).map(|o| o.kind) {
            Some(OptionKind::Boolean) => (5, json!(value == "true")),
            Some(OptionKind::Integer) => {
                (4, json!(value.parse::<i64>().with_context(|| format!("`{name}` is a whole number"))?))
            }
            Some(OptionKind::Number) => {
                (10, json!(value.parse::<f64>().with_context(|| format!("`{name}` is a number"))?))
            }
            _ => (3, json!(value)),
        };
        options.push(json!({"name": name, "type": kind, "value": value}));
    }
    if let Some(sub) = &args.sub {
        options = vec![json!({"name": sub, "type": 1, "options": options})];
    }
    Ok(json!({
        "id": id, "application_id": "100000000000000000", "type": 2, "token": "local-token", "version": 1,
        "guild_id": args.guild, "channel_id": args.channel, "locale": "en-US",
        "member": {"user": {"id": args.user, "username": "local"}, "roles": args.roles},
        "data": {"id": "100000000000000009", "name": command.name, "type": 1, "options": options}
    }))
}

//! `facteur interact`: a realistic signed interaction, sent like Discord sends it.
//!
//! Against a playground (`facteur dev`; `--playground` or `FACTEUR_PLAYGROUND`), it also plays
//! Discord's client: it shows the message a member would see (the inline answer, or the
//! deferred reply once facteur edited it at the Discord stand-in), and presses buttons
//! (`--click`, or a prompt when stdin is a terminal), showing each update.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use facteur::catalog::{Catalog, OptionKind};
use facteur::signature::SigningKey;
use serde_json::{Value, json};

use crate::render;

const APPLICATION_ID: &str = "100000000000000000";
const USER_AGENT: &str =
    concat!("DiscordBot (https://github.com/facteur-bot/facteur, ", env!("CARGO_PKG_VERSION"), ")");

#[derive(clap::Args)]
pub struct Args {
    /// The command (`plan`), or `ping` for Discord's endpoint check. May be left out with
    /// `--click <custom_id>` to press a button of an earlier message.
    #[arg(required_unless_present = "clicks")]
    command: Option<String>,
    /// A subcommand (`/workflow status`).
    #[arg(long)]
    sub: Option<String>,
    /// Options as name=value, typed by the catalog.
    #[arg(long = "option", value_name = "NAME=VALUE")]
    options: Vec<String>,
    /// The member's role ids, comma-separated (against a playground: its role, by default).
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
    /// The Discord API stand-in of `facteur dev` (it prints this): show the messages a member
    /// would see, waiting for facteur's follow-ups there.
    #[arg(long, env = facteur_playground::playground::ENV, value_name = "URL")]
    playground: Option<String>,
    /// Then press this button: its custom_id, or its label on the message shown (`Refresh`).
    /// Repeat to press several in turn. Alone, presses a custom_id on its own.
    #[arg(long = "click", value_name = "CUSTOM_ID|LABEL")]
    clicks: Vec<String>,
    /// Seconds to wait for a deferred reply (default 30), or with --follow for the run to end
    /// (default 600) (playground).
    #[arg(long)]
    wait: Option<u64>,
    /// Keep showing the reply as it changes until the run's final phase (playground).
    #[arg(long)]
    follow: bool,
}

pub fn run(args: &Args) -> Result<()> {
    let key = signing_key(args)?;
    let Some(playground) = args.playground.as_deref().map(|p| p.trim_end_matches('/').to_owned()) else {
        let command = args.command.as_deref().context("name a command")?;
        let response = post(args, &key, &interaction(args, command)?)?;
        println!("{}", response.0);
        println!("{}", response.1);
        return Ok(());
    };
    let client = Client { args, key, playground, http: reqwest::blocking::Client::new() };
    let mut shown = match args.command.as_deref() {
        Some(command) => {
            let body = interaction(args, command)?;
            let shown = client.exchange(&body, &format!("/{}", slash_label(args, command)))?;
            if args.follow {
                client.follow(&body, &shown)?;
            }
            shown
        }
        None => Value::Null,
    };
    for click in &args.clicks {
        shown = client.click(click, &shown)?;
    }
    if args.clicks.is_empty() && std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        client.prompt(shown)?;
    }
    Ok(())
}

fn slash_label(args: &Args, command: &str) -> String {
    match &args.sub {
        Some(sub) => format!("{command} {sub}"),
        None => command.to_owned(),
    }
}

fn signing_key(args: &Args) -> Result<SigningKey> {
    let seed = match &args.seed {
        Some(hex_seed) => {
            let mut seed = [0u8; 32];
            hex::decode_to_slice(hex_seed.trim(), &mut seed)
                .map_err(|_| anyhow::anyhow!("the seed must be 64 hex characters"))?;
            seed
        }
        None => *facteur::config::DEV_SEED,
    };
    Ok(SigningKey::from_seed(&seed))
}

/// POSTs a signed interaction to facteur: the status line and the body.
fn post(args: &Args, key: &SigningKey, body: &Value) -> Result<(reqwest::StatusCode, String)> {
    let body = body.to_string();
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs().to_string();
    let response = reqwest::blocking::Client::new()
        .post(&args.url)
        .header("content-type", "application/json")
        .header("x-signature-ed25519", key.sign(&timestamp, body.as_bytes()))
        .header("x-signature-timestamp", timestamp)
        .body(body)
        .send()
        .with_context(|| format!("sending to {}", args.url))?;
    let status = response.status();
    Ok((status, response.text()?))
}

/// Discord's client, against a playground.
struct Client<'a> {
    args: &'a Args,
    key: SigningKey,
    playground: String,
    http: reqwest::blocking::Client,
}

impl Client<'_> {
    /// Sends an interaction and shows what the member sees; returns that message.
    fn exchange(&self, body: &Value, what: &str) -> Result<Value> {
        let (status, text) = post(self.args, &self.key, body)?;
        if !status.is_success() {
            bail!("facteur answered {status}: {text}");
        }
        let answer: Value =
            serde_json::from_str(&text).with_context(|| format!("facteur's answer is not JSON: {text}"))?;
        let token = body["token"].as_str().unwrap_or_default();
        let kind = answer["type"].as_u64().unwrap_or(0);
        let message = match kind {
            1 => {
                println!("{what}: PONG (type 1)");
                return Ok(Value::Null);
            }
            4 => {
                println!("{what}: facteur answered at once (type 4)");
                answer["data"].clone()
            }
            7 => {
                println!("{what}: facteur updated the message in place (type 7)");
                answer["data"].clone()
            }
            5 | 6 => {
                let said = if kind == 5 { "\"facteur is thinking…\" (type 5)" } else { "a deferred update (type 6)" };
                println!("{what}: facteur deferred: {said}; waiting for its edit at the Discord stand-in…");
                self.wait_for_edit(token, None)?
            }
            8 => {
                let choices: Vec<String> = answer["data"]["choices"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| format!("  {}", c["name"].as_str().unwrap_or("")))
                    .collect();
                println!("{what}: autocomplete choices (type 8):\n{}", choices.join("\n"));
                return Ok(Value::Null);
            }
            other => {
                println!("{what}: type {other}: {answer}");
                return Ok(Value::Null);
            }
        };
        let title = match kind {
            7 | 6 => "the message, updated",
            _ => "facteur's reply",
        };
        println!("{}", render::message(title, &message));
        Ok(message)
    }

    /// The interaction's original response once it exists (and differs from `seen`).
    fn wait_for_edit(&self, token: &str, seen: Option<&Value>) -> Result<Value> {
        let wait = self.args.wait.unwrap_or(30).max(1);
        let deadline = Instant::now() + Duration::from_secs(wait);
        let url = format!("{}/api/v10/webhooks/{APPLICATION_ID}/{token}/messages/@original", self.playground);
        loop {
            let response = self.http.get(&url).header("user-agent", USER_AGENT).send();
            match response {
                Ok(r) if r.status().is_success() => {
                    let message: Value = r.json()?;
                    if seen != Some(&message) {
                        return Ok(message);
                    }
                }
                Ok(r) if r.status().as_u16() == 404 => {}
                Ok(r) => bail!("the Discord stand-in answered {}: {}", r.status(), r.text().unwrap_or_default()),
                Err(e) => bail!("cannot reach the Discord stand-in at {}: {e}", self.playground),
            }
            if Instant::now() >= deadline {
                bail!(
                    "no reply from facteur within {wait} s (is `spin up` pointed at the playground? see `facteur dev`)"
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Shows the reply again each time facteur edits it, until it shows a final phase.
    fn follow(&self, body: &Value, shown: &Value) -> Result<()> {
        let token = body["token"].as_str().unwrap_or_default();
        let ended =
            |m: &Value| render::phase(m).is_some_and(|p| matches!(p.as_str(), "Succeeded" | "Failed" | "Error"));
        let mut last = shown.clone();
        let wait = self.args.wait.unwrap_or(600);
        let deadline = Instant::now() + Duration::from_secs(wait);
        if !ended(&last) {
            println!("(following the reply until its run ends; Ctrl-C to stop)");
        }
        while !ended(&last) {
            if Instant::now() >= deadline {
                bail!("the reply showed no final phase within {wait} s");
            }
            if let Ok(next) = self.wait_for_edit(token, Some(&last)) {
                println!("{}", render::message("facteur's reply, edited", &next));
                last = next;
            }
        }
        Ok(())
    }

    /// Presses a button (custom_id, or label on `on`); returns the message shown after.
    fn click(&self, which: &str, on: &Value) -> Result<Value> {
        let buttons = render::buttons(on);
        let custom_id = buttons
            .iter()
            .find(|b| b.label.eq_ignore_ascii_case(which) || b.custom_id.as_deref() == Some(which))
            .and_then(|b| b.custom_id.clone())
            .or_else(|| which.contains(':').then(|| which.to_owned()))
            .with_context(|| {
                let ids: Vec<String> = buttons.iter().filter_map(|b| b.custom_id.clone()).collect();
                format!("no button `{which}` on the message (its buttons: {})", ids.join(", "))
            })?;
        let body = click_interaction(self.args, &custom_id, on)?;
        let shown = self.exchange(&body, &format!("click {custom_id}"))?;
        // An answer to the click that is a new message (Cancel's question) leaves `on` as it was
        // for Discord; interact moves on to the newest message shown.
        Ok(if shown.is_null() { on.clone() } else { shown })
    }

    /// Lists the buttons and presses the one chosen, until the member presses Enter.
    fn prompt(&self, mut shown: Value) -> Result<()> {
        loop {
            let choices: Vec<render::Button> =
                render::buttons(&shown).into_iter().filter(|b| b.custom_id.is_some()).collect();
            if choices.is_empty() {
                return Ok(());
            }
            let menu: Vec<String> =
                choices.iter().enumerate().map(|(i, b)| format!("[{}] {}", i + 1, b.label)).collect();
            print!("Press a button: {}  (Enter: done) > ", menu.join("  "));
            std::io::stdout().flush()?;
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim();
            if line.is_empty() {
                return Ok(());
            }
            let chosen = match line.parse::<usize>() {
                Ok(n) if (1..=choices.len()).contains(&n) => choices[n - 1].custom_id.clone().unwrap(),
                _ => line.to_owned(),
            };
            match self.click(&chosen, &shown) {
                Ok(next) => shown = next,
                Err(e) => eprintln!("facteur: {e:#}"),
            }
        }
    }
}

/// A fresh snowflake: Discord's layout (milliseconds since 2015, process, counter), so ids
/// from separate runs of interact never collide.
fn snowflake() -> Result<String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
    let ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64 - DISCORD_EPOCH_MS;
    let process = u64::from(std::process::id()) & 0x3ff;
    let counter = COUNTER.fetch_add(1, Ordering::SeqCst) & 0xfff;
    Ok(((ms << 22) | (process << 12) | counter).to_string())
}

fn roles(args: &Args) -> Vec<String> {
    if args.roles.is_empty() && args.playground.is_some() {
        return vec![facteur_playground::playground::ROLE.to_owned()];
    }
    args.roles.clone()
}

/// A button click on `message` (the message it is on, as Discord sends it).
fn click_interaction(args: &Args, custom_id: &str, message: &Value) -> Result<Value> {
    let id = snowflake()?;
    let message = if message.is_object() {
        json!({"id": message["id"].as_str().unwrap_or("0"), "channel_id": args.channel,
               "content": message["content"].as_str().unwrap_or(""), "components": message["components"].clone()})
    } else {
        json!({"id": "0", "channel_id": args.channel, "content": "", "components": []})
    };
    Ok(json!({
        "id": id, "application_id": APPLICATION_ID, "type": 3, "token": format!("interaction-{id}"), "version": 1,
        "guild_id": args.guild, "channel_id": args.channel, "locale": "en-US",
        "member": {"user": {"id": args.user, "username": "local"}, "roles": roles(args)},
        "message": message,
        "data": {"custom_id": custom_id, "component_type": 2}
    }))
}

fn interaction(args: &Args, command: &str) -> Result<Value> {
    let id = snowflake()?;
    if command == "ping" {
        return Ok(json!({"id": id, "application_id": APPLICATION_ID, "type": 1, "token": "local", "version": 1}));
    }
    let catalog = Catalog::embedded();
    let command = catalog.command(command).with_context(|| format!("`{command}` is not in the catalog"))?;
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
        "id": id, "application_id": APPLICATION_ID, "type": 2, "token": format!("interaction-{id}"), "version": 1,
        "guild_id": args.guild, "channel_id": args.channel, "locale": "en-US",
        "member": {"user": {"id": args.user, "username": "local"}, "roles": roles(args)},
        "data": {"id": "100000000000000009", "name": command.name, "type": 1, "options": options}
    }))
}

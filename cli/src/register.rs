//! `facteur commands register`: the catalog's definitions are what Discord should have.
//! Shows the difference with what Discord has, then replaces them all (bulk overwrite).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use facteur::catalog::Catalog;
use serde_json::Value;

#[derive(clap::Args)]
pub struct Args {
    /// Register for one guild (instant; for testing).
    #[arg(long, conflicts_with = "global", required_unless_present = "global")]
    guild: Option<String>,
    /// Register globally (every guild the app is in).
    #[arg(long)]
    global: bool,
    /// Show the difference only.
    #[arg(long)]
    dry_run: bool,
    /// Offer commands in DMs with the bot too, as the app's `allow_dms` variable lets DMs
    /// through its policy (a command's `contexts` in the catalog wins).
    #[arg(long)]
    allow_dms: bool,
    #[arg(long, env = "DISCORD_APPLICATION_ID")]
    application_id: String,
    #[arg(long, env = "DISCORD_BOT_TOKEN", hide_env_values = true)]
    bot_token: String,
    #[arg(long, env = "DISCORD_API_URL", default_value = "https://discord.com")]
    api_url: String,
}

pub fn run(args: &Args) -> Result<()> {
    let path = match &args.guild {
        Some(guild) => format!("/api/v10/applications/{}/guilds/{guild}/commands", args.application_id),
        None => format!("/api/v10/applications/{}/commands", args.application_id),
    };
    let url = format!("{}{path}", args.api_url.trim_end_matches('/'));
    let wanted = Catalog::embedded().discord_definitions(args.allow_dms);
    let current = send(args, reqwest::Method::GET, &url, None).context("reading the registered commands")?;
    let changes = diff(current.as_array().map(Vec::as_slice).unwrap_or_default(), wanted.as_array().expect("an array"));
    if changes.is_empty() {
        println!("Discord's commands already match config/commands.json.");
    }
    for change in &changes {
        println!("{change}");
    }
    if args.dry_run {
        println!("(dry run: nothing was changed)");
        return Ok(());
    }
    send(args, reqwest::Method::PUT, &url, Some(&wanted)).context("overwriting the commands")?;
    println!("Registered {} commands.", wanted.as_array().map_or(0, Vec::len));
    Ok(())
}

/// One request, retried after a 429 as Discord asks (three attempts at most).
fn send(args: &Args, method: reqwest::Method, url: &str, body: Option<&Value>) -> Result<Value> {
    let client = reqwest::blocking::Client::new();
    for _ in 0..3 {
        let mut request =
            client.request(method.clone(), url).header("authorization", format!("Bot {}", args.bot_token)).header(
                "user-agent",
                concat!("DiscordBot (https://github.com/facteur-bot/facteur, ", env!("CARGO_PKG_VERSION"), ")"),
            );
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send()?;
        let status = response.status().as_u16();
        let text = response.text()?;
        if let Some(wait) = facteur::discord::rate_limit::retry_after(status, None, text.as_bytes()) {
            eprintln!("rate limited; retrying in {wait:?}");
            std::thread::sleep(wait.min(Duration::from_secs(30)));
            continue;
        }
        if !(200..300).contains(&status) {
            bail!("Discord answered {status}: {text}");
        }
        return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
    }
    bail!("still rate limited after three attempts")
}

/// Who Discord offers a command to, and the names of the codes, for the diff.
const VISIBILITY: [(&str, &[&str]); 3] = [
    ("contexts", &["guild", "bot_dm", "private_channel"]),
    ("integration_types", &["guild_install", "user_install"]),
    ("default_member_permissions", &[]),
];

/// `+ /name [visibility]` to add, `- /name` to remove, `~ /name (fields; visibility: old → new)`
/// to change.
pub fn diff(current: &[Value], wanted: &[Value]) -> Vec<String> {
    let by_name = |list: &[Value]| -> BTreeMap<String, Value> {
        list.iter().filter_map(|c| Some((c["name"].as_str()?.to_owned(), normalise(c)))).collect()
    };
    let (current, wanted) = (by_name(current), by_name(wanted));
    let mut changes = Vec::new();
    for (name, definition) in &wanted {
        match current.get(name) {
            None => {
                let shown: Vec<String> =
                    VISIBILITY.iter().map(|(f, _)| format!("{f}: {}", shown(definition, f))).collect();
                changes.push(format!("+ /{name} [{}]", shown.join("; ")));
            }
            Some(existing) if existing != definition => {
                let mut fields: Vec<String> = ["description", "options"]
                    .into_iter()
                    .filter(|f| existing[*f] != definition[*f])
                    .map(str::to_owned)
                    .collect();
                for (field, _) in VISIBILITY.iter().filter(|(f, _)| existing[*f] != definition[*f]) {
                    fields.push(format!("{field}: {} → {}", shown(existing, field), shown(definition, field)));
                }
                changes.push(format!("~ /{name} ({})", fields.join(", ")));
            }
            Some(_) => {}
        }
    }
    changes.extend(current.keys().filter(|name| !wanted.contains_key(*name)).map(|name| format!("- /{name}")));
    changes
}

/// The fields we set, with Discord's defaults made explicit, so equal definitions compare equal.
fn normalise(command: &Value) -> Value {
    fn options(list: &Value) -> Value {
        Value::Array(
            list.as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|o| {
                            let mut kept = serde_json::Map::new();
                            for key in [
                                "type",
                                "name",
                                "description",
                                "choices",
                                "autocomplete",
                                "min_length",
                                "max_length",
                                "min_value",
                                "max_value",
                            ] {
                                if let Some(v) = o.get(key).filter(|v| !v.is_null() && *v != &Value::Bool(false)) {
                                    kept.insert(key.to_owned(), v.clone());
                                }
                            }
                            kept.insert("required".into(), o.get("required").cloned().unwrap_or(Value::Bool(false)));
                            if let Some(nested) = o.get("options") {
                                kept.insert("options".into(), options(nested));
                            }
                            Value::Object(kept)
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    }
    // Discord answers the permission bitfield as a string (it takes an integer, as its spec
    // says, or a string) and `null` for "everyone".
    let permissions = match &command["default_member_permissions"] {
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    };
    serde_json::json!({
        "name": command["name"], "description": command["description"], "options": options(&command["options"]),
        "default_member_permissions": permissions, "contexts": command["contexts"],
        "integration_types": command["integration_types"],
    })
}

/// A visibility field of a normalised definition, in words: `guild, bot_dm`, `everyone`.
fn shown(definition: &Value, field: &str) -> String {
    let names = VISIBILITY.iter().find(|(f, _)| *f == field).map_or(&[][..], |(_, names)| names);
    match &definition[field] {
        Value::Null if field == "default_member_permissions" => "everyone".to_owned(),
        Value::Null => "Discord's default".to_owned(),
        Value::String(bits) => bits.clone(),
        Value::Array(codes) => codes
            .iter()
            .map(|c| c.as_u64().and_then(|c| names.get(c as usize)).map_or_else(|| c.to_string(), |n| (*n).to_owned()))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

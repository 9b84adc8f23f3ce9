//! The playground `facteur dev` runs: both stand-ins on loopback, runs on a clock, finished
//! runs reported to facteur's lifecycle bridge, and the `spin up` variables that point facteur
//! at them.

use std::time::Duration;

use anyhow::Result;
use serde_json::{Map, Value};

use crate::argo::{Clock, FakeArgo, Report};
use crate::discord::FakeDiscord;

/// The environment variable `facteur interact` reads to find the playground's Discord stand-in.
pub const ENV: &str = "FACTEUR_PLAYGROUND";
/// The role the playground's role map grants every command to (`facteur interact`'s default
/// roles against a playground).
pub const ROLE: &str = "100000000000000004";
/// The lifecycle bridge's secret the printed `spin up` sets (loopback only: the playground is no
/// deployment).
pub const LIFECYCLE_SECRET: &str = "playground-lifecycle-secret";
/// A bot token for the worker's channel posts (the stand-in only checks its `Bot ` form).
pub const BOT_TOKEN: &str = "playground-bot-token";

pub struct Options {
    /// Loopback ports (0: any free port). 2746 is `argo_server_url`'s default.
    pub argo_port: u16,
    pub discord_port: u16,
    pub clock: Clock,
    /// facteur's origin (`http://127.0.0.1:3000`): finished runs are reported to its
    /// `/bridge/lifecycle`, as the example template's exit handler does. `None`: not reported.
    pub app: Option<String>,
    /// The WorkflowTemplates the Argo stand-in has: (namespace, name).
    pub templates: Vec<(String, String)>,
    /// The role map keys granted to [`ROLE`]: the commands, and `release:approve` (a request for
    /// `/release` is approved by another member: `facteur interact --user <id> --click Approve`).
    pub commands: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            argo_port: 0,
            discord_port: 0,
            clock: Clock::default(),
            app: None,
            templates: vec![("argo".into(), "facteur-dispatch".into())],
            commands: ["help", "plan", "implement", "review", "dispatch", "release", "release:approve", "workflow"]
                .map(String::from)
                .to_vec(),
        }
    }
}

pub struct Playground {
    pub argo: FakeArgo,
    pub discord: FakeDiscord,
    options: Options,
}

impl Playground {
    pub async fn start(options: Options) -> Result<Self> {
        let templates: Vec<(&str, &str)> = options.templates.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let argo = FakeArgo::start_on(options.argo_port, &templates).await?;
        argo.run_on_a_clock(options.clock);
        let discord = FakeDiscord::start_on(options.discord_port).await?;
        let playground = Self { argo, discord, options };
        if let Some(app) = playground.options.app.clone() {
            playground.report_to_app(&app);
        }
        Ok(playground)
    }

    /// Reports finished runs to the facteur at `origin` (its `/bridge/lifecycle`).
    pub fn report_to_app(&self, origin: &str) {
        let url = format!("{}/bridge/lifecycle", origin.trim_end_matches('/'));
        self.argo.report_to(Report { url, secret: LIFECYCLE_SECRET.to_owned() });
    }

    /// Calls `activity` with each line both stand-ins tell (submits, phases, messages, violations).
    pub fn on_activity(&self, activity: impl Fn(&str) + Send + Sync + Clone + 'static) {
        self.argo.on_activity(activity.clone());
        self.discord.on_activity(activity);
    }

    /// The Discord stand-in's origin: what `FACTEUR_PLAYGROUND` is set to.
    pub fn discord_origin(&self) -> String {
        self.discord.origin()
    }

    /// The role map granting every command to [`ROLE`].
    pub fn role_map(&self) -> String {
        let map: Map<String, Value> =
            self.options.commands.iter().map(|c| (c.clone(), Value::Array(vec![ROLE.into()]))).collect();
        Value::Object(map).to_string()
    }

    /// The `spin up` variables that point facteur at the playground.
    pub fn spin_variables(&self) -> Vec<(&'static str, String)> {
        vec![
            ("argo_server_url", self.argo.origin()),
            ("argo_ui_url", self.argo.origin()),
            ("discord_api_url", self.discord.origin()),
            ("role_map", self.role_map()),
            ("lifecycle_secret", LIFECYCLE_SECRET.to_owned()),
            ("discord_bot_token", BOT_TOKEN.to_owned()),
        ]
    }

    /// What `facteur dev` prints: what runs, that it is a stand-in, and the commands to use it.
    pub fn instructions(&self) -> String {
        let secs = |d: Duration| d.as_secs_f64();
        let clock = self.options.clock;
        let mut spin = String::from("spin up --build");
        for (name, value) in self.spin_variables() {
            let value = if value.contains(['"', ' ', '{']) { format!("'{value}'") } else { value };
            spin.push_str(&format!(" \\\n      --variable {name}={value}"));
        }
        let report = match &self.options.app {
            Some(app) => format!("runs that end are reported to {app}/bridge/lifecycle (as the exit handler does)"),
            None => "runs that end are not reported".to_owned(),
        };
        let templates = self.options.templates.iter().map(|(n, t)| format!("{n}/{t}")).collect::<Vec<_>>().join(", ");
        format!(
            "facteur playground: STAND-INS for the Argo Server and Discord's API, on loopback.\n\
             They are not Argo and not Discord: no workflow runs, no message reaches anyone. Every request\n\
             is checked against the official OpenAPI specs (Argo Server; Discord v10) and refused when it\n\
             does not match, so facteur cannot get away with a contract error here.\n\
             \n\
             \x20 Argo Server stand-in  {argo}   templates {templates}\n\
             \x20                       runs: Pending {pending}s → Running {running}s → Succeeded\n\
             \x20                       (Failed when an option's value contains \"fail\"); {report}\n\
             \x20 Discord API stand-in  {discord}   keeps the replies, follow-ups and channel posts\n\
             \n\
             1. Start facteur pointed at it (another terminal, in the repository; Redis on 127.0.0.1:6379):\n\
             \n\
             \x20   {spin}\n\
             \n\
             2. Try a command (a third terminal); interact shows the reply a member would see and its buttons:\n\
             \n\
             \x20   export {env}={discord}\n\
             \x20   cargo run -p facteur-cli -- interact plan --option objective=\"Try facteur\"\n\
             \x20   cargo run -p facteur-cli -- interact workflow --sub logs --option name=<the workflow>\n\
             \n\
             \x20 (the role map grants every command to role {role}, which interact sends by default here)\n\
             \n\
             Ctrl-C stops the playground. What the stand-ins receive:\n",
            argo = self.argo.origin(),
            discord = self.discord.origin(),
            pending = secs(clock.pending),
            running = secs(clock.running),
            env = ENV,
            role = ROLE,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn instructions_name_every_variable_and_say_it_is_a_stand_in() {
        let playground = Playground::start(Options::default()).await.unwrap();
        let text = playground.instructions();
        assert!(text.contains("STAND-INS") && text.contains("not Argo and not Discord"), "{text}");
        for (name, _) in playground.spin_variables() {
            assert!(text.contains(&format!("--variable {name}=")), "{name} in {text}");
        }
        assert!(text.contains(&format!("--variable discord_api_url={}", playground.discord.origin())));
        assert!(text.contains(&format!("export FACTEUR_PLAYGROUND={}", playground.discord.origin())));
        let map: Value = serde_json::from_str(&playground.role_map()).unwrap();
        assert_eq!(map["plan"][0], ROLE);
    }
}

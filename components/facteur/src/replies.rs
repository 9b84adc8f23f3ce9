//! The messages members read about their runs.

use crate::argo::{self, Phase, Workflow};
use crate::discord::multipart::MAX_ATTACHMENT;
use crate::discord::{Button, ButtonStyle, Embed, MAX_CONTENT, Message};
use crate::run_button::{RunAction, RunButton};

const GREEN: u32 = 0x2e_cc_71;
const BLUE: u32 = 0x34_98_db;
const RED: u32 = 0xe7_4c_3c;

fn color(phase: &Phase) -> u32 {
    match phase {
        Phase::Succeeded => GREEN,
        Phase::Failed | Phase::Error => RED,
        _ => BLUE,
    }
}

/// Buttons acting on the run `name` in `namespace`, after `first` (a link).
fn run_buttons(first: Button, namespace: &str, name: &str, actions: &[(ButtonStyle, &str, RunAction)]) -> Vec<Button> {
    let mut buttons = vec![first];
    for (style, label, action) in actions {
        if let Ok(button) = Button::action(*style, *label, RunButton::new(*action, namespace, name).custom_id()) {
            buttons.push(button);
        }
    }
    buttons
}

/// What was started: enough to find it and act on it.
pub struct Started<'a> {
    pub command: &'a str,
    pub template: &'a str,
    pub workflow: &'a Workflow,
    pub namespace: &'a str,
    pub name: &'a str,
    pub parameters: &'a [(String, String)],
    pub ui_base: &'a str,
    pub dry_run: bool,
    /// The run was already started by an earlier delivery of the same interaction.
    pub existing: bool,
}

pub fn started(s: &Started) -> Message {
    let link = argo::ui_link(s.ui_base, s.namespace, s.name);
    let content = if s.dry_run {
        format!(
            "Dry run of `/{}`: Argo accepted `{}` with these parameters. Nothing was started.",
            s.command, s.template
        )
    } else if s.existing {
        format!("`/{}` already started workflow `{}` in `{}`.", s.command, s.name, s.namespace)
    } else {
        format!("`/{}` started workflow `{}` in `{}`.", s.command, s.name, s.namespace)
    };
    let parameters = parameter_block(s.parameters);
    let mut embed = Embed::new(s.name)
        .color(if s.dry_run { BLUE } else { GREEN })
        .field("Template", format!("`{}`", s.template), true)
        .field("Namespace", format!("`{}`", s.namespace), true)
        .field("Phase", if s.dry_run { "Dry run".to_owned() } else { s.workflow.phase().to_string() }, true)
        .field("Parameters", parameters, false);
    if !s.dry_run {
        embed = embed.url(link.clone());
    }
    let message = Message::new(content).embed(embed);
    if s.dry_run {
        return message;
    }
    let actions =
        [(ButtonStyle::Secondary, "Refresh", RunAction::Refresh), (ButtonStyle::Danger, "Cancel", RunAction::Cancel)];
    let buttons = run_buttons(Button::link("Open in Argo", link), s.namespace, s.name, &actions);
    message.buttons(buttons).expect("three buttons fit a row")
}

/// Parameters as `key=value` lines, fenced (a fence inside a value cannot close it).
fn parameter_block(parameters: &[(String, String)]) -> String {
    if parameters.is_empty() {
        return "none".to_owned();
    }
    let lines: Vec<String> = parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("```\n{}\n```", lines.join("\n").replace("```", "'''"))
}

/// A command waiting for approval: who asks, what would run, until when; Approve and Reject
/// (`buttons`: their custom ids). Mentions render as names and ping nobody.
pub fn approval_request(
    command: &str,
    requester: &str,
    submission: &crate::catalog::Submission,
    expires_at: u64,
    buttons: &[String; 2],
) -> Message {
    let embed = Embed::new(format!("/{command}"))
        .color(BLUE)
        .field("Template", format!("`{}`", submission.template), true)
        .field("Parameters", parameter_block(&submission.parameters), false);
    let content = format!(
        "<@{requester}> asks to run `/{command}`. It needs the approval of a member with an approver role \
         (not the requester). This request expires <t:{expires_at}:R>."
    );
    let [approve, reject] = buttons;
    let buttons = [(ButtonStyle::Success, "Approve", approve), (ButtonStyle::Danger, "Reject", reject)]
        .into_iter()
        .filter_map(|(style, label, id)| Button::action(style, label, id.as_str()).ok())
        .collect();
    Message::new(content).embed(embed).buttons(buttons).expect("two buttons fit a row")
}

/// A run's state: phase, progress, timing, why it failed, where to look; Refresh (and Cancel
/// while it runs) buttons.
pub fn status(workflow: &Workflow, ui_base: &str, now: u64) -> Message {
    let (namespace, name) = (&workflow.metadata.namespace, &workflow.metadata.name);
    let link = argo::ui_link(ui_base, namespace, name);
    let phase = workflow.phase();
    let mut embed =
        Embed::new(name.as_str()).url(link.clone()).color(color(&phase)).field("Phase", phase.as_str(), true);
    if let Some(progress) = workflow.status.progress.as_deref().filter(|p| !p.is_empty()) {
        embed = embed.field("Progress", progress, true);
    }
    if let Some(started) = &workflow.status.started_at {
        embed = embed.field("Started", started.as_str(), true);
    }
    if let Some(finished) = &workflow.status.finished_at {
        embed = embed.field("Finished", finished.as_str(), true);
    }
    if let Some(seconds) = workflow.duration_secs(now) {
        embed = embed.field("Duration", duration(seconds), true);
    }
    if let Some(failure) = workflow.failure().filter(|_| phase.failed()) {
        embed = embed.field("Failure", failure, false);
    }
    let mut actions = vec![(ButtonStyle::Secondary, "Refresh", RunAction::Refresh)];
    if !phase.is_finished() {
        actions.push((ButtonStyle::Danger, "Cancel", RunAction::Cancel));
    }
    let buttons = run_buttons(Button::link("Open in Argo", link), namespace, name, &actions);
    Message::new(format!("`{name}` is **{phase}**.")).embed(embed).buttons(buttons).expect("three buttons fit a row")
}

/// The last lines of a run's logs, fenced, cut from the top to fit Discord's 2,000 characters;
/// when anything was cut, every line also comes as `<name>.log` (up to Discord's upload limit:
/// beyond it, the file keeps the last bytes and says so on its first line).
pub fn logs(name: &str, lines: &[String]) -> Message {
    if lines.is_empty() {
        return Message::new(format!("`{name}` has no logs yet (or its pods are gone: see Argo's artifacts)."));
    }
    let file = format!("{name}.log");
    let header = format!("Last lines of `{name}`:\n```\n");
    let footer = "```";
    let note = |kept: usize| format!("\n(cut: the last {kept} of {} lines here, all of them in `{file}`)", lines.len());
    let budget = MAX_CONTENT - header.chars().count() - footer.chars().count() - note(lines.len()).chars().count();
    let mut kept: Vec<String> = Vec::new();
    let mut used = 0;
    let mut shortened = false;
    for line in lines.iter().rev() {
        let cut = crate::discord::truncate(&line.replace("```", "'''"), 300);
        shortened |= cut.chars().count() < line.chars().count();
        let cost = cut.chars().count() + 1;
        if used + cost > budget {
            break;
        }
        used += cost;
        kept.push(cut);
    }
    kept.reverse();
    let mut content = format!("{header}{}\n{footer}", kept.join("\n"));
    if kept.len() == lines.len() && !shortened {
        return Message::new(content);
    }
    content.push_str(&note(kept.len()));
    Message::new(content).attach(file, log_file(lines))
}

/// The lines as a file within Discord's upload limit: the last bytes when they do not fit.
fn log_file(lines: &[String]) -> Vec<u8> {
    let all = lines.join("\n") + "\n";
    if all.len() <= MAX_ATTACHMENT {
        return all.into_bytes();
    }
    let note = format!("(cut: the first bytes do not fit Discord's {} MiB upload limit)\n", MAX_ATTACHMENT >> 20);
    let mut from = all.len() - (MAX_ATTACHMENT - note.len());
    while !all.is_char_boundary(from) {
        from += 1;
    }
    (note + &all[from..]).into_bytes()
}

/// One line of `/workflow list`.
pub struct RunLine {
    pub name: String,
    pub namespace: String,
    pub command: String,
    pub phase: String,
}

pub fn runs(title: &str, runs: &[RunLine], ui_base: &str) -> Message {
    if runs.is_empty() {
        return Message::new(format!("{title}: none."));
    }
    let lines: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "• [`{}`]({}) `/{}` — **{}**",
                r.name,
                argo::ui_link(ui_base, &r.namespace, &r.name),
                r.command,
                r.phase
            )
        })
        .collect();
    Message::new(format!("{title}:\n{}", lines.join("\n")))
}

/// The ephemeral question before anything is cancelled.
pub fn cancel_confirmation(namespace: &str, name: &str) -> Message {
    let mut buttons = Vec::new();
    for (style, label, action) in [
        (ButtonStyle::Danger, "Stop", RunAction::Stop),
        (ButtonStyle::Danger, "Terminate", RunAction::Terminate),
        (ButtonStyle::Secondary, "Keep running", RunAction::Keep),
    ] {
        if let Ok(button) = Button::action(style, label, RunButton::new(action, namespace, name).custom_id()) {
            buttons.push(button);
        }
    }
    Message::new(format!(
        "Cancel `{name}`? **Stop** lets its exit handlers run; **Terminate** ends it at once, without them."
    ))
    .ephemeral()
    .buttons(buttons)
    .expect("three buttons fit a row")
}

/// A run changed phase (from a lifecycle event): final phase, when (a Discord relative
/// timestamp, shown in each reader's time), duration, the failing step, link.
pub fn lifecycle(event: &crate::events::LifecycleEvent, command: &str, ui_base: &str) -> Message {
    let link = argo::ui_link(ui_base, &event.namespace, &event.workflow);
    let phase = Phase::parse(&event.phase);
    let started = event.started_at.as_deref().and_then(crate::time::unix_seconds);
    let finished = event.finished_at.as_deref().and_then(crate::time::unix_seconds);
    let took = started.zip(finished).map(|(s, f)| duration(f.saturating_sub(s)));
    let mut embed =
        Embed::new(event.workflow.as_str()).url(link.clone()).color(color(&phase)).field("Phase", phase.as_str(), true);
    if let Some(took) = &took {
        embed = embed.field("Duration", took.as_str(), true);
    }
    if let Some(finished) = finished {
        embed = embed.field("Finished", format!("<t:{finished}:f>"), true);
    }
    // `message` is often `{{workflow.failures}}`: name the step that failed rather than the JSON.
    let message = event.message.as_deref().filter(|m| !m.is_empty());
    let step = message.and_then(argo::failed_step);
    if let Some(step) = &step {
        embed = embed.field("Failing step", step.as_str(), false);
    } else if let Some(message) = message {
        embed = embed.field("Message", message, false);
    }
    let when = finished.map(|f| format!(" <t:{f}:R>")).unwrap_or_default();
    let mut content = match &took {
        Some(took) => format!("`/{command}` run `{}` **{phase}**{when}, after {took}.", event.workflow),
        None => format!("`/{command}` run `{}` is **{phase}**{when}.", event.workflow),
    };
    if let Some(step) = step.as_deref().filter(|_| phase.failed()) {
        content.push_str(&format!(" Failing step: {step}"));
    }
    let refresh = [(ButtonStyle::Secondary, "Refresh", RunAction::Refresh)];
    let buttons = run_buttons(Button::link("Open in Argo", link), &event.namespace, &event.workflow, &refresh);
    Message::new(content).embed(embed).buttons(buttons).expect("two buttons fit a row")
}

/// `2m 05s`, `1h 02m`, `45s`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The command could not start a workflow; `explanation` says why in the member's terms.
pub fn failed(command: &str, explanation: &str) -> Message {
    Message::new(format!("`/{command}` could not start its workflow."))
        .embed(Embed::new("Not started").color(RED).description(explanation))
}

/// A submit whose outcome facteur could not learn: said as such, never as a failure.
pub fn undetermined(command: &str, explanation: &str) -> Message {
    Message::new(format!("`/{command}` could not confirm whether its workflow started."))
        .embed(Embed::new("Outcome unknown").color(BLUE).description(explanation))
}

#[cfg(test)]
mod tests;

//! The messages members read about their runs.

use crate::argo::{self, Workflow};
use crate::discord::{Button, ButtonStyle, Embed, Message};

const GREEN: u32 = 0x2e_cc_71;
const BLUE: u32 = 0x34_98_db;
const RED: u32 = 0xe7_4c_3c;

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
    let parameters = if s.parameters.is_empty() {
        "none".to_owned()
    } else {
        let lines: Vec<String> = s.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("```\n{}\n```", lines.join("\n").replace("```", "'''"))
    };
    let mut embed = Embed::new(s.name)
        .color(if s.dry_run { BLUE } else { GREEN })
        .field("Template", format!("`{}`", s.template), true)
        .field("Namespace", format!("`{}`", s.namespace), true)
        .field("Phase", if s.dry_run { "Dry run" } else { s.workflow.phase() }, true)
        .field("Parameters", parameters, false);
    if !s.dry_run {
        embed = embed.url(link.clone());
    }
    let message = Message::new(content).embed(embed);
    if s.dry_run {
        return message;
    }
    let mut buttons = vec![Button::link("Open in Argo", link)];
    for (style, label, action) in
        [(ButtonStyle::Secondary, "Refresh", "refresh"), (ButtonStyle::Danger, "Cancel", "cancel")]
    {
        let id = format!("workflow:{action}:{}:{}", s.namespace, s.name);
        if let Ok(button) = Button::action(style, label, id) {
            buttons.push(button);
        }
    }
    message.buttons(buttons).expect("three buttons fit a row")
}

/// The command could not start a workflow; `explanation` says why in the member's terms.
pub fn failed(command: &str, explanation: &str) -> Message {
    Message::new(format!("`/{command}` could not start its workflow."))
        .embed(Embed::new("Not started").color(RED).description(explanation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_message_has_name_link_parameters_and_buttons() {
        let wf: Workflow =
            serde_json::from_str(r#"{"metadata":{"name":"plan-1"},"status":{"phase":"Running"}}"#).unwrap();
        let params = vec![("action".to_owned(), "plan".to_owned())];
        let m = started(&Started {
            command: "plan",
            template: "facteur-dispatch",
            workflow: &wf,
            namespace: "argo",
            name: "plan-1",
            parameters: &params,
            ui_base: "https://argo.example",
            dry_run: false,
            existing: false,
        });
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["content"], "`/plan` started workflow `plan-1` in `argo`.");
        assert_eq!(v["embeds"][0]["url"], "https://argo.example/workflows/argo/plan-1");
        assert_eq!(v["embeds"][0]["fields"][2]["value"], "Running");
        assert_eq!(v["embeds"][0]["fields"][3]["value"], "```\naction=plan\n```");
        let buttons = &v["components"][0]["components"];
        assert_eq!(buttons[0]["url"], "https://argo.example/workflows/argo/plan-1");
        assert_eq!(buttons[1]["custom_id"], "workflow:refresh:argo:plan-1");
        assert_eq!(buttons[2]["custom_id"], "workflow:cancel:argo:plan-1");
        assert_eq!(v["allowed_mentions"], serde_json::json!({"parse": []}));
    }

    #[test]
    fn failure_message() {
        let v = serde_json::to_value(failed("plan", "Argo is busy.")).unwrap();
        assert_eq!(v["content"], "`/plan` could not start its workflow.");
        assert_eq!(v["embeds"][0]["description"], "Argo is busy.");
    }
}

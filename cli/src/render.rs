//! Discord messages as a member would read them, in a terminal: content, embeds (title, link,
//! fields), attached files, and buttons with their custom ids.

use serde_json::Value;

const BAR: &str = "┃ ";

/// The message, framed, with `title` on its first line.
pub fn message(title: &str, message: &Value) -> String {
    let mut out = vec![format!("┌─ {title}")];
    let ephemeral = message["flags"].as_u64().is_some_and(|f| f & 64 != 0);
    if ephemeral {
        out.push("│ (only you can see this)".to_owned());
    }
    if let Some(content) = message["content"].as_str().filter(|c| !c.is_empty()) {
        out.extend(content.lines().map(|l| format!("│ {l}")));
    }
    for embed in message["embeds"].as_array().into_iter().flatten() {
        out.push("│".to_owned());
        embed_lines(embed, &mut out);
    }
    // Files come as attachments Discord keeps (the playground's too: id, filename, size, url).
    for file in message["attachments"].as_array().into_iter().flatten() {
        let size = file["size"].as_u64().map(|b| format!(" ({b} bytes)")).unwrap_or_default();
        out.push(format!("│ [file] {}{size}", file["filename"].as_str().unwrap_or("?")));
    }
    let buttons = buttons(message);
    if !buttons.is_empty() {
        out.push("│".to_owned());
        let width = buttons.iter().map(|b| b.label.chars().count()).max().unwrap_or(0) + 2;
        for button in &buttons {
            let label = format!("[{}]", button.label);
            let what = match (&button.custom_id, &button.url) {
                (Some(id), _) => id.clone(),
                (None, Some(url)) => format!("link → {url}"),
                _ => String::new(),
            };
            out.push(format!("│ {label:<w$}  {what}", w = width).trim_end().to_owned());
        }
    }
    out.push("└─".to_owned());
    out.join("\n")
}

fn embed_lines(embed: &Value, out: &mut Vec<String>) {
    if let Some(title) = embed["title"].as_str() {
        out.push(format!("│ {BAR}{title}"));
    }
    if let Some(url) = embed["url"].as_str() {
        out.push(format!("│ {BAR}{url}"));
    }
    if let Some(description) = embed["description"].as_str() {
        out.extend(description.lines().map(|l| format!("│ {BAR}{l}")));
    }
    // Inline fields side by side, as Discord lays them out; the others on their own lines.
    let mut inline: Vec<String> = Vec::new();
    let flush = |inline: &mut Vec<String>, out: &mut Vec<String>| {
        if !inline.is_empty() {
            out.push(format!("│ {BAR}{}", inline.join("   ")));
            inline.clear();
        }
    };
    for field in embed["fields"].as_array().into_iter().flatten() {
        let (name, value) = (field["name"].as_str().unwrap_or(""), field["value"].as_str().unwrap_or(""));
        if field["inline"] == true && !value.contains('\n') {
            inline.push(format!("{name}: {value}"));
        } else {
            flush(&mut inline, out);
            out.push(format!("│ {BAR}{name}:"));
            out.extend(value.lines().map(|l| format!("│ {BAR}  {l}")));
        }
    }
    flush(&mut inline, out);
    if let Some(footer) = embed["footer"]["text"].as_str() {
        out.push(format!("│ {BAR}{footer}"));
    }
}

/// A button of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub custom_id: Option<String>,
    pub url: Option<String>,
}

/// Every button of a message's action rows (and of Components V2 containers), in order.
pub fn buttons(message: &Value) -> Vec<Button> {
    let mut found = Vec::new();
    collect(&message["components"], &mut found);
    found
}

fn collect(components: &Value, found: &mut Vec<Button>) {
    for component in components.as_array().into_iter().flatten() {
        if component["type"] == 2 {
            found.push(Button {
                label: component["label"].as_str().unwrap_or("").to_owned(),
                custom_id: component["custom_id"].as_str().map(str::to_owned),
                url: component["url"].as_str().map(str::to_owned),
            });
        }
        collect(&component["components"], found);
        if component["accessory"].is_object() {
            collect(&Value::Array(vec![component["accessory"].clone()]), found);
        }
    }
}

/// The phase a run's message shows (its embed's `Phase` field), if any.
pub fn phase(message: &Value) -> Option<String> {
    message["embeds"]
        .as_array()?
        .iter()
        .flat_map(|e| e["fields"].as_array().into_iter().flatten())
        .find(|f| f["name"] == "Phase")
        .and_then(|f| f["value"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_run_message_shows_content_embed_fields_and_buttons_with_their_ids() {
        let message = json!({
            "content": "`/plan` started workflow `plan-1` in `argo`.",
            "embeds": [{"title": "plan-1", "url": "http://127.0.0.1:2746/workflows/argo/plan-1", "fields": [
                {"name": "Template", "value": "`facteur-dispatch`", "inline": true},
                {"name": "Phase", "value": "Pending", "inline": true},
                {"name": "Parameters", "value": "```\naction=plan\n```", "inline": false}]}],
            "components": [{"type": 1, "components": [
                {"type": 2, "style": 5, "label": "Open in Argo", "url": "http://127.0.0.1:2746/workflows/argo/plan-1"},
                {"type": 2, "style": 2, "label": "Refresh", "custom_id": "workflow:refresh:argo:plan-1"}]}]
        });
        let text = super::message("reply", &message);
        let expected = "┌─ reply
│ `/plan` started workflow `plan-1` in `argo`.
│
│ ┃ plan-1
│ ┃ http://127.0.0.1:2746/workflows/argo/plan-1
│ ┃ Template: `facteur-dispatch`   Phase: Pending
│ ┃ Parameters:
│ ┃   ```
│ ┃   action=plan
│ ┃   ```
│
│ [Open in Argo]  link → http://127.0.0.1:2746/workflows/argo/plan-1
│ [Refresh]       workflow:refresh:argo:plan-1
└─";
        assert_eq!(text, expected);
        assert_eq!(phase(&message).as_deref(), Some("Pending"));
        assert_eq!(buttons(&message)[1].custom_id.as_deref(), Some("workflow:refresh:argo:plan-1"));
    }

    #[test]
    fn attached_files_are_named_with_their_size() {
        let message =
            json!({"content": "Last lines", "attachments": [{"id": "1", "filename": "plan-1.log", "size": 20001}]});
        assert!(super::message("reply", &message).contains("│ [file] plan-1.log (20001 bytes)"));
    }

    #[test]
    fn an_ephemeral_message_says_so() {
        let text = super::message("reply", &json!({"content": "Cancel `plan-1`?", "flags": 64}));
        assert!(text.contains("(only you can see this)"), "{text}");
    }
}

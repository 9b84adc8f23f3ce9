//! `multipart/form-data` bodies (RFC 7578) as Discord reads them for messages with files:
//! a `payload_json` part holding the message's JSON, and `files[n]` parts holding the bytes
//! of the attachment whose `id` is `n`. Strict: a malformed body is refused with the reason.

/// Discord's default upload limit per file (bots and webhooks; 10 MiB since 2024).
pub const MAX_FILE: usize = 10 * 1024 * 1024;

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content: Vec<u8>,
}

/// A file a message carried: its `files[n]` part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub filename: String,
    pub content: Vec<u8>,
}

/// Whether the content type is `multipart/form-data`.
pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| media_type(c) == "multipart/form-data")
}

pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The parts of a `multipart/form-data` body.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"').to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or("multipart/form-data without a boundary (1 to 70 characters)")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut rest = body.strip_prefix(delimiter.as_slice()).ok_or("the body does not start with its boundary")?;
    let separator = [b"\r\n".as_slice(), &delimiter].concat();
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return if parts.is_empty() { Err("the form has no parts".into()) } else { Ok(parts) };
        }
        rest = rest.strip_prefix(b"\r\n").ok_or("a boundary line must end with CRLF")?;
        let end = find(rest, &separator).ok_or("a part is not closed by the boundary")?;
        parts.push(part(&rest[..end])?);
        rest = &rest[end + separator.len()..];
    }
}

fn part(raw: &[u8]) -> Result<Part, String> {
    let split = find(raw, b"\r\n\r\n").ok_or("a part has no blank line after its headers")?;
    let headers = std::str::from_utf8(&raw[..split]).map_err(|_| "part headers are not UTF-8")?;
    let disposition = headers
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-disposition"))
        .map(|(_, value)| value.trim())
        .ok_or("a part has no Content-Disposition")?;
    let mut fields = disposition.split(';').map(str::trim);
    if fields.next() != Some("form-data") {
        return Err(format!("Content-Disposition `{disposition}` is not form-data"));
    }
    let (mut name, mut filename) = (None, None);
    for field in fields {
        let (key, value) = field.split_once('=').ok_or_else(|| format!("Content-Disposition field `{field}`"))?;
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value).to_owned();
        match key {
            "name" => name = Some(value),
            "filename" => filename = Some(value),
            _ => {}
        }
    }
    let name = name.ok_or("a part's Content-Disposition has no name")?;
    Ok(Part { name, filename, content: raw[split + 4..].to_vec() })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A message with files as Discord reads it: the JSON of `payload_json`, and each `files[n]`
/// part, checked against the message's `attachments` (each names a `files[n]` by `id`, and
/// each file is named by one).
pub fn message(parts: &[Part]) -> Result<(serde_json::Value, Vec<(u64, File)>), String> {
    let mut payload = None;
    let mut files = Vec::new();
    for part in parts {
        match part.name.as_str() {
            "payload_json" if payload.is_none() => {
                payload = Some(
                    serde_json::from_slice::<serde_json::Value>(&part.content)
                        .map_err(|e| format!("payload_json is not JSON: {e}"))?,
                );
            }
            "payload_json" => return Err("payload_json is given twice".into()),
            name => {
                let n: u64 = name
                    .strip_prefix("files[")
                    .and_then(|n| n.strip_suffix(']'))
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("unexpected form field `{name}` (payload_json and files[n] only)"))?;
                let filename =
                    part.filename.clone().filter(|f| !f.is_empty()).ok_or(format!("{name} has no filename"))?;
                files.push((n, File { filename, content: part.content.clone() }));
            }
        }
    }
    let payload = payload.ok_or("no payload_json part")?;
    let attachments = payload["attachments"].as_array().cloned().unwrap_or_default();
    for (n, file) in &files {
        let described = attachments.iter().find(|a| index(a) == Some(*n));
        let Some(described) = described else {
            return Err(format!("files[{n}] is named by no entry of `attachments`"));
        };
        if described["filename"].as_str().is_some_and(|f| f != file.filename) {
            return Err(format!(
                "files[{n}]: `attachments` names it {}, the part {}",
                described["filename"], file.filename
            ));
        }
    }
    Ok((payload, files))
}

/// The `n` of the `files[n]` part an entry of `attachments` describes (its `id`, a snowflake
/// string in Discord's spec; a number is taken too).
pub fn index(attachment: &serde_json::Value) -> Option<u64> {
    attachment["id"].as_u64().or_else(|| attachment["id"].as_str().and_then(|i| i.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "multipart/form-data; boundary=b0";

    fn form(parts: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
        let mut body = String::new();
        for (name, filename, content) in parts {
            let filename = filename.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default();
            body.push_str(&format!(
                "--b0\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{content}\r\n"
            ));
        }
        body.push_str("--b0--\r\n");
        body.into_bytes()
    }

    #[test]
    fn reads_the_payload_and_the_files_it_names() {
        let payload = r#"{"content": "tail", "attachments": [{"id": 0, "filename": "a.log"}]}"#;
        let body = form(&[("payload_json", None, payload), ("files[0]", Some("a.log"), "one\r\ntwo")]);
        let (json, files) = message(&parse(TYPE, &body).unwrap()).unwrap();
        assert_eq!(json["content"], "tail");
        assert_eq!(files, vec![(0, File { filename: "a.log".into(), content: b"one\r\ntwo".to_vec() })]);
    }

    #[test]
    fn refuses_what_discord_would_not_take() {
        let named = r#"{"attachments": [{"id": 0, "filename": "a.log"}]}"#;
        let check = |body: Vec<u8>| parse(TYPE, &body).and_then(|p| message(&p).map(|_| ())).unwrap_err();
        assert!(check(form(&[("payload_json", None, "{}"), ("files[0]", Some("a.log"), "x")])).contains("named by no"));
        assert!(check(form(&[("payload_json", None, named), ("files[0]", Some("b.log"), "x")])).contains("names it"));
        assert!(check(form(&[("files[0]", Some("a.log"), "x")])).contains("no payload_json"));
        assert!(check(form(&[("payload_json", None, named), ("file", Some("a.log"), "x")])).contains("unexpected"));
        assert!(
            check(b"--b0\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nunclosed".to_vec()).contains("closed")
        );
        assert!(parse("multipart/form-data", b"").unwrap_err().contains("boundary"));
    }
}

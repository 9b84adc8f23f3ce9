//! A message with files as Discord takes it ("Uploading Files" in Discord's API reference):
//! a `multipart/form-data` body whose `payload_json` part is the message's JSON (its
//! `attachments` name each file by `id`) and whose `files[{id}]` parts hold the bytes.

use super::Message;

/// Discord's default upload limit per file, for bots and webhooks alike: 10 MiB since
/// 2024 (it was 25 MiB; a guild's boosts raise it, but facteur cannot know a guild's tier).
pub const MAX_ATTACHMENT: usize = 10 * 1024 * 1024;

/// The body and its content type (`multipart/form-data; boundary=…`).
pub fn encode(message: &Message) -> (Vec<u8>, String) {
    let json = serde_json::to_vec(message).expect("messages always serialise");
    let boundary = boundary(message, &json);
    let mut body =
        Vec::with_capacity(json.len() + message.attachments.iter().map(|a| a.content.len() + 200).sum::<usize>());
    let mut part = |headers: String, content: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    part("Content-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json".into(), &json);
    for file in &message.attachments {
        // Header values cannot hold quotes or line breaks; facteur's file names never do.
        let filename: String =
            file.filename.chars().map(|c| if c == '"' || c == '\\' || c.is_control() { '_' } else { c }).collect();
        let headers = format!(
            "Content-Disposition: form-data; name=\"files[{}]\"; filename=\"{filename}\"\r\n\
             Content-Type: text/plain; charset=utf-8",
            file.id
        );
        part(headers, &file.content);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// A boundary that occurs in no part (logs are untrusted text and could hold any fixed one).
fn boundary(message: &Message, json: &[u8]) -> String {
    let contains = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    (0u32..)
        .map(|n| format!("facteur-part-{n:08x}"))
        .find(|b| {
            !contains(json, b.as_bytes()) && !message.attachments.iter().any(|a| contains(&a.content, b.as_bytes()))
        })
        .expect("some boundary is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_json_then_each_file_by_its_id() {
        let message = Message::new("tail").attach("plan-1.log", b"line 1\nline 2".to_vec());
        let (body, content_type) = encode(&message);
        assert_eq!(content_type, "multipart/form-data; boundary=facteur-part-00000000");
        let text = String::from_utf8(body).unwrap();
        let json = r#"{"content":"tail","allowed_mentions":{"parse":[]},"components":[],"attachments":[{"id":"0","filename":"plan-1.log"}]}"#;
        assert_eq!(
            text,
            format!(
                "--facteur-part-00000000\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\
                 Content-Type: application/json\r\n\r\n{json}\r\n\
                 --facteur-part-00000000\r\nContent-Disposition: form-data; name=\"files[0]\"; \
                 filename=\"plan-1.log\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nline 1\nline 2\r\n\
                 --facteur-part-00000000--\r\n"
            )
        );
    }

    #[test]
    fn the_boundary_never_occurs_in_a_part_and_names_stay_in_their_quotes() {
        let hostile = b"--facteur-part-00000000\r\nContent-Disposition: form-data; name=\"payload_json\"".to_vec();
        let message = Message::new("x").attach("a\"b\r\n.log", hostile);
        let (body, content_type) = encode(&message);
        assert_eq!(content_type, "multipart/form-data; boundary=facteur-part-00000001");
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("filename=\"a_b__.log\""), "{text}");
        assert_eq!(text.matches("--facteur-part-00000001\r\n").count(), 2);
    }
}

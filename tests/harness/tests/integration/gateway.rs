//! The interactions gateway and `/help`, end to end through the real `spin.toml` and `.wasm`.

use bytes::Bytes;
use facteur_harness::support::{Signer, manifest_path, now, send};
use facteur_harness::{App, Response, Trigger};
use http_body_util::Full;
use serde_json::{Value, json};

const OPS: &str = "140000000000000001";
const DEV: &str = "140000000000000002";
const GUEST: &str = "140000000000000009";

async fn gateway(signer: &Signer) -> App {
    App::builder(manifest_path())
        .variable("discord_public_key", signer.public_key_hex())
        .variable("role_map", json!({"help": [OPS, DEV], "plan": [OPS], "review": [DEV]}).to_string())
        .load()
        .await
        .unwrap()
}

fn command(name: &str, roles: &[&str]) -> Vec<u8> {
    json!({
        "id": "1190000000000000001", "application_id": "1170000000000000000", "type": 2,
        "token": "interaction-token", "version": 1, "locale": "en-US",
        "guild_id": "1100000000000000000", "channel_id": "1110000000000000000",
        "member": {"user": {"id": "1200000000000000000", "username": "ada"}, "roles": roles},
        "data": {"id": "1400000000000000000", "name": name, "type": 1}
    })
    .to_string()
    .into_bytes()
}

/// The components the request reached, in order.
fn reached(app: &App) -> Vec<(String, Trigger)> {
    app.invocations().into_iter().map(|i| (i.component, i.trigger)).collect()
}

fn ephemeral_text(response: &Response) -> String {
    let body = response.json();
    assert_eq!(body["type"], 4, "{body}");
    assert_eq!(body["data"]["flags"], 64, "ephemeral: {body}");
    assert_eq!(body["data"]["allowed_mentions"], json!({"parse": []}));
    body["data"]["content"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn ping_gets_pong() {
    let signer = Signer::default();
    let app = gateway(&signer).await;
    let response = app
        .handle(signer.request(r#"{"id":"1","application_id":"2","type":1,"token":"t","version":1}"#))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(response.json(), json!({"type": 1}));
    assert_eq!(reached(&app), [("interactions".to_owned(), Trigger::Http)]);
}

#[tokio::test]
async fn bad_requests_get_exact_statuses_and_bad_signatures_go_no_further_than_one_check() {
    let signer = Signer::default();
    let app = gateway(&signer).await;
    let body = command("help", &[OPS]);
    let signed = || signer.request(body.clone());
    let with = |f: &dyn Fn(&mut http::Request<Full<Bytes>>)| {
        let mut request = signed();
        f(&mut request);
        request
    };

    let cases: Vec<(&str, http::Request<Full<Bytes>>, u16, &str)> = vec![
        (
            "missing signature",
            with(&|r| {
                r.headers_mut().remove("x-signature-ed25519");
            }),
            401,
            "missing X-Signature-Ed25519 header",
        ),
        (
            "missing timestamp",
            with(&|r| {
                r.headers_mut().remove("x-signature-timestamp");
            }),
            401,
            "missing X-Signature-Timestamp header",
        ),
        (
            "non-hex signature",
            with(&|r| {
                r.headers_mut().insert("x-signature-ed25519", "zz".repeat(64).parse().unwrap());
            }),
            401,
            "malformed signature",
        ),
        ("wrong key", Signer::default().request(body.clone()), 401, "invalid request signature"),
        (
            "modified body",
            {
                // Still valid JSON: the gateway parses before the component verifies.
                let tampered = String::from_utf8(body.clone()).unwrap().replace("ada", "eve").into_bytes();
                let mut r = signed();
                *r.body_mut() = Full::new(Bytes::from(tampered));
                r
            },
            401,
            "invalid request signature",
        ),
        ("stale timestamp", signer.request_at(body.clone(), now() - 301), 401, "stale or future timestamp"),
        ("future timestamp", signer.request_at(body.clone(), now() + 330), 401, "stale or future timestamp"),
        (
            "wrong method",
            with(&|r| {
                *r.method_mut() = http::Method::GET;
            }),
            405,
            "only POST is accepted",
        ),
        ("oversize body", signer.request(vec![b' '; 64 * 1024 + 1]), 413, "request body exceeds 64 KiB"),
        ("malformed JSON", signer.request("{\"type\": 1,"), 400, "body is not a valid interaction"),
    ];
    for (case, request, status, reason) in cases {
        let response = app.handle(request).await.unwrap();
        assert_eq!(response.status, status, "{case}: {}", response.text());
        assert_eq!(response.json(), json!({"error": reason}), "{case}");
        // The command's component verifies (once) and refuses; the gateway refused the rest.
        let last = reached(&app).last().cloned().unwrap();
        let expected = if status == 401 {
            ("help".to_owned(), Trigger::Chained)
        } else {
            ("interactions".to_owned(), Trigger::Http)
        };
        assert_eq!(last, expected, "{case}");
    }
    // Nothing the gateway answers itself escapes the signature check.
    let ping = r#"{"id":"1","application_id":"2","type":1}"#;
    let forged = app.handle(Signer::default().request(ping)).await.unwrap();
    assert_eq!((forged.status, forged.json()), (401, json!({"error": "invalid request signature"})));
    let unknown = app.handle(Signer::default().request(command("nope", &[OPS]))).await.unwrap();
    assert_eq!(unknown.status, 401, "an unknown command is verified by the gateway");
    assert!(app.log_text("help").is_empty(), "a refused request writes nothing in the component");
}

#[tokio::test]
async fn help_lists_exactly_the_commands_the_member_may_run() {
    let signer = Signer::default();
    let app = gateway(&signer).await;
    let ops = app.handle(signer.request(command("help", &[OPS]))).await.unwrap();
    assert_eq!(
        ephemeral_text(&ops),
        "Commands you can run here:\n• `/help` — List the facteur commands you can run here\n• `/plan` — Plan a piece of work with an Argo workflow"
    );
    let dev = app.handle(signer.request(command("help", &[GUEST, DEV]))).await.unwrap();
    assert_eq!(
        ephemeral_text(&dev),
        "Commands you can run here:\n• `/help` — List the facteur commands you can run here\n• `/review` — Review an artifact with an Argo workflow"
    );
    assert_eq!(
        reached(&app),
        [
            ("interactions".to_owned(), Trigger::Http),
            ("help".to_owned(), Trigger::Chained),
            ("interactions".to_owned(), Trigger::Http),
            ("help".to_owned(), Trigger::Chained)
        ]
    );
    let audit = app.log_text("help");
    assert!(audit.contains(r#""audit":"allowed","command":"help","interaction_id":"1190000000000000001""#), "{audit}");
}

#[tokio::test]
async fn help_is_denied_without_a_granted_role_and_in_dms() {
    let signer = Signer::default();
    let app = gateway(&signer).await;
    let guest = app.handle(signer.request(command("help", &[GUEST]))).await.unwrap();
    assert_eq!(ephemeral_text(&guest), "You do not have a role that may run `/help`. Ask a server admin to grant one.");
    let mut dm: Value = serde_json::from_slice(&command("help", &[])).unwrap();
    let user = dm["member"]["user"].take();
    dm.as_object_mut().unwrap().remove("member");
    dm.as_object_mut().unwrap().remove("guild_id");
    dm["user"] = user;
    let dm = app.handle(signer.request(dm.to_string())).await.unwrap();
    assert_eq!(ephemeral_text(&dm), "`/help` cannot be run in direct messages. Run it in a server channel.");
    assert!(app.log_text("help").contains(r#""audit":"denied""#));
}

#[tokio::test]
async fn unknown_command_gets_an_ephemeral_answer() {
    let signer = Signer::default();
    let app = gateway(&signer).await;
    let response = app.handle(signer.request(command("nope", &[OPS]))).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(ephemeral_text(&response), "Unknown command `/nope`.");
    assert_eq!(reached(&app), [("interactions".to_owned(), Trigger::Http)]);
}

#[tokio::test]
async fn unreachable_component_gets_an_ephemeral_error_and_a_log_line() {
    let signer = Signer::default();
    // A deployment whose gateway may not reach `plan`: the chained request is refused.
    let app = App::builder(manifest_path())
        .edit_manifest(|text| text.replace("  \"http://plan.spin.internal\",\n", ""))
        .variable("discord_public_key", signer.public_key_hex())
        .load()
        .await
        .unwrap();
    let response = app.handle(signer.request(command("plan", &[OPS]))).await.unwrap();
    assert_eq!(ephemeral_text(&response), "`/plan` is unavailable right now. Please try again in a moment.");
    assert!(
        app.log_text("interactions").contains("component `plan` failed for `plan`"),
        "{}",
        app.log_text("interactions")
    );
    assert_eq!(
        app.outbound().iter().map(|c| (c.url.as_str(), c.allowed)).collect::<Vec<_>>(),
        [("http://plan.spin.internal/interactions", false)]
    );
}

#[tokio::test]
async fn buttons_route_by_custom_id_prefix() {
    let signer = Signer::default();
    let app = gateway(&signer).await;
    let click = json!({
        "id": "1190000000000000002", "application_id": "1170000000000000000", "type": 3, "token": "t",
        "guild_id": "1100000000000000000", "channel_id": "1110000000000000000",
        "member": {"user": {"id": "1200000000000000000", "username": "ada"}, "roles": [OPS]},
        "data": {"custom_id": "help:refresh", "component_type": 2}
    });
    let response = app.handle(signer.request(click.to_string())).await.unwrap();
    assert!(ephemeral_text(&response).starts_with("Commands you can run here"));
    assert_eq!(reached(&app)[1], ("help".to_owned(), Trigger::Chained));
}

/// The development key's private half is published: from anywhere but this machine, a request
/// signed with it is refused, whatever `spin-client-addr` the client claims (Spin appends the
/// real one last).
#[tokio::test]
async fn the_development_key_is_refused_from_other_machines() {
    let app = App::builder(manifest_path()).load().await.unwrap();
    let signer = Signer::from_seed(facteur::config::DEV_SEED);
    for body in [r#"{"id":"1","application_id":"2","type":1}"#.as_bytes().to_vec(), command("help", &[OPS])] {
        let mut request = signer.request(body);
        request.headers_mut().insert("spin-client-addr", "127.0.0.1:1".parse().unwrap());
        request.extensions_mut().insert(facteur_harness::ClientAddr("203.0.113.7:50000".to_owned()));
        let response = app.handle(request).await.unwrap();
        assert_eq!(
            (response.status, response.json()),
            (401, json!({"error": facteur::admission::DEV_KEY_REFUSED})),
            "the refusal names the variable to set"
        );
    }
    assert!(app.invocations().iter().all(|i| i.component == "interactions"), "refused at the gateway");
}

#[tokio::test]
async fn embedded_defaults_run_from_this_machine() {
    let app = App::builder(manifest_path()).load().await.unwrap();
    let signer = Signer::from_seed(facteur::config::DEV_SEED);
    let response = app.handle(signer.request(r#"{"id":"1","application_id":"2","type":1}"#)).await.unwrap();
    assert_eq!(response.json(), json!({"type": 1}));
    let help = app.handle(signer.request(command("help", &[OPS]))).await.unwrap();
    assert_eq!(help.status, 200, "chained to /help, the development key is still accepted");
}

#[tokio::test]
async fn served_over_loopback_http() {
    let signer = Signer::default();
    let app = gateway(&signer).await;
    let server = app.serve().await.unwrap();
    let mut request = signer.request(command("help", &[OPS]));
    *request.uri_mut() = server.url("/interactions").parse().unwrap();
    let response = send(request).await.unwrap();
    assert_eq!(response.status, 200);
    assert!(ephemeral_text(&response).contains("`/plan`"));
}

#[tokio::test]
async fn a_malformed_public_key_is_a_clear_configuration_error() {
    let signer = Signer::default();
    let app = App::builder(manifest_path()).variable("discord_public_key", "not-hex").load().await.unwrap();
    let response = app.handle(signer.request(command("help", &[OPS]))).await.unwrap();
    assert_eq!(response.status, 500);
    assert_eq!(response.json(), json!({"error": "facteur is misconfigured; see its logs"}));
    app.wait_idle(std::time::Duration::from_secs(5)).await.unwrap();
    assert!(
        app.log_text("interactions")
            .contains("configuration error: variable `discord_public_key`: public key is not hex")
    );
}

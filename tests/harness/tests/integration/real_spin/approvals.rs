//! Approvals and run control under real Spin: `/release` (the catalog's command that needs an
//! approver) is posted for approval; the requester's own Approve and a non-approver's are
//! refused; an approver's Approve submits exactly one workflow with the approver recorded, even
//! when clicked twice at once; Reject submits nothing. `/workflow suspend|resume|resubmit`
//! reach the fake Argo with spec-valid requests, and are refused to a member who does not own
//! the run.

use serde_json::{Value, json};

use super::{SpinWorld, content, runtimes, spin_world};
use crate::common::{ADMIN, DEV, OPS, USER, click, ephemeral_text, from_user, next_id, opt, slash, workflow};

/// The role that may approve `/release` (`release:approve` in the role map).
const APPROVERS: &str = "140000000000000004";
const APPROVER: &str = "1200000000000000042";
const STRANGER: &str = "1200000000000000077";

fn role_map() -> String {
    json!({
        "help": [OPS], "plan": [OPS], "release": [OPS], "release:approve": [APPROVERS],
        "workflow": [OPS, DEV], "workflow:admin": [ADMIN]
    })
    .to_string()
}

/// A click by `user` (named `grace` when it is the approver).
fn click_by(id: &str, custom_id: &str, user: &str, roles: &[&str]) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&from_user(click(id, custom_id, roles), user)).unwrap();
    if user == APPROVER {
        body["member"]["user"]["username"] = "grace".into();
    }
    body.to_string().into_bytes()
}

/// `/release` by the test member; the request's interaction id, once it is posted.
async fn request_release(w: &SpinWorld) -> String {
    let id = next_id();
    let options = json!([opt("project", "lab"), opt("branch", "main")]);
    let request = w.send(slash(&id, "release", options, &[OPS])).await.json();
    assert_eq!(request["type"], 4, "spin {}: {request}\n{}", w.spin.version, w.spin.logs());
    assert!(request["data"].get("flags").is_none(), "the channel sees it: {request}");
    let ids: Vec<&str> = request["data"]["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [format!("release:approve:{id}"), format!("release:reject:{id}")]);
    id
}

#[tokio::test]
async fn a_release_runs_once_an_approver_other_than_the_requester_approves_it() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b.variable("role_map", role_map())).await;
        let id = request_release(&w).await;
        let approve = format!("release:approve:{id}");

        // The requester's own Approve, even with an approver role; a member without one.
        let own = w.send(click_by(&next_id(), &approve, USER, &[OPS, APPROVERS])).await;
        assert_eq!(ephemeral_text(&own), "You cannot approve your own request.");
        let stranger = w.send(click_by(&next_id(), &approve, STRANGER, &[OPS])).await;
        assert!(ephemeral_text(&stranger).starts_with("Only a member with an approver role"));
        assert!(w.argo.submits().is_empty(), "nothing submitted before approval");

        // The approver clicks twice at once: one workflow.
        let (first, second) = (next_id(), next_id());
        let (a, b) = tokio::join!(
            w.send(click_by(&first, &approve, APPROVER, &[APPROVERS])),
            w.send(click_by(&second, &approve, APPROVER, &[APPROVERS])),
        );
        let answers = [(first, a.json()), (second, b.json())];
        let updated: Vec<&String> = answers.iter().filter(|(_, r)| r["type"] == 7).map(|(id, _)| id).collect();
        assert!(!updated.is_empty(), "spin {}: {answers:?}", spin.version);
        // The other click read the request after it was closed, or raced past the read and lost
        // the claim (`approval::decide`).
        for (_, answer) in answers.iter().filter(|(_, r)| r["type"] != 7) {
            let text = answer["data"]["content"].as_str().unwrap();
            assert!(
                text.starts_with("This request is no longer pending")
                    || text.starts_with("Someone decided this request"),
                "{text}"
            );
        }
        let name = format!("release-{id}");
        let edit = w.edit_for(&format!("token-{}", updated[0])).await;
        let text = content(&edit);
        assert!(text.starts_with(&format!("Approved by <@{APPROVER}>. `/release`")) && text.contains(&name), "{text}");
        assert_eq!(w.argo.workflows().len(), 1, "spin {}: one workflow", spin.version);
        let workflow = w.argo.workflow("argo", &name).expect("the requester's workflow");
        assert_eq!(workflow["metadata"]["labels"]["facteur.dev/user-id"], USER);
        assert_eq!(workflow["metadata"]["annotations"]["facteur.dev/approver-id"], APPROVER);
        assert_eq!(workflow["metadata"]["annotations"]["facteur.dev/approved-by"], "grace");
        assert_eq!(
            w.argo.submits()[0]["submitOptions"]["parameters"],
            json!(["action=release", "project=lab", "branch=main"])
        );

        // Reject: the request ends, nothing is submitted.
        let rejected_id = request_release(&w).await;
        let reject =
            w.send(click_by(&next_id(), &format!("release:reject:{rejected_id}"), APPROVER, &[APPROVERS])).await;
        let reject = reject.json();
        assert_eq!(reject["type"], 7, "{reject}");
        assert!(reject["data"]["content"].as_str().unwrap().contains("was rejected by"), "{reject}");
        let late =
            w.send(click_by(&next_id(), &format!("release:approve:{rejected_id}"), APPROVER, &[APPROVERS])).await;
        assert!(ephemeral_text(&late).starts_with("This request is no longer pending"));
        assert!(w.argo.workflow("argo", &format!("release-{rejected_id}")).is_none(), "rejected: not submitted");
        assert_eq!(w.argo.workflows().len(), 1);

        let audit = w.spin.log("release");
        for event in ["approval_requested", "approved", "rejected", "submitted"] {
            assert!(audit.contains(&format!(r#""audit":"{event}""#)), "spin {}: no {event}:\n{audit}", spin.version);
        }
        assert!(!audit.contains(&format!("token-{id}")), "tokens are never logged");
        assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
    }
}

#[tokio::test]
async fn suspend_resume_and_resubmit_reach_argo_for_the_owner_only() {
    let Some((spins, redis)) = runtimes().await else { return };
    for spin in spins {
        let w = spin_world(spin, &redis, |b| b).await;
        let id = next_id();
        assert_eq!(
            w.send(slash(&id, "plan", json!([opt("objective", "Ship the bot")]), &[OPS])).await.json()["type"],
            5
        );
        w.edit_for(&format!("token-{id}")).await;
        let name = format!("plan-{id}");
        w.argo.set_status("argo", &name, json!({"phase": "Running", "startedAt": "2026-11-27T08:00:00Z"}));

        // Someone else's run: refused before any call to Argo.
        for verb in ["suspend", "resume", "resubmit"] {
            let other =
                w.send(from_user(workflow(&next_id(), verb, json!([opt("name", name.as_str())]), &[OPS]), STRANGER));
            let text = ephemeral_text(&other.await);
            assert_eq!(text, format!("Only the member who started `{name}` (or a workflow admin) can {verb} it."));
        }
        assert!(w.argo.changes().iter().all(|c| c.path.ends_with("/submit")), "nothing changed");

        let run = async |verb: &str| {
            let id = next_id();
            let response = w.send(workflow(&id, verb, json!([opt("name", name.as_str())]), &[OPS])).await;
            assert_eq!(response.json(), json!({"type": 5, "data": {"flags": 64}}), "{}", w.spin.logs());
            content(&w.edit_for(&format!("token-{id}")).await)
        };
        assert!(run("suspend").await.starts_with(&format!("Suspended `{name}`")));
        assert_eq!(w.argo.workflow("argo", &name).unwrap()["spec"]["suspend"], true);
        assert_eq!(run("resume").await, format!("Resumed `{name}`."));
        assert!(w.argo.workflow("argo", &name).unwrap()["spec"].get("suspend").is_none());
        w.argo.set_status("argo", &name, json!({"phase": "Failed", "finishedAt": "2026-11-27T08:05:00Z"}));
        let resubmitted = run("resubmit").await;
        assert!(resubmitted.starts_with(&format!("Resubmitted `{name}` as `{name}-")), "{resubmitted}");

        let changes: Vec<(String, Value)> =
            w.argo.changes().into_iter().filter(|c| c.method == "PUT").map(|c| (c.path.clone(), c.json())).collect();
        let paths: Vec<&str> = changes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["suspend", "resume", "resubmit"].map(|v| format!("/api/v1/workflows/argo/{name}/{v}")),
            "spin {}",
            spin.version
        );
        assert_eq!(changes[0].1, json!({"namespace": "argo", "name": name}));
        let all = w.argo.workflows();
        let new = all.iter().find(|wf| wf["metadata"]["name"] != name.as_str()).expect("the resubmitted run");
        assert_eq!(new["metadata"]["labels"]["facteur.dev/user-id"], USER, "facteur's labels carried over");
        assert_eq!(new["metadata"]["labels"]["workflows.argoproj.io/resubmitted-from-workflow"], name.as_str());
        assert!(w.argo.violations().is_empty(), "{:?}", w.argo.violations());
        let audit = w.spin.log("workflow");
        for event in ["suspended", "resumed", "resubmitted"] {
            assert!(audit.contains(&format!(r#""audit":"{event}""#)), "no {event}:\n{audit}");
        }
    }
}

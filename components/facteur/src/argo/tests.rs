use serde_json::json;

use super::*;
use crate::discord::Interaction;

fn spec() -> SubmitSpec {
    SubmitSpec {
        namespace: "argo".into(),
        template: "facteur-dispatch".into(),
        name: "plan-1190000000000000001".into(),
        parameters: vec![("action".into(), "plan".into()), ("objective".into(), "a=b, c".into())],
        labels: vec![(label::COMMAND.into(), "plan".into()), (label::USER.into(), "12".into())],
        annotations: vec![(label::USERNAME.into(), "ada".into())],
        service_account: None,
        server_dry_run: false,
    }
}

#[test]
fn submit_request_shape() {
    let request = submit(&spec());
    assert_eq!((request.method, request.path.as_str()), (Method::Post, "/api/v1/workflows/argo/submit"));
    assert_eq!(
        request.body.unwrap(),
        json!({
            "namespace": "argo", "resourceKind": "WorkflowTemplate", "resourceName": "facteur-dispatch",
            "submitOptions": {
                "name": "plan-1190000000000000001",
                "parameters": ["action=plan", "objective=a=b, c"],
                "labels": "facteur.dev/command=plan,facteur.dev/user-id=12",
                "annotations": "facteur.dev/username=ada"
            }
        })
    );
}

#[test]
fn dry_run_and_service_account() {
    let mut s = spec();
    s.server_dry_run = true;
    s.service_account = Some("facteur-workflow".into());
    let body = submit(&s).body.unwrap();
    assert_eq!(body["submitOptions"]["serverDryRun"], true);
    assert_eq!(body["submitOptions"]["serviceAccount"], "facteur-workflow");
}

#[test]
fn workflow_names_are_deterministic_dns_labels() {
    assert_eq!(workflow_name("plan", "1190000000000000001"), "plan-1190000000000000001");
    assert_eq!(workflow_name("my_cmd", "X1"), "my-cmd-x1");
    let long = workflow_name(&"c".repeat(32), "12345678901234567890");
    assert!(long.len() <= 63 && long.ends_with("-12345678901234567890"), "{long}");
    assert!(crate::catalog::is_kubernetes_name(&long));
}

#[test]
fn label_values_are_safe() {
    assert_eq!(label_value("1190000000000000001"), "1190000000000000001");
    assert_eq!(label_value("a,b=c d"), "a_b_c_d");
    assert_eq!(label_value("_x_"), "x");
    assert_eq!(label_value(&"a".repeat(70)).len(), 63);
}

#[test]
fn identity_labels_from_an_interaction() {
    let i = Interaction::parse(
        br#"{"id":"11","application_id":"2","type":2,"token":"t","guild_id":"5","channel_id":"6",
            "member":{"user":{"id":"7","username":"ada.l"},"roles":[]},"data":{"name":"plan"}}"#,
    )
    .unwrap();
    let (labels, annotations) = identity("plan", &i);
    assert_eq!(
        labels,
        [
            (label::COMMAND.into(), "plan".into()),
            (label::INTERACTION.into(), "11".into()),
            (label::USER.into(), "7".into()),
            (label::GUILD.into(), "5".into()),
            (label::CHANNEL.into(), "6".into())
        ]
    );
    assert_eq!(annotations, [(label::USERNAME.into(), "ada.l".into())]);
}

#[test]
fn bearer_tokens() {
    assert_eq!(authorization(""), None);
    assert_eq!(authorization("abc").as_deref(), Some("Bearer abc"));
    assert_eq!(authorization("Bearer abc\n").as_deref(), Some("Bearer abc"));
}

#[test]
fn parses_workflows_and_errors() {
    let wf = parse_workflow(
        200,
        br#"{"metadata":{"name":"plan-1","namespace":"argo","uid":"u","creationTimestamp":"2026-11-27T00:00:00Z"},"spec":{},"status":{}}"#,
    )
    .unwrap();
    assert_eq!((wf.metadata.name.as_str(), wf.phase()), ("plan-1", Phase::Pending));
    assert_eq!(parse_workflow(409, br#"{"code":6,"message":"exists"}"#), Err(ArgoError::AlreadyExists));
    let e = parse_workflow(
        403,
        br#"{"code":7,"message":"workflowtemplates.argoproj.io is forbidden: User \"system:serviceaccount:x\""}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.explain("t", "ns"),
        "facteur is not allowed to run `t` in namespace `ns` (403). An admin needs to grant it in Argo's RBAC."
    );
    assert!(e.detail().starts_with("403: workflowtemplates.argoproj.io is forbidden"));
    let e = parse_workflow(500, b"<html>oops</html>").unwrap_err();
    assert_eq!(e.explain("t", "ns"), "Argo had an internal error (500). Please try again in a moment.");
    assert_eq!(
        parse_workflow(404, b"{}").unwrap_err().explain("t", "ns"),
        "WorkflowTemplate `t` was not found in namespace `ns`."
    );
    assert!(parse_workflow(401, b"{}").unwrap_err().explain("t", "ns").contains("renew facteur's Argo token"));
    assert_eq!(
        parse_workflow(400, br#"{"code":3,"message":"spec.arguments.foo not supplied"}"#)
            .unwrap_err()
            .explain("t", "ns"),
        "Argo refused the workflow: spec.arguments.foo not supplied"
    );
}

#[test]
fn operation_requests() {
    assert_eq!(stop("argo", "plan-1", "by ada").path, "/api/v1/workflows/argo/plan-1/stop");
    assert_eq!(
        stop("argo", "plan-1", "by ada").body.unwrap(),
        json!({"namespace": "argo", "name": "plan-1", "message": "by ada"})
    );
    assert_eq!(
        (terminate("argo", "p").method, retry("argo", "p").path.as_str()),
        (Method::Put, "/api/v1/workflows/argo/p/retry")
    );
    assert_eq!(
        list("argo", "facteur.dev/user-id=12", Some("plan-"), 25).path,
        "/api/v1/workflows/argo?listOptions.labelSelector=facteur.dev%2Fuser-id%3D12&listOptions.limit=25&nameFilter=Prefix&listOptions.fieldSelector=metadata.name%3Dplan-"
    );
    assert_eq!(templates("argo", "fac").path, "/api/v1/workflow-templates/argo?namePattern=fac");
    assert_eq!(
        logs("argo", "p", 50).path,
        "/api/v1/workflows/argo/p/log?logOptions.container=main&logOptions.tailLines=50"
    );
}

#[test]
fn lists_logs_and_failures() {
    assert_eq!(parse_list(200, br#"{"metadata":{},"items":null}"#).unwrap(), vec![]);
    let items = parse_list(200, br#"{"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}"#).unwrap();
    assert_eq!(items.iter().map(|w| w.metadata.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let stream = b"{\"result\":{\"content\":\"one\",\"podName\":\"p\"}}\n{\"result\":{\"content\":\"two\\nthree\",\"podName\":\"p\"}}\n";
    assert_eq!(parse_logs(200, stream).unwrap(), ["one", "two", "three"]);
    assert!(parse_logs(200, br#"{"error":{"grpc_code":5,"message":"pod not found"}}"#).is_err());

    let failed: Workflow = serde_json::from_value(json!({
        "metadata": {"name": "plan-1", "labels": {"facteur.dev/user-id": "12"}},
        "status": {"phase": "Failed", "startedAt": "2026-11-27T08:00:00Z", "finishedAt": "2026-11-27T08:02:05Z",
                   "message": "child failed", "nodes": {
                       "plan-1": {"displayName": "plan-1", "type": "Steps", "phase": "Failed", "message": "child failed"},
                       "plan-1-2": {"displayName": "build", "type": "Pod", "phase": "Failed", "message": "exit code 2"}}}
    }))
    .unwrap();
    assert_eq!(failed.failure().as_deref(), Some("build: exit code 2"));
    assert_eq!(failed.duration_secs(0), Some(125));
    assert!(failed.is_finished());
}

#[test]
fn ui_links() {
    assert_eq!(ui_link("https://argo.example/", "argo", "plan-1"), "https://argo.example/workflows/argo/plan-1");
}

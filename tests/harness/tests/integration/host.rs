//! The harness behaves as Spin does for what the components use. These tests run fixture
//! components (`tests/fixtures`) from `tests/harness/fixtures/spin.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use facteur_harness::fakes::{FakeServer, Reply};
use facteur_harness::support::{eventually, test_redis};
use facteur_harness::{App, KvBackend, Trigger};
use http_body_util::Full;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/spin.toml")
}

async fn app(echo_host: &str) -> App {
    App::builder(fixtures()).variable("redis_list", "unused").variable("echo_host", echo_host).load().await.unwrap()
}

fn get(path: &str, headers: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let mut request = http::Request::get(path);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.body(Full::new(Bytes::new())).unwrap()
}

async fn probe(app: &App, path: &str, headers: &[(&str, &str)]) -> String {
    let response = app.handle(get(path, headers)).await.unwrap();
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response.text()
}

#[tokio::test]
async fn routes_exact_wildcard_and_private() {
    let app = app("127.0.0.1:1").await;
    assert_eq!(
        probe(&app, "/probe/anything/else?q=1", &[]).await,
        "path /probe/anything/else?q=1 info /anything/else route /probe/..."
    );
    assert_eq!(probe(&app, "/exact", &[]).await, "path /exact info  route /exact");
    assert_eq!(app.handle(get("/exact/more", &[])).await.unwrap().status, 404);
    assert_eq!(app.handle(get("/hidden", &[])).await.unwrap().status, 404, "private routes are not reachable");
}

#[tokio::test]
async fn outbound_http_is_limited_to_allowed_hosts() {
    let fake = FakeServer::start(|r| Reply::text(200, format!("pong {}", r.path))).await.unwrap();
    let app = app(&fake.addr.to_string()).await;
    let allowed = fake.url("/ping");
    assert_eq!(probe(&app, "/probe/fetch", &[("x-arg", &allowed)]).await, "status 200 pong /ping");

    // Another port on the same host is not listed: refused as Spin refuses it, nothing sent.
    let other = FakeServer::start(|_| Reply::text(200, "should not be reached")).await.unwrap();
    let denied = probe(&app, "/probe/fetch", &[("x-arg", &other.url("/ping"))]).await;
    assert!(denied.starts_with("error") && denied.contains("HttpRequestDenied"), "{denied}");
    assert!(other.requests().is_empty());
    let calls = app.outbound();
    assert_eq!(calls.iter().map(|c| c.allowed).collect::<Vec<_>>(), [true, false]);
    assert!(app.log_text("probe").contains("denied: not in allowed_outbound_hosts"));
}

#[tokio::test]
async fn service_chaining_reaches_private_components_only_when_allowed() {
    let app = app("127.0.0.1:1").await;
    let chained = probe(&app, "/probe/fetch", &[("x-arg", "http://hidden.spin.internal/x")]).await;
    assert_eq!(chained, "status 200 path /x info /x route /...");
    let invocations = app.invocations();
    assert_eq!(invocations.last().map(|i| (i.component.as_str(), i.trigger)), Some(("hidden", Trigger::Chained)));

    let denied = probe(&app, "/probe/fetch", &[("x-arg", "http://exact.spin.internal/")]).await;
    assert!(denied.contains("HttpRequestDenied"), "{denied}");
    assert!(!app.invocations().iter().any(|i| i.component == "exact"));
}

#[tokio::test]
async fn variables_resolve_from_templates_overrides_and_env() {
    let app = app("127.0.0.1:1").await;
    assert_eq!(probe(&app, "/probe/variable", &[("x-arg", "greeting")]).await, "value hello, world");
    assert_eq!(probe(&app, "/probe/variable", &[("x-arg", "fixed")]).await, "value static");
    let undefined = probe(&app, "/probe/variable", &[("x-arg", "redis_list")]).await;
    assert!(undefined.starts_with("error Error::Undefined"), "only component variables are visible: {undefined}");
    assert_eq!(probe(&app, "/probe/env", &[("x-arg", "PROBE_ENV")]).await, "value from-manifest");

    let env = BTreeMap::from([("SPIN_VARIABLE_GREETING".to_owned(), "bonjour".to_owned())]);
    let from_env = App::builder(fixtures()).variable("redis_list", "x").env(env.clone()).load().await.unwrap();
    assert_eq!(probe(&from_env, "/probe/variable", &[("x-arg", "greeting")]).await, "value bonjour, world");
    let flag_wins = App::builder(fixtures())
        .variable("redis_list", "x")
        .variable("greeting", "salut")
        .env(env)
        .load()
        .await
        .unwrap();
    assert_eq!(probe(&flag_wins, "/probe/variable", &[("x-arg", "greeting")]).await, "value salut, world");
}

#[tokio::test]
async fn manifests_spin_would_refuse_are_refused() {
    let missing = App::builder(fixtures()).load().await.err().expect("redis_list is required");
    assert!(format!("{missing:#}").contains("required variable `redis_list`"), "{missing:#}");
    let unknown =
        App::builder(fixtures()).variable("redis_list", "x").variable("nope", "1").load().await.err().unwrap();
    assert!(format!("{unknown:#}").contains("`nope` is not declared"), "{unknown:#}");

    app("127.0.0.1:1").await; // builds the fixture .wasm used below
    let dir = tempdir();
    let write = |text: &str| {
        let path = dir.join("spin.toml");
        std::fs::write(&path, text).unwrap();
        path
    };
    let base = "spin_manifest_version = 2\n[application]\nname = \"x\"\n";
    let unknown_component = write(&format!("{base}[[trigger.http]]\nroute = \"/\"\ncomponent = \"ghost\"\n"));
    let e = App::builder(&unknown_component).load().await.err().unwrap();
    assert!(format!("{e:#}").contains("unknown component `ghost`"), "{e:#}");
    let undeclared_store = write(&format!(
        "{base}[component.a]\nsource = \"{}\"\nkey_value_stores = [\"sessions\"]\n",
        wasm("probe").display()
    ));
    let e = App::builder(&undeclared_store).skip_build().load().await.err().unwrap();
    assert!(format!("{e:#}").contains("key-value store `sessions`"), "{e:#}");
    App::builder(&undeclared_store)
        .skip_build()
        .kv_store("sessions")
        .load()
        .await
        .expect("declared in the runtime config");
}

#[tokio::test]
async fn imports_the_harness_does_not_provide_fail_at_link_time_with_their_name() {
    let dir = tempdir();
    // A component importing an interface Spin components may use but the harness does not host.
    let wat = r#"(component (import "fermyon:spin/sqlite@2.0.0" (instance (export "execute" (func)))))"#;
    let source = dir.join("sqlite.wasm");
    std::fs::write(&source, wat).unwrap();
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        format!("spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/\"\ncomponent = \"a\"\n[component.a]\nsource = \"{}\"\n", source.display()),
    )
    .unwrap();
    let e = App::builder(&manifest).load().await.err().unwrap();
    assert!(format!("{e:#}").contains("fermyon:spin/sqlite@2.0.0"), "{e:#}");
}

#[tokio::test]
async fn key_value_in_memory_and_access_control() {
    let app = app("127.0.0.1:1").await;
    let set = app
        .handle(
            http::Request::post("/probe/kv/set")
                .header("x-label", "default")
                .header("x-key", "k")
                .body(Full::new(Bytes::from("v1")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(set.text(), "ok");
    assert_eq!(probe(&app, "/probe/kv/get", &[("x-label", "default"), ("x-key", "k")]).await, "value Some(\"v1\")");
    let denied = probe(&app, "/probe/kv/get", &[("x-label", "other"), ("x-key", "k")]).await;
    assert_eq!(denied, "error Error::AccessDenied", "a store not in key_value_stores");
    // The exact component shares the .wasm but was granted no store.
    let exact = app.handle(get("/exact", &[])).await.unwrap();
    assert_eq!(exact.status, 200);
}

#[tokio::test]
async fn key_value_on_redis() {
    let Some(redis) = test_redis().await else { return };
    let app =
        App::builder(fixtures()).variable("redis_list", "x").kv_backend(KvBackend::Redis(redis)).load().await.unwrap();
    let set = app
        .handle(
            http::Request::post("/probe/kv/set")
                .header("x-label", "default")
                .header("x-key", "k")
                .body(Full::new(Bytes::from("on redis")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(set.text(), "ok");
    assert_eq!(
        probe(&app, "/probe/kv/get", &[("x-label", "default"), ("x-key", "k")]).await,
        "value Some(\"on redis\")"
    );
    assert_eq!(probe(&app, "/probe/kv/get", &[("x-label", "default"), ("x-key", "absent")]).await, "value None");
}

#[tokio::test]
async fn handlers_keep_working_after_the_response() {
    let app = app("127.0.0.1:1").await;
    let response = app.handle(get("/probe/after", &[("x-key", "late")])).await.unwrap();
    assert_eq!((response.status, response.text().as_str()), (202, "accepted"));
    app.wait_idle(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        probe(&app, "/probe/kv/get", &[("x-label", "default"), ("x-key", "late")]).await,
        "value Some(\"written after the response\")"
    );
}

#[tokio::test]
async fn output_is_captured_per_component_and_traps_become_500() {
    let app = app("127.0.0.1:1").await;
    probe(&app, "/probe/log", &[("x-arg", "42")]).await;
    let trap = app.handle(get("/probe/trap", &[])).await.unwrap();
    assert_eq!(trap.status, 500);
    app.wait_idle(Duration::from_secs(5)).await.unwrap();
    let logs = app.logs();
    assert!(logs.iter().any(|l| l.component == "probe" && l.stream == "stdout" && l.text == "stdout line 42"));
    assert!(logs.iter().any(|l| l.component == "probe" && l.stream == "stderr" && l.text == "stderr line 42"));
    assert!(app.log_text("probe").contains("probe asked to trap"));
}

#[tokio::test]
async fn served_on_a_loopback_port() {
    let app = app("127.0.0.1:1").await;
    let server = app.serve().await.unwrap();
    let request = http::Request::get(server.url("/exact")).body(Full::new(Bytes::new())).unwrap();
    let response = facteur_harness::support::send(request).await.unwrap();
    assert_eq!(response.status, 200);
    assert!(response.text().starts_with("path /exact"), "{}", response.text());
}

#[tokio::test]
async fn redis_trigger_delivers_messages_in_order_and_survives_failures() {
    let Some(redis_url) = test_redis().await else { return };
    let list = format!("facteur-test-{}-{}", std::process::id(), facteur_harness::support::now());
    let app = App::builder(fixtures())
        .variable("redis_list", &list)
        .variable("redis_address", &redis_url)
        .load()
        .await
        .unwrap();
    let _trigger = app.start_redis_trigger().await.unwrap();

    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for message in ["first", "fail", "trap", "second"] {
        let receivers: i64 =
            redis::cmd("PUBLISH").arg(format!("{list}-channel")).arg(message).query_async(&mut conn).await.unwrap();
        assert_eq!(receivers, 1, "the trigger is subscribed");
    }
    let received = eventually(Duration::from_secs(10), async || {
        let items: Vec<String> = redis::cmd("LRANGE").arg(&list).arg(0).arg(-1).query_async(&mut conn).await.ok()?;
        (items.len() == 2).then_some(items)
    })
    .await;
    let _: () = redis::cmd("DEL").arg(&list).query_async(&mut conn).await.unwrap();
    assert_eq!(received, Some(vec!["first".to_owned(), "second".to_owned()]), "{}", app.log_text("probe-redis"));
    let logs = app.log_text("probe-redis");
    assert!(logs.contains("probe-redis asked to fail"), "{logs}");
    assert!(logs.contains("probe-redis asked to trap"), "{logs}");
    assert_eq!(
        app.invocations().iter().filter(|i| i.trigger == Trigger::Redis).count(),
        4,
        "a fresh instance per message"
    );
}

#[tokio::test]
async fn outbound_redis_publish_reports_receivers() {
    let Some(redis_url) = test_redis().await else { return };
    let app = App::builder(fixtures())
        .variable("redis_list", "x")
        .variable("redis_address", &redis_url)
        .load()
        .await
        .unwrap();
    let answer = app
        .handle(
            http::Request::post("/probe/redis/publish")
                .header("x-arg", &redis_url)
                .header("x-key", "nobody-listens")
                .body(Full::new(Bytes::from("hi")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(answer.text(), "published [RedisResult::Int64(0)]");
    let denied = app
        .handle(
            http::Request::post("/probe/redis/publish")
                .header("x-arg", "redis://127.0.0.1:6390")
                .header("x-key", "c")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(denied.text(), "error Error::InvalidAddress", "an address outside allowed_outbound_hosts");
}

fn wasm(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/wasm32-wasip2/release/{name}.wasm"))
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "facteur-harness-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

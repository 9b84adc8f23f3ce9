//! The thin adapter between the domain and the Spin host (spin-sdk 5.2): variables, reading
//! an interaction request and answering it, service chaining, and the use cases' ports
//! ([`SpinPorts`]: outbound HTTP, key-value, clock, stdout and stderr).
//!
//! Every line a component writes is one JSON object, written at once (Spin exports each write
//! as one OTLP log record): audit lines on stdout, log lines on stderr, both with the
//! component's name and, once known, the interaction id and the trace id of the request
//! ([`log`], [`Stdout`]). A component instance serves one request, so that context is the
//! instance's: set by [`component`], [`InteractionRequest::read`], [`receive`] and
//! [`about_event`].

pub mod argo;
pub mod discord;
pub mod outbound;
pub mod store;

use std::cell::RefCell;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use spin_sdk::http::{Fields, IncomingRequest, IncomingResponse, Method, OutgoingResponse, ResponseOutparam};

use crate::admission::{self, MAX_BODY, Received, Rejection};
use crate::answer::Answer;
use crate::audit::{self, Context, Level, Trace};
use crate::config::{ArgoSettings, DiscordSettings, Variables};
use crate::discord::{Interaction, InteractionResponse, Message};
use crate::ports::{self, Ports};
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier};

thread_local! {
    static CONTEXT: RefCell<Context> = const { RefCell::new(Context::EMPTY) };
}

/// Names the component in the lines it writes from now on.
pub fn component(name: &str) {
    CONTEXT.with_borrow_mut(|c| c.component = Some(name.to_owned()));
}

/// The trace of the request (or event) being served: its ids go into every line from now on.
pub fn set_trace(trace: Trace) {
    CONTEXT.with_borrow_mut(|c| c.trace = trace);
}

fn set_interaction(id: &str) {
    CONTEXT.with_borrow_mut(|c| c.interaction_id = Some(id.to_owned()).filter(|id| !id.is_empty()));
}

/// The CommandEvent being served: its interaction id, `trace_id` and `correlation_id` go into
/// every line from now on.
pub fn about_event(event: &crate::events::CommandEvent) {
    set_interaction(&event.interaction_id);
    set_trace(event.trace());
}

/// Writes one log line on stderr: `{"level", "component", "event", "message", …ids}`.
pub fn log(level: Level, event: &str, message: &str) {
    let line = CONTEXT.with_borrow(|c| audit::log_line(level, event, message, c));
    write_line(&mut std::io::stderr().lock(), line);
}

/// One write per line, so that each is one record wherever the output goes.
fn write_line(out: &mut impl Write, mut line: String) {
    line.push('\n');
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
}

/// The component's Spin variables (only those declared for it are readable).
pub fn variables() -> Variables<fn(&str) -> Option<String>> {
    Variables(|name| spin_sdk::variables::get(name).ok())
}

/// Unix seconds from the host's wall clock.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// An interactions request as received: what signature checking and forwarding need.
pub struct InteractionRequest {
    pub method: String,
    /// The client's address: the last `spin-client-addr` value. Spin appends its own after
    /// any the client sent (Spin 3.6 and 4.0), so only the last one is Spin's.
    pub client: Option<String>,
    pub path: String,
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    /// The W3C trace context Spin passed (`traceparent`: the caller's span), if valid.
    pub trace: Trace,
    pub body: Vec<u8>,
}

impl InteractionRequest {
    /// Reads the request, stopping one byte past the 64 KiB limit so that an oversize body is
    /// refused without buffering it.
    pub async fn read(req: IncomingRequest) -> Result<Self, Rejection> {
        let header = |name: &str| req.headers().get(name).into_iter().next().and_then(|v| String::from_utf8(v).ok());
        let (signature, timestamp) = (header(SIGNATURE_HEADER), header(TIMESTAMP_HEADER));
        let trace = Trace::from_traceparent(header("traceparent").as_deref());
        set_trace(trace.clone());
        let client = req.headers().get("spin-client-addr").into_iter().last().and_then(|v| String::from_utf8(v).ok());
        let declared = header("content-length").and_then(|v| v.parse::<usize>().ok());
        let method = req.method().to_string();
        let path = req.path_with_query().unwrap_or_else(|| "/".to_owned());
        let mut body = Vec::new();
        if declared.is_none_or(|len| len <= MAX_BODY) {
            let mut stream = req.into_body_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|_| Rejection::new(400, "could not read the request body"))?;
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    break;
                }
            }
        } else {
            body.resize(MAX_BODY + 1, 0);
        }
        Ok(Self { method, client, path, signature, timestamp, trace, body })
    }

    fn received(&self) -> Received<'_> {
        Received {
            method: &self.method,
            client: self.client.as_deref(),
            signature: self.signature.as_deref(),
            timestamp: self.timestamp.as_deref(),
            body: &self.body,
        }
    }

    /// Method, size, signature and JSON checks (see [`admission::admit`]).
    pub fn admit(&self, verifier: &Verifier) -> Result<Interaction, Rejection> {
        admission::admit(&self.received(), verifier, now())
    }

    /// What the gateway checks before routing: everything but the signature.
    pub fn precheck(&self, verifier: &Verifier) -> Result<Interaction, Rejection> {
        admission::precheck(&self.received(), verifier)?;
        admission::parse(&self.body)
    }

    /// The signature, for what the gateway answers itself.
    pub fn verify(&self, verifier: &Verifier) -> Result<(), Rejection> {
        admission::verify(&self.received(), verifier, now())
    }

    /// Forwards the untouched body and signature headers to `component` by service chaining.
    pub async fn forward(&self, component: &str) -> Result<Response, String> {
        let mut request = outbound::Outgoing::new(Method::Post, crate::routing::chain_url(component, &self.path));
        request.header("content-type", "application/json");
        for (name, value) in [(SIGNATURE_HEADER, &self.signature), (TIMESTAMP_HEADER, &self.timestamp)] {
            if let Some(value) = value {
                request.header(name, value);
            }
        }
        request.body(self.body.clone());
        let answer: IncomingResponse = spin_sdk::http::send(request).await.map_err(|e| e.to_string())?;
        let (status, headers) = (answer.status(), answer.headers().entries());
        let body = answer.into_body().await.map_err(|e| format!("reading the answer: {e}"))?;
        Ok(Response { status, headers, body })
    }
}

/// Reads, checks and parses an interaction request; otherwise the refusal to answer with.
pub async fn receive(req: IncomingRequest, verifier: &Verifier) -> Result<(InteractionRequest, Interaction), Response> {
    let request = InteractionRequest::read(req).await.map_err(|r| reject(&r))?;
    let interaction = request.admit(verifier).map_err(|r| reject(&r))?;
    set_interaction(&interaction.id);
    Ok((request, interaction))
}

/// The gateway's reading: checked and parsed, the signature not yet verified.
pub async fn receive_unverified(
    req: IncomingRequest,
    verifier: &Verifier,
) -> Result<(InteractionRequest, Interaction), Response> {
    let request = InteractionRequest::read(req).await.map_err(|r| reject(&r))?;
    let interaction = request.precheck(verifier).map_err(|r| reject(&r))?;
    set_interaction(&interaction.id);
    Ok((request, interaction))
}

/// The 500 of a component whose configuration is wrong: the details go to its log only.
pub fn misconfigured(component: &str, error: &dyn std::fmt::Display) -> Response {
    self::component(component);
    log(Level::Error, "configuration_error", &format!("configuration error: {error}"));
    reject(&Rejection::new(500, "facteur is misconfigured; see its logs"))
}

/// 200 with an interaction response.
pub fn reply(response: &InteractionResponse) -> Response {
    Response::json(200, response.to_json())
}

/// A refusal with a JSON body `{"error": reason}`.
pub fn reject(rejection: &Rejection) -> Response {
    Response::json(rejection.status, serde_json::json!({ "error": rejection.reason }).to_string())
}

/// A component's HTTP answer. Not spin-sdk's `Response`: see [`outbound::Outgoing`] for why.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers: vec![("content-type".into(), b"application/json".to_vec())], body: body.into() }
    }
}

/// Sends `response` through the outparam (also for handlers that keep working afterwards:
/// spin-sdk's conversion of a returned `Response` makes `anyhow` errors, see [`outbound::Outgoing`]).
///
/// The body is written and finished before the response is handed to Spin, not after as
/// spin-sdk's `set_with_body` does: hyper then finds head and body complete and writes them in
/// one segment. Otherwise it sometimes flushed the head alone, and since Spin does not set
/// TCP_NODELAY on accepted connections, Nagle held the body until the client's delayed ACK,
/// 40 ms later (the /plan acknowledgement's p99 at c=1, BENCHMARKS.md). wasmtime-wasi-http
/// buffers at least two chunks of 1 MiB before anyone reads; a body it cannot take at once is
/// finished after the hand-over.
pub async fn respond(out: ResponseOutparam, response: Response) {
    use futures::SinkExt;
    use std::future::Future;
    use std::task::Poll;
    let outgoing = OutgoingResponse::new(Fields::from_list(&response.headers).expect("valid response headers"));
    outgoing.set_status_code(response.status).expect("a valid status");
    let mut body = outgoing.take_body();
    let mut sending = Box::pin(body.send(response.body));
    let written = std::future::poll_fn(|cx| Poll::Ready(sending.as_mut().poll(cx))).await;
    let sent = match written {
        Poll::Ready(result) => {
            // Dropping the sink finishes the body.
            drop(sending);
            drop(body);
            out.set(outgoing);
            result
        }
        Poll::Pending => {
            out.set(outgoing);
            sending.await
        }
    };
    if let Err(e) = sent {
        log(Level::Warn, "response_failed", &format!("could not send the response: {e}"));
    }
}

/// The use cases' world on Spin: Argo and Discord over outbound HTTP, the `default` key-value
/// store, the wall clock; audit lines on stdout, log lines on stderr (see [`log`]).
pub struct SpinPorts {
    pub argo: argo::SpinArgo,
    pub discord: discord::SpinDiscord,
    pub store: store::SpinKeyValue,
    pub component: &'static str,
}

impl SpinPorts {
    pub fn new(component: &'static str, argo: ArgoSettings, discord: DiscordSettings) -> Self {
        self::component(component);
        Self {
            argo: argo::SpinArgo(argo),
            discord: discord::SpinDiscord(discord),
            store: store::SpinKeyValue::default(),
            component,
        }
    }
}

/// Audit lines on stdout, for components that need nothing else (`/help`, template commands),
/// stamped with the component, level, `event: "audit"` and the trace id ([`audit::stamp`]).
pub struct Stdout;

impl ports::Audit for Stdout {
    fn audit(&self, line: String) {
        let line = CONTEXT.with_borrow(|c| audit::stamp(&line, c));
        write_line(&mut std::io::stdout().lock(), line);
    }
}

impl ports::Audit for SpinPorts {
    fn audit(&self, line: String) {
        Stdout.audit(line);
    }
}

impl Ports for SpinPorts {
    fn argo(&self) -> &impl ports::Argo {
        &self.argo
    }

    fn discord(&self) -> &impl ports::Discord {
        &self.discord
    }

    fn store(&self) -> &impl ports::KeyValue {
        &self.store
    }

    fn now(&self) -> u64 {
        now()
    }

    fn log(&self, line: String) {
        let (level, event) = audit::classify(&line);
        log(level, event, &line);
    }

    async fn pause(&self, duration: std::time::Duration) {
        outbound::sleep(duration).await;
    }
}

/// Sends a use case's answer; when it is deferred, does `work` after the response and delivers
/// the message it gives (`crate::delivery`).
pub async fn serve<W>(
    out: ResponseOutparam,
    ports: &SpinPorts,
    interaction: &Interaction,
    answer: Answer<W>,
    work: impl AsyncFnOnce(W) -> Message,
) {
    match answer {
        Answer::Now(response) => respond(out, reply(&response)).await,
        Answer::Later { response, work: pending } => {
            respond(out, reply(&response)).await;
            let message = work(pending).await;
            crate::delivery::follow_up(ports, interaction, response.is_public(), &message).await;
        }
    }
}

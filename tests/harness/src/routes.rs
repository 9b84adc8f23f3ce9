//! HTTP routing as Spin's HTTP trigger does it: the routes Spin answers itself
//! (`/.well-known/spin/health` and `/info`), the app's routes (the best match wins, see
//! [`Route::rank`]), and the `spin-*` headers that tell a component what matched.
//! Route syntax and ranking are the manifest's ([`facteur_manifest::routes`]).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

pub use facteur_manifest::routes::Route;

/// The app's HTTP routes, each to its component.
pub(crate) struct Router {
    routes: Vec<(Route, String)>,
}

impl Router {
    pub(crate) fn new(routes: Vec<(Route, String)>) -> Self {
        Self { routes }
    }

    /// The best-ranked route matching `path`, and its component.
    pub(crate) fn find(&self, path: &str) -> Option<(Route, String)> {
        self.routes
            .iter()
            .filter_map(|(route, component)| route.rank(path).map(|rank| (rank, route, component)))
            .max_by_key(|(rank, ..)| *rank)
            .map(|(_, route, component)| (route.clone(), component.clone()))
    }
}

/// The answer to a route Spin's HTTP trigger serves itself, before the app's (Spin 3.6 and 4.0).
pub(crate) fn spin_route(
    path: &str,
    app_name: &str,
    app_version: Option<&str>,
) -> Option<http::Response<HyperOutgoingBody>> {
    match path {
        "/.well-known/spin/health" => Some(plain(200, "OK")),
        "/.well-known/spin/info" => {
            let info = serde_json::json!({"name": app_name, "version": app_version});
            let body = serde_json::to_vec_pretty(&info).expect("JSON");
            let mut response =
                http::Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync());
            response.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
            Some(response)
        }
        _ => None,
    }
}

/// The request headers Spin's HTTP trigger adds, with an absolute URI as Spin passes it.
pub(crate) fn add_spin_headers<B>(request: &mut http::Request<B>, route: &Route) {
    let path = request.uri().path().to_owned();
    if request.uri().authority().is_none() {
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1:3000")
            .to_owned();
        let pq = request.uri().path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
        *request.uri_mut() = format!("http://{host}{pq}").parse().expect("a valid URI");
    }
    let full_url = request.uri().to_string();
    let matched = route.to_string();
    let base = match route {
        Route::Wildcard(prefix) => format!("/{}", prefix.join("/")),
        _ => matched.clone(),
    };
    let path_info = path.strip_prefix(base.trim_end_matches('/')).unwrap_or("").to_owned();
    for (name, value) in [
        ("spin-full-url", full_url),
        ("spin-path-info", path_info),
        ("spin-matched-route", matched.clone()),
        ("spin-component-route", matched.clone()),
        ("spin-raw-component-route", matched),
        ("spin-base-path", "/".to_owned()),
    ] {
        request.headers_mut().insert(name, value.parse().expect("a valid header value"));
    }
    // Spin appends the client's address after any the client sent (3.6 and 4.0); a chained
    // request carries `0.0.0.0:0`.
    let client = request.extensions().get::<ClientAddr>().map_or("127.0.0.1:0", |c| c.0.as_str()).to_owned();
    request.headers_mut().append("spin-client-addr", client.parse().expect("a valid header value"));
}

/// The client address Spin reports for a request (`spin-client-addr`): put it in a request's
/// extensions to simulate another client; in-process requests default to `127.0.0.1:0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

/// A plain-text response, as Spin gives for its own routes and for failures.
pub(crate) fn plain(status: u16, text: &'static str) -> http::Response<HyperOutgoingBody> {
    http::Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(text.as_bytes())).map_err(|never| match never {}).boxed_unsync())
        .expect("a valid response")
}

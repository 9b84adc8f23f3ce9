//! The contract checks of the fake Argo: every request against the Argo Server's OpenAPI spec
//! (a mismatch is answered 400 and recorded as a violation), the bearer token when one is
//! required, and the fake's own 200 answers against the spec (recorded, so the fake cannot
//! drift from what Argo answers).

use super::routes::error;
use super::state::State;
use crate::openapi::OpenApi;
use crate::{Recorded, Reply};

/// `Err` with the answer when `request` breaks the contract.
pub(super) fn request(spec: &OpenApi, state: &mut State, request: &Recorded) -> Result<(), Reply> {
    if let Err(violation) = spec.check_request(&request.method, &request.path, &request.body) {
        state.note(format!("argo: VIOLATION of the Argo Server's OpenAPI spec: {violation}"));
        state.violations.push(violation.clone());
        return Err(error(400, 3, &format!("fake Argo: request does not match the OpenAPI spec: {violation}")));
    }
    if let Some(token) = &state.token
        && request.header("authorization") != Some(&format!("Bearer {token}"))
    {
        return Err(error(401, 16, "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"));
    }
    Ok(())
}

/// Records a 200 answer of the fake's own that the spec does not describe.
pub(super) fn response(spec: &OpenApi, state: &mut State, method: &str, path: &str, reply: &Reply) {
    let mut body: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
    // An empty list's `items` is `null`: Argo's server writes Go's nil slice so, which the spec,
    // generated from the Go types, cannot say. Checked as the empty array it stands for.
    if body.get("items").is_some_and(serde_json::Value::is_null) {
        body["items"] = serde_json::json!([]);
    }
    if reply.status == 200
        && let Err(violation) = spec.check_response(method, path, &body)
    {
        state.violations.push(format!("fake Argo's own response: {violation}"));
    }
}

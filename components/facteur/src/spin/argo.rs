//! Sends what [`crate::argo`] builds to the Argo Server, within the configured deadline.

use std::time::Duration;

use spin_sdk::http::{Method, Request};

use super::outbound::{SendFailure, send_within};
use crate::argo::{ArgoError, ArgoRequest};
use crate::config::ArgoSettings;

/// Deadline of Argo calls made before answering inline (autocomplete, Refresh): the answer
/// must reach Discord within its 3 seconds.
pub const INLINE_DEADLINE: Duration = Duration::from_millis(2000);

/// Sends one request; the status and body, or why nothing came back.
pub async fn send(settings: &ArgoSettings, request: &ArgoRequest) -> Result<(u16, Vec<u8>), ArgoError> {
    send_with_deadline(settings, request, Duration::from_secs(settings.timeout_secs)).await
}

/// As [`send`], with a shorter deadline (inline answers must come within Discord's 3 seconds).
pub async fn send_with_deadline(
    settings: &ArgoSettings,
    request: &ArgoRequest,
    deadline: Duration,
) -> Result<(u16, Vec<u8>), ArgoError> {
    let method = match request.method {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        _ => Method::Post,
    };
    let mut builder = Request::builder();
    builder.method(method).uri(format!("{}{}", settings.server_url, request.path)).header("accept", "application/json");
    if let Some(authorization) = &settings.authorization {
        builder.header("authorization", authorization.as_str());
    }
    if let Some(body) = &request.body {
        builder.header("content-type", "application/json").body(body.to_string());
    }
    let response = send_within(builder.build(), deadline).await.map_err(|e| match e {
        SendFailure::Timeout => ArgoError::Timeout,
        SendFailure::Failed(e) => ArgoError::Unreachable(e),
    })?;
    Ok((*response.status(), response.into_body()))
}

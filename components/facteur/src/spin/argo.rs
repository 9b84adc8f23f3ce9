//! Sends what [`crate::argo`] builds to the Argo Server, within a deadline.

use std::time::Duration;

use spin_sdk::http::Method;

use super::outbound::{Outgoing, SendFailure, send_capped};
use crate::argo::{self, ArgoError, ArgoRequest};
use crate::config::ArgoSettings;
use crate::ports::{Argo, Deadline, INLINE_DEADLINE};

/// The largest Argo answer read: a workflow with many nodes is a few hundred KiB, 500 log lines
/// less; anything beyond is refused rather than buffered.
pub const MAX_ANSWER: usize = 4 * 1024 * 1024;

pub struct SpinArgo(pub ArgoSettings);

impl Argo for SpinArgo {
    async fn send_as(
        &self,
        request: &ArgoRequest,
        deadline: Deadline,
        authorization: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ArgoError> {
        let settings = &self.0;
        let deadline = match deadline {
            Deadline::Configured => Duration::from_secs(settings.timeout_secs),
            Deadline::Inline => INLINE_DEADLINE,
        };
        let method = match request.method {
            argo::Method::Get => Method::Get,
            argo::Method::Post => Method::Post,
            argo::Method::Put => Method::Put,
        };
        let mut builder = Outgoing::new(method, format!("{}{}", settings.server_url, request.path));
        builder.header("accept", "application/json");
        if let Some(authorization) = authorization.or(settings.authorization.as_deref()) {
            builder.header("authorization", authorization);
        }
        if let Some(body) = &request.body {
            builder.header("content-type", "application/json").body(body.to_string());
        }
        send_capped(builder, deadline, MAX_ANSWER).await.map_err(|e| match e {
            SendFailure::Timeout => ArgoError::Timeout,
            SendFailure::NotSent(e) => ArgoError::NotSent(e),
            SendFailure::Failed(e) => ArgoError::Unreachable(e),
        })
    }
}

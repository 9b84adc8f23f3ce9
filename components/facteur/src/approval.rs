//! Commands that need a second member's approval (`"approval": {"approvers": "<role map key>"}`
//! in the catalog). An admitted command is not submitted: facteur keeps it and posts the request,
//! with Approve and Reject buttons, in the channel. A member holding a role listed under the
//! approvers' key, and who is not the requester, approves it; only then is it submitted, as the
//! requester's command (its workflow name, labels and owner), with the approver recorded on the
//! workflow and in the audit trail. Reject (by an approver, or the requester withdrawing) ends it.
//!
//! The pending request lives under `approval:<command>:<request id>` for [`REQUEST_TTL_SECS`],
//! without the requester's token: every click is an interaction of its own, whose token updates
//! the request's message (type 7 now, then an edit of `@original` with the outcome) and later
//! tells the run's lifecycle there. A request older than that is answered as expired: options
//! validated a quarter of an hour ago should be asked for again, not run.
//!
//! Exactly one decision and one workflow: a click claims the request with an atomic increment
//! (only the first click to count decides, so an Approve and a Reject racing past the read cannot
//! both act) and deletes it before anything is submitted, so a later click finds nothing. The
//! submit uses the requester's deterministic workflow name besides (409 reports the existing run).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::answer::Answer;
use crate::argo::{Pairs, label, label_value};
use crate::audit::{self, AuditEvent};
use crate::catalog::{Approval, Command, Submission};
use crate::command::{self, CommandSettings, Work};
use crate::discord::{Interaction, InteractionResponse, Message};
use crate::history::{self, TOKEN_TTL_SECS};
use crate::policy::Caller;
use crate::ports::{KeyValue, Ports};
use crate::replies;
use crate::run_button::{ApprovalButton, Verdict};

/// How long a request waits for its approver: the requester's token lifetime, 15 minutes.
pub const REQUEST_TTL_SECS: u64 = TOKEN_TTL_SECS;

/// A request waiting for its approver.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    /// The requesting interaction (its options, member, roles, guild, channel), token removed.
    interaction: Interaction,
    expires_at: u64,
}

/// An approved request: what to submit, as whose command, and who approved it.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    pub requester: Interaction,
    pub submission: Submission,
    pub approver_id: String,
    pub approver: String,
}

pub fn key(command: &str, request: &str) -> String {
    format!("approval:{command}:{request}")
}

/// The counter that serialises decisions on one request. It is not JSON, so the run-history
/// sweep deletes it at its next slot (`approval:` prefix): it only has to outlive a race.
fn claim_key(request_key: &str) -> String {
    format!("{request_key}:claim")
}

/// An admitted command that needs approval: keeps it and answers with the request (public, so
/// approvers see it), or refuses when nobody could approve it (deny by default).
pub fn request(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    approval: &Approval,
    interaction: &Interaction,
    submission: &Submission,
) -> Answer<Work> {
    let name = &command.name;
    if settings.policy.role_map.roles_for(&approval.approvers).is_none() {
        let details = json!({ "reason": "no_approver_role", "approvers": approval.approvers });
        ports.audit(audit::line(AuditEvent::Denied, name, interaction, details));
        return Answer::tell(format!(
            "`/{name}` needs an approver, and no role may approve it yet. Ask a server admin to list \
             approver roles under `{}` in facteur's role map.",
            approval.approvers
        ));
    }
    let now = ports.now();
    let expires_at = now + REQUEST_TTL_SECS;
    let pending = Pending { interaction: Interaction { token: String::new(), ..interaction.clone() }, expires_at };
    let stored = history::sweep(ports.store(), now).and_then(|()| {
        let json = serde_json::to_vec(&pending).expect("requests always serialise");
        let key = key(name, &interaction.id);
        // A request asked again (the same interaction answered twice) is open again.
        ports.store().delete(&claim_key(&key))?;
        ports.store().set(&key, &json)
    });
    if let Err(e) = stored {
        ports.log(format!("could not keep the approval request {}: {e}", interaction.id));
        return Answer::tell(format!("`/{name}` could not be put up for approval; nothing was started. Try again."));
    }
    let details = json!({ "approvers": approval.approvers, "template": submission.template, "expires_at": expires_at });
    ports.audit(audit::line(AuditEvent::ApprovalRequested, name, interaction, details));
    let buttons =
        [Verdict::Approve, Verdict::Reject].map(|v| ApprovalButton::new(name, v, &interaction.id).custom_id());
    let requester = interaction.user_id().unwrap_or_default();
    Answer::Now(InteractionResponse::message(replies::approval_request(
        name, requester, submission, expires_at, &buttons,
    )))
}

/// A click on Approve or Reject of one of this command's requests.
pub fn decide(ports: &impl Ports, settings: &CommandSettings, command: &Command, click: &Interaction) -> Answer<Work> {
    let name = &command.name;
    let (Some(button), Some(approval)) = (click.custom_id().and_then(ApprovalButton::parse), &command.approval) else {
        return Answer::tell("This button is no longer supported.");
    };
    if button.command != *name {
        return Answer::tell("This button belongs to another command.");
    }
    let key = key(name, &button.request);
    let stored = ports.store().get(&key).unwrap_or_else(|e| {
        ports.log(format!("could not read the approval request {}: {e}", button.request));
        None
    });
    let now = ports.now();
    let Some(pending) = stored.and_then(|b| serde_json::from_slice::<Pending>(&b).ok()).filter(|p| p.expires_at > now)
    else {
        return Answer::tell(format!(
            "This request is no longer pending: it was decided, or it expired ({} minutes). Run `/{name}` again.",
            REQUEST_TTL_SECS / 60
        ));
    };
    let requester = pending.interaction;
    let clicker = click.user_id().unwrap_or_default();
    let own = requester.user_id() == Some(clicker);
    // An approver decides; the requester may withdraw their request.
    let approver = settings.policy.grants(&approval.approvers, &Caller::of(click));
    let may_decide = approver || (own && button.verdict == Verdict::Reject);
    let refusal = match button.verdict {
        Verdict::Approve if own => Some(("own_request", "You cannot approve your own request.")),
        _ if !may_decide => Some(("not_approver", "Only a member with an approver role can decide this request.")),
        _ => None,
    };
    let details =
        json!({ "request": requester.id, "requester_id": requester.user_id(), "verdict": button.verdict.as_str() });
    if let Some((reason, text)) = refusal {
        let mut details = details;
        details["reason"] = reason.into();
        ports.audit(audit::line(AuditEvent::Denied, name, click, details));
        return Answer::tell(text);
    }
    // Claimed atomically (the store's increment: SQLite transaction, Redis INCRBY): of clicks
    // that raced past the read above (Approve and Reject at once), only the first decides.
    match ports.store().increment(&claim_key(&key), 1) {
        Ok(1) => {}
        Ok(_) => return Answer::tell("Someone decided this request a moment ago; nothing more was done."),
        Err(e) => {
            ports.log(format!("could not claim the approval request {}: {e}", requester.id));
            return Answer::tell("facteur could not record the decision; nothing was started. Try again.");
        }
    }
    // Closed: a later click finds nothing.
    if let Err(e) = ports.store().delete(&key) {
        ports.log(format!("could not close the approval request {}: {e}", requester.id));
        return Answer::tell("facteur could not record the decision; nothing was started. Try again.");
    }
    let who = click.invoker().map_or_else(String::new, |u| u.username.clone());
    if button.verdict == Verdict::Reject {
        ports.audit(audit::line(AuditEvent::Rejected, name, click, details));
        return Answer::Now(InteractionResponse::update(Message::new(format!(
            "Request to run `/{name}` from <@{}> was rejected by <@{clicker}>. Nothing was started.",
            requester.user_id().unwrap_or_default()
        ))));
    }
    // Validated again with the catalog of this build, as when it was asked.
    let submission = match command.submission(&requester) {
        Ok(submission) => submission,
        Err(invalid) => {
            let details = json!({ "request": requester.id, "error": invalid.0 });
            ports.audit(audit::line(AuditEvent::Invalid, name, click, details));
            return Answer::Now(InteractionResponse::update(Message::new(format!(
                "`/{name}` can no longer run as asked: {}",
                invalid.0
            ))));
        }
    };
    ports.audit(audit::line(AuditEvent::Approved, name, click, details));
    let response = InteractionResponse::update(Message::new(format!(
        "<@{clicker}> approved `/{name}` for <@{}>; submitting…",
        requester.user_id().unwrap_or_default()
    )));
    let approved = Approved { requester, submission, approver_id: clicker.to_owned(), approver: who };
    Answer::Later { response, work: Work::Approved(Box::new(approved)) }
}

/// Submits an approved request as the requester's command, through the approver's click: its
/// token edits the request's message now and tells the run's lifecycle there later.
pub async fn submit(
    ports: &impl Ports,
    settings: &CommandSettings,
    command: &Command,
    click: &Interaction,
    approved: Box<Approved>,
) -> Message {
    let Approved { requester, submission, approver_id, approver } = *approved;
    let requester = Interaction { token: click.token.clone(), ..requester };
    let annotations: Pairs = [(label::APPROVER_ID, &approver_id), (label::APPROVED_BY, &approver)]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), label_value(value)))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    let now = ports.now();
    let mut message =
        command::submit_annotated(ports, settings, command, &requester, &submission, now, annotations).await;
    let outcome = message.content.take().unwrap_or_default();
    message.content = Message::new(format!("Approved by <@{approver_id}>. {outcome}")).content;
    message
}

#[cfg(test)]
mod tests;

//! A run's final phase reaches the member who asked for it, and only them.
//!
//! Discord notifies the members a message mentions when the message is created, not when an
//! edit adds the mention, so the run's message is updated as for any phase (`delivery`) and
//! a **new** message mentions the requester, with `allowed_mentions.users` naming only them (no
//! `parse`: a workflow's text can never ping anyone else):
//!
//! - while the interaction token is valid: a follow-up message (the token allows that much);
//! - after: the update itself is a channel post with the bot token, so it carries the mention;
//! - with `threads: true` on the command: a public thread per run, started on the run's message
//!   while the token is valid (its id read with the token), else in the run's channel, and the
//!   completion is posted there. Starting a thread takes the bot token (`discord_bot_token`):
//!   an interaction token can only edit its responses and post follow-ups, and Discord's
//!   `thread_name` creates threads only in forum and media channels. Without a bot token, or
//!   when Discord refuses, the completion goes without a thread, and the log says why.

use crate::argo::{Phase, Workflow};
use crate::catalog::Catalog;
use crate::delivery::{Recipient, deliver};
use crate::discord::{Message, is_snowflake, truncate};
use crate::history::{Reply, RunRecord};
use crate::ports::{Discord, Ports};

/// Discord's longest thread name.
const MAX_THREAD_NAME: usize = 100;

/// Where a run's completion goes.
pub struct Run<'a> {
    pub record: &'a RunRecord,
    /// The interaction token, while it is valid.
    pub reply: Option<Reply>,
    pub workflow: &'a str,
    pub phase: Phase,
    /// Its command has `threads: true`.
    pub threads: bool,
}

impl<'a> Run<'a> {
    /// A run of a catalog command.
    pub fn of(record: &'a RunRecord, reply: Option<Reply>, workflow: &'a str, phase: &str) -> Self {
        let threads = Catalog::embedded().command(&record.command).is_some_and(|c| c.threads);
        Self { record, reply, workflow, phase: Phase::parse(phase), threads }
    }
}

/// Tells a run's recipient about its phase with `message`; at a final phase, pings the
/// requester as the module says.
pub async fn tell(ports: &impl Ports, run: Run<'_>, message: Message) -> Result<(), String> {
    let Run { record, reply, workflow, phase, threads } = run;
    let to = Recipient::of_record(record, reply);
    let user = record.user_id.as_deref().filter(|u| is_snowflake(u) && phase.is_finished());
    let token_valid = !to.token.is_empty() && ports.now() < to.token_expires_at;
    let thread = match (user, threads) {
        (Some(_), true) => thread(ports, &to, workflow, token_valid)
            .await
            .map_err(|why| ports.log(format!("no thread for {workflow}: {why}; its completion goes to its message")))
            .ok(),
        _ => None,
    };
    // The run's message: edited while the token is valid; after, posted in the channel, a new
    // message that carries the ping itself; not at all when the thread gets the completion.
    let update_pings = user.is_some() && !token_valid && thread.is_none();
    if token_valid || thread.is_none() {
        let update = match user.filter(|_| update_pings) {
            Some(user) => message.clone().mention(user),
            None => message.clone(),
        };
        deliver(ports, &to, &update).await?;
    }
    let Some(user) = user.filter(|_| !update_pings) else { return Ok(()) };
    // The ping: in the thread, else a follow-up with the interaction token.
    let sent = match &thread {
        Some(thread) => ports.discord().post_to_channel(thread, &message.mention(user)).await,
        None => {
            let ping = Message::new(message.content.unwrap_or_default()).mention(user);
            ports.discord().follow_up(&to.application_id, &to.token, &ping).await
        }
    };
    sent.map_err(|e| format!("could not tell the requester of {workflow}: {e}"))
}

/// The run's thread: on its message while the token can read the message's id, else in its
/// channel.
async fn thread(ports: &impl Ports, to: &Recipient, workflow: &str, token_valid: bool) -> Result<String, String> {
    let channel = to.channel_id.as_deref().ok_or("the run names no channel")?;
    let message = match token_valid {
        true => Some(snowflake(ports.discord().original_message_id(&to.application_id, &to.token).await?)?),
        false => None,
    };
    snowflake(ports.discord().start_thread(channel, message.as_deref(), &truncate(workflow, MAX_THREAD_NAME)).await?)
}

/// An id from Discord's answer, which goes into a URL path with the bot token: a snowflake only.
fn snowflake(id: String) -> Result<String, String> {
    match is_snowflake(&id) {
        true => Ok(id),
        false => Err("Discord answered an id that is not a snowflake".to_owned()),
    }
}

/// A Refresh of a finished run shows whom it was for: the requester its labels name (an update
/// notifies no one; the completion above did).
pub fn mention_requester(message: Message, workflow: &Workflow) -> Message {
    match workflow.metadata.labels.user_id.as_deref().filter(|u| is_snowflake(u) && workflow.is_finished()) {
        Some(user) => message.mention(user),
        None => message,
    }
}

#[cfg(test)]
mod tests;

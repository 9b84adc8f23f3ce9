//! How a use case answers an interaction: at once, or with a deferred response and work to do
//! after it (Discord waits 3 seconds for the first, 15 minutes for the rest).

use crate::discord::{Interaction, InteractionResponse, Message};
use crate::ports::{Discord, Ports};

#[derive(Debug)]
pub enum Answer<W> {
    /// The whole answer.
    Now(InteractionResponse),
    /// A deferred response now; `work` produces the message that replaces it.
    Later { response: InteractionResponse, work: W },
}

impl<W> Answer<W> {
    /// An ephemeral message, now.
    pub fn tell(text: impl Into<String>) -> Self {
        Self::Now(InteractionResponse::ephemeral(text))
    }
}

/// Replaces the deferred response with `message`; a failure is logged (Discord's answers
/// never contain the token, and neither does the log line).
pub async fn follow_up(ports: &impl Ports, interaction: &Interaction, message: &Message) {
    if let Err(e) = ports.discord().edit_original(&interaction.application_id, &interaction.token, message).await {
        ports.log(format!("could not edit the reply to interaction {}: {e}", interaction.id));
    }
}

//! How a use case answers an interaction: at once, or with a deferred response and work to do
//! after it (Discord waits 3 seconds for the first, 15 minutes for the rest).

use crate::discord::InteractionResponse;

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

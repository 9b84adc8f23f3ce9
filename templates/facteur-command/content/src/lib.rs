//! `/{{project-name | snake_case}}`: {{project-description}}.
//!
//! Reached from the gateway by service chaining. Like every facteur command it checks the
//! request again, then the role map, before doing anything.

use facteur::audit;
use facteur::discord::{Interaction, InteractionResponse};
use facteur::policy::{Caller, Policy};
use facteur::spin::{misconfigured, receive, reply, variables};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

const COMMAND: &str = "{{project-name | snake_case}}";

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    let vars = variables();
    let (verifier, policy) = match vars.verifier().and_then(|v| Ok((v, vars.policy()?))) {
        Ok(config) => config,
        Err(e) => return misconfigured(COMMAND, &e),
    };
    let (_, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return refusal,
    };
    reply(&answer(&interaction, &policy))
}

fn answer(interaction: &Interaction, policy: &Policy) -> InteractionResponse {
    let decision = policy.decide(COMMAND, &Caller::of(interaction));
    let event = if decision.allowed { "allowed" } else { "denied" };
    println!("{}", audit::line(event, COMMAND, interaction, &decision));
    if !decision.allowed {
        return InteractionResponse::ephemeral(decision.reason.denial_message(COMMAND));
    }
    // The command's work goes here.
    InteractionResponse::ephemeral(format!("`/{COMMAND}` works."))
}

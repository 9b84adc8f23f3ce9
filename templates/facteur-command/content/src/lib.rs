//! `/{{project-name | snake_case}}`: {{project-description}}.
//!
//! Reached from the gateway by service chaining. Like every facteur command it checks the
//! request again, then the role map (audited), before doing anything.

use facteur::command;
use facteur::discord::{Interaction, InteractionResponse};
use facteur::spin::{Response, Stdout, component, misconfigured, receive, reply, respond, variables};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

const COMMAND: &str = "{{project-name | snake_case}}";

// Answers through the outparam (`facteur::spin::respond`, which says why).
#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    respond(out, answer_request(req).await).await
}

async fn answer_request(req: IncomingRequest) -> Response {
    component(COMMAND);
    let vars = variables();
    let (verifier, policy) = match vars.verifier().and_then(|v| Ok((v, vars.policy()?))) {
        Ok(config) => config,
        Err(e) => return misconfigured(COMMAND, &e),
    };
    let (_, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return refusal,
    };
    let answer = match command::authorize(&Stdout, &policy, COMMAND, &interaction) {
        Ok(()) => answer(&interaction),
        Err(denial) => InteractionResponse::ephemeral(denial),
    };
    reply(&answer)
}

/// The command's work goes here.
fn answer(_interaction: &Interaction) -> InteractionResponse {
    InteractionResponse::ephemeral(format!("`/{COMMAND}` works."))
}

//! `/help`: lists the commands the invoking member may run here, by the same policy that
//! guards the commands themselves, with each command's description from the catalog.
//! Served on a private route, reached from the gateway.

use facteur::catalog::Catalog;
use facteur::command;
use facteur::discord::{Interaction, InteractionResponse};
use facteur::policy::{Caller, Policy};
use facteur::spin::{Response, Stdout, component, misconfigured, receive, reply, respond, variables};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

const COMMAND: &str = "help";

// Answers through the outparam (`facteur::spin::respond`, which says why).
#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    respond(out, answer(req).await).await
}

async fn answer(req: IncomingRequest) -> Response {
    component(COMMAND);
    let vars = variables();
    let config = vars.verifier().and_then(|v| Ok((v, vars.policy()?)));
    let (verifier, policy) = match config {
        Ok(config) => config,
        Err(e) => return misconfigured(COMMAND, &e),
    };
    let (_, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return refusal,
    };
    let answer = match command::authorize(&Stdout, &policy, COMMAND, &interaction) {
        Ok(()) => listing(&interaction, &policy, &Catalog::embedded()),
        Err(denial) => InteractionResponse::ephemeral(denial),
    };
    reply(&answer)
}

/// The commands the member may run (any of their subcommands counts).
fn listing(interaction: &Interaction, policy: &Policy, catalog: &Catalog) -> InteractionResponse {
    let caller = Caller::of(interaction);
    let allowed: Vec<String> = catalog
        .commands
        .iter()
        .filter(|command| {
            policy.decide(&command.name, &caller).allowed
                || command.subcommands.iter().any(|sub| policy.decide_action(&command.name, &sub.name, &caller).allowed)
        })
        .map(|command| format!("• `/{}` — {}", command.name, command.description))
        .collect();
    let text = if allowed.is_empty() {
        "You cannot run any facteur commands here.".to_owned()
    } else {
        format!("Commands you can run here:\n{}", allowed.join("\n"))
    };
    InteractionResponse::ephemeral(text)
}

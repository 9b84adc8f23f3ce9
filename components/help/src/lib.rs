//! `/help`: lists the commands the invoking member may run here, by the same policy that
//! guards the commands themselves, with each command's description from the catalog.
//! Served on a private route, reached from the gateway.

use facteur::audit;
use facteur::catalog::Catalog;
use facteur::discord::{Interaction, InteractionResponse};
use facteur::policy::{Caller, Policy};
use facteur::spin::{misconfigured, receive, reply, variables};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

const COMMAND: &str = "help";

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    let vars = variables();
    let config = vars.verifier().and_then(|v| Ok((v, vars.policy()?)));
    let (verifier, policy) = match config {
        Ok(config) => config,
        Err(e) => return misconfigured("help", &e),
    };
    let (_, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return refusal,
    };
    reply(&answer(&interaction, &policy, &Catalog::embedded()))
}

fn answer(interaction: &Interaction, policy: &Policy, catalog: &Catalog) -> InteractionResponse {
    let caller = Caller::of(interaction);
    let decision = policy.decide(COMMAND, &caller);
    let event = if decision.allowed { "allowed" } else { "denied" };
    println!("{}", audit::line(event, COMMAND, interaction, &decision));
    if !decision.allowed {
        return InteractionResponse::ephemeral(decision.reason.denial_message(COMMAND));
    }
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

//! `interactions`: the only public route for Discord.
//!
//! It does the cheap, common work once (method, size, signature, JSON, PING) and hands the
//! untouched request to the command's component by service chaining. Whatever goes wrong
//! after the request is admitted, the member gets an ephemeral answer, never an error page.

use facteur::catalog::Catalog;
use facteur::discord::{InteractionResponse, InteractionType};
use facteur::routing::{Target, route};
use facteur::spin::{misconfigured, receive, reply, variables};
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    let vars = variables();
    let verifier = match vars.verifier() {
        Ok(verifier) => verifier,
        Err(e) => return misconfigured("interactions", &e),
    };
    if vars.uses_dev_key() {
        eprintln!(
            "interactions: WARNING: discord_public_key is the public development key; anyone can sign requests. Set your application's key."
        );
    }
    let (request, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return refusal,
    };
    let catalog = Catalog::embedded();
    match route(&catalog, &interaction) {
        Target::Pong => reply(&InteractionResponse::pong()),
        Target::Unknown { command } => {
            eprintln!("interactions: no component serves `{command}` (interaction {})", interaction.id);
            // Discord accepts only choices (type 8) in answer to autocomplete.
            if interaction.kind == InteractionType::Autocomplete {
                return reply(&InteractionResponse::autocomplete([]));
            }
            reply(&InteractionResponse::ephemeral(format!("Unknown command `/{command}`.")))
        }
        Target::Unroutable(kind) => {
            eprintln!("interactions: cannot route interaction {} of type {}", interaction.id, u8::from(kind));
            reply(&InteractionResponse::ephemeral("facteur does not handle this kind of interaction."))
        }
        Target::Component { command, component } => match request.forward(component).await {
            Ok(response) if (200..300).contains(response.status()) => response,
            failure => {
                let cause = match failure {
                    Ok(response) => format!("status {}", response.status()),
                    Err(e) => e.to_string(),
                };
                eprintln!(
                    "interactions: component `{component}` failed for `{command}` (interaction {}): {cause}",
                    interaction.id
                );
                reply(&InteractionResponse::ephemeral(format!(
                    "`/{command}` is unavailable right now. Please try again in a moment."
                )))
            }
        },
    }
}

//! `interactions`: the only public route for Discord.
//!
//! It checks what needs no signature (method, size, the development key's origin, JSON),
//! routes by command name or `custom_id` prefix, and hands the untouched request to the
//! command's component by service chaining; that component verifies the signature (each request
//! is verified once, by the component that acts on it) and its refusals pass through. What the
//! gateway answers itself (PING, unknown commands) it verifies first. Whatever goes wrong after
//! a request is admitted, the member gets an ephemeral answer, never an error page.

use facteur::audit::Level;
use facteur::catalog::Catalog;
use facteur::discord::{InteractionResponse, InteractionType};
use facteur::routing::{Target, route};
use facteur::spin::{Response, component, log, misconfigured, receive_unverified, reject, reply, respond, variables};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

// Answers through the outparam (`facteur::spin::respond`, which says why).
#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    respond(out, answer(req).await).await
}

async fn answer(req: IncomingRequest) -> Response {
    component("interactions");
    let vars = variables();
    let verifier = match vars.verifier() {
        Ok(verifier) => verifier,
        Err(e) => return misconfigured("interactions", &e),
    };
    let (request, interaction) = match receive_unverified(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => {
            log(Level::Info, "request_refused", &format!("refused a request: {}", refusal.status));
            return refusal;
        }
    };
    let catalog = Catalog::embedded();
    let target = route(&catalog, &interaction);
    if !matches!(target, Target::Component { .. })
        && let Err(refusal) = request.verify(&verifier)
    {
        return reject(&refusal);
    }
    match target {
        Target::Pong => reply(&InteractionResponse::pong()),
        Target::Unknown { command } => {
            log(Level::Warn, "unknown_command", &format!("no component serves `{command}`"));
            // Discord accepts only choices (type 8) in answer to autocomplete.
            if interaction.kind == InteractionType::Autocomplete {
                return reply(&InteractionResponse::autocomplete([]));
            }
            reply(&InteractionResponse::ephemeral(format!("Unknown command `/{command}`.")))
        }
        Target::Unroutable(kind) => {
            log(Level::Warn, "unroutable", &format!("cannot route an interaction of type {}", u8::from(kind)));
            reply(&InteractionResponse::ephemeral("facteur does not handle this kind of interaction."))
        }
        Target::Component { command, component } => match request.forward(component).await {
            // An answer, or the component's own refusal of the request (a bad signature: 401).
            Ok(response) if (200..300).contains(&response.status) || response.status == 401 => response,
            failure => {
                let cause = match failure {
                    Ok(response) => format!("status {}", response.status),
                    Err(e) => e,
                };
                log(
                    Level::Error,
                    "component_failed",
                    &format!("component `{component}` failed for `{command}`: {cause}"),
                );
                reply(&InteractionResponse::ephemeral(format!(
                    "`/{command}` is unavailable right now. Please try again in a moment."
                )))
            }
        },
    }
}

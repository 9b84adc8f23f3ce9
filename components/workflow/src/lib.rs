//! `/workflow`: follow and control runs without leaving Discord: `status`, `logs`, `cancel`,
//! `retry`, `list`, autocomplete of run names, and the buttons on facteur's messages. The rules
//! are `facteur::runs`; this is the wiring.

use facteur::config::{ArgoSettings, ConfigError};
use facteur::runs::{self, RunSettings};
use facteur::spin::{SpinPorts, misconfigured, receive, respond, serve, variables};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let vars = variables();
    let config = (|| {
        let settings = RunSettings {
            policy: vars.policy()?,
            // What a member asks of Argo is asked with their role's identity (`role_identities`).
            argo: ArgoSettings { identities: vars.identities([])?, ..vars.argo()? },
            owner_only: vars.owner_only_actions()?,
            history_ttl: vars.run_history_ttl_secs()?,
        };
        Ok::<_, ConfigError>((vars.verifier()?, settings, vars.discord()?))
    })();
    let (verifier, settings, discord) = match config {
        Ok(config) => config,
        Err(e) => return respond(out, misconfigured("workflow", &e)).await,
    };
    let (_, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return respond(out, refusal).await,
    };
    let ports = SpinPorts::new("workflow", settings.argo.clone(), discord);
    let answer = runs::answer(&ports, &settings, &interaction).await;
    serve(out, &ports, &interaction, answer, async |work| runs::perform(&ports, &settings, &interaction, work).await)
        .await
}

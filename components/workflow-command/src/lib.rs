//! The generic workflow command: every catalog command whose job is "submit WorkflowTemplate
//! T with these options as parameters". Several `[component.*]` entries share this `.wasm`;
//! each names its command with the `command` variable.
//!
//! Within Discord's 3 seconds: the request checked again, then `facteur::command::answer`
//! (role map, options; a refusal, autocomplete, a deferred response, or a request for approval
//! and the clicks that decide it). After the response: the submission, and the edited reply.

use facteur::catalog::Catalog;
use facteur::command::{self, CommandSettings};
use facteur::config::{ArgoSettings, ConfigError};
use facteur::spin::{SpinPorts, misconfigured, receive, respond, serve, variables};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let vars = variables();
    let catalog = Catalog::embedded();
    let name = match vars.command() {
        Ok(name) => name,
        Err(e) => return respond(out, misconfigured("workflow-command", &e)).await,
    };
    let Some(command) = catalog.command(&name).filter(|c| c.workflow.is_some()) else {
        let error = format!("variable `command`: `{name}` is not a workflow command of the catalog");
        return respond(out, misconfigured("workflow-command", &error)).await;
    };
    let config = (|| {
        let settings = CommandSettings {
            policy: vars.policy()?,
            argo: ArgoSettings { identities: vars.identities([command])?, ..vars.argo()? },
            history_ttl: vars.run_history_ttl_secs()?,
            trace: Default::default(),
        };
        Ok::<_, ConfigError>((vars.verifier()?, settings, vars.discord()?))
    })();
    let (verifier, settings, discord) = match config {
        Ok(config) => config,
        Err(e) => return respond(out, misconfigured("workflow-command", &e)).await,
    };
    let (request, interaction) = match receive(req, &verifier).await {
        Ok(received) => received,
        Err(refusal) => return respond(out, refusal).await,
    };
    // The request's trace, recorded on the workflow.
    let settings = CommandSettings { trace: request.trace, ..settings };
    let ports = SpinPorts::new("workflow-command", settings.argo.clone(), discord);
    // Lines name the command's component (spin.toml names each after its command).
    facteur::spin::component(&name);
    let answer = command::answer(&ports, &settings, command, &interaction).await;
    serve(out, &ports, &interaction, answer, async |work| {
        command::perform(&ports, &settings, command, &interaction, work).await
    })
    .await
}

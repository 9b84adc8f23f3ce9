use super::*;
use std::collections::HashMap;

fn vars(pairs: &[(&str, &str)]) -> Variables<impl Fn(&str) -> Option<String>> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Variables(move |name: &str| map.get(name).cloned())
}

#[test]
fn the_bridge_checks_its_secret_unless_told_the_network_does() {
    let redis = ("redis_host", "127.0.0.1:6379");
    let bridge = |pairs: &[(&str, &str)]| vars(pairs).bridge(Kind::Command);
    let channel = ("events_channel", "facteur.events");
    assert_eq!(bridge(&[redis, channel, ("bridge_secret", "s")]).unwrap().secret.as_deref(), Some("s"));
    assert_eq!(
        bridge(&[redis, channel, ("bridge_auth", "secret"), ("bridge_secret", "s")]).unwrap().secret.as_deref(),
        Some("s")
    );
    assert_eq!(bridge(&[redis, channel]), Err(ConfigError::Missing("bridge_secret")));
    assert_eq!(bridge(&[redis, channel, ("bridge_auth", "network")]).unwrap().secret, None);
    assert_eq!(
        bridge(&[redis, channel, ("bridge_auth", "none")]).unwrap_err().to_string(),
        "variable `bridge_auth`: expected `secret` or `network`, got `none`"
    );
}

#[test]
fn the_lifecycle_route_has_its_own_secret_auth_and_channel() {
    let redis = ("redis_host", "127.0.0.1:6379");
    let commands = [redis, ("bridge_secret", "commands-secret"), ("events_channel", "facteur.events")];
    // The commands' secret and channel never serve the lifecycle route.
    assert_eq!(vars(&commands).bridge(Kind::Lifecycle), Err(ConfigError::Missing("lifecycle_secret")));
    let lifecycle = vars(&[redis, ("lifecycle_secret", "l"), ("lifecycle_channel", "facteur.lifecycle")])
        .bridge(Kind::Lifecycle)
        .unwrap();
    assert_eq!(
        (lifecycle.kind, lifecycle.secret.as_deref(), lifecycle.channel.as_str()),
        (Kind::Lifecycle, Some("l"), "facteur.lifecycle")
    );
    let network = vars(&[redis, ("lifecycle_auth", "network"), ("lifecycle_channel", "c")]).bridge(Kind::Lifecycle);
    assert_eq!(network.unwrap().secret, None);
    assert_eq!(
        vars(&[redis, ("lifecycle_secret", "l")]).bridge(Kind::Lifecycle),
        Err(ConfigError::Missing("lifecycle_channel"))
    );
    let debug = format!("{lifecycle:?}");
    assert!(!debug.contains("\"l\"") && debug.contains("checks_secret: true"), "{debug}");
}

#[test]
fn accepts_names_the_kind_of_a_bridge_or_worker() {
    assert_eq!(vars(&[("accepts", "commands")]).accepts(), Ok(Kind::Command));
    assert_eq!(vars(&[("accepts", "lifecycle")]).accepts(), Ok(Kind::Lifecycle));
    assert_eq!(vars(&[]).accepts(), Err(ConfigError::Missing("accepts")));
    assert_eq!(
        vars(&[("accepts", "both")]).accepts().unwrap_err().to_string(),
        "variable `accepts`: expected `commands` or `lifecycle`, got `both`"
    );
}

#[test]
fn the_event_age_limit_defaults_to_the_token_lifetime() {
    assert_eq!(vars(&[]).event_max_age_secs(), Ok(900));
    assert_eq!(vars(&[("event_max_age_secs", "3600")]).event_max_age_secs(), Ok(3600));
    assert_eq!(
        vars(&[("event_max_age_secs", "0")]).event_max_age_secs().unwrap_err().to_string(),
        "variable `event_max_age_secs`: must be at least 1 second"
    );
    assert!(vars(&[("event_max_age_secs", "15m")]).event_max_age_secs().is_err());
}

#[test]
fn the_queue_url_is_composed_from_host_and_password() {
    let queue = |pairs: &[(&str, &str)]| {
        let mut pairs = pairs.to_vec();
        pairs.push(("bridge_auth", "network"));
        vars(&pairs).bridge(Kind::Command).map(|b| (b.redis_url, b.channel))
    };
    let channel = ("events_channel", "facteur.events");
    assert_eq!(
        queue(&[("redis_host", "127.0.0.1:6379"), ("redis_password", ""), channel]),
        Ok(("redis://127.0.0.1:6379".to_owned(), "facteur.events".to_owned()))
    );
    assert_eq!(
        queue(&[("redis_host", "facteur-redis.facteur.svc.cluster.local:6379"), ("redis_password", "a1-b2"), channel])
            .unwrap()
            .0,
        "redis://:a1-b2@facteur-redis.facteur.svc.cluster.local:6379"
    );
    assert_eq!(queue(&[channel]), Err(ConfigError::Missing("redis_host")));
    for host in ["redis://127.0.0.1:6379", "u:p@h:1", ":6379", "h/0"] {
        let error = queue(&[("redis_host", host), channel]).unwrap_err().to_string();
        assert!(error.starts_with("variable `redis_host`"), "{host}: {error}");
    }
    let error = queue(&[("redis_host", "h:1"), ("redis_password", "p@ss/word"), channel]).unwrap_err();
    assert!(error.to_string().starts_with("variable `redis_password`"), "{error}");
    assert!(!error.to_string().contains("p@ss"), "the password is never echoed: {error}");
}

#[test]
fn dev_public_key_matches_dev_seed() {
    assert_eq!(crate::signature::SigningKey::from_seed(DEV_SEED).public_key_hex(), DEV_PUBLIC_KEY);
}

#[test]
fn verifier_reads_key_and_window() {
    let v = vars(&[(var::DISCORD_PUBLIC_KEY, DEV_PUBLIC_KEY), (var::SIGNATURE_TOLERANCE_SECS, "60")]);
    assert_eq!(v.verifier().unwrap().public_key_hex(), DEV_PUBLIC_KEY);
    assert!(v.uses_dev_key());
}

#[test]
fn errors_name_the_variable() {
    assert_eq!(vars(&[]).verifier().unwrap_err(), ConfigError::Missing("discord_public_key"));
    assert_eq!(
        vars(&[(var::DISCORD_PUBLIC_KEY, "  ")]).verifier().unwrap_err(),
        ConfigError::Missing("discord_public_key")
    );
    assert_eq!(
        vars(&[(var::DISCORD_PUBLIC_KEY, "xyz")]).verifier().unwrap_err().to_string(),
        "variable `discord_public_key`: public key is not hex"
    );
    assert_eq!(
        vars(&[(var::DISCORD_PUBLIC_KEY, DEV_PUBLIC_KEY), (var::SIGNATURE_TOLERANCE_SECS, "5m")])
            .verifier()
            .unwrap_err()
            .to_string(),
        "variable `signature_tolerance_secs`: expected whole seconds, got `5m`"
    );
    assert_eq!(
        vars(&[(var::ROLE_MAP, r#"{"plan": []}"#)]).policy().unwrap_err().to_string(),
        "variable `role_map`: role map entry `plan` must list at least one role"
    );
    assert_eq!(
        vars(&[(var::ALLOW_DMS, "yes")]).policy().unwrap_err().to_string(),
        "variable `allow_dms`: expected `true` or `false`, got `yes`"
    );
    assert_eq!(
        vars(&[(var::UNLISTED_COMMANDS, "maybe")]).policy().unwrap_err().to_string(),
        "variable `unlisted_commands`: expected `deny` or `allow`, got `maybe`"
    );
    assert_eq!(
        vars(&[(var::GUILD_ALLOWLIST, "123, abc")]).policy().unwrap_err().to_string(),
        "variable `guild_allowlist`: `abc` is not a snowflake id"
    );
    assert_eq!(
        vars(&[(var::ARGO_SERVER_URL, "https://argo/api"), (var::ARGO_NAMESPACE, "argo")])
            .argo()
            .unwrap_err()
            .to_string(),
        "variable `argo_server_url`: expected `http(s)://host[:port]` without a path, got `https://argo/api`"
    );
    assert_eq!(
        vars(&[(var::ARGO_SERVER_URL, "http://a:1")]).argo().unwrap_err(),
        ConfigError::Missing("argo_namespace")
    );
    assert_eq!(vars(&[]).command().unwrap_err(), ConfigError::Missing("command"));
}

#[test]
fn argo_and_discord_settings() {
    let v = vars(&[
        (var::ARGO_SERVER_URL, "https://argo.example:2746/"),
        (var::ARGO_TOKEN, "secret"),
        (var::ARGO_NAMESPACE, "workflows"),
        (var::ARGO_TIMEOUT_SECS, "3"),
        (var::DISCORD_API_URL, "http://127.0.0.1:9999"),
        (var::DISCORD_BOT_TOKEN, "bot-secret"),
    ]);
    let argo = v.argo().unwrap();
    let shown = format!("{argo:?} {:?}", v.discord().unwrap());
    assert!(!shown.contains("secret") && shown.contains("has_bot_token: true"), "no token in Debug: {shown}");
    assert_eq!(argo.server_url, "https://argo.example:2746");
    assert_eq!(argo.ui_url, "https://argo.example:2746", "the UI defaults to the server");
    assert_eq!(argo.authorization.as_deref(), Some("Bearer secret"));
    assert_eq!((argo.namespace.as_str(), argo.timeout_secs, argo.service_account), ("workflows", 3, None));
    assert_eq!(v.discord().unwrap().api_url, "http://127.0.0.1:9999");
    assert_eq!(v.run_history_ttl_secs().unwrap(), 604800);
}

#[test]
fn policy_defaults_deny() {
    let p = vars(&[]).policy().unwrap();
    assert_eq!(p, Policy::default());
    assert_eq!(p.unlisted, Unlisted::Deny);
    assert!(!p.allow_dms);
}

#[test]
fn policy_reads_every_switch() {
    let p = vars(&[
        (var::ROLE_MAP, r#"{"plan": ["12345678901234567"]}"#),
        (var::UNLISTED_COMMANDS, "allow"),
        (var::ALLOW_DMS, "true"),
        (var::GUILD_ALLOWLIST, "1, 2"),
        (var::CHANNEL_ALLOWLIST, ""),
    ])
    .policy()
    .unwrap();
    assert_eq!(p.unlisted, Unlisted::Allow);
    assert!(p.allow_dms);
    assert_eq!(p.guilds, Some(["1".to_owned(), "2".to_owned()].into()));
    assert_eq!(p.channels, None, "empty means no allowlist");
    assert!(p.role_map.roles_for("plan").is_some());
}

#[test]
fn identities_read_the_token_variables_they_name() {
    let role = "130000000000000001";
    let map = format!(r#"{{"{role}": {{"service_account": "deployer", "argo_token": "argo_token_deployers"}}}}"#);
    let catalog = crate::catalog::Catalog::embedded();
    let plan = catalog.command("plan").unwrap();
    let read = vars(&[("role_identities", &map), ("argo_token_deployers", "dep-token")]).identities([plan]).unwrap();
    let (granting, identity) = &read.roles[0];
    assert_eq!(granting, role);
    assert_eq!(identity.service_account.as_deref(), Some("deployer"));
    assert_eq!(identity.authorization.as_deref(), Some("Bearer dep-token"));
    assert_eq!(
        vars(&[("role_identities", &map)]).identities([plan]).unwrap_err().to_string(),
        "variable `argo_token_deployers` (named by role_identities) is not set for this component"
    );
    let bad = vars(&[("role_identities", r#"{"deployers": {}}"#)]).identities([plan]).unwrap_err();
    assert!(bad.to_string().starts_with("variable `role_identities`: `deployers` is not a role snowflake"), "{bad}");
    assert_eq!(vars(&[]).identities([plan]).unwrap(), crate::identities::Identities::default());
}

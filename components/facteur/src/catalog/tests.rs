use super::*;
use serde_json::json;

use crate::discord::Interaction;

fn interaction(name: &str, options: serde_json::Value) -> Interaction {
    serde_json::from_value(json!({
        "id": "1", "application_id": "2", "type": 2, "token": "t",
        "member": {"user": {"id": "3", "username": "u"}, "roles": []},
        "data": {"name": name, "options": options}
    }))
    .unwrap()
}

fn string(name: &str, value: &str) -> serde_json::Value {
    json!({"name": name, "type": 3, "value": value})
}

#[test]
fn component_ids() {
    assert!(is_component_id("workflow-plan"));
    assert!(!is_component_id("Plan") && !is_component_id("my_cmd") && !is_component_id("1abc") && !is_component_id(""));
}

#[test]
fn the_compiled_catalog_is_the_file() {
    assert_eq!(Catalog::embedded(), Catalog::parse(EMBEDDED).unwrap());
}

#[test]
fn embedded_catalog_is_valid_and_ships_the_documented_commands() {
    let catalog = Catalog::embedded();
    let names: Vec<&str> = catalog.commands.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["help", "plan", "implement", "review", "dispatch", "release", "workflow"]);
    let required = |c: &str| -> Vec<String> {
        catalog.command(c).unwrap().options.iter().filter(|o| o.required).map(|o| o.name.clone()).collect()
    };
    assert_eq!(required("plan"), ["objective"]);
    assert_eq!(required("implement"), ["project", "branch"]);
    assert_eq!(required("review"), ["project", "artifact"]);
}

#[test]
fn plan_maps_options_to_parameters_with_action_first() {
    let catalog = Catalog::embedded();
    let plan = catalog.command("plan").unwrap();
    let s = plan
        .submission(&interaction("plan", json!([string("objective", "Ship the bot"), string("project", "lab")])))
        .unwrap();
    assert_eq!(s.template, "facteur-dispatch");
    assert_eq!(
        s.parameters,
        [
            ("action".into(), "plan".into()),
            ("objective".into(), "Ship the bot".into()),
            ("project".into(), "lab".into())
        ]
    );
    assert!(!s.dry_run);
}

#[test]
fn empty_optional_values_are_dropped_and_dry_run_is_read() {
    let catalog = Catalog::embedded();
    let plan = catalog.command("plan").unwrap();
    let s = plan
        .submission(&interaction(
            "plan",
            json!([string("objective", "x y z"), string("project", "  "), {"name": "dry_run", "type": 5, "value": true}]),
        ))
        .unwrap();
    assert_eq!(s.parameters, [("action".into(), "plan".into()), ("objective".into(), "x y z".into())]);
    assert!(s.dry_run);
}

#[test]
fn validation_errors_are_precise() {
    let catalog = Catalog::embedded();
    let check = |name: &str, options: serde_json::Value| {
        catalog.command(name).unwrap().submission(&interaction(name, options)).unwrap_err().0
    };
    assert_eq!(check("plan", json!([])), "`objective` is required.");
    assert_eq!(check("plan", json!([string("objective", "ab")])), "`objective` must be at least 3 characters.");
    assert_eq!(
        check("plan", json!([string("objective", &"x".repeat(4001))])),
        "`objective` must be at most 4000 characters (got 4001)."
    );
    assert_eq!(
        check("plan", json!([string("objective", "abc"), string("project", "a b")])),
        "`project` has an invalid format (expected `^[A-Za-z0-9._/-]+$`)."
    );
    assert_eq!(
        check("plan", json!([string("objective", "abc"), string("nope", "1")])),
        "`/plan` has no option `nope`."
    );
    assert_eq!(check("plan", json!([{"name": "objective", "type": 4, "value": 3}])), "`objective` must be a text.");
    assert_eq!(
        check("review", json!([string("project", "p"), string("artifact", "a"), string("deadline", "next week")])),
        "`deadline` has an invalid format (expected `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)."
    );
}

#[test]
fn dispatch_picks_the_template_and_parses_pairs() {
    let catalog = Catalog::embedded();
    let dispatch = catalog.command("dispatch").unwrap();
    let s = dispatch
        .submission(&interaction(
            "dispatch",
            json!([string("template", "facteur-dispatch"), string("parameters", r#"project=lab notes="two words""#)]),
        ))
        .unwrap();
    assert_eq!(s.template, "facteur-dispatch");
    assert_eq!(
        s.parameters,
        [("action".into(), "dispatch".into()), ("project".into(), "lab".into()), ("notes".into(), "two words".into())]
    );
    let denied = dispatch.submission(&interaction("dispatch", json!([string("template", "delete-prod")]))).unwrap_err();
    assert_eq!(denied.0, "`delete-prod` is not a template `/dispatch` may run. Allowed: `facteur-dispatch`.");
    let invalid = dispatch.submission(&interaction("dispatch", json!([string("template", "Bad_Name")]))).unwrap_err();
    assert_eq!(invalid.0, "`Bad_Name` is not a valid WorkflowTemplate name.");
    let twice = dispatch
        .submission(&interaction(
            "dispatch",
            json!([string("template", "facteur-dispatch"), string("parameters", "action=x")]),
        ))
        .unwrap_err();
    assert_eq!(twice.0, "parameter `action` is set by `/dispatch` and cannot be overridden.");
}

/// `/dispatch` with `parameters:` typed by the member, on the shipped catalog.
fn dispatch_pairs(pairs: &str) -> Result<Submission, InvalidInput> {
    let catalog = Catalog::embedded();
    let options = json!([string("template", "facteur-dispatch"), string("parameters", pairs)]);
    catalog.command("dispatch").unwrap().submission(&interaction("dispatch", options))
}

#[test]
fn dispatch_pairs_follow_the_templates_allowlist() {
    let refused = |pairs: &str| dispatch_pairs(pairs).unwrap_err().0;
    // A key the template's allowlist does not name, whatever its value.
    assert_eq!(
        refused("evil=$(id)"),
        "parameter `evil` is not allowed for template `facteur-dispatch`. \
         Allowed: `artifact`, `branch`, `deadline`, `notes`, `objective`, `project`, `ticket`."
    );
    assert_eq!(
        refused("project=lab env=staging"),
        "parameter `env` is not allowed for template `facteur-dispatch`. \
         Allowed: `artifact`, `branch`, `deadline`, `notes`, `objective`, `project`, `ticket`."
    );
    // A value its pattern refuses, named by the pattern's description.
    assert_eq!(
        refused("project=$(id)"),
        "parameter `project` has an invalid value (expected up to 100 letters, digits, `.`, `_`, `/` or `-`)."
    );
    assert_eq!(refused("deadline=soon"), "parameter `deadline` has an invalid value (expected a date as YYYY-MM-DD).");
    assert_eq!(
        refused("notes=\"two\nlines\""),
        "parameter `notes` has an invalid value (expected one line of up to 1000 characters)."
    );
    assert_eq!(
        refused("project="),
        "parameter `project` has an invalid value (expected up to 100 letters, digits, `.`, `_`, `/` or `-`)."
    );
    // Never a static parameter, and never twice.
    assert_eq!(refused("action=implement"), "parameter `action` is set by `/dispatch` and cannot be overridden.");
    assert_eq!(refused("project=a project=b"), "parameter `project` is set twice.");
    // Good pairs pass, after the static parameters.
    let s = dispatch_pairs(r#"objective="Ship the bot" project=lab/facteur deadline=2026-12-01"#).unwrap();
    assert_eq!(
        s.parameters,
        [
            ("action".into(), "dispatch".into()),
            ("objective".into(), "Ship the bot".into()),
            ("project".into(), "lab/facteur".into()),
            ("deadline".into(), "2026-12-01".into())
        ]
    );
}

/// A catalog of one command, `/run`, with a `project` option, free-form pairs and the given
/// allowlist for template `t`.
fn run_command(allowlist: serde_json::Value) -> Command {
    let catalog = json!({"commands": [{
        "name": "run", "description": "d", "component": "run",
        "options": [
            {"name": "pairs", "type": "string", "description": "d"},
            {"name": "project", "type": "string", "description": "d", "parameter": "repo", "pattern": "^[a-z]+$"}
        ],
        "workflow": {"template": "t", "parameters": {"mode": "fast"}, "parameters_option": "pairs", "template_parameters": {"t": allowlist}}
    }]});
    Catalog::parse(&catalog.to_string()).unwrap().commands.remove(0)
}

#[test]
fn pairs_never_override_an_options_parameter_and_patterns_match_whole_values() {
    let run = run_command(json!({"size": {"pattern": "[0-9]+"}}));
    let submit = |pairs: &str| run.submission(&interaction("run", json!([string("pairs", pairs)])));
    // The `project` option fills `repo` (with its own pattern): a pair may not, even when the
    // member leaves the option out.
    assert_eq!(submit("repo=../../etc").unwrap_err().0, "parameter `repo` is set by `/run` and cannot be overridden.");
    assert_eq!(submit("mode=slow").unwrap_err().0, "parameter `mode` is set by `/run` and cannot be overridden.");
    // An unanchored pattern still has to match the whole value; without a description, the
    // message shows the pattern.
    assert_eq!(submit("size=12;rm").unwrap_err().0, "parameter `size` has an invalid value (expected `[0-9]+`).");
    assert_eq!(submit("size=12").unwrap().parameters, [("mode".into(), "fast".into()), ("size".into(), "12".into())]);
    // An empty allowlist takes no pairs at all.
    let closed = run_command(json!({}));
    assert_eq!(
        closed.submission(&interaction("run", json!([string("pairs", "size=1")]))).unwrap_err().0,
        "parameter `size` is not allowed for template `t`. Allowed: none."
    );
    assert_eq!(closed.submission(&interaction("run", json!([string("pairs", "  ")]))).unwrap().parameters.len(), 1);
}

#[test]
fn subcommand_values_and_definitions() {
    let catalog = Catalog::embedded();
    let workflow = catalog.command("workflow").unwrap();
    let logs =
        |options: serde_json::Value| interaction("workflow", json!([{"name": "logs", "type": 1, "options": options}]));
    let values =
        workflow.values(&logs(json!([string("name", "plan-1"), {"name": "tail", "type": 4, "value": 20}]))).unwrap();
    assert_eq!(
        values,
        BTreeMap::from([("name".to_owned(), "plan-1".to_owned()), ("tail".to_owned(), "20".to_owned())])
    );
    assert_eq!(workflow.values(&logs(json!([]))).unwrap_err().0, "`name` is required.");
    assert_eq!(
        workflow.values(&logs(json!([string("name", "x"), {"name": "tail", "type": 4, "value": 501}]))).unwrap_err().0,
        "`tail` is out of range."
    );
    assert_eq!(workflow.values(&interaction("workflow", json!([]))).unwrap_err().0, "`/workflow` needs a subcommand.");
    let list = interaction("workflow", json!([{"name": "list", "type": 1, "options": [string("command", "nope")]}]));
    assert_eq!(
        workflow.values(&list).unwrap_err().0,
        "`command` must be one of: `plan`, `implement`, `review`, `dispatch`, `release`."
    );
    assert_eq!(
        workflow.action_keys().collect::<Vec<_>>(),
        [
            "workflow:status",
            "workflow:logs",
            "workflow:cancel",
            "workflow:retry",
            "workflow:suspend",
            "workflow:resume",
            "workflow:resubmit",
            "workflow:list"
        ]
    );

    let def = workflow.discord_definition(false);
    assert_eq!(def["options"][1]["type"], 1);
    assert_eq!(def["options"][1]["name"], "logs");
    assert_eq!(
        def["options"][1]["options"][1],
        json!({"type": 4, "name": "tail", "description": "How many lines (default 50)", "required": false, "min_value": 1.0, "max_value": 500.0})
    );
}

#[test]
fn pairs() {
    assert_eq!(parse_pairs("  a=1   =2").unwrap_err().0, "`` is not a valid parameter name.");
    assert_eq!(parse_pairs("a=1 b=").unwrap(), [("a".into(), "1".into()), ("b".into(), "".into())]);
    assert_eq!(parse_pairs("a=\"x=y z\"").unwrap(), [("a".into(), "x=y z".into())]);
    assert_eq!(parse_pairs("novalue").unwrap_err().0, "`novalue` is not a `key=value` pair.");
    assert_eq!(parse_pairs("a=\"open").unwrap_err().0, "the value of `a` has no closing quote.");
    assert_eq!(parse_pairs("b@d=1").unwrap_err().0, "`b@d` is not a valid parameter name.");
    assert!(parse_pairs("").unwrap().is_empty());
}

#[test]
fn catalog_errors_name_the_command() {
    let bad = |json: serde_json::Value| Catalog::parse(&json.to_string()).unwrap_err().to_string();
    let cmd = |extra: serde_json::Value| {
        let mut c = json!({"name": "x", "description": "d", "component": "x"});
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"commands": [c]})
    };
    assert_eq!(bad(cmd(json!({"component": "X"}))), "command `x`: component `X` is not a Spin component id");
    assert_eq!(
        bad(cmd(
            json!({"options": [{"name": "a", "type": "string", "description": "d"}, {"name": "b", "type": "string", "description": "d", "required": true}]})
        )),
        "command `x`: option `b`: required options must come first"
    );
    assert_eq!(
        bad(cmd(json!({"workflow": {"template": "t", "template_option": "o"}}))),
        "command `x`: workflow needs exactly one of `template` and `template_option`"
    );
    assert_eq!(
        bad(cmd(json!({"workflow": {"template": "t", "dry_run_option": "dry"}}))),
        "command `x`: workflow `dry_run_option` names no option of the command"
    );
    assert!(bad(json!({"commands": [], "extra": 1})).starts_with("command catalog is not valid JSON"));
    let option = |pattern: &str| json!([{"name": "a", "type": "string", "description": "d", "pattern": pattern}]);
    let invalid = bad(cmd(json!({"options": option("^(x$"), "workflow": {"template": "t"}})));
    assert!(invalid.starts_with("command `x`: option `a`: invalid pattern"), "{invalid}");
    assert_eq!(
        bad(cmd(json!({"options": option("^x$")}))),
        "command `x`: option `a`: `pattern` needs a command that runs a workflow"
    );
}

#[test]
fn catalogs_that_let_members_pick_templates_or_pass_pairs_need_allowlists() {
    let bad = |workflow: serde_json::Value| {
        let options = json!([
            {"name": "template", "type": "string", "description": "d"},
            {"name": "pairs", "type": "string", "description": "d"},
            {"name": "project", "type": "string", "description": "d"}
        ]);
        let catalog = json!({"commands": [{"name": "x", "description": "d", "component": "x", "options": options, "workflow": workflow}]});
        Catalog::parse(&catalog.to_string()).unwrap_err().to_string()
    };
    assert_eq!(
        bad(json!({"template_option": "template"})),
        "command `x`: workflow `template_option` needs `allowed_templates`: the templates members may pick"
    );
    assert_eq!(
        bad(json!({"template": "t", "parameters_option": "pairs"})),
        "command `x`: workflow `parameters_option` needs `template_parameters`: per template, the keys members \
         may pass and the pattern of each value"
    );
    assert_eq!(
        bad(
            json!({"template_option": "template", "allowed_templates": ["a", "b"], "parameters_option": "pairs", "template_parameters": {"a": {}}})
        ),
        "command `x`: workflow `template_parameters` has no entry for template `b` (`{}` for none)"
    );
    assert_eq!(
        bad(json!({"template": "a", "parameters_option": "pairs", "template_parameters": {"a": {}, "b": {}}})),
        "command `x`: workflow `template_parameters` names `b`, which the command cannot run"
    );
    assert_eq!(
        bad(json!({"template": "t", "template_parameters": {"t": {}}})),
        "command `x`: workflow `template_parameters` needs a `parameters_option`"
    );
    assert_eq!(
        bad(json!({"template": "t", "allowed_templates": ["t"]})),
        "command `x`: workflow `allowed_templates` (t) needs a `template_option`"
    );
    assert_eq!(
        bad(json!({"template_option": "template", "allowed_templates": []})),
        "command `x`: workflow `allowed_templates` is empty"
    );
    assert_eq!(
        bad(json!({"template_option": "template", "allowed_templates": ["ok", "Not_OK"]})),
        "command `x`: workflow template `Not_OK` is not a Kubernetes name"
    );
    assert_eq!(
        bad(json!({"template_option": "template", "allowed_templates": ["a", "a"]})),
        "command `x`: workflow `allowed_templates` lists `a` twice"
    );
    let with_rule = |key: &str, rule: serde_json::Value| {
        bad(
            json!({"template": "t", "parameters": {"action": "go"}, "parameters_option": "pairs", "template_parameters": {"t": {key: rule}}}),
        )
    };
    assert_eq!(
        with_rule("action", json!({"pattern": ".*"})),
        "command `x`: workflow `template_parameters` of `t`: `action` is a static parameter; pairs may not override it"
    );
    assert_eq!(
        with_rule("project", json!({"pattern": ".*"})),
        "command `x`: workflow `template_parameters` of `t`: `project` is the option `project`'s parameter; pairs may not override it"
    );
    assert!(
        with_rule("n", json!({"pattern": "(["}))
            .starts_with("command `x`: workflow `template_parameters` of `t`: `n`: invalid pattern")
    );
    assert_eq!(
        with_rule("b@d", json!({"pattern": ".*"})),
        "command `x`: workflow `template_parameters` of `t`: `b@d` is not a parameter name (letters, digits, `_`, `-`, `.`)"
    );
    assert_eq!(
        with_rule("n", json!({"pattern": ".*", "description": ""})),
        "command `x`: workflow `template_parameters` of `t`: `n`: `description` is empty"
    );
    assert!(with_rule("n", json!({"pattern": ".*", "colour": "red"})).starts_with("command catalog is not valid JSON"));
}

#[test]
fn discord_definitions_leave_out_facteur_fields() {
    let defs = Catalog::embedded().discord_definitions(false);
    let plan = &defs[1];
    assert_eq!(plan["name"], "plan");
    assert_eq!(plan["type"], 1);
    assert_eq!(
        plan["options"][0],
        json!({"type": 3, "name": "objective", "description": "What the plan should achieve", "required": true, "min_length": 3, "max_length": 4000})
    );
    assert_eq!(plan["options"][2]["type"], 5);
    assert!(plan.get("workflow").is_none() && plan.get("component").is_none());
    assert_eq!(defs[4]["options"][0]["autocomplete"], true);
}

#[test]
fn commands_are_offered_in_guilds_to_a_guild_installation_unless_the_catalog_says_otherwise() {
    let mut catalog = Catalog::embedded();
    let plan = catalog.commands.iter_mut().find(|c| c.name == "plan").unwrap();
    let def = plan.discord_definition(false);
    assert_eq!((&def["contexts"], &def["integration_types"]), (&json!([0]), &json!([0])));
    assert!(def.get("default_member_permissions").is_none(), "Discord's default: everyone");
    assert_eq!(plan.discord_definition(true)["contexts"], json!([0, 1]), "allow_dms: DMs with the bot too");
    plan.default_member_permissions = Some("8".into());
    plan.contexts = Some(vec![InteractionContext::Guild, InteractionContext::PrivateChannel]);
    plan.integration_types = Some(vec![IntegrationType::GuildInstall, IntegrationType::UserInstall]);
    let def = plan.discord_definition(true);
    assert_eq!(def["default_member_permissions"], 8, "an integer, as Discord's spec takes it");
    assert_eq!((&def["contexts"], &def["integration_types"]), (&json!([0, 2]), &json!([0, 1])));
}

/// One source of truth: what `schemas/facteur-commands.schema.json` accepts, the Rust model
/// accepts, and the other way round, over the shipped catalog and one mutation per rule.
/// Rules a JSON Schema cannot state are the model's alone, listed at the end.
#[test]
fn the_schema_and_the_model_agree() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../../schemas/facteur-commands.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let shipped: serde_json::Value = serde_json::from_str(EMBEDDED).unwrap();
    let plan = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut catalog = shipped.clone();
        edit(&mut catalog["commands"][1]);
        catalog
    };
    let dispatch = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut catalog = shipped.clone();
        assert_eq!(catalog["commands"][4]["name"], "dispatch");
        edit(&mut catalog["commands"][4]["workflow"]);
        catalog
    };
    let cases: Vec<(&str, serde_json::Value)> = vec![
        ("the shipped catalog", shipped.clone()),
        ("a limit of 0 runs", plan(&|c| c["workflow"]["limits"] = json!({"member": {"runs": 0, "per_secs": 60}}))),
        (
            "a window over a week",
            plan(&|c| c["workflow"]["limits"] = json!({"guild": {"runs": 1, "per_secs": 604801}})),
        ),
        ("a limit without its window", plan(&|c| c["workflow"]["limits"] = json!({"command": {"runs": 1}}))),
        ("a cap of 0 in flight", plan(&|c| c["workflow"]["limits"] = json!({"in_flight": {"member": 0}}))),
        (
            "a cap in flight of an unknown scope",
            plan(&|c| c["workflow"]["limits"] = json!({"in_flight": {"channel": 1}})),
        ),
        (
            "a limit of an unknown scope",
            plan(&|c| c["workflow"]["limits"] = json!({"channel": {"runs": 1, "per_secs": 1}})),
        ),
        (
            "a service account that is not a Kubernetes name",
            plan(&|c| c["workflow"]["service_account"] = "Deployer".into()),
        ),
        ("a token that is not a variable name", plan(&|c| c["workflow"]["argo_token"] = "argo-token".into())),
        ("an uppercase name", plan(&|c| c["name"] = "Plan".into())),
        ("a name of 33 characters", plan(&|c| c["name"] = "a".repeat(33).into())),
        ("an unknown field", plan(&|c| c["colour"] = "red".into())),
        ("permissions that are not a decimal bitfield", plan(&|c| c["default_member_permissions"] = "0x8".into())),
        ("permissions as a number", plan(&|c| c["default_member_permissions"] = 8.into())),
        ("an unknown context", plan(&|c| c["contexts"] = json!(["guild", "voice"]))),
        ("no context", plan(&|c| c["contexts"] = json!([]))),
        ("a context twice", plan(&|c| c["contexts"] = json!(["guild", "guild"]))),
        ("an unknown integration type", plan(&|c| c["integration_types"] = json!(["server_install"]))),
        ("an integration type twice", plan(&|c| c["integration_types"] = json!(["user_install", "user_install"]))),
        (
            "threads on a command without a workflow",
            plan(&|c| {
                c.as_object_mut().unwrap().remove("workflow");
                c["threads"] = true.into();
            }),
        ),
        ("an empty description", plan(&|c| c["description"] = "".into())),
        ("a description of 101 characters", plan(&|c| c["description"] = "d".repeat(101).into())),
        ("an unknown option type", plan(&|c| c["options"][0]["type"] = "float".into())),
        (
            "no component",
            plan(&|c| {
                c.as_object_mut().unwrap().remove("component");
            }),
        ),
        ("a component id with a dot", plan(&|c| c["component"] = "plan.v2".into())),
        (
            "a workflow without a template",
            plan(&|c| {
                c["workflow"].as_object_mut().unwrap().remove("template");
            }),
        ),
        (
            "an option without a description",
            plan(&|c| {
                c["options"][0].as_object_mut().unwrap().remove("description");
            }),
        ),
        (
            "26 choices",
            plan(&|c| {
                c["options"][1]["choices"] =
                    (0..26).map(|i| json!({"name": format!("c{i}"), "value": format!("c{i}")})).collect()
            }),
        ),
        ("a template that is not a Kubernetes name", plan(&|c| c["workflow"]["template"] = "Facteur_Dispatch".into())),
        (
            "allowed_templates without template_option",
            plan(&|c| c["workflow"]["allowed_templates"] = json!(["facteur-dispatch"])),
        ),
        (
            "template_parameters without parameters_option",
            plan(&|c| c["workflow"]["template_parameters"] = json!({"facteur-dispatch": {}})),
        ),
        (
            "a template_option without allowed_templates",
            dispatch(&|w| {
                w.as_object_mut().unwrap().remove("allowed_templates");
            }),
        ),
        ("an empty allowed_templates", dispatch(&|w| w["allowed_templates"] = json!([]))),
        (
            "an allowed template listed twice",
            dispatch(&|w| w["allowed_templates"] = json!(["facteur-dispatch", "facteur-dispatch"])),
        ),
        (
            "an allowed template that is not a Kubernetes name",
            dispatch(&|w| w["allowed_templates"] = json!(["Delete_Prod"])),
        ),
        (
            "a parameters_option without template_parameters",
            dispatch(&|w| {
                w.as_object_mut().unwrap().remove("template_parameters");
            }),
        ),
        (
            "an allowed key that is not a parameter name",
            dispatch(&|w| w["template_parameters"]["facteur-dispatch"]["b@d"] = json!({"pattern": ".*"})),
        ),
        (
            "a parameter rule without a pattern",
            dispatch(&|w| w["template_parameters"]["facteur-dispatch"]["x"] = json!({"description": "x"})),
        ),
        (
            "a parameter rule with an unknown field",
            dispatch(&|w| w["template_parameters"]["facteur-dispatch"]["x"] = json!({"pattern": ".*", "max": 3})),
        ),
        ("a source other than kafka", plan(&|c| c["sources"]["http"] = json!({}))),
        ("a source mapping with an unknown field", plan(&|c| c["sources"]["kafka"]["drop"] = json!([]))),
        ("a source name that is not a name", plan(&|c| c["sources"]["kafka"]["ignore"] = json!(["a b"]))),
        ("a source name ignored twice", plan(&|c| c["sources"]["kafka"]["ignore"] = json!(["x", "x"]))),
        (
            "a rename to something that is not a name",
            plan(&|c| c["sources"]["kafka"]["rename"]["x"] = "Objective".into()),
        ),
        (
            "sources on a command without a workflow",
            plan(&|c| {
                c.as_object_mut().unwrap().remove("workflow");
            }),
        ),
        ("an approval without approvers", plan(&|c| c["approval"] = json!({}))),
        ("an approval with an unknown field", plan(&|c| c["approval"] = json!({"approvers": "plan:approve", "n": 2}))),
        ("approvers that are not a role map key", plan(&|c| c["approval"] = json!({"approvers": "Plan Approvers"}))),
        (
            "an approval on a command without a workflow",
            plan(&|c| {
                c.as_object_mut().unwrap().remove("workflow");
                c["approval"] = json!({"approvers": "plan:approve"});
            }),
        ),
        (
            "a parameter rule with an empty description",
            dispatch(&|w| {
                w["template_parameters"]["facteur-dispatch"]["x"] = json!({"pattern": ".*", "description": ""})
            }),
        ),
    ];
    for (case, catalog) in &cases {
        let by_schema = validator.is_valid(catalog);
        let by_model = Catalog::parse(&catalog.to_string());
        assert_eq!(by_schema, by_model.is_ok(), "{case}: schema says {by_schema}, model says {by_model:?}");
        assert_eq!(by_schema, *case == "the shipped catalog", "{case}");
    }
    // The model's alone: a JSON Schema cannot see duplicates by name, compile a regex the way
    // regex-lite does, or relate one field to another (the templates a command may run to the
    // keys of its allowlists; an allowlist's keys to the static and the options' parameters).
    for (case, catalog) in [
        ("a name declared twice", {
            let mut c = shipped.clone();
            let dup = c["commands"][1].clone();
            c["commands"].as_array_mut().unwrap().push(dup);
            c
        }),
        ("an invalid pattern", plan(&|c| c["options"][1]["pattern"] = "([".into())),
        ("permissions beyond 2^54 - 1", plan(&|c| c["default_member_permissions"] = "18014398509481984".into())),
        ("a rename to a name that is not an option", plan(&|c| c["sources"]["kafka"]["rename"]["x"] = "notes".into())),
        ("a mapped name that is an option", plan(&|c| c["sources"]["kafka"]["json"] = json!(["objective"]))),
        ("a name both renamed and ignored", plan(&|c| c["sources"]["kafka"]["ignore"] = json!(["content"]))),
        (
            "an invalid parameter pattern",
            dispatch(&|w| w["template_parameters"]["facteur-dispatch"]["x"] = json!({"pattern": "(["})),
        ),
        (
            "an allowed template without its parameter allowlist",
            dispatch(&|w| w["allowed_templates"] = json!(["facteur-dispatch", "other"])),
        ),
        (
            "an allowlist for a template the command cannot run",
            dispatch(&|w| w["template_parameters"]["other"] = json!({})),
        ),
        (
            "an allowlist that overrides a static parameter",
            dispatch(&|w| w["template_parameters"]["facteur-dispatch"]["action"] = json!({"pattern": ".*"})),
        ),
        ("an allowlist that overrides an option's parameter", {
            let mut c = dispatch(&|w| w["template_parameters"]["facteur-dispatch"]["env"] = json!({"pattern": ".*"}));
            c["commands"][4]["options"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "env", "type": "string", "description": "d"}));
            c
        }),
    ] {
        assert!(validator.is_valid(&catalog), "{case}: the schema accepts it");
        assert!(Catalog::parse(&catalog.to_string()).is_err(), "{case}: the model refuses it");
    }
}

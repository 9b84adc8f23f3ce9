use super::*;
use serde_json::json;

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
    assert!(
        !is_component_id("Plan") && !is_component_id("my_cmd") && !is_component_id("1abc") && !is_component_id("")
    );
}

#[test]
fn the_compiled_catalog_is_the_file() {
    assert_eq!(Catalog::embedded(), Catalog::parse(EMBEDDED).unwrap());
}

#[test]
fn embedded_catalog_is_valid_and_ships_the_documented_commands() {
    let catalog = Catalog::embedded();
    let names: Vec<&str> = catalog.commands.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["help", "plan", "implement", "review", "dispatch", "workflow"]);
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
        check("plan", json!([string("objective", &"x".repeat(1001))])),
        "`objective` must be at most 1000 characters (got 1001)."
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
            json!([
                string("template", "facteur-dispatch"),
                string("parameters", r#"env=staging note="two words""#)
            ]),
        ))
        .unwrap();
    assert_eq!(s.template, "facteur-dispatch");
    assert_eq!(
        s.parameters,
        [
            ("action".into(), "dispatch".into()),
            ("env".into(), "staging".into()),
            ("note".into(), "two words".into())
        ]
    );
    let denied =
        dispatch.submission(&interaction("dispatch", json!([string("template", "delete-prod")]))).unwrap_err();
    assert_eq!(denied.0, "`delete-prod` is not a template `/dispatch` may run. Allowed: `facteur-dispatch`.");
    let invalid =
        dispatch.submission(&interaction("dispatch", json!([string("template", "Bad_Name")]))).unwrap_err();
    assert_eq!(invalid.0, "`Bad_Name` is not a valid WorkflowTemplate name.");
    let twice = dispatch
        .submission(&interaction(
            "dispatch",
            json!([string("template", "facteur-dispatch"), string("parameters", "action=x")]),
        ))
        .unwrap_err();
    assert_eq!(twice.0, "parameter `action` is set twice.");
}

#[test]
fn subcommand_values_and_definitions() {
    let catalog = Catalog::embedded();
    let workflow = catalog.command("workflow").unwrap();
    let logs = |options: serde_json::Value| {
        interaction("workflow", json!([{"name": "logs", "type": 1, "options": options}]))
    };
    let values = workflow
        .values(&logs(json!([string("name", "plan-1"), {"name": "tail", "type": 4, "value": 20}])))
        .unwrap();
    assert_eq!(
        values,
        BTreeMap::from([("name".to_owned(), "plan-1".to_owned()), ("tail".to_owned(), "20".to_owned())])
    );
    assert_eq!(workflow.values(&logs(json!([]))).unwrap_err().0, "`name` is required.");
    assert_eq!(
        workflow
            .values(&logs(json!([string("name", "x"), {"name": "tail", "type": 4, "value": 501}])))
            .unwrap_err()
            .0,
        "`tail` is out of range."
    );
    assert_eq!(
        workflow.values(&interaction("workflow", json!([]))).unwrap_err().0,
        "`/workflow` needs a subcommand."
    );
    let list =
        interaction("workflow", json!([{"name": "list", "type": 1, "options": [string("command", "nope")]}]));
    assert_eq!(
        workflow.values(&list).unwrap_err().0,
        "`command` must be one of: `plan`, `implement`, `review`, `dispatch`."
    );
    assert_eq!(
        workflow.action_keys().collect::<Vec<_>>(),
        ["workflow:status", "workflow:logs", "workflow:cancel", "workflow:retry", "workflow:list"]
    );

    let def = workflow.discord_definition();
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
fn discord_definitions_leave_out_facteur_fields() {
    let defs = Catalog::embedded().discord_definitions();
    let plan = &defs[1];
    assert_eq!(plan["name"], "plan");
    assert_eq!(plan["type"], 1);
    assert_eq!(
        plan["options"][0],
        json!({"type": 3, "name": "objective", "description": "What the plan should achieve", "required": true, "min_length": 3, "max_length": 1000})
    );
    assert_eq!(plan["options"][2]["type"], 5);
    assert!(plan.get("workflow").is_none() && plan.get("component").is_none());
    assert_eq!(defs[4]["options"][0]["autocomplete"], true);
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
    let cases: Vec<(&str, serde_json::Value)> = vec![
        ("the shipped catalog", shipped.clone()),
        ("an uppercase name", plan(&|c| c["name"] = "Plan".into())),
        ("a name of 33 characters", plan(&|c| c["name"] = "a".repeat(33).into())),
        ("an unknown field", plan(&|c| c["colour"] = "red".into())),
        ("an empty description", plan(&|c| c["description"] = "".into())),
        ("a description of 101 characters", plan(&|c| c["description"] = "d".repeat(101).into())),
        ("an unknown option type", plan(&|c| c["options"][0]["type"] = "float".into())),
        ("no component", plan(&|c| { c.as_object_mut().unwrap().remove("component"); })),
        ("a component id with a dot", plan(&|c| c["component"] = "plan.v2".into())),
        ("a workflow without a template", plan(&|c| { c["workflow"].as_object_mut().unwrap().remove("template"); })),
        ("an option without a description", plan(&|c| { c["options"][0].as_object_mut().unwrap().remove("description"); })),
        ("26 choices", plan(&|c| c["options"][1]["choices"] = (0..26).map(|i| json!({"name": format!("c{i}"), "value": format!("c{i}")})).collect())),
    ];
    for (case, catalog) in &cases {
        let by_schema = validator.is_valid(catalog);
        let by_model = Catalog::parse(&catalog.to_string());
        assert_eq!(by_schema, by_model.is_ok(), "{case}: schema says {by_schema}, model says {by_model:?}");
        assert_eq!(by_schema, *case == "the shipped catalog", "{case}");
    }
    // The model's alone: a JSON Schema cannot see duplicates by name, compile a regex the way
    // regex-lite does, or relate one field to another command's.
    for (case, catalog) in [
        ("a name declared twice", { let mut c = shipped.clone(); let dup = c["commands"][1].clone(); c["commands"].as_array_mut().unwrap().push(dup); c }),
        ("an invalid pattern", plan(&|c| c["options"][1]["pattern"] = "([".into())),
    ] {
        assert!(validator.is_valid(&catalog), "{case}: the schema accepts it");
        assert!(Catalog::parse(&catalog.to_string()).is_err(), "{case}: the model refuses it");
    }
}

//! Validates `config/commands.json` and writes it as Rust (`$OUT_DIR/catalog.rs`, the body of
//! `Catalog::embedded`): components get the catalog without parsing JSON on every request,
//! and a catalog that is not valid fails the build with the reason.

use std::collections::BTreeMap;

#[allow(dead_code)]
#[path = "src/catalog/model.rs"]
mod model;

use model::{Catalog, ChoiceSpec, Command, OptionKind, OptionSpec, Subcommand, WorkflowMapping};

const CATALOG: &str = "../../config/commands.json";

fn main() {
    println!("cargo::rerun-if-changed={CATALOG}");
    println!("cargo::rerun-if-changed=src/catalog/model.rs");
    let json = std::fs::read_to_string(CATALOG).unwrap_or_else(|e| panic!("reading {CATALOG}: {e}"));
    let catalog = Catalog::parse(&json).unwrap_or_else(|e| panic!("{CATALOG}: {e}"));
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalog.rs");
    std::fs::write(out, catalog.rust()).expect("writing the compiled catalog");
}

/// A Rust expression that builds the value. Struct literals name every field, so a field added
/// to the model and forgotten here fails to compile.
trait Rust {
    fn rust(&self) -> String;
}

impl Rust for String {
    fn rust(&self) -> String {
        format!("String::from({self:?})")
    }
}

impl Rust for bool {
    fn rust(&self) -> String {
        self.to_string()
    }
}

impl Rust for usize {
    fn rust(&self) -> String {
        format!("{self}usize")
    }
}

impl Rust for f64 {
    fn rust(&self) -> String {
        format!("{self:?}f64")
    }
}

impl<T: Rust> Rust for Option<T> {
    fn rust(&self) -> String {
        self.as_ref().map_or_else(|| "None".to_owned(), |v| format!("Some({})", v.rust()))
    }
}

impl<T: Rust> Rust for Vec<T> {
    fn rust(&self) -> String {
        let items: Vec<String> = self.iter().map(Rust::rust).collect();
        format!("vec![{}]", items.join(", "))
    }
}

impl Rust for BTreeMap<String, String> {
    fn rust(&self) -> String {
        let pairs: Vec<String> = self.iter().map(|(k, v)| format!("({}, {})", k.rust(), v.rust())).collect();
        format!("BTreeMap::from([{}])", pairs.join(", "))
    }
}

impl Rust for serde_json::Value {
    fn rust(&self) -> String {
        match self {
            serde_json::Value::String(s) => format!("serde_json::Value::String({})", s.rust()),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => format!("serde_json::Value::from({i}i64)"),
                None => format!("serde_json::Value::from({})", n.as_f64().unwrap_or_default().rust()),
            },
            serde_json::Value::Bool(b) => format!("serde_json::Value::Bool({b})"),
            other => panic!("{CATALOG}: choice values are strings or numbers, not {other}"),
        }
    }
}

impl Rust for OptionKind {
    fn rust(&self) -> String {
        format!("OptionKind::{self:?}")
    }
}

/// `Type { field: value, … }`.
fn literal(type_name: &str, fields: &[(&str, String)]) -> String {
    let fields: Vec<String> = fields.iter().map(|(name, value)| format!("{name}: {value}")).collect();
    format!("{type_name} {{ {} }}", fields.join(", "))
}

impl Rust for Catalog {
    fn rust(&self) -> String {
        literal("Catalog", &[("schema", self.schema.rust()), ("commands", self.commands.rust())])
    }
}

impl Rust for Command {
    fn rust(&self) -> String {
        literal(
            "Command",
            &[
                ("name", self.name.rust()),
                ("description", self.description.rust()),
                ("component", self.component.rust()),
                ("options", self.options.rust()),
                ("subcommands", self.subcommands.rust()),
                ("workflow", self.workflow.rust()),
            ],
        )
    }
}

impl Rust for Subcommand {
    fn rust(&self) -> String {
        literal(
            "Subcommand",
            &[("name", self.name.rust()), ("description", self.description.rust()), ("options", self.options.rust())],
        )
    }
}

impl Rust for OptionSpec {
    fn rust(&self) -> String {
        literal(
            "OptionSpec",
            &[
                ("name", self.name.rust()),
                ("kind", self.kind.rust()),
                ("description", self.description.rust()),
                ("required", self.required.rust()),
                ("choices", self.choices.rust()),
                ("autocomplete", self.autocomplete.rust()),
                ("min_length", self.min_length.rust()),
                ("max_length", self.max_length.rust()),
                ("min_value", self.min_value.rust()),
                ("max_value", self.max_value.rust()),
                ("pattern", self.pattern.rust()),
                ("parameter", self.parameter.rust()),
                ("default", self.default.rust()),
            ],
        )
    }
}

impl Rust for ChoiceSpec {
    fn rust(&self) -> String {
        literal("ChoiceSpec", &[("name", self.name.rust()), ("value", self.value.rust())])
    }
}

impl Rust for WorkflowMapping {
    fn rust(&self) -> String {
        literal(
            "WorkflowMapping",
            &[
                ("template", self.template.rust()),
                ("template_option", self.template_option.rust()),
                ("allowed_templates", self.allowed_templates.rust()),
                ("namespace", self.namespace.rust()),
                ("parameters", self.parameters.rust()),
                ("parameters_option", self.parameters_option.rust()),
                ("dry_run_option", self.dry_run_option.rust()),
                ("ephemeral", self.ephemeral.rust()),
            ],
        )
    }
}

//! Validates `config/commands.json` and writes it as Rust (`$OUT_DIR/catalog.rs`, the body of
//! `Catalog::embedded`): components get the catalog without parsing JSON on every request,
//! and a catalog that is not valid fails the build with the reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

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

impl Rust for Catalog {
    fn rust(&self) -> String {
        format!("Catalog {{ schema: {}, commands: {} }}", self.schema.rust(), self.commands.rust())
    }
}

impl Rust for Command {
    fn rust(&self) -> String {
        let mut s = String::from("Command {");
        let _ = write!(s, " name: {},", self.name.rust());
        let _ = write!(s, " description: {},", self.description.rust());
        let _ = write!(s, " component: {},", self.component.rust());
        let _ = write!(s, " options: {},", self.options.rust());
        let _ = write!(s, " subcommands: {},", self.subcommands.rust());
        let _ = write!(s, " workflow: {} }}", self.workflow.rust());
        s
    }
}

impl Rust for Subcommand {
    fn rust(&self) -> String {
        format!(
            "Subcommand {{ name: {}, description: {}, options: {} }}",
            self.name.rust(),
            self.description.rust(),
            self.options.rust()
        )
    }
}

impl Rust for OptionSpec {
    fn rust(&self) -> String {
        let mut s = String::from("OptionSpec {");
        let _ = write!(s, " name: {},", self.name.rust());
        let _ = write!(s, " kind: {},", self.kind.rust());
        let _ = write!(s, " description: {},", self.description.rust());
        let _ = write!(s, " required: {},", self.required.rust());
        let _ = write!(s, " choices: {},", self.choices.rust());
        let _ = write!(s, " autocomplete: {},", self.autocomplete.rust());
        let _ = write!(s, " min_length: {},", self.min_length.rust());
        let _ = write!(s, " max_length: {},", self.max_length.rust());
        let _ = write!(s, " min_value: {},", self.min_value.rust());
        let _ = write!(s, " max_value: {},", self.max_value.rust());
        let _ = write!(s, " pattern: {},", self.pattern.rust());
        let _ = write!(s, " parameter: {},", self.parameter.rust());
        let _ = write!(s, " default: {} }}", self.default.rust());
        s
    }
}

impl Rust for ChoiceSpec {
    fn rust(&self) -> String {
        format!("ChoiceSpec {{ name: {}, value: {} }}", self.name.rust(), self.value.rust())
    }
}

impl Rust for WorkflowMapping {
    fn rust(&self) -> String {
        let mut s = String::from("WorkflowMapping {");
        let _ = write!(s, " template: {},", self.template.rust());
        let _ = write!(s, " template_option: {},", self.template_option.rust());
        let _ = write!(s, " allowed_templates: {},", self.allowed_templates.rust());
        let _ = write!(s, " namespace: {},", self.namespace.rust());
        let _ = write!(s, " parameters: {},", self.parameters.rust());
        let _ = write!(s, " parameters_option: {},", self.parameters_option.rust());
        let _ = write!(s, " dry_run_option: {},", self.dry_run_option.rust());
        let _ = write!(s, " ephemeral: {} }}", self.ephemeral.rust());
        s
    }
}

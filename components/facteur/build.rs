//! Validates `config/commands.json`, with the `command.json` of every component dropped into
//! `components/` (`spin add -t facteur-command`), and writes the catalog as Rust
//! (`$OUT_DIR/catalog.rs`, the body of `Catalog::embedded`): components get the catalog without
//! parsing JSON on every request, and a catalog that is not valid fails the build with the reason.

use std::collections::BTreeMap;

#[allow(dead_code)]
#[path = "src/catalog/model.rs"]
mod model;
#[allow(dead_code)]
#[path = "src/catalog/pattern.rs"]
mod pattern;
#[path = "src/catalog/validate.rs"]
mod validate;

use model::{
    Approval, Catalog, ChoiceSpec, Command, InFlight, IntegrationType, InteractionContext, Limits, OptionKind,
    OptionSpec, ParameterRule, Rate, SourceMapping, Subcommand, WorkflowMapping,
};

const CATALOG: &str = "../../config/commands.json";
const COMPONENTS: &str = "..";

fn main() {
    println!("cargo::rerun-if-changed={CATALOG}");
    println!("cargo::rerun-if-changed=src/catalog/model.rs");
    println!("cargo::rerun-if-changed=src/catalog/pattern.rs");
    println!("cargo::rerun-if-changed=src/catalog/validate.rs");
    // The folder list (a component added or removed) and each drop-in's catalog entry.
    println!("cargo::rerun-if-changed={COMPONENTS}");
    let json = std::fs::read_to_string(CATALOG).unwrap_or_else(|e| panic!("reading {CATALOG}: {e}"));
    let drop_ins = Catalog::drop_ins(std::path::Path::new(COMPONENTS));
    for (path, _) in &drop_ins {
        println!("cargo::rerun-if-changed={path}");
    }
    let catalog = Catalog::assemble(&json, drop_ins).unwrap_or_else(|e| panic!("{CATALOG}: {e}"));
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

impl Rust for u32 {
    fn rust(&self) -> String {
        format!("{self}u32")
    }
}

impl Rust for u64 {
    fn rust(&self) -> String {
        format!("{self}u64")
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

impl<V: Rust> Rust for BTreeMap<String, V> {
    fn rust(&self) -> String {
        let pairs: Vec<String> = self.iter().map(|(k, v)| format!("({}, {})", k.rust(), v.rust())).collect();
        format!("BTreeMap::from([{}])", pairs.join(", "))
    }
}

impl<A: Rust, B: Rust> Rust for (A, B) {
    fn rust(&self) -> String {
        format!("({}, {})", self.0.rust(), self.1.rust())
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

impl Rust for InteractionContext {
    fn rust(&self) -> String {
        format!("InteractionContext::{self:?}")
    }
}

impl Rust for IntegrationType {
    fn rust(&self) -> String {
        format!("IntegrationType::{self:?}")
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

/// `impl Rust` for a struct: its literal, field by field.
macro_rules! rust_literal {
    ($type:ident { $($field:ident),* }) => {
        impl Rust for $type {
            fn rust(&self) -> String {
                literal(stringify!($type), &[$((stringify!($field), self.$field.rust())),*])
            }
        }
    };
}

rust_literal! { Catalog { schema, commands } }
rust_literal! { Command {
    name, description, component, options, subcommands, workflow, approval, sources, default_member_permissions,
    contexts, integration_types, threads
} }
rust_literal! { Approval { approvers } }
rust_literal! { SourceMapping { rename, json, ignore } }
rust_literal! { Subcommand { name, description, options } }
rust_literal! { OptionSpec {
    name, kind, description, required, choices, autocomplete, min_length, max_length, min_value, max_value,
    pattern, parameter, default
} }
rust_literal! { ChoiceSpec { name, value } }
rust_literal! { WorkflowMapping {
    template, template_option, allowed_templates, namespace, parameters, parameters_option, template_parameters,
    dry_run_option, ephemeral, limits, service_account, argo_token
} }
rust_literal! { Limits { member, command, guild, in_flight } }
rust_literal! { InFlight { member, command, guild } }
rust_literal! { Rate { runs, per_secs } }
rust_literal! { ParameterRule { pattern, description } }

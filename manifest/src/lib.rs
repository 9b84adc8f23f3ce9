//! `spin.toml` (manifest version 2) as Spin reads it, for the keys facteur uses: one parser
//! for the wasmtime harness (`facteur_harness::manifest`) and `facteur config validate`.
//!
//! - [`document`]: the file as written, typed (unknown keys refused);
//! - [`Manifest`] (`model.rs`): the document checked as Spin checks it at load, with paths
//!   resolved;
//! - [`routes`], [`allowed_hosts`], [`template`]: the value languages inside it (HTTP routes,
//!   `allowed_outbound_hosts`, `{{ variable }}` templates).

pub mod allowed_hosts;
pub mod document;
mod model;
pub mod routes;
pub mod template;

pub use document::Document;
pub use model::{BuildCommand, ComponentDef, HttpTrigger, Manifest, RedisTrigger, Variable, is_component_id};
pub use routes::Route;
pub use template::{expand, is_variable_name, template_references};

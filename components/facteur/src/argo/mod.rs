//! The Argo Server REST API as pure request building and response parsing; the Spin adapter
//! sends what this builds (`crate::spin::argo`).

mod error;
mod identity;
mod request;
mod response;
#[cfg(test)]
mod tests;

pub use error::ArgoError;
pub use identity::{Pairs, identity, is_namespace, is_object_name, label, label_value, workflow_name};
pub use request::*;
pub use response::*;

//! Spin variables: application variables resolved at load in Spin's provider order
//! (`--variable`, then `SPIN_VARIABLE_<NAME>`, then the default), `{{ templates }}` expanded
//! with them, and the `fermyon:spin/variables` interface a component reads its own
//! variables through.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};

use crate::host::State;
use crate::host::fermyon::spin2_0_0::variables;
use crate::manifest::{Manifest, expand};

/// Every application variable's value.
pub(crate) struct Resolved(BTreeMap<String, String>);

impl Resolved {
    /// `cli` are `--variable`s; `env` reads the environment provider's variables.
    pub(crate) fn new(
        manifest: &Manifest,
        cli: &BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        for name in cli.keys() {
            if !manifest.variables.contains_key(name) {
                bail!("--variable `{name}` is not declared in [variables]");
            }
        }
        let mut values = BTreeMap::new();
        for (name, var) in &manifest.variables {
            let value = cli
                .get(name)
                .cloned()
                .or_else(|| env(&format!("SPIN_VARIABLE_{}", name.to_uppercase())))
                .or_else(|| var.default.clone());
            match value {
                Some(v) => {
                    values.insert(name.clone(), v);
                }
                None => bail!("no provider resolved required variable `{name}`"),
            }
        }
        Ok(Self(values))
    }

    /// `template` with its `{{ name }}` references replaced by their values.
    pub(crate) fn expand(&self, template: &str) -> Result<String> {
        expand(template, |name| self.0.get(name).cloned().ok_or_else(|| anyhow!("undefined variable `{name}`")))
    }
}

impl variables::Host for State {
    async fn get(&mut self, name: String) -> Result<String, variables::Error> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(variables::Error::InvalidName(name));
        }
        self.config
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| variables::Error::Undefined(format!("no variable for {name:?}")))
    }
}

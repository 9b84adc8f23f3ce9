//! Spin's variable names and `{{ name }}` templates (component variables,
//! `allowed_outbound_hosts`, Redis trigger channels and addresses).

use anyhow::{Result, anyhow, ensure};

/// Spin's variable names: lowercase ASCII letters, digits and `_`, starting with a letter and
/// ending with a letter or digit.
pub fn is_variable_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.last().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// The variable names a template (`"https://{{ host }}:{{port}}"`) refers to.
pub fn template_references(template: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| anyhow!("unclosed `{{{{` in `{template}`"))?;
        let name = after[..end].trim();
        ensure!(is_variable_name(name), "`{name}` in `{template}` is not a variable name");
        names.push(name.to_owned());
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// Expands `{{ name }}` references with `lookup`.
pub fn expand(template: &str, lookup: impl Fn(&str) -> Result<String>) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| anyhow!("unclosed `{{{{` in `{template}`"))?;
        out.push_str(&lookup(after[..end].trim())?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(template_references("a{{ x }}b{{y}}").unwrap(), ["x", "y"]);
        assert_eq!(expand("a{{ x }}b{{y}}", |n| Ok(n.to_uppercase())).unwrap(), "aXbY");
        assert!(template_references("{{ x").is_err());
        assert!(template_references("{{ X }}").is_err());
    }
}

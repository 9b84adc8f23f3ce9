//! Embeds, cut to Discord's limits as they are built.

use serde::Serialize;

use super::{
    MAX_EMBED_DESCRIPTION, MAX_EMBED_FIELDS, MAX_EMBED_TITLE, MAX_FIELD_NAME, MAX_FIELD_VALUE, MAX_FOOTER, truncate,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Embed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmbedField {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmbedFooter {
    pub text: String,
}

impl Embed {
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: Some(truncate(&title.into(), MAX_EMBED_TITLE)), ..Self::default() }
    }

    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(truncate(&text.into(), MAX_EMBED_DESCRIPTION));
        self
    }

    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    pub fn color(mut self, color: u32) -> Self {
        self.color = Some(color);
        self
    }

    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>, inline: bool) -> Self {
        if self.fields.len() < MAX_EMBED_FIELDS {
            self.fields.push(EmbedField {
                name: truncate(&name.into(), MAX_FIELD_NAME),
                value: truncate(&value.into(), MAX_FIELD_VALUE),
                inline,
            });
        }
        self
    }

    pub fn footer(mut self, text: impl Into<String>) -> Self {
        self.footer = Some(EmbedFooter { text: truncate(&text.into(), MAX_FOOTER) });
        self
    }

    /// Characters Discord counts toward the 6,000 total.
    pub fn text_len(&self) -> usize {
        let len = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
        len(&self.title)
            + len(&self.description)
            + self.footer.as_ref().map_or(0, |f| f.text.chars().count())
            + self.fields.iter().map(|f| f.name.chars().count() + f.value.chars().count()).sum::<usize>()
    }

    /// Cuts the description, then drops trailing fields, until the embed fits `budget`.
    pub(super) fn fit(mut self, budget: usize) -> Self {
        while self.text_len() > budget {
            let over = self.text_len() - budget;
            match self.description.as_mut() {
                Some(d) if d.chars().count() > over + 1 => {
                    *d = truncate(d, d.chars().count() - over);
                }
                _ if !self.fields.is_empty() => {
                    self.fields.pop();
                }
                _ => {
                    self.description = None;
                    self.footer = None;
                    if self.text_len() > budget {
                        self.title = Some(truncate(self.title.as_deref().unwrap_or(""), budget));
                    }
                    break;
                }
            }
        }
        self
    }
}

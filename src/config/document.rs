//! The walk over a configuration document: every problem of a file in one pass.
//!
//! Owns turning configuration text into a checked [`RawConfig`]: parse with spans
//! (`toml::de::DeTable`), visit every section and key the user wrote (unknown ones get
//! a "did you mean" hint, known ones their type and range check from the schema),
//! merge the accepted values over the shipped defaults, check the cross-field rules,
//! then deserialize the merged document into the `deny_unknown_fields` raw structs.
//! It must not read files or know any default value itself: defaults come only from
//! [`DEFAULT_CONFIG`](super::DEFAULT_CONFIG).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::DEFAULT_CONFIG;
use super::diagnostics::{ConfigError, Problem, closest, entry_start, with_article};
use super::raw::RawConfig;
use super::schema::{self, KeySpec, Ordered, RULES, SECTIONS};

/// How problems name the built-in defaults (they have no file of their own).
const DEFAULTS_ORIGIN: &str = "<built-in defaults: deploy/config.example.toml>";

/// A problem for a TOML syntax error.
pub(crate) fn syntax_problem(error: &toml::de::Error, text: &str, origin: &Path) -> Problem {
    let span = error.span().unwrap_or(0..0);
    let mut message = format!("TOML syntax error: {}", error.message());
    // Keys only: the span of a "duplicate key" error is the key, never the value.
    if error.message() == "duplicate key"
        && let Some(key) = text.get(span.clone()).filter(|k| !k.is_empty())
    {
        message = format!("TOML syntax error: duplicate key `{key}`");
    }
    Problem::at(origin, text, span.start, message)
}

/// A key the user wrote and how it went.
struct UserKey {
    /// Byte offset of the key, where problems about it point.
    offset: usize,
    /// `Some` when the value passed its checks (and is comparable).
    checked: Option<Option<Ordered>>,
}

/// The state of one walk.
struct Walk<'t, 'i> {
    text: &'t str,
    origin: &'t Path,
    problems: Vec<Problem>,
    /// Values that passed their checks, to merge over the defaults.
    accepted: Vec<(&'static str, Spanned<DeString<'i>>, Spanned<DeValue<'i>>)>,
    /// Every known key the user wrote, by (section, key).
    user: BTreeMap<(&'static str, &'static str), UserKey>,
}

/// Checks configuration `text` (from `origin`, used in messages) and returns the
/// merged raw configuration, or every problem found.
pub(crate) fn check(text: &str, origin: &Path) -> Result<RawConfig, ConfigError> {
    let user = DeTable::parse(text)
        .map_err(|e| ConfigError::new(vec![syntax_problem(&e, text, origin)]))?;
    let defaults_origin = Path::new(DEFAULTS_ORIGIN);
    let mut merged = DeTable::parse(DEFAULT_CONFIG)
        .map_err(|e| ConfigError::new(vec![syntax_problem(&e, DEFAULT_CONFIG, defaults_origin)]))?;

    let mut walk = Walk {
        text,
        origin,
        problems: Vec::new(),
        accepted: Vec::new(),
        user: BTreeMap::new(),
    };
    walk.root(user.get_ref());

    for (section, key, value) in walk.accepted.drain(..) {
        if let Some(table) = merged.get_mut().get_mut(section)
            && let DeValue::Table(table) = table.get_mut()
        {
            table.insert(key, value);
        }
    }
    walk.cross_field_rules(merged.get_ref());
    walk.needed_when_enabled(merged.get_ref());

    let raw = RawConfig::deserialize(toml::de::Deserializer::from(merged));
    let mut problems = walk.problems;
    match raw {
        Ok(raw) if problems.is_empty() => Ok(raw),
        Ok(_) => Err(ConfigError::new(problems)),
        Err(e) => {
            // Only reachable if the schema and the raw structs disagree: a bug.
            problems.push(
                Problem::whole_file(
                    origin,
                    format!("internal error resolving the configuration: {}", e.message()),
                )
                .with_hint(Some(
                    "this is a bug in doorguard (schema and raw structs disagree); please report it"
                        .into(),
                )),
            );
            Err(ConfigError::new(problems))
        }
    }
}

/// The hint for an unknown key `written` found in `section` (None at the top level).
fn key_hint(section: Option<&str>, written: &str) -> Option<String> {
    let candidates = schema::KEYS.iter().map(|k| {
        let bonus = if Some(k.section) == section {
            0.05
        } else {
            0.0
        };
        (bonus, k.key, k)
    });
    let best: Option<&KeySpec> = closest(written, candidates);
    match (best, section) {
        (Some(k), Some(s)) if k.section == s => Some(format!("did you mean `{}`?", k.name())),
        (Some(k), _) => Some(format!(
            "did you mean `{}`? It belongs in [{}]",
            k.name(),
            k.section
        )),
        (None, Some(s)) => {
            let known: Vec<&str> = schema::keys_of(s).map(|k| k.key).collect();
            Some(format!("known keys in [{s}]: {}", known.join(", ")))
        }
        (None, None) => Some(format!("known sections: {}", section_list())),
    }
}

fn section_list() -> String {
    let names: Vec<String> = SECTIONS.iter().map(|s| format!("[{s}]")).collect();
    names.join(", ")
}

impl<'i> Walk<'_, 'i> {
    fn problem(&mut self, offset: usize, message: String, hint: Option<String>) {
        self.problems
            .push(Problem::at(self.origin, self.text, offset, message).with_hint(hint));
    }

    fn root(&mut self, root: &DeTable<'i>) {
        for (key, value) in root.iter() {
            let name: &str = key.get_ref();
            let offset = entry_start(&key.span(), &value.span());
            let Some(section) = SECTIONS.iter().copied().find(|s| *s == name) else {
                self.unknown_top_level(name, value.get_ref(), offset);
                continue;
            };
            match value.get_ref() {
                DeValue::Table(table) => self.section(section, table),
                other => {
                    let hint = matches!(other, DeValue::Array(_))
                        .then(|| format!("write [{section}], not [[{section}]]"));
                    self.problem(
                        offset,
                        format!(
                            "`{section}` must be a section ([{section}]), found {}",
                            with_article(other.type_str())
                        ),
                        hint,
                    );
                }
            }
        }
    }

    fn unknown_top_level(&mut self, name: &str, value: &DeValue<'i>, offset: usize) {
        if matches!(value, DeValue::Table(_) | DeValue::Array(_)) {
            let best = closest(name, SECTIONS.iter().map(|s| (0.0, *s, *s)));
            let hint = match best {
                Some(s) => Some(format!("did you mean [{s}]?")),
                None => key_hint(None, name).filter(|h| h.starts_with("did you mean")),
            };
            let hint = hint.or_else(|| Some(format!("known sections: {}", section_list())));
            self.problem(offset, format!("unknown section [{name}]"), hint);
        } else {
            self.problem(
                offset,
                format!("key `{name}` is outside any section"),
                key_hint(None, name),
            );
        }
    }

    fn section(&mut self, section: &'static str, table: &DeTable<'i>) {
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            let offset = entry_start(&key.span(), &value.span());
            let Some(spec) = schema::lookup(section, name) else {
                self.problem(
                    offset,
                    format!("unknown key `{section}.{name}` in [{section}]"),
                    key_hint(Some(section), name),
                );
                continue;
            };
            let checked = match spec.check(value.get_ref()) {
                Ok(ordered) => {
                    self.accepted.push((section, key.clone(), value.clone()));
                    Some(ordered)
                }
                Err(invalid) => {
                    self.problem(offset, invalid.message, invalid.hint);
                    None
                }
            };
            self.user
                .insert((section, spec.key), UserKey { offset, checked });
        }
    }

    /// The value of `section.key` in the merged document as the rules compare it,
    /// and whether it is the default. None if the user's value was invalid.
    fn ordered(
        &self,
        merged: &DeTable<'i>,
        (section, key): (&str, &str),
    ) -> Option<(Ordered, bool)> {
        if let Some(user) = self.user.get(&(section, key)) {
            return user.checked.flatten().map(|o| (o, false));
        }
        let spec = schema::lookup(section, key)?;
        let value = merged.get(section)?.get_ref().get(key)?;
        spec.check(value.get_ref())
            .ok()
            .flatten()
            .map(|o| (o, true))
    }

    /// A problem at the first of `keys` the user wrote, or about the whole file when
    /// they come from the defaults.
    fn problem_at_first(
        &mut self,
        keys: &[(&'static str, &'static str)],
        message: String,
        hint: Option<String>,
    ) {
        match keys.iter().find_map(|k| self.user.get(k)).map(|u| u.offset) {
            Some(offset) => self.problem(offset, message, hint),
            None => self
                .problems
                .push(Problem::whole_file(self.origin, message).with_hint(hint)),
        }
    }

    /// A channel switched on must have what it cannot work without.
    fn needed_when_enabled(&mut self, merged: &DeTable<'i>) {
        for need in schema::NEEDED_WHEN_ENABLED {
            let Some(DeValue::Table(section)) = merged.get(need.section).map(|v| v.get_ref())
            else {
                continue;
            };
            let enabled = matches!(
                section.get("enabled").map(|v| v.get_ref()),
                Some(DeValue::Boolean(true))
            );
            let empty = match section.get(need.key).map(|v| v.get_ref()) {
                Some(DeValue::String(s)) => s.trim().is_empty(),
                Some(DeValue::Array(items)) => items.is_empty(),
                _ => false,
            };
            if !enabled || !empty {
                continue;
            }
            let message = format!(
                "`{0}.{1}` must be set when `{0}.enabled = true`",
                need.section, need.key
            );
            let hint = Some(need.hint.to_owned());
            self.problem_at_first(
                &[(need.section, need.key), (need.section, "enabled")],
                message,
                hint,
            );
        }
    }

    fn cross_field_rules(&mut self, merged: &DeTable<'i>) {
        for rule in RULES {
            let (Some((greater, greater_default)), Some((lesser, lesser_default))) = (
                self.ordered(merged, rule.greater),
                self.ordered(merged, rule.lesser),
            ) else {
                continue;
            };
            if !greater.is_less_than(&lesser) {
                continue;
            }
            let greater_name = format!("{}.{}", rule.greater.0, rule.greater.1);
            let lesser_name = format!("{}.{}", rule.lesser.0, rule.lesser.1);
            let label = |default: bool| if default { ", the default" } else { "" };
            let message = format!(
                "`{greater_name}` ({greater}{}) must be at least `{lesser_name}` ({lesser}{})",
                label(greater_default),
                label(lesser_default)
            );
            let hint = Some(format!(
                "{}: raise `{greater_name}` or lower `{lesser_name}`",
                rule.why
            ));
            self.problem_at_first(&[rule.greater, rule.lesser], message, hint);
        }
    }
}

//! Problems found in a configuration or secrets file, and how they are shown.
//!
//! Owns [`Problem`] (file, line, column, message, hint), [`ConfigError`] (every problem
//! of one load, printed compiler-style), the byte-offset → line:column translation and
//! the "did you mean" suggestions. It must not decide what is valid (that is the
//! schema's job) and must never put a secret value into a message: callers pass
//! messages built from key names and, for non-secret files only, values.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One thing wrong with a configuration or secrets file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file (missing, unreadable).
    pub line: usize,
    /// 1-based column, counted in characters; 0 together with `line == 0`.
    pub column: usize,
    /// What is wrong, naming the key (`lockout.threshold`), never a secret value.
    pub message: String,
    /// How to fix it, when there is something better to say than the message.
    pub hint: Option<String>,
}

impl Problem {
    /// A problem about the whole file (no position).
    pub(crate) fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Problem {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            hint: None,
        }
    }

    /// A problem at byte `offset` of `text`.
    pub(crate) fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        Problem {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds (or replaces) the hint.
    pub(crate) fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Everything wrong with one configuration (or secrets) file, found in one pass.
///
/// Displayed one problem per line (`FILE:LINE:COLUMN: message`, then `  hint: …`),
/// sorted by position, followed by a summary line `N problems in FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems, sorted by file, line and column. Never empty.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// The process exit code for a configuration error (2, like a usage error).
    pub const EXIT_CODE: u8 = 2;

    /// Builds the error from at least one problem, sorting them by position.
    pub(crate) fn new(mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        ConfigError { problems }
    }

    /// The exit code the command line returns for this error: always 2.
    pub fn exit_code(&self) -> u8 {
        Self::EXIT_CODE
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.problems {
            writeln!(f, "{problem}")?;
        }
        let mut files: Vec<&Path> = Vec::new();
        for problem in &self.problems {
            if !files.contains(&problem.file.as_path()) {
                files.push(&problem.file);
            }
        }
        let count = self.problems.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(f, "{count} {noun} in ")?;
        for (i, file) in files.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{}", file.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// 1-based (line, column) of byte `offset` in `text`; the column counts characters.
/// An offset past the end or inside a character is clamped to a valid position.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    // A byte-order mark (some Windows editors write one) is not a column.
    let line_text = &before[line_start..];
    let line_text = line_text.strip_prefix('\u{feff}').unwrap_or(line_text);
    let column = line_text.chars().count() + 1;
    (line, column)
}

/// Start of the span of a table entry: for a `[section]` header the `[`, otherwise
/// the key.
pub(crate) fn entry_start(key: &Range<usize>, value: &Range<usize>) -> usize {
    key.start.min(value.start)
}

/// `a string`, `an integer`… for a TOML type name as `DeValue::type_str` gives it.
pub(crate) fn with_article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// Lower-case, `-` and spaces read as `_`: the spelling differences that are never
/// intended.
fn normalize(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// How alike two names are, 0.0 to 1.0.
fn similarity(written: &str, known: &str) -> f64 {
    let (w, k) = (normalize(written), normalize(known));
    if w == k {
        return 1.0;
    }
    let score = strsim::normalized_damerau_levenshtein(&w, &k);
    // `capture` for `capture_photo`, `hard_lock` for `hard_lock_after`.
    if w.len() >= 4 && (k.starts_with(&w) || k.contains(&w) || w.contains(&k)) {
        return score.max(0.75);
    }
    score
}

/// Below this, a suggestion is more confusing than helpful.
const MIN_SIMILARITY: f64 = 0.6;

/// The best of `candidates` for what the user wrote, if any is close enough.
/// `candidates` yields (similarity bonus, name, payload): a small bonus prefers names
/// in the section the user was writing in; the payload of the best one is returned.
pub(crate) fn closest<'a, T>(
    written: &str,
    candidates: impl IntoIterator<Item = (f64, &'a str, T)>,
) -> Option<T> {
    let mut best: Option<(f64, T)> = None;
    for (bonus, name, payload) in candidates {
        let score = similarity(written, name);
        if score < MIN_SIMILARITY {
            continue;
        }
        let score = score + bonus;
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, payload));
        }
    }
    best.map(|(_, payload)| payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nnäme = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        // `=` after the 4-character, 5-byte `näme `.
        let eq = text.rfind('=').unwrap();
        assert_eq!(line_column(text, eq), (2, 6));
        assert_eq!(line_column(text, 999), (3, 1));
        assert_eq!(line_column("\u{feff}[kiosk]", 3), (1, 1));
    }

    #[test]
    fn suggestions() {
        let keys = [
            (0.0, "threshold", "threshold"),
            (0.0, "window", "window"),
            (0.0, "capture_photo", "capture_photo"),
        ];
        assert_eq!(closest("treshold", keys), Some("threshold"));
        assert_eq!(closest("Threshold", keys), Some("threshold"));
        assert_eq!(closest("capture", keys), Some("capture_photo"));
        assert_eq!(closest("capture-photo", keys), Some("capture_photo"));
        assert_eq!(closest("banana", keys), None);
    }

    #[test]
    fn display_with_hint_and_summary() {
        let err = ConfigError::new(vec![
            Problem {
                file: PathBuf::from("/etc/doorguard/config.toml"),
                line: 12,
                column: 1,
                message: "unknown key `lockout.treshold` in [lockout]".into(),
                hint: Some("did you mean `lockout.threshold`?".into()),
            },
            Problem::whole_file(Path::new("/etc/doorguard/config.toml"), "oops"),
        ]);
        assert_eq!(
            err.to_string(),
            "/etc/doorguard/config.toml: oops\n\
             /etc/doorguard/config.toml:12:1: unknown key `lockout.treshold` in [lockout]\n  \
             hint: did you mean `lockout.threshold`?\n\
             2 problems in /etc/doorguard/config.toml"
        );
        assert_eq!(err.exit_code(), 2);
    }
}

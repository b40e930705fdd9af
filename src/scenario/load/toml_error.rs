//! TOML syntax and shape errors in the words of scenario files.

use std::path::Path;

use crate::error::Located;
use crate::scenario::expr;

/// A TOML syntax or shape error, in the words of scenario files ("key", "table", "list") rather
/// than serde's ("field", "map", "sequence"), naming the key and suggesting a misspelt one.
pub(super) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Located {
    let span = e.span().unwrap_or(0..0);
    let raw = e.message().trim_end();
    let mut offset = span.start;
    let message = if let Some(rest) = raw.strip_prefix("unknown field `") {
        // "unknown field `x`, expected one of `a`, `b`" / "…, expected `a`" / "…, there are no fields"
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let options: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let mut m = format!("unknown key `{key}`");
        if options.is_empty() {
            m += ": this table takes no keys";
        } else {
            let list: Vec<String> = options.iter().map(|o| format!("`{o}`")).collect();
            m += &format!(", expected one of {}", list.join(", "));
            if let Some(best) = expr::closest(key, options.iter().copied()) {
                m += &format!("; did you mean `{best}`?");
            }
        }
        m
    } else if let Some(rest) = raw.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        let at = text.get(span.clone()).unwrap_or("");
        if span.start == 0 && (span.is_empty() || span.end == text.len()) {
            // Missing at the top level: point at the first line that is not a comment.
            offset = first_content(text);
            match key {
                "name" => "missing key `name`: a scenario needs a name, e.g. `name = \"orders\"` at the top of the file".to_string(),
                "data" => "missing table `[data]`: a scenario needs one, with its `schema`, `seed` and `scale` (each optional)".to_string(),
                _ => format!("missing key `{key}`"),
            }
        } else if at.trim_start().starts_with("[[operation]]") {
            format!("this [[operation]] has no `{key}`: add `{key} = \"…\"`")
        } else {
            format!("missing key `{key}` in this table")
        }
    } else if let Some(rest) = raw.strip_prefix("invalid type: ") {
        // "invalid type: string \"10\", expected i64"
        let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, "?"));
        let expected = match expected {
            "i64" | "u64" | "i32" | "u32" | "usize" => "an integer",
            "a boolean" => "true or false",
            "a sequence" => "a list",
            e if e.starts_with("struct ") || e == "a map" => "a table",
            e => e,
        };
        let found = match found {
            "sequence" => "a list".to_string(),
            "map" => "a table".to_string(),
            f => match f.split_once(' ') {
                Some(("floating", v)) => format!(
                    "the number {}",
                    v.trim_start_matches("point ").trim_matches('`')
                ),
                Some(("integer", v)) => format!("the integer {}", v.trim_matches('`')),
                Some(("boolean", v)) => v.trim_matches('`').to_string(),
                Some(("string", v)) => format!("the string {v}"),
                _ => f.to_string(),
            },
        };
        match key_before(text, span.start) {
            Some(key) => format!("`{key}` must be {expected}, found {found}"),
            None => format!("expected {expected}, found {found}"),
        }
    } else if raw == "duplicate key" {
        let key: String = text
            .get(span.clone())
            .unwrap_or("")
            .chars()
            .take_while(|c| !matches!(c, '=' | ']' | '\n'))
            .collect();
        format!(
            "duplicate key `{}`: it is already set in this table",
            key.trim()
        )
    } else {
        raw.to_string()
    };
    Located::at(path, text, offset, message)
}

/// The key of the `key = value` whose value starts at `offset`, if written plainly.
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset)?.trim_end().strip_suffix('=')?.trim_end();
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .last()
        .map_or(before.len(), |(i, _)| i);
    Some(&before[start..]).filter(|k| !k.is_empty())
}

/// The offset of the first line that is neither blank nor a comment.
fn first_content(text: &str) -> usize {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if !t.is_empty() && !t.starts_with('#') {
            return at + (line.len() - t.len());
        }
        at += line.len();
    }
    0
}

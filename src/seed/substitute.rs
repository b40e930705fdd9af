//! psql-style variables in seed scripts: `:name` becomes the value, `:'name'` a quoted literal.
//! Only names the scenario defines are replaced, so `::casts` and unrelated colons are safe.

use std::collections::BTreeMap;

use crate::scenario::Value;

/// Maps byte offsets in the substituted text back to the original text.
#[derive(Debug, Clone, Default)]
pub struct OffsetMap {
    /// (start in new text, end in new text, start in original, end in original)
    replaced: Vec<(usize, usize, usize, usize)>,
}

impl OffsetMap {
    pub fn identity() -> Self {
        OffsetMap::default()
    }

    pub fn to_original(&self, new: usize) -> usize {
        let mut shift: isize = 0;
        for &(ns, ne, os, oe) in &self.replaced {
            if new < ns {
                break;
            }
            if new < ne {
                return os;
            }
            shift = oe as isize - ne as isize;
        }
        (new as isize + shift).max(0) as usize
    }
}

pub fn substitute(sql: &str, vars: &BTreeMap<String, Value>) -> (String, OffsetMap) {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut map = OffsetMap::default();
    let mut i = 0;
    let mut copied = 0;
    let mut in_quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = in_quote {
            if c == q {
                in_quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => in_quote = Some(c),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                i += 2;
                continue;
            }
            b':' => {
                let quoted = b.get(i + 1) == Some(&b'\'');
                let start = if quoted { i + 2 } else { i + 1 };
                let mut j = start;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                let end = if quoted { j + 1 } else { j };
                let closes = !quoted || b.get(j) == Some(&b'\'');
                if j > start && closes {
                    if let Some(v) = vars.get(&sql[start..j]) {
                        out.push_str(&sql[copied..i]);
                        let text = match (quoted, v) {
                            (true, v) => format!("'{}'", v.to_string().replace('\'', "''")),
                            (false, Value::Text(t)) => format!("'{}'", t.replace('\'', "''")),
                            (false, v) => v.to_string(),
                        };
                        let ns = out.len();
                        out.push_str(&text);
                        map.replaced.push((ns, out.len(), i, end));
                        copied = end;
                        i = end;
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_known_variables_only() {
        let vars = BTreeMap::from([
            ("scale".into(), Value::Int(1000)),
            ("name".into(), Value::Text("o'k".into())),
        ]);
        let (s, _) = substitute(
            "SELECT :scale, :'scale', :name, now()::date, :unknown, ':scale' -- :scale",
            &vars,
        );
        assert_eq!(
            s,
            "SELECT 1000, '1000', 'o''k', now()::date, :unknown, ':scale' -- :scale"
        );
    }

    #[test]
    fn maps_offsets_back() {
        let vars = BTreeMap::from([("n".into(), Value::Int(123456))]);
        let (s, map) = substitute("SELECT :n, bogus", &vars);
        assert_eq!(s, "SELECT 123456, bogus");
        assert_eq!(
            map.to_original(s.find("bogus").unwrap()),
            "SELECT :n, bogus".find("bogus").unwrap()
        );
        assert_eq!(map.to_original(9), 7);
        assert_eq!(map.to_original(2), 2);
    }
}

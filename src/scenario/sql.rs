//! Just enough SQL lexing to find `$N` placeholders outside literals and comments.

/// The highest `$N` placeholder in `sql`, ignoring string literals, quoted identifiers,
/// dollar-quoted bodies and comments. 0 when there is none.
pub fn max_placeholder(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut max = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'$' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j > start {
                    let prev_ident =
                        i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                    if !prev_ident {
                        max = max.max(sql[start..j].parse().unwrap_or(0));
                    }
                    i = j;
                    continue;
                }
                // A dollar quote: $$ … $$ or $tag$ … $tag$.
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'$' {
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                    continue;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::max_placeholder;

    #[test]
    fn finds_placeholders_outside_literals() {
        assert_eq!(max_placeholder("SELECT 1"), 0);
        assert_eq!(
            max_placeholder("SELECT * FROM t WHERE a = $1 AND b = $12"),
            12
        );
        assert_eq!(
            max_placeholder("SELECT '$3', \"$4\" -- $5\n, $2 /* $6 */"),
            2
        );
        assert_eq!(max_placeholder("SELECT $$ $7 $$, $tag$ $8 $tag$, $1"), 1);
        assert_eq!(max_placeholder("SELECT 'it''s $9', $1::int"), 1);
    }
}

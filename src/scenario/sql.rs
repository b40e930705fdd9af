//! Just enough SQL lexing to find `$N` placeholders, statement boundaries in SQL files, and
//! statements that write, outside literals and comments.

use std::ops::Range;

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

/// One lexical unit of SQL outside literals and comments: a bare word (keyword or identifier)
/// or a punctuation byte. Literals, quoted identifiers, placeholders and comments are skipped
/// (a literal or quoted identifier is a `Tok::Other` so that statements made of them count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub kind: Tok,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Word,
    Punct(u8),
    Other,
}

/// The tokens of `sql`, as PostgreSQL's lexer sees them for the purpose of statement
/// boundaries: `'…'` (with `''`), `E'…'` (with backslash escapes), `"…"`, `$tag$…$tag$`,
/// `-- …` and nested `/* … */` are skipped as units.
pub fn tokens(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let kind = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' | b'"' => {
                let escapes = c == b'\''
                    && out.last().is_some_and(|t: &Token| {
                        t.kind == Tok::Word
                            && t.end == i
                            && sql[t.start..t.end].eq_ignore_ascii_case("e")
                    });
                i = quoted_end(b, i, escapes);
                Tok::Other
            }
            b'$' => {
                let mut j = i + 1;
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                    Tok::Other
                } else {
                    while j < b.len()
                        && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80)
                    {
                        j += 1;
                    }
                    if b.get(j) == Some(&b'$') {
                        let tag = &sql[i..=j];
                        i = sql[j + 1..]
                            .find(tag)
                            .map_or(b.len(), |e| j + 1 + e + tag.len());
                        Tok::Other
                    } else {
                        i += 1;
                        Tok::Punct(b'$')
                    }
                }
            }
            _ if word_byte(c) && !c.is_ascii_digit() && c != b'$' => {
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                Tok::Word
            }
            _ if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_')
                {
                    i += 1;
                }
                Tok::Other
            }
            _ => {
                i += 1;
                Tok::Punct(c)
            }
        };
        out.push(Token {
            start,
            end: i.min(b.len()),
            kind,
        });
    }
    out
}

/// The byte after the closing quote of the literal or identifier opening at `i`.
fn quoted_end(b: &[u8], mut i: usize, backslash_escapes: bool) -> usize {
    let q = b[i];
    i += 1;
    while i < b.len() {
        if backslash_escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// The statements of an SQL file, as byte ranges from their first token to their last
/// (without the `;`). Empty statements are left out, as the server skips them. Semicolons
/// inside parentheses, or inside the `BEGIN … END` body of `CREATE [OR REPLACE]
/// FUNCTION|PROCEDURE` (`BEGIN ATOMIC`), do not end a statement: psql's rule.
pub fn statements(sql: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut first, mut last): (Option<usize>, usize) = (None, 0);
    let (mut parens, mut begins) = (0usize, 0usize);
    let mut head: Vec<String> = Vec::new();
    for t in tokens(sql) {
        if t.kind == Tok::Punct(b';') && parens == 0 && begins == 0 {
            if let Some(f) = first.take() {
                out.push(f..last);
            }
            head.clear();
            continue;
        }
        first.get_or_insert(t.start);
        last = t.end;
        match t.kind {
            Tok::Punct(b'(') => parens += 1,
            Tok::Punct(b')') => parens = parens.saturating_sub(1),
            Tok::Word => {
                let w = sql[t.start..t.end].to_ascii_lowercase();
                if head.len() < 4 {
                    head.push(w.clone());
                }
                let routine = head.first().is_some_and(|h| h == "create")
                    && (matches!(
                        head.get(1).map(String::as_str),
                        Some("function" | "procedure")
                    ) || (head.get(1).is_some_and(|h| h == "or")
                        && matches!(
                            head.get(3).map(String::as_str),
                            Some("function" | "procedure")
                        )));
                if routine && parens == 0 {
                    match w.as_str() {
                        "begin" => begins += 1,
                        "case" if begins > 0 => begins += 1,
                        "end" => begins = begins.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(f) = first {
        out.push(f..last);
    }
    out
}

/// Statements that change data, the schema or the server, by their first word.
const WRITING: &[&str] = &[
    "insert",
    "update",
    "delete",
    "merge",
    "truncate",
    "call",
    "do",
    "create",
    "alter",
    "drop",
    "grant",
    "revoke",
    "comment",
    "vacuum",
    "analyze",
    "analyse",
    "cluster",
    "reindex",
    "refresh",
    "lock",
    "security",
    "reassign",
    "import",
    "checkpoint",
    "load",
    "execute",
];

/// Where `statement` writes, and the word that says so, found lexically (literals and
/// comments skipped): a writing first word (`INSERT`, `CREATE`, `CALL`, …); a data-modifying
/// `WITH` (`AS (INSERT …`); `SELECT … INTO` (creates a table); `COPY … FROM`;
/// `EXPLAIN ANALYZE` of any of these. `SELECT … FOR UPDATE` locks rows but changes none, and
/// is allowed. Functions with side effects are not visible here: the server's read-only
/// transaction catches them (measure).
pub fn writes(statement: &str) -> Option<(usize, String)> {
    let toks = tokens(statement);
    let word =
        |t: &Token| (t.kind == Tok::Word).then(|| statement[t.start..t.end].to_ascii_lowercase());
    // Leading parentheses: `(SELECT …)`.
    let mut i = toks.iter().position(|t| t.kind != Tok::Punct(b'('))?;
    let mut first = word(&toks[i])?;
    if first == "explain" {
        let analyze = toks[i..]
            .iter()
            .take(12)
            .any(|t| word(t).is_some_and(|w| w == "analyze" || w == "analyse"));
        if !analyze {
            return None;
        }
        // The explained statement starts at the first word that is not an EXPLAIN option.
        let options = [
            "explain",
            "analyze",
            "analyse",
            "verbose",
            "costs",
            "buffers",
            "timing",
            "summary",
            "settings",
            "wal",
            "format",
            "text",
            "json",
            "yaml",
            "xml",
            "true",
            "false",
            "on",
            "off",
            "generic_plan",
            "serialize",
            "memory",
            "none",
            "binary",
        ];
        i = toks
            .iter()
            .enumerate()
            .skip(i)
            .find(|(_, t)| word(t).is_some_and(|w| !options.contains(&w.as_str())))?
            .0;
        first = word(&toks[i])?;
    }
    let at = |t: &Token, w: &str| Some((t.start, w.to_ascii_uppercase()));
    if WRITING.contains(&first.as_str()) {
        return at(&toks[i], &first);
    }
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(i + 1) {
        match t.kind {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => depth = depth.saturating_sub(1),
            _ => {}
        }
        let Some(w) = word(t) else { continue };
        let prev = toks[j - 1].kind;
        // `AS (INSERT …)` in a WITH; the main statement of a WITH follows its last `)`.
        let dml_place =
            prev == Tok::Punct(b'(') || (first == "with" && depth == 0 && prev == Tok::Punct(b')'));
        if dml_place && matches!(w.as_str(), "insert" | "update" | "delete" | "merge") {
            return at(t, &w);
        }
        let into = w == "into"
            && depth == 0
            && matches!(first.as_str(), "select" | "with" | "table" | "values");
        let copy_from = w == "from" && depth == 0 && first == "copy";
        if into || copy_from {
            return at(t, &w);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{max_placeholder, statements, writes};

    fn split(sql: &str) -> Vec<&str> {
        statements(sql).into_iter().map(|r| &sql[r]).collect()
    }

    #[test]
    fn splits_files_into_statements_as_psql_does() {
        assert_eq!(split("SELECT 1; SELECT 2;\n"), ["SELECT 1", "SELECT 2"]);
        assert_eq!(
            split("-- c;\nSELECT ';' /* ; /* ; */ */ ;;\nSELECT \"a;\""),
            ["SELECT ';'", "SELECT \"a;\""]
        );
        assert_eq!(
            split("SELECT E'\\';'; SELECT 2"),
            ["SELECT E'\\';'", "SELECT 2"]
        );
        assert_eq!(
            split("DO $f$ BEGIN PERFORM 1; END $f$; SELECT $$;$$"),
            ["DO $f$ BEGIN PERFORM 1; END $f$", "SELECT $$;$$"]
        );
        assert_eq!(
            split("CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2); SELECT 3"),
            [
                "CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)",
                "SELECT 3"
            ]
        );
        let atomic = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END";
        assert_eq!(
            split(&format!("{atomic};\nSELECT 3;")),
            [atomic, "SELECT 3"]
        );
        assert_eq!(split("BEGIN; SELECT 1; END;"), ["BEGIN", "SELECT 1", "END"]);
        assert!(split("  -- only a comment\n;").is_empty());
    }

    #[test]
    fn finds_writes_outside_literals() {
        fn w(s: &str) -> Option<(String, &str)> {
            writes(s).map(|(at, word)| (word, &s[at..]))
        }
        for ok in [
            "SELECT * FROM t WHERE a = 'insert'",
            "SELECT 1 -- delete\n",
            "SELECT * FROM t FOR UPDATE",
            "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "EXPLAIN INSERT INTO t VALUES (1)",
            "(SELECT 1) UNION (SELECT 2)",
            "VALUES (1)",
            "SELECT \"update\" FROM t",
            "SET work_mem = '64MB'",
        ] {
            assert_eq!(w(ok), None, "{ok}");
        }
        assert_eq!(w("INSERT INTO t VALUES (1)").unwrap().0, "INSERT");
        assert_eq!(w("  drop table t").unwrap().0, "DROP");
        assert_eq!(
            w("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d").unwrap(),
            (
                "DELETE".to_string(),
                "DELETE FROM t RETURNING *) SELECT * FROM d"
            )
        );
        assert_eq!(
            w("WITH a AS (SELECT 1) UPDATE t SET x = 1").unwrap().0,
            "UPDATE"
        );
        assert_eq!(w("SELECT * INTO t2 FROM t").unwrap().0, "INTO");
        assert_eq!(
            w("EXPLAIN (ANALYZE, BUFFERS) MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE")
                .unwrap()
                .0,
            "MERGE"
        );
        assert_eq!(w("COPY t FROM STDIN").unwrap().0, "FROM");
        assert_eq!(w("CALL p()").unwrap().0, "CALL");
    }

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

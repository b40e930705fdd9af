//! The `url` backend: an existing server. querygate creates its own scratch databases there
//! and drops them afterwards; it never writes to the database named in the URL.

use std::str::FromStr;

use anyhow::{bail, Context, Result};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{redact_url, BackendInfo, BackendKind, BoxFuture, Server};

/// Parses `--database-url`: a `postgres://` / `postgresql://` URL, or a libpq `key=value`
/// connection string (`host=… port=… user=… password=… dbname=…`). The error, for the user,
/// never holds the password.
pub fn parse_connection(raw: &str) -> std::result::Result<PgConnectOptions, String> {
    let s = raw.trim();
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        return PgConnectOptions::from_str(s).map_err(|e| {
            format!(
                "cannot parse the database URL {}: {}. Characters such as `/`, `?`, `@`, `#` and `:` in \
                 the password must be percent-encoded (`/` is %2F, `?` is %3F, `@` is %40), or use \
                 the key=value form: \"host=… port=… user=… password=… dbname=…\"",
                redact_url(s),
                scrub(&e.to_string(), s)
            )
        });
    }
    if !s.contains('=') {
        return Err(format!(
            "the database URL {} is neither a postgres:// URL nor a key=value connection string",
            redact_url(s)
        ));
    }
    key_values(s)
}

/// libpq's `key = value` form; values may be single-quoted (`\'` and `\\` escaped).
fn key_values(s: &str) -> std::result::Result<PgConnectOptions, String> {
    let mut opts = PgConnectOptions::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or_else(|| {
            format!(
                "connection string: `{}` has no `=`",
                rest.split_whitespace().next().unwrap_or("")
            )
        })?;
        let key = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start();
        let mut value = String::new();
        if let Some(quoted) = rest.strip_prefix('\'') {
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '\'' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end.ok_or_else(|| {
                format!("connection string: the value of `{key}` has no closing quote")
            })?;
            rest = &quoted[end..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            value = rest[..end].to_string();
            rest = &rest[end..];
        }
        rest = rest.trim_start();
        opts = match key.as_str() {
            "host" | "hostaddr" if value.starts_with('/') => opts.socket(&value),
            "host" | "hostaddr" => opts.host(&value),
            "port" => opts.port(value.parse().map_err(|_| format!("connection string: port `{value}` is not a number"))?),
            "user" => opts.username(&value),
            "password" => opts.password(&value),
            "dbname" => opts.database(&value),
            "application_name" => opts.application_name(&value),
            "sslmode" => opts.ssl_mode(value.parse().map_err(|_| format!("connection string: unknown sslmode `{value}`"))?),
            "sslrootcert" => opts.ssl_root_cert(&value),
            "options" => opts.options(value.split_whitespace().filter_map(|o| o.strip_prefix("-c")).filter_map(|o| o.trim().split_once('=')).collect::<Vec<_>>()),
            "connect_timeout" => opts,
            other => {
                return Err(format!(
                    "connection string: unknown key `{other}` (querygate reads host, hostaddr, port, user, password, dbname, sslmode, sslrootcert, application_name, options, connect_timeout)"
                ))
            }
        };
    }
    Ok(opts)
}

/// `message` without any piece of the password in `raw` (a parser may quote part of it).
fn scrub(message: &str, raw: &str) -> String {
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let secret = match (rest.find(':'), rest.rfind('@')) {
        (Some(c), Some(a)) if c < a => &rest[c + 1..a],
        _ => return redact_url(message),
    };
    let mut out = redact_url(message);
    let pieces = std::iter::once(secret).chain(secret.split(['/', '?', '#', '@', ':']));
    for piece in pieces.filter(|p| p.len() >= 2) {
        out = out.replace(piece, "***");
    }
    out
}

/// Where the server is, for messages and the results file: built from the parsed options,
/// so it cannot hold a password.
pub fn display_address(o: &PgConnectOptions) -> String {
    let host = match o.get_socket() {
        Some(sock) => sock.display().to_string(),
        None => o.get_host().to_string(),
    };
    format!(
        "postgres://{}@{}:{}/{}",
        o.get_username(),
        host,
        o.get_port(),
        o.get_database().unwrap_or("")
    )
}

pub struct UrlServer {
    options: PgConnectOptions,
    info: BackendInfo,
}

impl UrlServer {
    /// Connects once to check the role may create databases; refuses with an explanation if not.
    pub async fn connect(url: &str, reason: String) -> Result<Self> {
        let options = parse_connection(url).map_err(|why| anyhow::anyhow!(why))?;
        let redacted = display_address(&options);
        let mut conn = options.connect().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot connect to {redacted}: {}",
                redact_url(&e.to_string())
            )
        })?;
        let (can_create, is_super): (bool, bool) = sqlx::query_as(
            "SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&mut conn)
        .await
        .context("cannot read the role's privileges")?;
        conn.close().await.ok();
        if !(can_create || is_super) {
            bail!(
                "the role in {redacted} cannot create databases. querygate measures in scratch databases it creates \
                 (and drops) itself, and never writes to the database in the URL. Grant it with \
                 `ALTER ROLE <role> CREATEDB`, or use a role that has CREATEDB"
            );
        }
        let info = BackendInfo {
            kind: BackendKind::Url,
            reason,
            image: None,
            image_id: None,
            bindir: None,
            address: redacted,
        };
        Ok(UrlServer { options, info })
    }
}

impl Server for UrlServer {
    fn admin_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    fn info(&self) -> &BackendInfo {
        &self.info
    }

    fn owns_server(&self) -> bool {
        false
    }

    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

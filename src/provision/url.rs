//! The `url` backend: an existing server. querygate creates its own scratch databases there
//! and drops them afterwards; it never writes to the database named in the URL.

use std::str::FromStr;

use anyhow::{bail, Context, Result};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{redact_url, BackendInfo, BackendKind, BoxFuture, Server};

pub struct UrlServer {
    options: PgConnectOptions,
    info: BackendInfo,
}

impl UrlServer {
    /// Connects once to check the role may create databases; refuses with an explanation if not.
    pub async fn connect(url: &str, reason: String) -> Result<Self> {
        let redacted = redact_url(url);
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            anyhow::anyhow!(
                "cannot parse the database URL {redacted}: {}",
                super::redact_url(&e.to_string())
            )
        })?;
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

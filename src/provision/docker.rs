//! The `docker` backend (testcontainers).

use std::collections::BTreeMap;

use anyhow::Result;
use sqlx::postgres::PgConnectOptions;

use super::{BackendInfo, BoxFuture, Server};

/// `Ok` when a Docker engine answers and `image` is present locally.
pub async fn probe(_image: &str) -> Result<(), String> {
    Err("the docker backend is not available in this build".into())
}

pub struct DockerServer {
    info: BackendInfo,
}

impl DockerServer {
    pub async fn start(
        _image: &str,
        _settings: BTreeMap<String, String>,
        _reason: String,
    ) -> Result<Self> {
        anyhow::bail!("the docker backend is not available in this build")
    }
}

impl Server for DockerServer {
    fn admin_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
    }
    fn info(&self) -> &BackendInfo {
        &self.info
    }
    fn owns_server(&self) -> bool {
        true
    }
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

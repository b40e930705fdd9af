//! querygate: measure PostgreSQL queries before and after a migration, on the same server
//! and data, interleaved, with confidence intervals, the plans that explain the difference,
//! and a verdict on the claims made for the change. See ARCHITECTURE.md for the map.

pub mod analysis;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod error;
pub mod explain;
pub mod gate;
pub mod load;
pub mod measure;
pub mod measured;
pub mod merge;
pub mod pg;
pub mod pipeline;
pub mod progress;
pub mod provision;
pub mod report;
pub mod scenario;
pub mod seed;

pub use app::run;
pub use bench::{Bench, Fixture};
pub use error::{Error, Result};

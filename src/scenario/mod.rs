//! Scenario files: parsing, validation, and the validated [`Scenario`] the rest of querygate reads.

pub mod claim;
pub mod code;
pub mod expr;
mod load;
pub mod load_section;
mod model;
mod sql;

pub use claim::{Bound, Claim, Quantile, Side};
pub use expr::{Expr, Value};
pub use load::{load, parse, FileReader, FsReader};
pub use load_section::{parse_duration_ms, Arrival, LoadSettings};
pub use model::*;
pub use sql::{max_placeholder, statements as sql_statements, writes as sql_writes};

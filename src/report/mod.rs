//! The results report and its renderers. Every output format reads [`Report`] only.

pub mod histogram;
pub mod html;
pub mod junit;
mod load;
pub mod load_text;
pub mod markdown;
mod model;
pub mod scaling;
pub mod schema;
pub mod server;
pub mod table;
pub mod text;
pub mod write;

pub use load::*;
pub use model::*;

//! The JSON Schema of results files, generated from the Rust types.

/// The schema of [`super::Report`].
pub fn results_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(super::Report)).expect("schema serializes")
}

//! The JSON Schema of results files, generated from the Rust types.
//!
//! The committed copy is `docs/results.schema.json` (`querygate schema > docs/results.schema.json`);
//! a test fails when it no longer matches the types. docs/results-format.md says which fields
//! are the stable contract.

use serde_json::{json, Value};

use super::SCHEMA_VERSION;

/// The schema of [`super::Report`].
pub fn results_schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(super::Report)).expect("schema serializes");
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("title".into(), json!("querygate results"));
        obj.insert(
            "$comment".into(),
            json!(
                "Generated from src/report/model.rs by `querygate schema`; do not edit. \
                   Stable fields: docs/results-format.md."
            ),
        );
    }
    // A reader of version N must refuse other versions, so the schema pins the number.
    if let Some(v) = schema.pointer_mut("/properties/schema_version") {
        if let Some(obj) = v.as_object_mut() {
            obj.insert("const".into(), json!(SCHEMA_VERSION));
        }
    }
    schema
}

/// The schema as `querygate schema` prints it: pretty JSON and a final newline.
pub fn results_schema_text() -> String {
    serde_json::to_string_pretty(&results_schema()).expect("schema serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_pins_the_version_and_describes_the_report() {
        let s = results_schema();
        assert_eq!(
            s["properties"]["schema_version"]["const"],
            json!(SCHEMA_VERSION)
        );
        let required = s["required"].as_array().expect("required fields");
        for field in ["schema_version", "status", "exit_code", "scenarios"] {
            assert!(required.contains(&json!(field)), "{field} is not required");
        }
    }
}

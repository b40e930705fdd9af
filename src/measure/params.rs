//! Parameter values: drawn from generators or sampled rows, and bound with the types the
//! server inferred for each placeholder.

use std::str::FromStr;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgTypeInfo, Postgres};
use sqlx::{Arguments, Encode, Type, TypeInfo};

use crate::scenario::{Expr, Value};

/// Where an operation's parameter values come from at run time.
#[derive(Debug, Clone)]
pub enum ParamSource {
    None,
    Generated(Vec<Expr>),
    /// Rows sampled once from the seeded data; each execution draws one row at random.
    Sampled(Vec<Vec<Value>>),
}

impl ParamSource {
    /// Values for one execution.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> Vec<Value> {
        match self {
            ParamSource::None => Vec::new(),
            ParamSource::Generated(exprs) => exprs.iter().map(|e| e.eval(rng)).collect(),
            ParamSource::Sampled(rows) => rows[rng.random_range(0..rows.len())].clone(),
        }
    }
}

/// How one placeholder is bound, decided once from the server's inferred type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    I16,
    I32,
    I64,
    F32,
    F64,
    Numeric,
    Text,
    Uuid,
    Timestamptz,
    Timestamp,
    Date,
    Json,
}

impl Kind {
    /// `Err` names the type and says how to make it bindable.
    pub fn of(ty: &PgTypeInfo) -> Result<Kind, String> {
        Ok(match ty.name() {
            "BOOL" => Kind::Bool,
            "INT2" => Kind::I16,
            "INT4" => Kind::I32,
            "INT8" => Kind::I64,
            "FLOAT4" => Kind::F32,
            "FLOAT8" => Kind::F64,
            "NUMERIC" => Kind::Numeric,
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "UNKNOWN" | "CITEXT" => Kind::Text,
            "UUID" => Kind::Uuid,
            "TIMESTAMPTZ" => Kind::Timestamptz,
            "TIMESTAMP" => Kind::Timestamp,
            "DATE" => Kind::Date,
            "JSON" | "JSONB" => Kind::Json,
            other => {
                return Err(format!(
                    "the server expects type {other}, which querygate does not bind directly; \
                     pass it as text and cast in SQL, e.g. `$1::text::{}`",
                    other.to_ascii_lowercase()
                ))
            }
        })
    }
}

impl Kind {
    /// The PostgreSQL type name, for messages in the user's terms.
    pub fn pg_name(self) -> &'static str {
        match self {
            Kind::Bool => "boolean",
            Kind::I16 => "smallint",
            Kind::I32 => "integer",
            Kind::I64 => "bigint",
            Kind::F32 => "real",
            Kind::F64 => "double precision",
            Kind::Numeric => "numeric",
            Kind::Text => "text",
            Kind::Uuid => "uuid",
            Kind::Timestamptz => "timestamp with time zone",
            Kind::Timestamp => "timestamp without time zone",
            Kind::Date => "date",
            Kind::Json => "json",
        }
    }
}

/// Where bound values go: sqlx's arguments (EXPLAIN, load clients, Rust code), or binary values
/// for the measuring connection ([`Encoded`]). Both encode with sqlx's `Encode`, so a value is
/// the same bytes either way.
pub trait Sink {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send;
}

impl Sink for PgArguments {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send,
    {
        Arguments::add(self, value)
    }
}

/// Parameter values in PostgreSQL's binary format, `None` for NULL.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Encoded(pub Vec<Option<Vec<u8>>>);

impl Sink for Encoded {
    fn add<T>(&mut self, value: T) -> Result<(), BoxDynError>
    where
        T: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send,
    {
        let mut buf = PgArgumentBuffer::default();
        let bytes = match value.encode_by_ref(&mut buf)? {
            IsNull::Yes => None,
            IsNull::No => Some(buf.to_vec()),
        };
        self.0.push(bytes);
        Ok(())
    }
}

/// Adds `v` to `args` as `kind`. The error is in PostgreSQL's terms (an integer out of range
/// for `integer`, not a Rust type).
pub fn bind(args: &mut impl Sink, v: &Value, kind: Kind) -> Result<(), String> {
    let name = kind.pg_name();
    let bad = || match (kind, v) {
        (Kind::I16 | Kind::I32, Value::Int(_)) => {
            format!("the value {v} is out of range for type {name}")
        }
        _ => format!("the value `{v}` is not a valid {name}"),
    };
    let r = match (kind, v) {
        (Kind::Bool, Value::Null) => args.add(None::<bool>),
        (Kind::I16, Value::Null) => args.add(None::<i16>),
        (Kind::I32, Value::Null) => args.add(None::<i32>),
        (Kind::I64, Value::Null) => args.add(None::<i64>),
        (Kind::F32, Value::Null) => args.add(None::<f32>),
        (Kind::F64, Value::Null) => args.add(None::<f64>),
        (Kind::Numeric, Value::Null) => args.add(None::<rust_decimal::Decimal>),
        (Kind::Text, Value::Null) => args.add(None::<String>),
        (Kind::Uuid, Value::Null) => args.add(None::<uuid::Uuid>),
        (Kind::Timestamptz, Value::Null) => args.add(None::<chrono::DateTime<chrono::Utc>>),
        (Kind::Timestamp, Value::Null) => args.add(None::<chrono::NaiveDateTime>),
        (Kind::Date, Value::Null) => args.add(None::<chrono::NaiveDate>),
        (Kind::Json, Value::Null) => args.add(None::<sqlx::types::Json<serde_json::Value>>),
        (Kind::Text, v) => args.add(v.to_string()),
        (Kind::Bool, Value::Int(i)) => args.add(*i != 0),
        (Kind::Bool, Value::Text(t)) => args.add(match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "1" | "yes" | "on" => true,
            "f" | "false" | "0" | "no" | "off" => false,
            _ => return Err(bad()),
        }),
        (Kind::Bool, Value::Float(_)) => return Err(bad()),
        (Kind::I16, v) => args.add(i16::try_from(int(v).ok_or_else(bad)?).map_err(|_| bad())?),
        (Kind::I32, v) => args.add(i32::try_from(int(v).ok_or_else(bad)?).map_err(|_| bad())?),
        (Kind::I64, v) => args.add(int(v).ok_or_else(bad)?),
        (Kind::F32, v) => args.add(float(v).ok_or_else(bad)? as f32),
        (Kind::F64, v) => args.add(float(v).ok_or_else(bad)?),
        (Kind::Numeric, v) => {
            args.add(rust_decimal::Decimal::from_str(&v.to_string()).map_err(|_| bad())?)
        }
        (Kind::Uuid, v) => args.add(uuid::Uuid::parse_str(&v.to_string()).map_err(|_| bad())?),
        (Kind::Timestamptz, v) => args.add(timestamptz(&v.to_string()).ok_or_else(bad)?),
        (Kind::Timestamp, v) => args.add(
            chrono::NaiveDateTime::parse_from_str(&v.to_string(), "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| {
                    chrono::NaiveDateTime::parse_from_str(&v.to_string(), "%Y-%m-%dT%H:%M:%S%.f")
                })
                .map_err(|_| bad())?,
        ),
        (Kind::Date, v) => args
            .add(chrono::NaiveDate::parse_from_str(&v.to_string(), "%Y-%m-%d").map_err(|_| bad())?),
        (Kind::Json, v) => args.add(sqlx::types::Json(
            serde_json::from_str::<serde_json::Value>(&v.to_string()).map_err(|_| bad())?,
        )),
    };
    r.map_err(|e| format!("{}: {e}", bad()))
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Text(t) => t.trim().parse().ok(),
        Value::Null => None,
    }
}

fn timestamptz(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    // PostgreSQL's text output ("2026-01-17 10:00:00.5+00") and RFC 3339.
    chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_values_of_every_kind() {
        let mut args = PgArguments::default();
        let cases = [
            (Value::Int(5), Kind::I32),
            (Value::Text("42".into()), Kind::I64),
            (Value::Text("t".into()), Kind::Bool),
            (Value::Int(3), Kind::Numeric),
            (
                Value::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
                Kind::Uuid,
            ),
            (
                Value::Text("2026-01-17 10:00:00.5+00".into()),
                Kind::Timestamptz,
            ),
            (Value::Text("2026-01-17".into()), Kind::Date),
            (Value::Text("{\"a\": 1}".into()), Kind::Json),
            (Value::Null, Kind::Text),
            (Value::Int(7), Kind::Text),
        ];
        for (v, k) in cases {
            bind(&mut args, &v, k).unwrap_or_else(|e| panic!("{v:?} as {k:?}: {e}"));
        }
        assert!(bind(&mut args, &Value::Int(70_000), Kind::I16).is_err());
        assert!(bind(&mut args, &Value::Text("x".into()), Kind::I32).is_err());
    }
}

//! A checker of Elastic Common Schema documents against ECS's own field
//! list, `tests/schemas/ecs_flat.yml` (Apache-2.0, copied with its
//! provenance in tests/schemas/SOURCES.md).
//!
//! A document passes when every field, flattened to its dotted name, is
//! an ECS field or sits under `dnsentry.`, and every value has its
//! field's type: keyword-like types a string, integer types an integer,
//! floating types a number, `ip` a string that parses as an address,
//! `date` an RFC 3339 string, `boolean` a bool, `object`/`nested` objects
//! whose fields are checked in turn (`flattened` ones hold anything); a
//! list only where ECS says the field holds one (`normalize: array`), and
//! a value among the field's `allowed_values` where ECS lists them.
//!
//! The YAML is read once with Python's yaml module (python3-yaml, installed
//! by `scripts/install-deps --test`), which hands the checker what it needs
//! as JSON.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Field {
    #[serde(rename = "type")]
    ty: String,
    array: bool,
    allowed: Vec<String>,
}

/// ECS's fields by flat name.
pub struct EcsSchema {
    fields: HashMap<String, Field>,
}

/// The schema, loaded once per test run.
pub fn schema() -> &'static EcsSchema {
    static SCHEMA: OnceLock<EcsSchema> = OnceLock::new();
    SCHEMA.get_or_init(load)
}

fn load() -> EcsSchema {
    const CONVERT: &str = r#"
import json, sys, yaml
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
fields = yaml.load(open(sys.argv[1], encoding="utf-8"), Loader=loader)
json.dump({name: {"type": f["type"],
                  "array": "array" in (f.get("normalize") or []),
                  "allowed": [v["name"] for v in f.get("allowed_values") or []]}
           for name, f in fields.items()}, sys.stdout)
"#;
    let path = super::project_file("tests/schemas/ecs_flat.yml");
    let out = std::process::Command::new("python3")
        .args(["-c", CONVERT])
        .arg(&path)
        .output()
        .expect("python3 (scripts/install-deps --test installs it with python3-yaml)");
    assert!(
        out.status.success(),
        "reading {} failed (python3-yaml missing? scripts/install-deps --test): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let fields: HashMap<String, Field> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(fields.len() > 1000, "only {} ECS fields", fields.len());
    EcsSchema { fields }
}

impl EcsSchema {
    /// Every problem of `doc`, as `FIELD: problem`.
    pub fn errors(&self, doc: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        match doc {
            Value::Object(_) => self.object("", doc, &mut errors),
            other => errors.push(format!("not an object: {other}")),
        }
        errors
    }

    /// Whether `name` has ECS fields under it (it is an intermediate
    /// object such as `dns` or `dns.question`).
    fn has_children(&self, name: &str) -> bool {
        let prefix = format!("{name}.");
        self.fields.keys().any(|k| k.starts_with(&prefix))
    }

    fn object(&self, prefix: &str, v: &Value, errors: &mut Vec<String>) {
        let Value::Object(map) = v else { return };
        for (key, value) in map {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if name == "dnsentry" {
                if !value.is_object() {
                    errors.push(format!("{name}: dnsentry's own fields must be an object"));
                }
                continue;
            }
            match self.fields.get(&name) {
                Some(field) => self.field(&name, field, value, errors),
                None if value.is_object() && self.has_children(&name) => {
                    self.object(&name, value, errors)
                }
                None => errors.push(format!("{name}: not an ECS field")),
            }
        }
    }

    fn field(&self, name: &str, field: &Field, value: &Value, errors: &mut Vec<String>) {
        let values: Vec<&Value> = match value {
            Value::Array(items) if field.array || field.ty == "nested" => items.iter().collect(),
            Value::Array(_) => {
                errors.push(format!("{name}: a list, but ECS holds one {}", field.ty));
                return;
            }
            one => vec![one],
        };
        for v in values {
            if let Some(problem) = self.value_problem(name, field, v, errors) {
                errors.push(format!("{name}: {problem}: {v}"));
            }
        }
    }

    fn value_problem(
        &self,
        name: &str,
        field: &Field,
        v: &Value,
        errors: &mut Vec<String>,
    ) -> Option<String> {
        let fits = match field.ty.as_str() {
            "keyword" | "constant_keyword" | "wildcard" | "match_only_text" | "text" => {
                v.is_string()
            }
            "long" | "integer" | "short" | "byte" | "unsigned_long" => v.is_i64() || v.is_u64(),
            "float" | "half_float" | "scaled_float" | "double" => v.is_number(),
            "ip" => v.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
            "date" => v
                .as_str()
                .is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok()),
            "boolean" => v.is_boolean(),
            "object" | "nested" => {
                if !v.is_object() {
                    return Some(format!("{} needs an object", field.ty));
                }
                if self.has_children(name) {
                    self.object(name, v, errors);
                }
                // An object with no ECS fields under it (`labels`) holds
                // what its user puts there.
                true
            }
            "flattened" => v.is_object(),
            "geo_point" => v.is_object() || v.is_string(),
            other => return Some(format!("type {other} is not known to this checker")),
        };
        if !fits {
            return Some(format!("not a {}", field.ty));
        }
        if !field.allowed.is_empty()
            && let Some(s) = v.as_str()
            && !field.allowed.iter().any(|a| a == s)
        {
            return Some(format!("not one of {:?}", field.allowed));
        }
        None
    }
}

/// Every problem of every labelled document.
pub fn ecs_errors(docs: &[(String, Value)]) -> Vec<String> {
    let schema = schema();
    docs.iter()
        .flat_map(|(label, doc)| {
            schema
                .errors(doc)
                .into_iter()
                .map(move |e| format!("{label}: {e}"))
        })
        .collect()
}

/// Fails listing every problem of every labelled document.
pub fn assert_ecs_valid(docs: &[(String, Value)]) {
    let errors = ecs_errors(docs);
    assert!(
        errors.is_empty(),
        "{} invalid:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

//! Where two states first differ, as a JSON pointer.

use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// JSON pointer to the first differing field, e.g. `/items/0/quantity`.
    pub path: String,
    pub snapshot: Value,
    pub replay: Value,
}

/// The first difference in document order (object keys sorted), or `None` when equal.
pub fn first_difference(snapshot: &Value, replay: &Value) -> Option<Difference> {
    walk(snapshot, replay, String::new())
}

fn walk(a: &Value, b: &Value, path: String) -> Option<Difference> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let here = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                walk(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), here)
            })
        }
        (Value::Array(x), Value::Array(y)) => (0..x.len().max(y.len())).find_map(|i| {
            walk(x.get(i).unwrap_or(&Value::Null), y.get(i).unwrap_or(&Value::Null), format!("{path}/{i}"))
        }),
        _ if a == b => None,
        _ => Some(Difference {
            path: if path.is_empty() { "/".into() } else { path },
            snapshot: a.clone(),
            replay: b.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_first_differing_field() {
        let a = json!({"status": "Pending", "items": [{"sku": "A", "quantity": 2}], "total": 5});
        let b = json!({"status": "Pending", "items": [{"sku": "A", "quantity": 3}], "total": 5});
        let d = first_difference(&a, &b).unwrap();
        assert_eq!(d.path, "/items/0/quantity");
        assert_eq!((d.snapshot, d.replay), (json!(2), json!(3)));
        assert_eq!(first_difference(&a, &a), None);
        let longer = json!({"items": [1, 2]});
        assert_eq!(first_difference(&json!({"items": [1]}), &longer).unwrap().path, "/items/1");
    }
}

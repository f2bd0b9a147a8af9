//! Lambda's event filtering, for the local stream runner: a record reaches the function when
//! it matches any of the event source's filter patterns. Filtering happens before batching:
//! a record that matches none is never delivered and never retried.
//!
//! The pattern language, as Lambda documents it, for the rules this emulates: a pattern is a
//! JSON object whose keys follow the record's; a leaf is a list of allowed values (strings,
//! numbers, booleans, null) or matchers `{"prefix": "…"}`, `{"exists": true|false}`,
//! `{"anything-but": […]}` and `{"numeric": ["<", 5, ">=", 1]}`. A pattern using anything else
//! is refused when the runner starts.

use serde_json::Value;

/// One filter pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern(Value);

impl Pattern {
    /// A `FilterCriteria.Filters[].Pattern` string.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("filter pattern {text}: {e}"))?;
        check(&value, "").map_err(|e| format!("filter pattern {text}: {e}"))?;
        Ok(Pattern(value))
    }

    /// Whether `record` (as the function would receive it) matches.
    pub fn matches(&self, record: &Value) -> bool {
        object_matches(&self.0, record)
    }
}

/// Whether a record passes a list of patterns: any one matching; no patterns, everything.
pub fn passes(patterns: &[Pattern], record: &Value) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(record))
}

fn check(pattern: &Value, at: &str) -> Result<(), String> {
    let object = pattern.as_object().ok_or_else(|| format!("{at}: a pattern is an object of fields"))?;
    for (key, value) in object {
        let at = format!("{at}/{key}");
        match value {
            Value::Object(_) => check(value, &at)?,
            Value::Array(rules) if !rules.is_empty() => rules.iter().try_for_each(|r| check_rule(r, &at))?,
            _ => return Err(format!("{at}: a leaf is a non-empty list of values or matchers")),
        }
    }
    Ok(())
}

fn check_rule(rule: &Value, at: &str) -> Result<(), String> {
    let Value::Object(matcher) = rule else { return Ok(()) };
    let [(kind, argument)] = matcher.iter().collect::<Vec<_>>()[..] else {
        return Err(format!("{at}: a matcher has one key"));
    };
    let fine = match kind.as_str() {
        "prefix" => argument.is_string(),
        "exists" => argument.is_boolean(),
        "anything-but" => !argument.is_object(),
        "numeric" => argument.as_array().is_some_and(|a| {
            a.len() % 2 == 0
                && a.chunks(2).all(|p| {
                    p[0].as_str().is_some_and(|op| ["<", "<=", "=", ">", ">="].contains(&op))
                        && p[1].is_number()
                })
        }),
        _ => false,
    };
    if fine { Ok(()) } else { Err(format!("{at}: the local runner does not emulate the matcher {rule}")) }
}

fn object_matches(pattern: &Value, record: &Value) -> bool {
    pattern.as_object().into_iter().flatten().all(|(key, expected)| {
        let field = record.get(key);
        match expected {
            Value::Object(_) => field.is_some_and(|f| f.is_object() && object_matches(expected, f)),
            Value::Array(rules) => rules.iter().any(|rule| rule_matches(rule, field)),
            _ => false,
        }
    })
}

fn rule_matches(rule: &Value, field: Option<&Value>) -> bool {
    // a list in the record matches when any of its elements does
    if let Some(Value::Array(items)) = field {
        return items.iter().any(|item| rule_matches(rule, Some(item)));
    }
    let Value::Object(matcher) = rule else { return field == Some(rule) };
    let Some((kind, argument)) = matcher.iter().next() else { return false };
    match (kind.as_str(), field) {
        ("exists", field) => argument.as_bool() == Some(field.is_some()),
        (_, None) => false,
        ("prefix", Some(Value::String(s))) => argument.as_str().is_some_and(|p| s.starts_with(p)),
        ("anything-but", Some(value)) => match argument {
            Value::Array(excluded) => !excluded.contains(value),
            single => single != value,
        },
        ("numeric", Some(Value::Number(n))) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            argument.as_array().into_iter().flatten().collect::<Vec<_>>().chunks(2).all(|pair| {
                let bound = pair[1].as_f64().unwrap_or(f64::NAN);
                match pair[0].as_str() {
                    Some("<") => n < bound,
                    Some("<=") => n <= bound,
                    Some("=") => n == bound,
                    Some(">") => n > bound,
                    Some(">=") => n >= bound,
                    _ => false,
                }
            })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(name: &str) -> Value {
        json!({
            "eventName": name,
            "dynamodb": {
                "Keys": {"orderId": {"S": "o-1"}, "sequence": {"N": "3"}},
                "NewImage": {"eventType": {"S": "ItemAdded"}, "schemaVersion": {"N": "2"}},
                "SizeBytes": 120
            }
        })
    }

    #[test]
    fn an_event_name_list_passes_those_names_only() {
        let inserts = Pattern::parse(r#"{"eventName": ["INSERT"]}"#).unwrap();
        assert!(inserts.matches(&record("INSERT")));
        assert!(!inserts.matches(&record("MODIFY")));
        assert!(!inserts.matches(&record("REMOVE")));
        assert!(!inserts.matches(&json!({})), "an absent field matches no value");
    }

    #[test]
    fn nested_fields_and_matchers() {
        let pattern = Pattern::parse(
            r#"{"dynamodb": {"NewImage": {"eventType": {"S": [{"prefix": "Item"}]}}, "SizeBytes": [{"numeric": [">", 100, "<=", 400]}]}}"#,
        )
        .unwrap();
        assert!(pattern.matches(&record("INSERT")));
        let mut small = record("INSERT");
        small["dynamodb"]["SizeBytes"] = json!(50);
        assert!(!pattern.matches(&small));
        let gone = Pattern::parse(r#"{"dynamodb": {"NewImage": [{"exists": false}]}}"#).unwrap();
        assert!(!gone.matches(&record("INSERT")));
        assert!(gone.matches(&json!({"dynamodb": {"OldImage": {}}})));
        let not_removes = Pattern::parse(r#"{"eventName": [{"anything-but": ["REMOVE"]}]}"#).unwrap();
        assert!(not_removes.matches(&record("MODIFY")) && !not_removes.matches(&record("REMOVE")));
    }

    #[test]
    fn any_pattern_of_several_and_none_at_all() {
        let patterns = [
            Pattern::parse(r#"{"eventName": ["INSERT"]}"#).unwrap(),
            Pattern::parse(r#"{"eventName": ["REMOVE"]}"#).unwrap(),
        ];
        assert!(passes(&patterns, &record("REMOVE")));
        assert!(!passes(&patterns, &record("MODIFY")));
        assert!(passes(&[], &record("MODIFY")), "no filter: every record");
    }

    #[test]
    fn a_pattern_it_cannot_emulate_is_refused() {
        for text in [
            r#"{"eventName": [{"suffix": "RT"}]}"#,
            r#"{"eventName": [{"equals-ignore-case": "insert"}]}"#,
            r#"{"eventName": "INSERT"}"#,
            r#"{"eventName": []}"#,
            r#"["INSERT"]"#,
            "{not json",
        ] {
            let err = Pattern::parse(text).unwrap_err();
            assert!(err.contains("filter pattern"), "{text}: {err}");
        }
    }
}

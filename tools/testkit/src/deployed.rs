//! template.yaml as CloudFormation receives it: translated by SAM's own translator
//! (`tools/deploy/translate.py`, the `samtranslator` package in the project's venv), then, for a
//! given set of stack parameters, with its conditions decided as CloudFormation decides them
//! (resources whose condition is false dropped, `Fn::If` replaced by the branch taken). Tests
//! of the deployed shape read this, never the SAM source.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The translated template for these parameters (others at their defaults), conditions
/// unresolved. Translations are cached per parameter set for the test process.
pub fn translated(parameters: &[(&str, &str)]) -> Value {
    static CACHE: OnceLock<Mutex<BTreeMap<String, Value>>> = OnceLock::new();
    let key = format!("{parameters:?}");
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap().get(&key) {
        return hit.clone();
    }
    let output = Command::new(crate::venv_python())
        .arg(root().join("tools/deploy/translate.py"))
        .arg(root().join("template.yaml"))
        .args(parameters.iter().map(|(k, v)| format!("{k}={v}")))
        .output()
        .expect("run tools/deploy/translate.py with the venv's python (make venv)");
    assert!(
        output.status.success(),
        "SAM's translator refused the template: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let template: Value = serde_json::from_slice(&output.stdout).expect("the translation is JSON");
    cache.lock().unwrap().insert(key, template.clone());
    template
}

/// The template as a stack with these parameters gets it: conditions decided, parameters
/// referred to by `Ref` replaced by their values, `Fn::Select` of an `Fn::Split` of a known
/// text taken.
pub fn deployed(parameters: &[(&str, &str)]) -> Value {
    let template = translated(parameters);
    let mut values = parameter_defaults(&template);
    for (k, v) in parameters {
        values.insert((*k).to_owned(), (*v).to_owned());
    }
    let conditions = conditions(&template, &values);
    let mut resources = Map::new();
    for (name, resource) in template["Resources"].as_object().expect("resources") {
        let kept = resource["Condition"].as_str().is_none_or(|c| conditions[c]);
        if kept {
            resources.insert(name.clone(), take_branches(resource, &conditions));
        }
    }
    let mut out = take_branches(&template, &conditions);
    out["Resources"] = selected(&with_parameters(&Value::Object(resources), &values));
    out["ParameterValues"] = serde_json::to_value(&values).unwrap();
    out
}

/// Each parameter's default, as text.
pub fn parameter_defaults(template: &Value) -> BTreeMap<String, String> {
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    template["Parameters"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, p)| Some((name.clone(), text(p.get("Default")?))))
        .collect()
}

/// Each of the template's conditions, decided for these parameter values.
pub fn conditions(template: &Value, values: &BTreeMap<String, String>) -> BTreeMap<String, bool> {
    template["Conditions"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(n, c)| (n.clone(), decide(c, values)))
        .collect()
}

/// A template in YAML (CloudFormation's short forms, `!Ref x`, `!If [...]`) in the JSON form
/// CloudFormation reads (`{"Ref": "x"}`, `{"Fn::If": [...]}`).
pub fn from_yaml(yaml: &serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Yaml;
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(from_yaml).collect()),
        Yaml::Mapping(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().map(str::to_owned).unwrap_or_default(), from_yaml(v)))
                .collect(),
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let value = from_yaml(&tagged.value);
            match (tag, value) {
                ("Ref", value) => serde_json::json!({ "Ref": value }),
                ("GetAtt", Value::String(path)) => {
                    let (resource, attribute) = path.split_once('.').unwrap_or((&path, ""));
                    serde_json::json!({ "Fn::GetAtt": [resource, attribute] })
                }
                ("Condition", value) => serde_json::json!({ "Condition": value }),
                (tag, value) => serde_json::json!({ format!("Fn::{tag}"): value }),
            }
        }
    }
}

/// A condition's value for these parameter values.
fn decide(condition: &Value, values: &BTreeMap<String, String>) -> bool {
    let args = |f: &str| condition[f].as_array().cloned().unwrap_or_default();
    if let Some(name) = condition["Condition"].as_str() {
        panic!("nested condition reference {name} is not decided here");
    }
    if condition.get("Fn::Equals").is_some() {
        let a = args("Fn::Equals");
        return scalar(&a[0], values) == scalar(&a[1], values);
    }
    if condition.get("Fn::Not").is_some() {
        return !decide(&args("Fn::Not")[0], values);
    }
    if condition.get("Fn::And").is_some() {
        return args("Fn::And").iter().all(|c| decide(c, values));
    }
    if condition.get("Fn::Or").is_some() {
        return args("Fn::Or").iter().any(|c| decide(c, values));
    }
    panic!("a condition this does not decide: {condition}");
}

fn scalar(value: &Value, values: &BTreeMap<String, String>) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.contains_key("Ref") => {
            let name = o["Ref"].as_str().unwrap();
            values.get(name).cloned().unwrap_or_else(|| panic!("no value for {name}"))
        }
        other => other.to_string(),
    }
}

/// `value` with every `Fn::If` replaced by the branch its condition takes.
pub fn take_branches(value: &Value, conditions: &BTreeMap<String, bool>) -> Value {
    match value {
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::If") => {
            let [c, yes, no] = o["Fn::If"].as_array().expect("Fn::If is a list").as_slice() else {
                panic!("Fn::If takes 3: {value}");
            };
            let taken = if conditions[c.as_str().unwrap()] { yes } else { no };
            take_branches(taken, conditions)
        }
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), take_branches(v, conditions))).collect())
        }
        // a branch that took `AWS::NoValue` leaves nothing in a list, as in CloudFormation
        Value::Array(a) => Value::Array(
            a.iter().map(|v| take_branches(v, conditions)).filter(|v| v["Ref"] != "AWS::NoValue").collect(),
        ),
        other => other.clone(),
    }
}

/// `value` with each `Ref` to a parameter replaced by its value (a list parameter's too, as
/// its text: the template has none).
fn with_parameters(value: &Value, values: &BTreeMap<String, String>) -> Value {
    match value {
        Value::Object(o)
            if o.len() == 1
                && o.get("Ref").and_then(Value::as_str).is_some_and(|r| values.contains_key(r)) =>
        {
            Value::String(values[o["Ref"].as_str().unwrap()].clone())
        }
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), with_parameters(v, values))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| with_parameters(v, values)).collect()),
        other => other.clone(),
    }
}

/// `value` with each `{"Fn::Select": [i, {"Fn::Split": [separator, text]}]}` of a known text
/// replaced by the part it selects (how the stack derives the attached table from its stream).
fn selected(value: &Value) -> Value {
    match value {
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::Select") => {
            let args = o["Fn::Select"].as_array().expect("Fn::Select is a list");
            let split = args.get(1).and_then(|s| s["Fn::Split"].as_array());
            match (args[0].as_u64(), split.map(Vec::as_slice)) {
                (Some(i), Some([Value::String(separator), Value::String(text)])) => Value::String(
                    text.split(separator.as_str()).nth(i as usize).expect("Fn::Select in range").to_owned(),
                ),
                _ => value.clone(),
            }
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), selected(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(selected).collect()),
        other => other.clone(),
    }
}

/// The resources of `template` of this CloudFormation type, by logical id.
pub fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"].as_object().expect("resources").iter().filter(|(_, r)| r["Type"] == kind).collect()
}

//! A payload written as a DynamoDB map (M): what the AWS SDK's DocumentClient writes for a
//! JavaScript object. It is read as the JSON text it stands for (numbers as their N text, so
//! `4.5` is still a fraction and `9007199254740993` still beyond the safe integers) and then
//! decoded by exactly the rules of a payload written as text.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::fmt::Write;

/// The JSON text `map` stands for, or why it has none (a binary or set attribute).
pub fn json_text(map: &HashMap<String, AttributeValue>) -> Result<String, String> {
    let mut text = String::new();
    write_map(&mut text, map)?;
    Ok(text)
}

fn write_map(out: &mut String, map: &HashMap<String, AttributeValue>) -> Result<(), String> {
    out.push('{');
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value).map_err(|reason| format!("{key}: {reason}"))?;
    }
    out.push('}');
    Ok(())
}

fn write_value(out: &mut String, value: &AttributeValue) -> Result<(), String> {
    match value {
        AttributeValue::S(s) => write_string(out, s),
        AttributeValue::N(n) => out.push_str(n),
        AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttributeValue::Null(_) => out.push_str("null"),
        AttributeValue::M(map) => write_map(out, map)?,
        AttributeValue::L(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item).map_err(|reason| format!("[{i}]: {reason}"))?;
            }
            out.push(']');
        }
        other => return Err(format!("a {} attribute has no JSON form", type_name(other))),
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    let _ = write!(out, "{}", serde_json::Value::from(s));
}

fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::B(_) => "binary (B)",
        AttributeValue::Bs(_) => "binary set (BS)",
        AttributeValue::Ns(_) => "number set (NS)",
        AttributeValue::Ss(_) => "string set (SS)",
        _ => "non-JSON",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    fn m(fields: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn a_map_reads_as_the_json_it_stands_for_numbers_as_written() {
        let address = m(&[
            ("city", AttributeValue::S("Berlin \"Mitte\"".into())),
            ("floor", AttributeValue::Null(true)),
        ]);
        let map = m(&[
            ("unitPrice", AttributeValue::N("4.5".into())),
            ("address", AttributeValue::M(address)),
            (
                "tags",
                AttributeValue::L(vec![
                    AttributeValue::Bool(true),
                    AttributeValue::N("9007199254740993".into()),
                ]),
            ),
        ]);
        let text = json_text(&map).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["address"]["city"], "Berlin \"Mitte\"");
        assert!(value["address"]["floor"].is_null());
        assert!(text.contains("\"unitPrice\":4.5") && text.contains("9007199254740993"), "{text}");
    }

    #[test]
    fn binary_and_set_attributes_have_no_json_form() {
        for value in [
            AttributeValue::B(Blob::new(vec![1])),
            AttributeValue::Ss(vec!["a".into()]),
            AttributeValue::Ns(vec!["1".into()]),
        ] {
            let nested = m(&[("inner", AttributeValue::M(m(&[("x", value)])))]);
            assert!(json_text(&nested).unwrap_err().starts_with("inner: x: a "), "{nested:?}");
        }
    }
}

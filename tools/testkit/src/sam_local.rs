//! What `sam local invoke` does, without Docker: the environment SAM gives a function, read
//! from `template.yaml` and an env-vars file, and AWS's Runtime Interface Emulator (shipped
//! inside the aws-sam-cli package in the venv) running the function's bootstrap.
//!
//! The environment is resolved the way SAM resolves it: the template's `Globals` variables,
//! then the function's own; a `!Ref` to a parameter is its default, a `!Ref` to a resource its
//! logical id, `AWS::StackName` and `AWS::Region` SAM's local values; then the env-vars file
//! (`{"Parameters": {...}, "<LogicalId>": {...}}`) overrides the variables the template
//! declares, and only those: a variable the template does not declare is not passed, as under
//! SAM. That is the proof that the template declares everything a function needs.

use crate::deployed;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// SAM's stack name and region for local runs.
const LOCAL_STACK: &str = "local";
const LOCAL_REGION: &str = "us-east-1";

/// The environment `sam local invoke <logical_id> --env-vars <env_vars>` gives the function.
pub fn function_env(
    template: &str,
    env_vars: &Value,
    logical_id: &str,
) -> Result<BTreeMap<String, String>, String> {
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(template).map_err(|e| format!("template.yaml: {e}"))?;
    let template = deployed::from_yaml(&yaml);
    // conditions as SAM decides them locally: on the parameters' defaults
    let conditions = deployed::conditions(&template, &deployed::parameter_defaults(&template));
    let template = deployed::take_branches(&template, &conditions);
    let function = &template["Resources"][logical_id];
    if function["Type"].as_str() != Some("AWS::Serverless::Function") {
        return Err(format!("{logical_id} is not a function of the template"));
    }
    let globals = &template["Globals"]["Function"];
    let mut env = BTreeMap::new();
    for variables in
        [&globals["Environment"]["Variables"], &function["Properties"]["Environment"]["Variables"]]
    {
        for (name, value) in variables.as_object().into_iter().flatten() {
            env.insert(name.clone(), resolve(value, &template)?);
        }
    }
    for section in [&env_vars["Parameters"], &env_vars[logical_id]] {
        for (name, value) in section.as_object().into_iter().flatten() {
            if let Some(declared) = env.get_mut(name) {
                *declared = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
            }
        }
    }
    // what SAM itself adds
    let setting = |name: &str| {
        [&function["Properties"][name], &globals[name]]
            .into_iter()
            .find_map(|v| resolve(v, &template).ok().filter(|v| !v.is_empty()))
    };
    let timeout = setting("Timeout").unwrap_or_else(|| "3".into());
    let memory = setting("MemorySize").unwrap_or_else(|| "128".into());
    env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), logical_id.into());
    env.insert("AWS_LAMBDA_FUNCTION_TIMEOUT".into(), timeout);
    env.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), memory);
    env.insert("AWS_REGION".into(), LOCAL_REGION.into());
    env.insert("AWS_DEFAULT_REGION".into(), LOCAL_REGION.into());
    env.insert("AWS_ACCESS_KEY_ID".into(), "local".into());
    env.insert("AWS_SECRET_ACCESS_KEY".into(), "local".into());
    Ok(env)
}

/// A value as SAM resolves it locally (its conditions already decided).
fn resolve(value: &Value, template: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Null => Ok(String::new()),
        Value::Object(o) if o.contains_key("Ref") => {
            let name = o["Ref"].as_str().ok_or("a Ref to something that is not a name")?;
            match name {
                "AWS::StackName" => Ok(LOCAL_STACK.into()),
                "AWS::Region" => Ok(LOCAL_REGION.into()),
                _ if template["Parameters"][name].is_object() => {
                    resolve(&template["Parameters"][name]["Default"], template)
                }
                _ if template["Resources"][name].is_object() => Ok(name.to_owned()),
                _ => Err(format!("Ref {name}: no such parameter or resource")),
            }
        }
        other => Err(format!("a value SAM cannot resolve locally: {other}")),
    }
}

/// AWS's Runtime Interface Emulator, from aws-sam-cli in the venv.
pub fn rie_path() -> Result<PathBuf, String> {
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" };
    let python = std::fs::read_dir(&lib)
        .map_err(|e| format!("{}: {e} (make venv installs aws-sam-cli)", lib.display()))?
        .filter_map(Result::ok)
        .map(|d| d.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("python")))
        .ok_or("no python in the venv")?;
    let rie = python.join(format!("site-packages/samcli/local/rapid/aws-lambda-rie-{arch}"));
    rie.is_file().then_some(rie.clone()).ok_or_else(|| format!("{} is missing", rie.display()))
}

/// What the emulator reports: the function's init, once (`INIT REPORT(durationMs: …)`), and
/// each invocation's duration (`REPORT … Duration: …`). Its `REPORT` line's "Init Duration"
/// and "Max Memory Used" are not measurements (the latter is its memory size), so they are not
/// read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub init_ms: Option<f64>,
    pub durations_ms: Vec<f64>,
}

/// One function running under the emulator. Its runtime API port (9001) is fixed, so one runs
/// at a time in this process (the guard is held until it stops).
pub struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
    _one_at_a_time: MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

impl Emulator {
    /// Runs `bootstrap` under the emulator with exactly `env` (nothing else of this process's
    /// environment but `PATH`), serving invocations on a free port.
    pub fn start(bootstrap: &Path, env: &BTreeMap<String, String>) -> Result<Emulator, String> {
        let guard = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let log = std::env::temp_dir().join(format!("rie-{}-{port}.log", std::process::id()));
        let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = Command::new(rie_path()?)
            .args(["--runtime-interface-emulator-address", &format!("127.0.0.1:{port}")])
            .arg(bootstrap)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(file.try_clone().map_err(|e| e.to_string())?)
            .stderr(file)
            .spawn()
            .map_err(|e| format!("aws-lambda-rie: {e}"))?;
        let emulator = Emulator { child, port, log, _one_at_a_time: guard };
        let until = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > until {
                return Err(format!("the emulator did not listen on {port}: {}", emulator.output()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(emulator)
    }

    /// Invokes the function with `event`, as `sam local invoke -e` does; its answer (a
    /// function error is Lambda's `{"errorType", "errorMessage"}` answer).
    pub fn invoke(&self, event: &Value) -> Result<Value, String> {
        let body = event.to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(120))).map_err(|e| e.to_string())?;
        let head = format!(
            "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(body.as_bytes()))
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) =
            answer.split_once("\r\n\r\n").ok_or_else(|| format!("not an HTTP answer: {answer}"))?;
        let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
        let body = if chunked { dechunk(body)? } else { body.to_owned() };
        serde_json::from_str(&body).map_err(|e| format!("the answer is not JSON ({e}): {body}"))
    }

    /// Everything the emulator and the function printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the emulator reported so far.
    pub fn report(&self) -> Report {
        parse_report(&self.output())
    }

    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let output = self.output();
        let _ = std::fs::remove_file(&self.log);
        output
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP/1.1 chunked body, joined.
fn dechunk(mut body: &str) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").ok_or("a chunk without its size line")?;
        let size = usize::from_str_radix(size.trim(), 16).map_err(|e| format!("chunk size {size:?}: {e}"))?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("a chunk shorter than its size")?;
        out.push_str(chunk);
        body = rest.get(size + 2..).ok_or("a chunk without its line end")?;
    }
}

fn parse_report(output: &str) -> Report {
    let number = |text: &str| text.trim().split([' ', ')']).next().and_then(|n| n.parse::<f64>().ok());
    let init_ms = output
        .lines()
        .find_map(|l| l.split_once("INIT REPORT(durationMs:").and_then(|(_, rest)| number(rest)));
    let durations_ms = output
        .lines()
        .filter(|l| l.starts_with("REPORT "))
        .filter_map(|l| l.split('\t').find_map(|part| part.trim().strip_prefix("Duration:")).and_then(number))
        .collect();
    Report { init_ms, durations_ms }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEMPLATE: &str = r#"
Globals:
  Function:
    Timeout: 60
    MemorySize: 256
    Environment:
      Variables:
        TABLE: !Ref Table
        THRESHOLD: !Ref Threshold
        STACK: !Ref AWS::StackName
        ENDPOINT: ""
Parameters:
  Threshold: { Type: Number, Default: 10 }
  Existing: { Type: String, Default: "" }
Conditions:
  Create: !Equals [!Ref Existing, ""]
Resources:
  Table: { Type: AWS::DynamoDB::Table }
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 300
      Environment:
        Variables:
          OTHER: !Ref Fn
          CHOSEN: !If [Create, !Ref Table, !Ref Existing]
"#;

    #[test]
    fn the_environment_is_the_templates_with_declared_overrides_only() {
        let overrides = json!({"Parameters": {"ENDPOINT": "http://127.0.0.1:8000", "UNDECLARED": "x"}, "Fn": {"THRESHOLD": 20}});
        let env = function_env(TEMPLATE, &overrides, "Fn").unwrap();
        assert_eq!(env["TABLE"], "Table", "a resource's Ref is its logical id");
        assert_eq!(env["THRESHOLD"], "20", "a parameter's Ref is its default, overridden per function");
        assert_eq!(env["STACK"], "local");
        assert_eq!(env["ENDPOINT"], "http://127.0.0.1:8000");
        assert_eq!(env["OTHER"], "Fn");
        assert_eq!(env["CHOSEN"], "Table", "a condition decided on the defaults");
        assert!(!env.contains_key("UNDECLARED"), "a variable the template does not declare is not passed");
        assert_eq!(
            (env["AWS_LAMBDA_FUNCTION_TIMEOUT"].as_str(), env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"].as_str()),
            ("300", "256")
        );
        assert!(function_env(TEMPLATE, &json!({}), "Table").is_err(), "not a function");
    }

    #[test]
    fn a_chunked_body_is_joined() {
        assert_eq!(dechunk("3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n").unwrap(), "{\"a\":1}");
        assert!(dechunk("zz\r\n").is_err());
    }

    #[test]
    fn the_reports_read() {
        let output = "30 Nov 2026 [INFO] (rapid) INIT REPORT(durationMs: 70.794000)\nREPORT RequestId: 1\tInit Duration: 0.02 ms\tDuration: 72.27 ms\tBilled Duration: 73 ms\tMax Memory Used: 3008 MB\t\nREPORT RequestId: 2\tDuration: 2.05 ms\t\n";
        assert_eq!(parse_report(output), Report { init_ms: Some(70.794), durations_ms: vec![72.27, 2.05] });
    }
}

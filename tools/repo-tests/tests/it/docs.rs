//! Every reference in the project's documents resolves inside the repository: each backticked
//! `path.rs` or `path.rs::test_name` names a file that exists and a function it defines, and
//! each relative link names a file that exists.

use regex_lite::Regex;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md"), root().join("events/README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    docs
}

/// Every `.rs` file of the repository (not build output or installed tools).
fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && !name.starts_with('.') && !matches!(name.as_str(), "target" | "node_modules") {
            sources(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_file_and_test_the_documents_name_exists() {
    let mut files = Vec::new();
    sources(&root(), &mut files);
    let reference = Regex::new(r"`([A-Za-z0-9_./-]+\.rs)(?:::([a-z0-9_]+))?`").unwrap();
    let mut broken = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for found in reference.captures_iter(&text) {
            let path = &found[1];
            let matches: Vec<&String> =
                files.iter().filter(|f| f.as_str() == path || f.ends_with(&format!("/{path}"))).collect();
            let name = found.get(2).map(|m| m.as_str());
            let defined = |file: &String| {
                name.is_none_or(|n| {
                    let code = std::fs::read_to_string(root().join(file)).unwrap();
                    code.contains(&format!("fn {n}(")) || code.contains(&format!("fn {n}<"))
                })
            };
            checked += 1;
            if !matches.iter().any(|f| defined(f)) {
                broken.push(format!("{}: `{}`", doc.file_name().unwrap().to_string_lossy(), &found[0]));
            }
        }
    }
    assert!(checked > 50, "the documents name {checked} files and tests: is the pattern right?");
    assert!(broken.is_empty(), "references that resolve to nothing:\n{}", broken.join("\n"));
}

#[test]
fn every_relative_link_in_the_documents_resolves() {
    let link = Regex::new(r"\]\(([^)#:]+)(?:#[^)]*)?\)").unwrap();
    let mut broken = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for found in link.captures_iter(&text) {
            if !doc.parent().unwrap().join(&found[1]).exists() {
                broken.push(format!("{}: {}", doc.display(), &found[1]));
            }
        }
    }
    assert!(broken.is_empty(), "links to nothing:\n{}", broken.join("\n"));
}

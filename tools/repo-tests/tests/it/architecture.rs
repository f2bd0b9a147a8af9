//! The house's rules, read from the code's own imports (`use` paths and inline `crate::…` and
//! `super::…` paths; test modules are left out):
//! - `shared/src` has five layers, and every import points down or stays on its floor:
//!   domain < policy < store < use_cases < runtime;
//! - no crate of the workspace has a circle of files that import each other (a module may use
//!   its own children: they are its parts, not its neighbours);
//! - no file of the product (`shared/src`, `functions/*/src`) is longer than 320 lines: past
//!   that, a file holds more than one job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of `shared/src`, lowest first.
const LAYERS: [&str; 5] = ["domain", "policy", "store", "use_cases", "runtime"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_import_in_shared_points_down_a_layer_or_stays_on_its_own() {
    let krate = Crate::read(&root().join("shared/src"));
    let layer = |file: &str| LAYERS.iter().position(|l| file.starts_with(&format!("{l}/")));
    let mut back_up = Vec::new();
    for (from, targets) in &krate.imports {
        let Some(from_layer) = layer(from) else {
            assert_eq!(from, "lib.rs", "{from} is in no layer: put it in one of {LAYERS:?}");
            continue;
        };
        for to in targets {
            if let Some(to_layer) = layer(to).filter(|&l| l > from_layer) {
                back_up.push(format!("{from} ({}) imports {to} ({})", LAYERS[from_layer], LAYERS[to_layer]));
            }
        }
    }
    assert!(back_up.is_empty(), "imports that point up a layer:\n{}", back_up.join("\n"));
    // the check reads real imports: the repository (a store) is reached from the use cases and reaches the domain
    assert!(krate.imports["use_cases/admin.rs"].contains("store/repository/mod.rs"));
    assert!(krate.imports["store/repository/load.rs"].iter().any(|f| f.starts_with("domain/")));
}

#[test]
fn no_crate_has_files_that_import_each_other_in_a_circle() {
    let mut sources =
        vec![root().join("shared/src"), root().join("tools/local/src"), root().join("tools/testkit/src")];
    sources.push(root().join("tools/bench/src"));
    for function in std::fs::read_dir(root().join("functions")).unwrap() {
        sources.push(function.unwrap().path().join("src"));
    }
    for src in sources {
        let krate = Crate::read(&src);
        assert!(!krate.imports.is_empty(), "{} read no files", src.display());
        let circles = krate.circles();
        assert!(circles.is_empty(), "{}: files that import each other: {circles:?}", src.display());
    }
}

/// The longest a product file may be, in lines.
const MAX_PRODUCT_FILE_LINES: usize = 320;

#[test]
fn no_product_file_is_longer_than_320_lines() {
    let mut sources = vec![root().join("shared/src")];
    for function in std::fs::read_dir(root().join("functions")).unwrap() {
        sources.push(function.unwrap().path().join("src"));
    }
    let mut files = Vec::new();
    for src in &sources {
        let mut read = BTreeMap::new();
        collect(src, src, &mut read);
        files.extend(read.keys().map(|file| src.join(file)));
    }
    assert!(files.len() > 50, "read {} files: are the folders right?", files.len());
    let long: Vec<String> = files
        .iter()
        .map(|file| (file, std::fs::read_to_string(file).unwrap().lines().count()))
        .filter(|(_, lines)| *lines > MAX_PRODUCT_FILE_LINES)
        .map(|(file, lines)| format!("{} ({lines} lines)", file.display()))
        .collect();
    assert!(long.is_empty(), "longer than {MAX_PRODUCT_FILE_LINES} lines: {long:?}");
}

#[test]
fn the_reader_resolves_groups_super_paths_and_re_exports() {
    // given a crate whose mod.rs re-exports a child's item, and a sibling that imports it
    let dir = std::env::temp_dir().join(format!("architecture-{}", std::process::id()));
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod a;\npub mod b;\n");
    write("a/mod.rs", "mod inner;\npub use inner::Thing;\n");
    write("a/inner.rs", "use crate::b::{self, helper};\npub struct Thing;\n");
    write(
        "b.rs",
        "use crate::a::{Thing};\n// use crate::nowhere;\n#[cfg(test)]\nmod tests { use crate::a::inner; }\n",
    );
    let krate = Crate::read(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    // then the import of the re-exported name lands on the child that defines it
    assert_eq!(krate.imports["b.rs"], BTreeSet::from(["a/inner.rs".to_owned()]));
    assert_eq!(krate.imports["a/inner.rs"], BTreeSet::from(["b.rs".to_owned()]));
    // and the two form a circle (a parent's use of its own child does not)
    assert_eq!(krate.circles(), vec![vec!["a/inner.rs".to_owned(), "b.rs".to_owned()]]);
}

/// A crate's files and what each imports (paths relative to its `src`).
struct Crate {
    imports: BTreeMap<String, BTreeSet<String>>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        collect(src, src, &mut files);
        let exports: BTreeMap<&String, BTreeMap<String, String>> =
            files.iter().map(|(file, code)| (file, re_exports(src, file, code))).collect();
        let mut imports = BTreeMap::new();
        for (file, code) in &files {
            let module = module_of(file);
            let mut targets = BTreeSet::new();
            for path in paths_in(code) {
                let Some(absolute) = absolute(&module, &path) else { continue };
                if let Some(target) = resolve(src, &absolute, &exports) {
                    if &target != file && !is_descendant(&target, file) {
                        targets.insert(target);
                    }
                }
            }
            imports.insert(file.clone(), targets);
        }
        Crate { imports }
    }

    /// Groups of two or more files that reach each other (Tarjan's strongly connected components).
    fn circles(&self) -> Vec<Vec<String>> {
        let names: Vec<&String> = self.imports.keys().collect();
        let index_of: BTreeMap<&String, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let edges: Vec<Vec<usize>> = names
            .iter()
            .map(|n| self.imports[*n].iter().filter_map(|t| index_of.get(t).copied()).collect())
            .collect();
        let mut tarjan = Tarjan { edges: &edges, index: vec![None; names.len()], ..Tarjan::default() };
        for v in 0..names.len() {
            if tarjan.index[v].is_none() {
                tarjan.visit(v);
            }
        }
        let mut circles: Vec<Vec<String>> = tarjan
            .components
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut files: Vec<String> = c.into_iter().map(|i| names[i].clone()).collect();
                files.sort();
                files
            })
            .collect();
        circles.sort();
        circles
    }
}

#[derive(Default)]
struct Tarjan<'a> {
    edges: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: BTreeMap<usize, usize>,
    stack: Vec<usize>,
    next: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low.insert(v, self.next);
        self.next += 1;
        self.stack.push(v);
        for &w in &self.edges[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    let low = self.low[&v].min(self.low[&w]);
                    self.low.insert(v, low);
                }
                Some(wi) if self.stack.contains(&w) => {
                    let low = self.low[&v].min(wi);
                    self.low.insert(v, low);
                }
                Some(_) => {}
            }
        }
        if Some(self.low[&v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

fn collect(src: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(src, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(src).unwrap().to_string_lossy().replace('\\', "/");
            files.insert(relative, without_tests(&code_only(&std::fs::read_to_string(&path).unwrap())));
        }
    }
}

/// The module path of a file: `a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs`, `main.rs` and
/// `bin/*.rs` are the crate root.
fn module_of(file: &str) -> Vec<String> {
    let stem = file.trim_end_matches(".rs");
    if matches!(stem, "lib" | "main") || file.starts_with("bin/") {
        return Vec::new();
    }
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn is_descendant(target: &str, parent: &str) -> bool {
    let (t, p) = (module_of(target), module_of(parent));
    t.len() > p.len() && t.starts_with(&p) && !parent.starts_with("bin/")
}

/// `crate::…` and `super::…` paths, with `use` groups expanded.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let at_word =
            i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == ':');
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        if at_word && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let (tree, end) = use_tree(&bytes, i);
            expand(&tree, Vec::new(), &mut paths);
            i = end;
        } else {
            i += 1;
        }
    }
    paths
}

/// The path (or `use` tree) starting at `i`, and where it ends.
fn use_tree(code: &[char], mut i: usize) -> (String, usize) {
    let mut tree = String::new();
    let mut depth = 0;
    while i < code.len() {
        let c = code[i];
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            _ if c.is_whitespace() && depth == 0 => break,
            _ if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => break,
            _ => {}
        }
        tree.push(c);
        i += 1;
    }
    (tree, i)
}

fn expand(tree: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let Some(brace) = tree.find('{') else {
        let plain = tree.split(" as ").next().unwrap_or(tree);
        let mut path = prefix;
        path.extend(
            plain
                .split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "self" && *s != "*")
                .map(str::to_owned),
        );
        out.push(path);
        return;
    };
    let mut path = prefix;
    path.extend(tree[..brace].split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned));
    let inner = &tree[brace + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut depth, mut start) = (0, 0);
    let mut items = Vec::new();
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    for item in items.into_iter().filter(|i| !i.is_empty()) {
        expand(item, path.clone(), out);
    }
}

/// `crate::a::b` or `super::b` from inside `module`, as a path from the crate root.
fn absolute(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The file a path lands in: its longest prefix that is a module file, then, when the next
/// name is a child's item that the module re-exports, that child.
fn resolve(
    src: &Path,
    path: &[String],
    exports: &BTreeMap<&String, BTreeMap<String, String>>,
) -> Option<String> {
    for len in (0..=path.len()).rev() {
        let Some(file) = module_file(src, &path[..len]) else { continue };
        let mut file = file;
        let mut next = path.get(len);
        while let Some(child) = next.and_then(|name| exports.get(&file).and_then(|e| e.get(name))) {
            file = child.clone();
            next = None;
        }
        return Some(file);
    }
    None
}

fn module_file(src: &Path, module: &[String]) -> Option<String> {
    if module.is_empty() {
        return ["lib.rs", "main.rs"].into_iter().find(|f| src.join(f).exists()).map(str::to_owned);
    }
    let joined = module.join("/");
    [format!("{joined}.rs"), format!("{joined}/mod.rs")].into_iter().find(|f| src.join(f).exists())
}

/// The names a module file re-exports from its own children (`pub use child::{A, B}`), and
/// the child file each comes from.
fn re_exports(src: &Path, file: &str, code: &str) -> BTreeMap<String, String> {
    let module = module_of(file);
    let mut names = BTreeMap::new();
    for statement in code.split(';') {
        let Some(tree) = statement.trim().strip_prefix("pub use ") else { continue };
        let mut paths = Vec::new();
        expand(tree, Vec::new(), &mut paths);
        for path in paths {
            let Some((name, child)) = path.split_last() else { continue };
            if child.first().is_some_and(|c| c == "crate" || c == "super") {
                continue;
            }
            let mut target = module.clone();
            target.extend(child.iter().cloned());
            if let Some(child_file) = module_file(src, &target).filter(|c| c != file) {
                names.insert(name.clone(), child_file);
            }
        }
    }
    names
}

/// The code without comments, string and char literals (their text is no import).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_is_ident(&chars, i) {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            while j < chars.len() && !chars[j..].iter().take(close.len()).copied().eq(close.chars()) {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + close.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("' '");
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// The code without the items under `#[cfg(test)]`.
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let end = match (after.find('{'), after.find(';')) {
            (Some(brace), semi) if semi.is_none_or(|s| brace < s) => {
                let mut depth = 0;
                let mut end = after.len();
                for (k, c) in after[brace..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = brace + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (_, Some(semi)) => semi + 1,
            _ => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

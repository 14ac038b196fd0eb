//! The library's modules import one way (the command line, crate
//! `sluice-cli`, sits above them all): pipeline, registry and the
//! other users of a run -> meta -> tenants -> runtime -> data -> artifacts,
//! with a few leaves (the pipeline file format, params, step seeds, the
//! gate grammar, the model name rule, the WIT contract's types) that any
//! module may use and that use only each other. This test reads every
//! file of `host/src`, collects its `crate::` and `super::` paths, and
//! fails naming the file and the import that runs the wrong way; inside
//! `pipeline/`, it checks the files' own order the same way.

use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first. A module may import from a
/// lower layer only; modules of one layer do not import each other.
const LAYERS: &[&[&str]] = &[
    &["artifacts", "crash"],
    &["data"],
    &["runtime"],
    &["tenants"],
    &["meta"],
    &[
        "pipeline",
        "registry",
        "integrity",
        "conformance",
        "authoring",
    ],
    &["workspace"],
    &["serve"],
];

/// Modules (and crate-root items) any module may use; they use only each
/// other.
const LEAVES: &[&str] = &[
    "wit",
    "CONTRACT_VERSION",
    "runtime::bindings",
    "pipeline::definition",
    "pipeline::params",
    "pipeline::seed",
    "registry::gates",
    "registry::name_rule",
];

/// Files of `pipeline/` by layer, lowest first (the file format, params
/// and seeds are leaves).
const PIPELINE_LAYERS: &[&[&str]] = &[&["search"], &["plan"], &["cache"], &["executor"]];

fn layer(of: &[&[&str]], module: &str) -> Option<usize> {
    of.iter().position(|l| l.contains(&module))
}

fn is_leaf(path: &[String]) -> bool {
    LEAVES.iter().any(|leaf| {
        let leaf: Vec<&str> = leaf.split("::").collect();
        path.len() >= leaf.len() && path.iter().zip(&leaf).all(|(a, b)| a == b)
    })
}

/// Comments, strings and char literals blanked out, so that only code is
/// read (a brace or a path in a string is not one).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if text[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if text[i..].starts_with("/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            i = end;
            out.push(' ');
        } else if b[i] == b'r'
            && (text[i + 1..].starts_with("#\"") || text[i + 1..].starts_with("\""))
            && !(i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let hashes = text[i + 1..].bytes().take_while(|&c| c == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 1 + hashes + 1;
            i = text[start..]
                .find(&close)
                .map_or(b.len(), |e| start + e + close.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\''
            && (text[i..].starts_with("'\\") || text[i..].chars().nth(2) == Some('\''))
        {
            // A char literal ('{', '\n'), not a lifetime.
            let end = text[i + 1..].find('\'').map_or(b.len(), |e| i + 1 + e + 1);
            let end = if text[i..].starts_with("'\\'") {
                i + 4
            } else {
                end
            };
            i = end;
            out.push_str("' '");
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The module path of a file below `src` (`pipeline/plan.rs` is
/// `pipeline::plan`, `runtime/call/mod.rs` is `runtime::call`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("below src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Every `crate::` and `super::` path in `code` (comments and strings
/// removed), resolved from module `module`, with its line; the paths of a
/// `{...}` group each on their own. Inline `mod NAME { ... }` blocks are
/// followed, so `super::` inside them resolves as the compiler does.
fn imports(code: &str, module: &[String]) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    // The module path at each open brace.
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut pending_mod: Option<String> = None;
    let bytes = code.as_bytes();
    let mut line = 1;
    let mut i = 0;
    let here = |stack: &[Option<String>]| -> Vec<String> {
        let mut m = module.to_vec();
        m.extend(stack.iter().flatten().cloned());
        m
    };
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line += 1;
        }
        let word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if c == b'{' {
            stack.push(pending_mod.take());
            i += 1;
            continue;
        }
        if c == b'}' {
            stack.pop();
            i += 1;
            continue;
        }
        if c == b';' {
            pending_mod = None;
        }
        if word_start && code[i..].starts_with("mod ") {
            let rest = &code[i + 4..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if rest[name.len()..].trim_start().starts_with('{') {
                pending_mod = Some(name);
            }
        }
        if word_start && (code[i..].starts_with("crate::") || code[i..].starts_with("super::")) {
            let mut base = here(&stack);
            let mut j = i;
            loop {
                if code[j..].starts_with("crate::") {
                    base.clear();
                    j += 7;
                } else if code[j..].starts_with("super::") {
                    base.pop();
                    j += 7;
                } else {
                    break;
                }
            }
            let mut paths = Vec::new();
            let rest = &code[j..];
            let head: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut prefix = base.clone();
            prefix.extend(
                head.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            if rest[head.len()..].starts_with('{') && (head.is_empty() || head.ends_with("::")) {
                let group = &rest[head.len() + 1..];
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let item: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    if item.is_empty() || item == "self" {
                        paths.push(prefix.clone());
                        continue;
                    }
                    let mut p = prefix.clone();
                    p.extend(item.split("::").map(str::to_string));
                    paths.push(p);
                }
            } else {
                paths.push(prefix);
            }
            for p in paths {
                out.push((line, p));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// What is wrong with one import of `from` (a module path), if anything.
fn wrong_way(from: &[String], to: &[String]) -> Option<String> {
    let (Some(a), Some(b)) = (from.first(), to.first()) else {
        return None;
    };
    let from_text = from.join("::");
    let to_text = to.join("::");
    if is_leaf(from) {
        let own = from.len() >= 2 && to.len() >= 2 && from[..2] == to[..2];
        let known = layer(LAYERS, b).is_some() || is_leaf(to);
        if !own && known && !is_leaf(to) {
            return Some(format!(
                "`{from_text}` is a leaf, but imports `{to_text}`, which is not one"
            ));
        }
        return None;
    }
    if is_leaf(to) {
        return None;
    }
    if a != b {
        let (Some(la), Some(lb)) = (layer(LAYERS, a), layer(LAYERS, b)) else {
            return None;
        };
        if la <= lb {
            return Some(format!(
                "`{a}` (layer {la}) may not import `{b}` (layer {lb}): {}",
                if la == lb {
                    "modules of one layer do not import each other"
                } else {
                    "imports run from higher layers to lower ones"
                }
            ));
        }
        return None;
    }
    if a == "pipeline" && from.len() >= 2 && to.len() >= 2 && from[1] != to[1] {
        let (Some(la), Some(lb)) = (
            layer(PIPELINE_LAYERS, &from[1]),
            layer(PIPELINE_LAYERS, &to[1]),
        ) else {
            return None;
        };
        if la <= lb {
            return Some(format!(
                "`pipeline::{}` may not import `pipeline::{}`: the order is {:?}, lowest first",
                from[1], to[1], PIPELINE_LAYERS
            ));
        }
    }
    None
}

/// Every import of the files below `src` that runs the wrong way, as
/// `FILE:LINE: what`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let module = module_of(src, &file);
        if module.len() == 1 && (module[0] == "lib" || module[0] == "main") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for (line, to) in imports(&code_only(&text), &module) {
            if let Some(why) = wrong_way(&module, &to) {
                found.push(format!(
                    "{}:{line}: imports `crate::{}`: {why}",
                    file.display(),
                    to.join("::")
                ));
            }
        }
    }
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn imports_run_one_way_down_the_layers() {
    let found = violations(&src());
    assert!(
        found.is_empty(),
        "imports against the layers (see tests/all/layers.rs):\n{}",
        found.join("\n")
    );
}

/// The check itself finds a wrong-way import, of each kind, and names it.
#[test]
fn a_wrong_way_import_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |rel: &str, body: &str| {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    };
    write("runtime/mod.rs", "use crate::meta::MetaStore;\n");
    write(
        "meta/mod.rs",
        "use crate::runtime::{StepLimits, bindings::types};\n",
    );
    write("pipeline/search.rs", "use super::plan::Plan;\n");
    write("pipeline/definition.rs", "use super::plan::Plan;\n");
    write(
        "pipeline/plan.rs",
        "use super::{definition::PipelineFile, search};\n",
    );
    write(
        "registry/mod.rs",
        "// crate::pipeline::plan in a comment\nuse crate::pipeline::seed::step_seed;\nconst S: &str = \"crate::cli\";\n",
    );
    write(
        "data/mod.rs",
        "mod tests {\n    use super::super::runtime::Runtime;\n}\n",
    );
    let mut found = violations(src);
    found
        .iter_mut()
        .for_each(|f| *f = f.replace(&src.display().to_string(), ""));
    assert_eq!(
        found,
        [
            "/data/mod.rs:2: imports `crate::runtime::Runtime`: `data` (layer 1) may not import `runtime` (layer 2): imports run from higher layers to lower ones",
            "/pipeline/definition.rs:1: imports `crate::pipeline::plan::Plan`: `pipeline::definition` is a leaf, but imports `pipeline::plan::Plan`, which is not one",
            "/pipeline/search.rs:1: imports `crate::pipeline::plan::Plan`: `pipeline::search` may not import `pipeline::plan`: the order is [[\"search\"], [\"plan\"], [\"cache\"], [\"executor\"]], lowest first",
            "/runtime/mod.rs:1: imports `crate::meta::MetaStore`: `runtime` (layer 2) may not import `meta` (layer 4): imports run from higher layers to lower ones",
        ]
    );
}

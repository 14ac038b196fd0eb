//! The documentation stays true to the repository: every relative link of
//! the README, CONTRIBUTING, the book (docs/) and the benchmark notes names
//! a file that exists, and the command-line page names every subcommand
//! and every flag that `sluice --help` lists.

use std::path::{Path, PathBuf};

use crate::support::{root, sluice, stdout, succeeded};

/// The Markdown files whose links are checked.
fn markdown_files() -> Vec<PathBuf> {
    let root = root();
    let mut files = vec![
        root.join("README.md"),
        root.join("CONTRIBUTING.md"),
        root.join("plugins/README.md"),
        root.join("pipelines/continuous/README.md"),
    ];
    for dir in ["docs", "benches/results"] {
        let mut in_dir: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("read {dir}: {e}"))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    files
}

/// The targets of the inline links `[text](target)` of a Markdown text,
/// with their line numbers, outside fenced code blocks.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_fence = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            found.push((i + 1, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    found
}

/// Whether a link target points into the repository (not a web address,
/// not an anchor of the same page).
fn is_relative(target: &str) -> bool {
    !(target.is_empty()
        || target.starts_with('#')
        || target.starts_with('/')
        || target.contains("://")
        || target.starts_with("mailto:"))
}

#[test]
fn every_relative_link_in_the_docs_names_a_file_that_exists() {
    let root = root();
    let mut broken = Vec::new();
    let files = markdown_files();
    assert!(files.len() > 10, "found only {files:?}");
    for file in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let dir = file.parent().expect("a file has a folder");
        for (line, target) in links(&text) {
            if !is_relative(&target) {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            if !dir.join(path).exists() {
                let shown = file.strip_prefix(&root).unwrap_or(file);
                broken.push(format!("{}:{line}: {target}", shown.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to files that do not exist:\n{}",
        broken.join("\n")
    );
}

#[test]
fn links_are_found_outside_code_and_only_there() {
    let text = "see [a](a.md) and [b](../b.md#x)\n```\n[c](c.md)\n```\n[d](https://x.org)";
    let targets: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(targets, ["a.md", "../b.md#x", "https://x.org"]);
    assert!(!is_relative("https://x.org") && !is_relative("#top"));
}

/// The subcommands a `--help` text lists under "Commands:" (not `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The long flags a `--help` text lists under "Options:" (not `--help`
/// and `--version`).
fn flags(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Options:"))
        .filter(|l| l.starts_with("  "))
        .map(str::trim_start)
        .filter_map(|l| {
            let l = l.strip_prefix("-o, ").unwrap_or(l);
            let l = l
                .strip_prefix("-h, ")
                .or(l.strip_prefix("-V, "))
                .unwrap_or(l);
            l.starts_with("--")
                .then(|| l.split([' ', '=']).next().unwrap_or(l).to_string())
        })
        .filter(|f| f != "--help" && f != "--version")
        .collect()
}

fn help(home: &Path, command: &[&str]) -> String {
    let out = sluice(home)
        .args(command)
        .arg("--help")
        .output()
        .expect("run sluice --help");
    stdout(&succeeded(
        out,
        &format!("sluice {} --help", command.join(" ")),
    ))
}

#[test]
fn the_cli_page_names_every_subcommand_and_flag() {
    let home = tempfile::tempdir().unwrap();
    let page = std::fs::read_to_string(root().join("docs/cli.md")).expect("read docs/cli.md");
    let mut missing = Vec::new();
    let mut leaves = 0;
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    while let Some(command) = queue.pop() {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let text = help(home.path(), &args);
        let subs = subcommands(&text);
        if !command.is_empty() && subs.is_empty() {
            leaves += 1;
            let named = format!("sluice {}", command.join(" "));
            if !page.contains(&named) {
                missing.push(format!("`{named}`"));
            }
        }
        for flag in flags(&text) {
            if !page.contains(&flag) {
                missing.push(format!("{flag} (of `sluice {}`)", command.join(" ")));
            }
        }
        for sub in subs {
            let mut next = command.clone();
            next.push(sub);
            queue.push(next);
        }
    }
    assert!(
        leaves > 25,
        "found only {leaves} subcommands: is `--help` parsed right?"
    );
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "docs/cli.md does not name:\n{}",
        missing.join("\n")
    );
}

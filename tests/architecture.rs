//! The shape of `src/`: no import cycle between its files, and the layering rule of
//! `docs/ENGINE.md` ("Layers") — the engines' core imports neither the client, the
//! configuration, the transport nor any effect.
//!
//! It reads the sources as text: the module tree from `lib.rs` down (test modules included:
//! a test that needs the client from inside a request family is a cycle too), then every path
//! a file names (`use crate::…`, `super::…`, a child module's name, and
//! paths written in code such as `crate::transport::encode::encode(…)`), each resolved to the
//! file that defines it, following `pub use` re-exports. A child naming its own parent module
//! (or the crate root) is not an edge: a parent holds what its children share.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module: its path from the crate root (`["subscribe", "machine"]`) and its file.
#[derive(Debug)]
struct Module {
    file: String,
    code: String,
    children: BTreeSet<String>,
}

type ModPath = Vec<String>;

/// The source with comments removed and every string and char literal emptied, so that only
/// code is left to scan.
fn strip(source: &str) -> String {
    let bytes: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < bytes.len() && bytes[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i] == '/' && bytes.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if bytes[i] == '*' && bytes.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && !ident_char_before(&out) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while bytes.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if bytes.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= bytes.len() {
                    break;
                }
                if bytes[j] == '"' && (0..hashes).all(|k| bytes.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < bytes.len() && bytes[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if bytes.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char_before(out: &str) -> bool {
    out.chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The `mod name;` declarations of a module's (test-free) code.
fn child_modules(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for statement in code.split([';', '{', '}']) {
        let words: Vec<&str> = statement.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| *w == "mod") {
            let name = words.get(at + 1).copied().unwrap_or("");
            if at + 2 == words.len() && name.chars().all(is_ident) && !name.is_empty() {
                // Only file modules: `mod x;` ends the statement right after the name, which
                // splitting on `;` cannot tell from `mod x {`: check the character after.
                names.push(name.to_owned());
            }
        }
    }
    names.retain(|name| {
        let pattern = format!("mod {name}");
        code.match_indices(&pattern)
            .any(|(at, _)| code[at + pattern.len()..].trim_start().starts_with(';'))
    });
    names
}

/// The `#[path = "…"] mod name;` attributes of a source file: name → path.
fn path_attributes(source: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = None;
    for line in source.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#[path = \"") {
            pending = rest.split('"').next().map(str::to_owned);
        } else if let (Some(path), Some(at)) = (&pending, find_word(line, "mod")) {
            let name: String = line[at + 3..]
                .trim()
                .chars()
                .take_while(|c| is_ident(*c))
                .collect();
            out.insert(name, path.clone());
            pending = None;
        }
    }
    out
}

/// Reads the module tree from `lib.rs`.
fn read_tree(src: &Path) -> BTreeMap<ModPath, Module> {
    let mut modules = BTreeMap::new();
    let mut todo = vec![(Vec::<String>::new(), src.join("lib.rs"))];
    while let Some((path, file)) = todo.pop() {
        let source =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let code = strip(&source);
        let dir: PathBuf = if file.ends_with("lib.rs") || file.ends_with("mod.rs") {
            file.parent().unwrap().to_path_buf()
        } else {
            file.with_extension("")
        };
        let children: BTreeSet<String> = child_modules(&code).into_iter().collect();
        let paths = path_attributes(&source);
        for child in &children {
            let flat = match paths.get(child) {
                Some(path) => file.parent().unwrap().join(path),
                None => dir.join(format!("{child}.rs")),
            };
            let nested = dir.join(child).join("mod.rs");
            let child_file = if flat.exists() { flat } else { nested };
            let mut child_path = path.clone();
            child_path.push(child.clone());
            todo.push((child_path, child_file));
        }
        let name = file.strip_prefix(src).unwrap().display().to_string();
        modules.insert(
            path,
            Module {
                file: name,
                code,
                children,
            },
        );
    }
    modules
}

/// Every `use` statement of `code`, expanded: (visible to others, full path, name bound).
fn use_statements(code: &str) -> Vec<(bool, Vec<String>, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let before = rest[..at].trim_end();
        let public = ["pub", "pub(crate)", "pub(super)"]
            .iter()
            .any(|v| before.ends_with(v));
        let after = &rest[at + 3..];
        let end = after.find(';').unwrap_or(after.len());
        let words: Vec<&str> = after[..end].split_whitespace().collect();
        let tree = words.join(" ").replace(" as ", "@").replace(' ', "");
        expand(&tree, &mut Vec::new(), &mut |path, alias| {
            out.push((public, path, alias))
        });
        rest = &after[end..];
    }
    out
}

/// The position of `word` standing alone in `text`.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let at = from + at;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Expands a use tree (`a::{b,c::{d,e as f}}`) into its paths and bound names.
fn expand(tree: &str, prefix: &mut Vec<String>, emit: &mut dyn FnMut(Vec<String>, String)) {
    for part in split_top(tree) {
        let depth = prefix.len();
        let mut segments = part.as_str();
        loop {
            if let Some(inner) = segments.strip_prefix('{') {
                expand(&inner[..inner.len().saturating_sub(1)], prefix, emit);
                break;
            }
            match segments.find("::") {
                Some(at) => {
                    prefix.push(segments[..at].to_owned());
                    segments = &segments[at + 2..];
                }
                None => {
                    let (name, alias) = segments.split_once('@').unwrap_or((segments, segments));
                    if name == "*" || name.is_empty() {
                        break;
                    }
                    let mut path = prefix.clone();
                    if name != "self" {
                        path.push(name.to_owned());
                    }
                    let bound = if alias == "self" {
                        prefix.last().cloned().unwrap_or_default()
                    } else {
                        alias.to_owned()
                    };
                    emit(path, bound);
                    break;
                }
            }
        }
        prefix.truncate(depth);
    }
}

/// Splits `a,b::{c,d},e` at its top-level commas.
fn split_top(tree: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in tree.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// `code` without its `use` statements.
fn without_uses(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        rest = &after[after.find(';').map_or(after.len(), |end| end + 1)..];
    }
    out.push_str(rest);
    out
}

/// Every path of the form `a::b::c` written in `code` outside `use` statements.
fn code_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let chars: Vec<char> = without_uses(code).chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_ident(chars[i]) && (i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != ':') {
            let mut segments = Vec::new();
            let mut j = i;
            loop {
                let start = j;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                segments.push(chars[start..j].iter().collect::<String>());
                if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
                    j += 2;
                    if chars.get(j).is_some_and(|c| is_ident(*c)) {
                        continue;
                    }
                }
                break;
            }
            if segments.len() > 1 {
                paths.push(segments);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    paths
}

struct Crate {
    modules: BTreeMap<ModPath, Module>,
    /// Re-exports: (module, name) → the full path it stands for.
    reexports: BTreeMap<(ModPath, String), ModPath>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let modules = read_tree(src);
        let mut reexports = BTreeMap::new();
        for (path, module) in &modules {
            for (public, target, name) in use_statements(&module.code) {
                if public {
                    if let Some(full) = absolute(&modules, path, &target) {
                        reexports.insert((path.clone(), name), full);
                    }
                }
            }
        }
        Crate { modules, reexports }
    }

    /// The module that defines what `full` names, following re-exports.
    fn resolve(&self, full: &[String]) -> ModPath {
        let mut full = full.to_vec();
        for _ in 0..8 {
            let mut module: ModPath = Vec::new();
            let mut rest = full.as_slice();
            while let Some((first, tail)) = rest.split_first() {
                let mut deeper = module.clone();
                deeper.push(first.clone());
                if !self.modules.contains_key(&deeper) {
                    break;
                }
                module = deeper;
                rest = tail;
            }
            match rest.first() {
                Some(name) => match self.reexports.get(&(module.clone(), name.clone())) {
                    Some(target) if target.as_slice() != full.as_slice() => {
                        let mut next = target.clone();
                        next.extend(rest[1..].iter().cloned());
                        full = next;
                    }
                    _ => return module,
                },
                None => return module,
            }
        }
        full
    }

    /// file → the files it depends on.
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, module) in &self.modules {
            let from = edges.entry(module.file.clone()).or_default();
            let mut named: Vec<Vec<String>> = use_statements(&module.code)
                .into_iter()
                .map(|(_, p, _)| p)
                .collect();
            named.extend(code_paths(&module.code));
            for written in named {
                let Some(full) = absolute(&self.modules, path, &written) else {
                    continue;
                };
                let target = self.resolve(&full);
                let is_ancestor_or_self = target.len() <= path.len() && path.starts_with(&target);
                if is_ancestor_or_self {
                    continue;
                }
                if let Some(other) = self.modules.get(&target) {
                    from.insert(other.file.clone());
                }
            }
        }
        edges
    }
}

/// `written` (as written in module `at`) as a path from the crate root, or `None` for a path
/// of another crate or a local item.
fn absolute(
    modules: &BTreeMap<ModPath, Module>,
    at: &ModPath,
    written: &[String],
) -> Option<ModPath> {
    let (first, rest) = written.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" => at.clone(),
        "super" => {
            let mut base = at.clone();
            base.pop();
            let mut rest = rest;
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
            let mut full = base;
            full.extend(rest.iter().cloned());
            return Some(full);
        }
        name if modules.get(at).is_some_and(|m| m.children.contains(name)) => {
            let mut base = at.clone();
            base.push(name.to_owned());
            base
        }
        _ => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The cycles of the graph: one per strongly connected component of more than one file,
/// written as a path that returns to its start.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let nodes: Vec<&String> = edges.keys().collect();
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(node) = todo.pop() {
            for next in edges.get(node).into_iter().flatten() {
                if seen.insert(next) {
                    todo.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<&String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for node in &nodes {
        if done.contains(node) || !reachable[node].contains(node) {
            continue;
        }
        let component: BTreeSet<&String> = reachable[node]
            .iter()
            .filter(|other| reachable[*other].contains(node))
            .copied()
            .collect();
        done.extend(component.iter().copied());
        let path = shortest_cycle(edges, node, &component);
        let mut cycle = path.join(" → ");
        let others: Vec<&str> = component
            .iter()
            .filter(|f| !path.contains(f))
            .map(|f| f.as_str())
            .collect();
        if !others.is_empty() {
            cycle.push_str(&format!(
                " (its component also holds {})",
                others.join(", ")
            ));
        }
        out.push(cycle);
    }
    out
}

/// A shortest path from `start` back to itself inside `component`.
fn shortest_cycle(
    edges: &BTreeMap<String, BTreeSet<String>>,
    start: &String,
    component: &BTreeSet<&String>,
) -> Vec<String> {
    let mut previous: BTreeMap<&String, &String> = BTreeMap::new();
    let mut frontier = vec![start];
    while !frontier.is_empty() {
        let mut next_frontier = Vec::new();
        for node in frontier {
            for next in edges.get(node).into_iter().flatten() {
                if !component.contains(next) {
                    continue;
                }
                if next == start {
                    let mut path = vec![start.clone()];
                    let mut at = node;
                    while at != start {
                        path.push(at.clone());
                        at = previous[at];
                    }
                    path.push(start.clone());
                    path.reverse();
                    return path;
                }
                if !previous.contains_key(next) {
                    previous.insert(next, node);
                    next_frontier.push(next);
                }
            }
        }
        frontier = next_frontier;
    }
    vec![start.clone()]
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_cycle_between_the_files_of_src() {
    let krate = Crate::read(&src());
    let edges = krate.edges();
    assert!(edges.len() > 40, "the module tree was not read: {edges:?}");
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "{} import cycle(s) between files of src/:\n  {}",
        found.len(),
        found.join("\n  ")
    );
}

/// The layering rule of docs/ENGINE.md: who may import whom.
#[test]
fn the_engines_core_imports_no_client_config_transport_or_effect() {
    let krate = Crate::read(&src());
    let edges = krate.edges();
    let core = [
        "engine/mod.rs",
        "engine/trace.rs",
        "subscribe/machine.rs",
        "presence/machine.rs",
        "retry.rs",
        "status.rs",
        "error.rs",
    ];
    let forbidden = |file: &str| {
        file.starts_with("client/")
            || file == "config.rs"
            || file.starts_with("transport/")
            || file.starts_with("service/")
            || file.ends_with("effects.rs")
            || file.starts_with("request/")
    };
    let mut wrong = Vec::new();
    for file in core {
        let targets = edges
            .get(file)
            .unwrap_or_else(|| panic!("{file} is not in the module tree"));
        for target in targets.iter().filter(|t| forbidden(t)) {
            wrong.push(format!("{file} → {target}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the engines' core imports:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn the_reader_sees_paths_and_skips_comments_and_strings() {
    let code = strip(
        r##"
        use crate::a::{b, c::{d as e, self}};
        pub use super::f::G;
        // use crate::commented::Out;
        /// [`x`](crate::doc::Link)
        let s = "crate::in_string::X";
        let r = r#"crate::raw::Y"#;
        let c = '"'; let l: &'static str = crate::code::path(1);
        "##,
    );
    let uses: Vec<(bool, String)> = use_statements(&code)
        .into_iter()
        .map(|(public, path, _)| (public, path.join("::")))
        .collect();
    assert_eq!(
        uses,
        [
            (false, "crate::a::b".to_owned()),
            (false, "crate::a::c::d".to_owned()),
            (false, "crate::a::c".to_owned()),
            (true, "super::f::G".to_owned()),
        ]
    );
    let paths: Vec<String> = code_paths(&code).iter().map(|p| p.join("::")).collect();
    assert!(paths.contains(&"crate::code::path".to_owned()), "{paths:?}");
    for absent in ["commented", "doc", "in_string", "raw"] {
        assert!(!code.contains(absent), "{absent} in {code}");
    }
}

//! Every import points down: no import cycle between the module files of `src/` or of any
//! crate under `adapters/`.
//!
//! A light, std-only reading of the sources, not a compiler: it follows `mod` declarations from
//! each crate root, collects the paths a file names (`use` trees, and inline `crate::`,
//! `super::`, `self::` or child-module paths), resolves each path through `pub use` re-exports
//! to the file that defines the item, and looks for strongly connected components in the
//! resulting file graph. A module's `#[cfg(test)]` children and inline test modules do not
//! count: tests may reach back into what they test. A parent declaring a child (`mod x;`) or
//! re-exporting it (`pub use x::Y`) is not a dependency either; its code using the child is.
//! A file naming what an ancestor file defines (the crate's error type, or the type whose
//! methods the child implements, as in `impl Translator` spread over its child files) is not
//! counted: the parent owns its children. Cycles are looked for among the rest, so two
//! siblings, or a file and its nephew, that import each other are reported.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One module file: its module path from the crate root and what it names.
struct ModuleFile {
    path: PathBuf,
    module: Vec<String>,
    children: BTreeSet<String>,
    defined: BTreeSet<String>,
    /// Name bound by a `use` (its alias or last segment) → absolute path of what it binds.
    imported: BTreeMap<String, Vec<String>>,
    /// Every absolute path the file's code or non-re-export `use`s name.
    references: Vec<Vec<String>>,
}

/// Comments and test-only code removed: a file's dependencies as compiled outside tests.
fn strip(source: &str) -> String {
    let mut out = String::new();
    let mut skip_next_item = false;
    let mut in_block = false;
    for line in source.lines() {
        let mut code = line.to_string();
        if in_block {
            match code.find("*/") {
                Some(end) => {
                    code = code[end + 2..].to_string();
                    in_block = false;
                }
                None => continue,
            }
        }
        if let Some(start) = code.find("/*") {
            in_block = !code[start..].contains("*/");
            code.truncate(start);
        }
        if let Some(comment) = code.find("//") {
            code.truncate(comment);
        }
        let trimmed = code.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            skip_next_item = true;
            continue;
        }
        if skip_next_item && !trimmed.is_empty() && !trimmed.starts_with("#[") {
            skip_next_item = false;
            // An inline test module runs to the end of the file in this code base's style.
            if trimmed.contains("mod ") && trimmed.ends_with('{') {
                break;
            }
            // A test-only item on one line (`mod tests;`, `use …;`) is dropped.
            if trimmed.ends_with(';') {
                continue;
            }
        }
        out.push_str(&code);
        out.push('\n');
    }
    out
}

/// The leaves of one `use` tree: (path, bound name); a glob binds `*`.
fn use_leaves(tree: &str, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let mut base = prefix.to_vec();
        base.extend(segments(tree[..open].trim_end_matches("::")));
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_leaves(&inner[start..i], &base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        use_leaves(&inner[start..], &base, out);
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((path, alias)) => (path, Some(alias.trim().to_string())),
        None => (tree, None),
    };
    let mut full = prefix.to_vec();
    full.extend(segments(path));
    let Some(last) = full.last().cloned() else { return };
    if last == "self" {
        full.pop();
        let name = alias.unwrap_or_else(|| full.last().cloned().unwrap_or_default());
        out.push((full, name));
    } else {
        out.push((full, alias.unwrap_or(last)));
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split("::").map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Inline paths of at least two segments (`a::b`), not preceded by another path segment.
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = is_ident_char(bytes[i]) && (i == 0 || !is_ident_char(bytes[i - 1]));
        let after_path = i >= 2 && bytes[i - 1] == ':' && bytes[i - 2] == ':';
        if starts_word && !after_path {
            let mut j = i;
            while j < bytes.len() && (is_ident_char(bytes[j]) || bytes[j] == ':') {
                j += 1;
            }
            let text: String = bytes[i..j].iter().collect();
            let segs = segments(&text);
            if segs.len() >= 2 && text.contains("::") {
                paths.push(segs);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    paths
}

/// The absolute module path a file-relative path starts from, or `None` for another crate.
fn absolutize(path: &[String], file: &ModuleFile) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" => file.module.clone(),
        "super" => file.module.clone(),
        name if file.children.contains(name) => file.module.clone(),
        name if file.imported.contains_key(name) => {
            let mut full = file.imported[name].clone();
            full.extend(path[1..].iter().cloned());
            return Some(full);
        }
        _ => return None,
    };
    let mut rest = path;
    if first == "crate" || first == "self" {
        rest = &path[1..];
    }
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

fn collect(crate_root: &Path) -> Vec<ModuleFile> {
    let mut files = Vec::new();
    let mut pending = vec![(crate_root.to_path_buf(), Vec::<String>::new())];
    while let Some((path, module)) = pending.pop() {
        let Ok(source) = fs::read_to_string(&path) else { continue };
        let code = strip(&source);
        let dir = match path.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs" | "main.rs") => path.parent().map(Path::to_path_buf),
            _ => Some(path.with_extension("")),
        }
        .unwrap_or_default();
        let mut file = ModuleFile {
            path: path.clone(),
            module: module.clone(),
            children: BTreeSet::new(),
            defined: BTreeSet::new(),
            imported: BTreeMap::new(),
            references: Vec::new(),
        };
        let mut uses = Vec::new();
        let mut statement = String::new();
        let mut in_use = false;
        for line in code.lines() {
            let trimmed = line.trim();
            let words: Vec<&str> =
                trimmed.split(|c: char| !is_ident_char(c) && c != '!').filter(|w| !w.is_empty()).collect();
            let visibility = words.first().is_some_and(|w| *w == "pub");
            let item = words
                .iter()
                .skip_while(|w| ["pub", "crate", "super", "in", "async", "const", "unsafe"].contains(w));
            let item: Vec<&&str> = item.take(2).collect();
            if !in_use && (trimmed.starts_with("use ") || (visibility && trimmed.contains(" use "))) {
                in_use = true;
                statement.clear();
            }
            if in_use {
                statement.push_str(line);
                statement.push(' ');
                if trimmed.ends_with(';') {
                    in_use = false;
                    let body = statement.split_once("use ").map(|(_, b)| b).unwrap_or_default();
                    uses.push((
                        body.trim().trim_end_matches(';').to_string(),
                        statement.trim().starts_with("pub"),
                    ));
                }
                continue;
            }
            if let [kind, name] = item.as_slice() {
                let name = name.to_string();
                match **kind {
                    "mod" if trimmed.ends_with(';') => {
                        let child_file = dir.join(format!("{name}.rs"));
                        let child_dir = dir.join(&name).join("mod.rs");
                        let mut child_module = module.clone();
                        child_module.push(name.clone());
                        pending
                            .push((if child_file.exists() { child_file } else { child_dir }, child_module));
                        file.children.insert(name);
                        continue;
                    }
                    "struct" | "enum" | "trait" | "type" | "fn" | "const" | "static" | "union" | "mod"
                    | "macro_rules!" => {
                        file.defined.insert(name);
                    }
                    _ => {}
                }
            }
        }
        let mut reexports = Vec::new();
        for (tree, public) in &uses {
            let mut leaves = Vec::new();
            use_leaves(tree, &[], &mut leaves);
            for (leaf, name) in leaves {
                let Some(absolute) = absolutize(&leaf, &file) else { continue };
                if name != "*" {
                    file.imported.insert(name, absolute.clone());
                }
                // A re-export of one's own child is the facade, not a dependency.
                let own_child = absolute.len() > module.len() && absolute.starts_with(&module);
                if *public && own_child {
                    reexports.push(absolute);
                } else {
                    file.references.push(absolute);
                }
            }
        }
        for line in code.lines().filter(|l| !l.trim_start().starts_with("use ") && !l.contains(" use ")) {
            for inline in inline_paths(line) {
                if let Some(absolute) = absolutize(&inline, &file) {
                    file.references.push(absolute);
                }
            }
        }
        files.push(file);
    }
    files
}

/// The file that defines what `path` names, following re-exports.
fn resolve(files: &[ModuleFile], path: &[String], depth: usize) -> Option<usize> {
    let mut current = files.iter().position(|f| f.module.is_empty())?;
    for (i, seg) in path.iter().enumerate() {
        let file = &files[current];
        if file.children.contains(seg) {
            let mut child = file.module.clone();
            child.push(seg.clone());
            current = files.iter().position(|f| f.module == child)?;
            continue;
        }
        if file.defined.contains(seg) || depth > 8 {
            return Some(current);
        }
        if let Some(target) = file.imported.get(seg) {
            let mut next = target.clone();
            next.extend(path[i + 1..].iter().cloned());
            return resolve(files, &next, depth + 1).or(Some(current));
        }
        return Some(current);
    }
    Some(current)
}

/// Strongly connected components of more than one file (Tarjan).
fn cycles(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        found: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in s.edges[v].iter() {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let n = edges.len();
    let mut state = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.found
}

/// The files of one crate and, per file, the files it imports from (ancestors left out).
fn dependency_graph(root: &Path) -> (Vec<ModuleFile>, Vec<BTreeMap<usize, String>>) {
    let files = collect(root);
    let mut edges = vec![BTreeMap::new(); files.len()];
    for (from, file) in files.iter().enumerate() {
        for reference in &file.references {
            if let Some(to) = resolve(&files, reference, 0)
                && to != from
                && !files[from].module.starts_with(&files[to].module)
            {
                edges[from].entry(to).or_insert_with(|| reference.join("::"));
            }
        }
    }
    (files, edges)
}

/// The import cycles of one crate, each described by its files and the edges between them.
fn crate_cycles(root: &Path) -> Vec<String> {
    let (files, edges) = dependency_graph(root);
    let targets: Vec<BTreeSet<usize>> = edges.iter().map(|e| e.keys().copied().collect()).collect();
    let name = |i: usize| files[i].path.display().to_string();
    cycles(&targets)
        .into_iter()
        .map(|component| {
            let members: BTreeSet<usize> = component.iter().copied().collect();
            let mut text = String::from("cycle:");
            for &from in &members {
                for (&to, why) in edges[from].iter().filter(|(to, _)| members.contains(to)) {
                    text.push_str(&format!("\n  {} -> {} ({why})", name(from), name(to)));
                }
            }
            text
        })
        .collect()
}

fn crate_roots() -> Vec<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![workspace.join("src/lib.rs")];
    let mut adapters: Vec<PathBuf> = fs::read_dir(workspace.join("adapters"))
        .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    adapters.sort();
    for adapter in adapters {
        for root in ["src/lib.rs", "src/main.rs"] {
            if adapter.join(root).exists() {
                roots.push(adapter.join(root));
            }
        }
    }
    roots
}

#[test]
fn no_import_cycle_in_src_or_adapters() {
    let roots = crate_roots();
    assert!(roots.len() > 1, "the crate roots are found");
    let found: Vec<String> = roots.iter().flat_map(|root| crate_cycles(root)).collect();
    assert!(found.is_empty(), "import cycles between module files:\n{}", found.join("\n"));
}

/// The core's layers: the transport below the pipeline and beside the receiver.
#[test]
fn the_transport_imports_nothing_from_the_receiver_or_the_pipeline() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (files, edges) = dependency_graph(&workspace.join("src/lib.rs"));
    let in_module = |i: usize, name: &str| files[i].module.first().is_some_and(|m| m == name);
    let mut crossings = Vec::new();
    for (from, targets) in edges.iter().enumerate().filter(|(i, _)| in_module(*i, "transport")) {
        for (&to, why) in targets {
            if in_module(to, "receiver") || in_module(to, "pipeline") {
                crossings.push(format!("{} -> {why}", files[from].path.display()));
            }
        }
    }
    assert!(crossings.is_empty(), "the transport imports from above or beside it:\n{}", crossings.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle() {
    let edges = vec![BTreeSet::from([1]), BTreeSet::from([2]), BTreeSet::from([0]), BTreeSet::new()];
    assert_eq!(cycles(&edges).len(), 1);
    let mut leaves = Vec::new();
    use_leaves("super::{a, b::{C, D as E}, self}", &[], &mut leaves);
    let names: Vec<&str> = leaves.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["a", "C", "E", "super"]);
}

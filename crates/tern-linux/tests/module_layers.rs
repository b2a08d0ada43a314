//! The crate's modules form layers without an import cycle (README, "Layers").
//!
//! Reads the sources, finds every module a module names (`use crate::...`,
//! `super::...`, `crate::x::y(...)`, child modules, names a `use` brought in), and
//! checks that the graph of these edges has no cycle and that every edge goes to a
//! module of the same or a lower layer of the README's table. A module missing from
//! the table fails the test, so the table stays the map of the crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path below the crate (`""` for the crate root, `"fs::locate"`).
type Module = String;

/// The source files of the crate: module path -> file.
fn source_files(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).expect("read the source directory") {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            if p.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = p.strip_prefix(src).expect("below src").with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().map(String::as_str) == Some("mod") {
                parts.pop();
            }
            if parts == ["lib"] {
                parts.clear();
            }
            out.insert(parts.join("::"), p);
        }
    }
    out
}

/// A token of Rust source: an identifier or keyword, `::`, or one other character.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Path,
    Sym(char),
}

/// The tokens of `src`, without comments, string and character literals.
fn tokens(src: &str) -> Vec<Tok> {
    let b: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied().unwrap_or(' ');
        if c == '/' && next == '/' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == '*' {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' || ((c == 'r' || c == 'b' || c == 'c') && raw_string_at(&b, i)) {
            i = skip_string(&b, i);
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == '\\' {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let word: String = b[start..i].iter().collect();
            // `b'x'` and `c"..."` literals start like identifiers.
            if word == "b" && b.get(i) == Some(&'\'') {
                i = skip_char_literal(&b, i);
                continue;
            }
            out.push(Tok::Ident(word));
        } else if c == ':' && next == ':' {
            out.push(Tok::Path);
            i += 2;
        } else if c.is_whitespace() || c.is_numeric() {
            i += 1;
        } else {
            out.push(Tok::Sym(c));
            i += 1;
        }
    }
    out
}

/// Whether a string literal with a prefix (`r"`, `r#"`, `b"`, `br"`, `c"`) starts at
/// `i`.
fn raw_string_at(b: &[char], i: usize) -> bool {
    if i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_') {
        return false;
    }
    let mut j = i;
    while j < b.len() && matches!(b[j], 'r' | 'b' | 'c') && j - i < 2 {
        j += 1;
    }
    while j < b.len() && b[j] == '#' {
        j += 1;
    }
    j > i && b.get(j) == Some(&'"')
}

/// The index after the string literal starting at `i` (prefixes and raw `#`s
/// included).
fn skip_string(b: &[char], mut i: usize) -> usize {
    let mut raw = false;
    while matches!(b[i], 'r' | 'b' | 'c') {
        raw |= b[i] == 'r';
        i += 1;
    }
    let mut hashes = 0;
    while b[i] == '#' {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    while i < b.len() {
        if !raw && b[i] == '\\' {
            i += 2;
            continue;
        }
        if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// The index after the character literal whose quote is at `i`.
fn skip_char_literal(b: &[char], mut i: usize) -> usize {
    i += 1;
    if b.get(i) == Some(&'\\') {
        i += 2;
    } else {
        i += 1;
    }
    while i < b.len() && b[i] != '\'' {
        i += 1;
    }
    i + 1
}

/// The paths a `use` tree starting at `toks[i]` (after `use`) names, each with the
/// name it is known by; returns them and the index after the `;`.
fn use_tree(toks: &[Tok], mut i: usize) -> (Vec<(Vec<String>, String)>, usize) {
    fn tree(toks: &[Tok], i: &mut usize, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
        let mut path = prefix.to_vec();
        loop {
            match toks.get(*i) {
                Some(Tok::Ident(w)) => {
                    path.push(w.clone());
                    *i += 1;
                }
                Some(Tok::Sym('{')) => {
                    *i += 1;
                    loop {
                        match toks.get(*i) {
                            Some(Tok::Sym('}')) => {
                                *i += 1;
                                return;
                            }
                            Some(Tok::Sym(',')) => *i += 1,
                            None => return,
                            _ => tree(toks, i, &path, out),
                        }
                    }
                }
                Some(Tok::Sym('*')) => {
                    *i += 1;
                    out.push((path, "*".into()));
                    return;
                }
                _ => return,
            }
            match toks.get(*i) {
                Some(Tok::Path) => *i += 1,
                Some(Tok::Ident(w)) if w == "as" => {
                    let alias = match toks.get(*i + 1) {
                        Some(Tok::Ident(a)) => a.clone(),
                        _ => "_".into(),
                    };
                    *i += 2;
                    out.push((path, alias));
                    return;
                }
                _ => {
                    let mut name = path.last().cloned().unwrap_or_default();
                    if name == "self" {
                        path.pop();
                        name = path.last().cloned().unwrap_or_default();
                    }
                    out.push((path, name));
                    return;
                }
            }
        }
    }
    let mut out = Vec::new();
    // Leading `::` (an extern crate) is never ours.
    if toks.get(i) == Some(&Tok::Path) {
        i += 1;
        while i < toks.len() && toks[i] != Tok::Sym(';') {
            i += 1;
        }
        return (out, i + 1);
    }
    tree(toks, &mut i, &[], &mut out);
    while i < toks.len() && toks[i] != Tok::Sym(';') {
        i += 1;
    }
    (out, i + 1)
}

/// The modules each module names (edges of the graph), with the crate's modules
/// `mods`.
fn edges(files: &BTreeMap<Module, PathBuf>) -> BTreeMap<Module, BTreeSet<Module>> {
    let split = |m: &str| -> Vec<String> {
        if m.is_empty() {
            Vec::new()
        } else {
            m.split("::").map(String::from).collect()
        }
    };
    // The file module holding the item at `path`: its longest prefix that is one.
    let owner = |path: &[String]| -> Option<Module> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|m| files.contains_key(m))
    };
    let mut out = BTreeMap::new();
    for (module, file) in files {
        let src = std::fs::read_to_string(file).expect("read a source file");
        let toks = tokens(&src);
        let here = split(module);
        // Inline modules (`mod tests { ... }`) as (name, brace depth inside).
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0usize;
        let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut found = BTreeSet::new();
        // Resolves a path written in the current scope to a crate path, if it is
        // one of the crate's.
        let resolve = |segs: &[String],
                       scope: &[String],
                       aliases: &BTreeMap<String, Vec<String>>|
         -> Option<Vec<String>> {
            let first = segs.first()?;
            let mut base: Vec<String> = match first.as_str() {
                "crate" => Vec::new(),
                "self" => scope.to_vec(),
                "super" => {
                    let mut b = scope.to_vec();
                    let mut k = 0;
                    while segs.get(k).map(String::as_str) == Some("super") {
                        b.pop();
                        k += 1;
                    }
                    b.extend(segs[k..].iter().cloned());
                    return Some(b);
                }
                _ => {
                    if let Some(full) = aliases.get(first) {
                        full.clone()
                    } else {
                        let mut child = scope.to_vec();
                        child.push(first.clone());
                        if files.contains_key(&child.join("::")) {
                            child
                        } else {
                            return None;
                        }
                    }
                }
            };
            base.extend(segs[1..].iter().cloned());
            Some(base)
        };
        let mut i = 0;
        while i < toks.len() {
            let scope: Vec<String> = here
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect();
            match &toks[i] {
                Tok::Sym('{') => {
                    depth += 1;
                    i += 1;
                }
                Tok::Sym('}') => {
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                    depth = depth.saturating_sub(1);
                    i += 1;
                }
                Tok::Ident(w) if w == "mod" => {
                    if let (Some(Tok::Ident(name)), Some(Tok::Sym('{'))) =
                        (toks.get(i + 1), toks.get(i + 2))
                    {
                        depth += 1;
                        inline.push((name.clone(), depth));
                        i += 3;
                    } else {
                        i += 2;
                    }
                }
                Tok::Ident(w) if w == "use" => {
                    let (paths, next) = use_tree(&toks, i + 1);
                    for (p, name) in paths {
                        if let Some(full) = resolve(&p, &scope, &aliases) {
                            if name != "*" && name != "_" {
                                aliases.insert(name, full.clone());
                            }
                            if let Some(m) = owner(&full) {
                                found.insert(m);
                            }
                        }
                    }
                    i = next;
                }
                Tok::Ident(_) if i == 0 || toks[i - 1] != Tok::Path => {
                    let mut segs = Vec::new();
                    let mut j = i;
                    while let Some(Tok::Ident(w)) = toks.get(j) {
                        segs.push(w.clone());
                        if toks.get(j + 1) != Some(&Tok::Path) {
                            break;
                        }
                        j += 2;
                    }
                    if segs.len() > 1 {
                        if let Some(full) = resolve(&segs, &scope, &aliases) {
                            if let Some(m) = owner(&full) {
                                found.insert(m);
                            }
                        }
                    }
                    i = j + 1;
                }
                _ => i += 1,
            }
        }
        found.remove(module);
        out.insert(module.clone(), found);
    }
    out
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(g: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'g> {
        g: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on: BTreeSet<&'g str>,
        out: Vec<Vec<Module>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// The README's layer table: module -> layer number. Rows look like
/// `| 3 | `process`, `fs::locate` | what they are |`.
fn layers(readme: &str) -> BTreeMap<Module, u32> {
    let mut out = BTreeMap::new();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Layers"))
        .expect("the README has a section `Layers`");
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        let Ok(n) = cells[1].parse::<u32>() else {
            continue;
        };
        for m in cells[2].split(',') {
            let m = m.trim().trim_matches('`');
            if !m.is_empty() {
                out.insert(m.to_string(), n);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    edges(&source_files(&src))
}

#[test]
fn the_parser_sees_the_kinds_of_edges() {
    let toks = tokens(
        "use crate::a::{b::{self, C}, d as e};\n// crate::x::y\nfn f<'a>() { let s = \"crate::q::r\"; \
         let c = '}'; b::g(); e::h(); super::z::w(); }",
    );
    let mut i = 1;
    let (paths, _) = use_tree(&toks, i);
    let names: Vec<String> = paths
        .iter()
        .map(|(p, n)| format!("{}={n}", p.join("::")))
        .collect();
    assert_eq!(
        names,
        ["crate::a::b=b", "crate::a::b::C=C", "crate::a::d=e"]
    );
    // Comments, strings and character literals hold no paths.
    while i < toks.len() {
        if let Tok::Ident(w) = &toks[i] {
            assert!(
                !matches!(w.as_str(), "x" | "q" | "r"),
                "{w} from a comment or string"
            );
        }
        i += 1;
    }
    assert_eq!(
        toks.iter().filter(|t| **t == Tok::Sym('}')).count(),
        3,
        "two closing the use tree, one the function: the one in a character literal is not code"
    );
}

#[test]
fn the_modules_form_no_import_cycle() {
    let g = graph();
    assert!(g.len() > 30, "found the modules: {:?}", g.keys());
    assert!(
        g["thread"].contains("kernel"),
        "the run loop's call into the dispatch is seen: {:?}",
        g["thread"]
    );
    let found = cycles(&g);
    let show: Vec<String> = found
        .iter()
        .map(|c| {
            let members: BTreeSet<&String> = c.iter().collect();
            let inner: Vec<String> = c
                .iter()
                .flat_map(|m| {
                    g[m].iter()
                        .filter(|t| members.contains(t))
                        .map(move |t| format!("{m} -> {t}"))
                })
                .collect();
            format!("{} modules: {}", c.len(), inner.join(", "))
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", show.join("\n"));
}

#[test]
fn every_module_uses_only_its_layer_and_those_below() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read the README");
    let layer = layers(&readme);
    let g = graph();
    let mut wrong = Vec::new();
    for (m, uses) in &g {
        let name = if m.is_empty() { "lib" } else { m.as_str() };
        let Some(&lm) = layer.get(name) else {
            wrong.push(format!("{name} is not in the README's layer table"));
            continue;
        };
        for u in uses {
            match layer.get(u.as_str()) {
                Some(&lu) if lu <= lm => {}
                Some(&lu) => wrong.push(format!("{name} (layer {lm}) uses {u} (layer {lu})")),
                None => {}
            }
        }
    }
    for m in layer.keys() {
        let known = m == "lib" || g.contains_key(m);
        if !known {
            wrong.push(format!(
                "the README's layer table names {m}, which is no module"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

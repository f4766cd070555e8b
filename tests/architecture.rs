//! The shape of the code, checked: no module of any crate depends on itself through others,
//! and no source file grows past what one can read in one sitting.
//!
//! Cargo refuses a cycle between crates; nothing refuses one between the modules of a crate.
//! This test parses every crate with `syn`, follows each module's paths (`use`, types,
//! calls) to the module that defines the item, through the re-exports of facade modules,
//! and fails naming the modules of any cycle. Test code (`#[cfg(test)]`) is left out: a test
//! may reach anywhere. `docs/architecture.md` describes the layers this keeps honest.
//! `ARCH_DEBUG=1` prints every edge found, with the path that made it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Longest a source file may be, counting only lines before its `#[cfg(test)]` module.
const MAX_PRODUCTION_LINES: usize = 700;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every crate's root file: `crates/*/src/{lib,main}.rs` and the desktop app's.
fn crate_roots() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut roots = Vec::new();
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.push(root.join("src-tauri"));
    dirs.sort();
    for dir in dirs {
        for file in ["src/lib.rs", "src/main.rs"] {
            if dir.join(file).is_file() {
                roots.push(dir.join(file));
            }
        }
    }
    assert!(roots.len() >= 6, "found only {roots:?}");
    roots
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta.require_list().is_ok_and(|l| {
                let tokens = l.tokens.to_string();
                tokens == "test" || tokens.starts_with("test ,")
            })
    })
}

/// One module of a crate: its path from the crate root, what it re-exports, what it uses.
#[derive(Default)]
struct Module {
    children: BTreeSet<String>,
    /// Names of the items this module defines.
    items: BTreeSet<String>,
    /// Name re-exported by `pub use` → the absolute path it stands for (`None`: an item of
    /// another crate).
    reexports: BTreeMap<String, Option<Vec<String>>>,
    /// Modules whose every public name this module re-exports (`pub use x::*`).
    glob_reexports: Vec<Vec<String>>,
    /// Absolute paths this module's own code refers to.
    uses: Vec<Vec<String>>,
}

struct Crate {
    modules: BTreeMap<Vec<String>, Module>,
}

impl Crate {
    fn load(root_file: &Path) -> Self {
        let mut krate = Crate {
            modules: BTreeMap::new(),
        };
        krate.load_module(
            Vec::new(),
            root_file.to_path_buf(),
            root_file.parent().unwrap().to_path_buf(),
        );
        krate
    }

    /// Parses `file` as the module `path`, whose child modules' files live in `dir`.
    fn load_module(&mut self, path: Vec<String>, file: PathBuf, dir: PathBuf) {
        let text = fs::read_to_string(&file).unwrap();
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        self.load_items(path, file, dir, &ast.items);
    }

    fn load_items(&mut self, path: Vec<String>, file: PathBuf, dir: PathBuf, items: &[syn::Item]) {
        let mut module = Module::default();
        let mut collector = PathCollector {
            module: &path,
            children: BTreeSet::new(),
            uses: Vec::new(),
        };
        let mut nested = Vec::new();
        for item in items {
            if let syn::Item::Mod(m) = item {
                if is_cfg_test(&m.attrs) {
                    continue;
                }
                let name = m.ident.to_string();
                collector.children.insert(name.clone());
                nested.push(m);
            }
        }
        for item in items {
            if let Some(ident) = item_name(item) {
                module.items.insert(ident);
            }
            match item {
                syn::Item::Mod(_) => {}
                syn::Item::Use(u) if is_cfg_test(&u.attrs) => {}
                syn::Item::Use(u) if !matches!(u.vis, syn::Visibility::Inherited) => {
                    // A facade: `pub use child::Name` makes `path::Name` mean `child::Name`.
                    let mut leaves = Vec::new();
                    use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                    for (prefix, name) in leaves {
                        let absolute = collector.absolute(&prefix);
                        let internal =
                            !absolute.is_empty() || prefix.first().is_some_and(|p| p == "crate");
                        match name {
                            Some((name, alias)) => {
                                let mut target = absolute;
                                target.push(name);
                                module.reexports.insert(alias, internal.then_some(target));
                            }
                            None if internal => module.glob_reexports.push(absolute),
                            None => {}
                        }
                    }
                }
                other if has_cfg_test_attr(other) => {}
                other => collector.visit_item(other),
            }
        }
        module.children = collector.children.clone();
        module.uses = collector.uses;
        let is_dir_owner = matches!(
            file.file_name().and_then(|n| n.to_str()),
            Some("lib.rs" | "main.rs" | "mod.rs")
        );
        for m in nested {
            let name = m.ident.to_string();
            let mut child_path = path.clone();
            child_path.push(name.clone());
            let child_dir = if is_dir_owner {
                dir.join(&name)
            } else {
                dir.join(file.file_stem().unwrap()).join(&name)
            };
            match &m.content {
                Some((_, items)) => self.load_items(child_path, file.clone(), child_dir, items),
                None => {
                    let base = if is_dir_owner {
                        dir.clone()
                    } else {
                        dir.join(file.file_stem().unwrap())
                    };
                    let flat = base.join(format!("{name}.rs"));
                    let owner = base.join(&name).join("mod.rs");
                    if flat.is_file() {
                        self.load_module(child_path, flat, base.join(&name));
                    } else {
                        self.load_module(child_path, owner, base.join(&name));
                    }
                }
            }
        }
        self.modules.insert(path, module);
    }

    /// The module that defines what `path` names, following re-exports.
    fn defining_module(&self, path: &[String], depth: usize) -> Option<Vec<String>> {
        if depth > 16 {
            return None;
        }
        // The longest prefix that is a module.
        let mut split = path.len();
        while split > 0 && !self.modules.contains_key(&path[..split]) {
            split -= 1;
        }
        let module_path = path[..split].to_vec();
        let module = self.modules.get(&module_path)?;
        let Some(name) = path.get(split) else {
            return Some(module_path);
        };
        if let Some(target) = module.reexports.get(name) {
            // An item of another crate: no edge inside this one.
            let target = target.as_ref()?;
            let mut full = target.clone();
            full.extend_from_slice(&path[split + 1..]);
            return self.defining_module(&full, depth + 1).or(Some(module_path));
        }
        for glob in &module.glob_reexports {
            let mut full = glob.clone();
            full.extend_from_slice(&path[split..]);
            if let Some(found) = self.defining_module(&full, depth + 1)
                && self.defines(&found, &path[split..])
            {
                return Some(found);
            }
        }
        Some(module_path)
    }

    /// Whether `module` has an item or re-export called `rest[0]`.
    fn defines(&self, module: &[String], rest: &[String]) -> bool {
        let Some(m) = self.modules.get(module) else {
            return false;
        };
        let Some(name) = rest.first() else {
            return true;
        };
        m.items.contains(name) || m.reexports.contains_key(name) || m.children.contains(name)
    }

    /// Edges between modules: `from` uses an item defined in `to`.
    fn edges(&self) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (from, module) in &self.modules {
            for used in &module.uses {
                if let Some(to) = self.defining_module(used, 0)
                    && &to != from
                {
                    if std::env::var_os("ARCH_DEBUG").is_some() {
                        eprintln!("{} -> {} via {}", name(from), name(&to), used.join("::"));
                    }
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        edges
    }
}

fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Const(i) => &i.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        _ => return None,
    };
    Some(ident.to_string())
}

fn has_cfg_test_attr(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        _ => return false,
    };
    is_cfg_test(attrs)
}

/// The leaves of a use tree: (path before the leaf, Some((name, alias)) or None for a glob).
type UseLeaf = (Vec<String>, Option<(String, String)>);

fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseLeaf>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                let mut p = prefix.clone();
                let last = p.pop().unwrap_or_default();
                out.push((p, Some((last.clone(), last))));
            } else {
                out.push((prefix.clone(), Some((name.clone(), name))));
            }
        }
        syn::UseTree::Rename(r) => {
            out.push((
                prefix.clone(),
                Some((r.ident.to_string(), r.rename.to_string())),
            ));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), None)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

/// Collects the crate-internal paths a module's code mentions, made absolute.
struct PathCollector<'a> {
    module: &'a [String],
    children: BTreeSet<String>,
    uses: Vec<Vec<String>>,
}

impl PathCollector<'_> {
    /// Makes a path written in this module absolute (from the crate root); paths into other
    /// crates or the standard library come back empty.
    fn absolute(&self, segments: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut rest = segments;
        match segments.first().map(String::as_str) {
            Some("crate") => rest = &segments[1..],
            Some("self") => {
                out = self.module.to_vec();
                rest = &segments[1..];
            }
            Some("super") => {
                out = self.module.to_vec();
                while rest.first().map(String::as_str) == Some("super") {
                    out.pop();
                    rest = &rest[1..];
                }
            }
            Some(first) if self.children.contains(first) => out = self.module.to_vec(),
            _ => return Vec::new(),
        }
        out.extend_from_slice(rest);
        out
    }

    fn record(&mut self, segments: Vec<String>) {
        let absolute = self.absolute(&segments);
        if !absolute.is_empty() || segments.first().map(String::as_str) == Some("crate") {
            self.uses.push(absolute);
        }
    }
}

impl<'ast> Visit<'ast> for PathCollector<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(segments);
        syn::visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut leaves = Vec::new();
        use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
        for (mut prefix, name) in leaves {
            if let Some((name, _)) = name {
                prefix.push(name);
            }
            self.record(prefix);
        }
    }

    // Inline modules are loaded as modules of their own, with their own uses.
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    // `pub(crate)` and `pub(in crate::x)` say who may see an item, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
}

/// The cycles of a graph, one per strongly connected component of more than one module
/// (Tarjan's algorithm).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        found: Vec<Vec<Vec<String>>>,
    }
    fn connect<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(targets) = s.edges.get(v) {
            for w in targets {
                if !s.index.contains_key(w) {
                    connect(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v) {
            connect(&mut state, v);
        }
    }
    state.found
}

fn name(path: &[String]) -> String {
    if path.is_empty() {
        "(crate root)".into()
    } else {
        path.join("::")
    }
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let mut report = Vec::new();
    let mut modules = 0;
    for root in crate_roots() {
        let krate = Crate::load(&root);
        modules += krate.modules.len();
        let edges = krate.edges();
        for component in cycles(&edges) {
            let mut lines = Vec::new();
            for from in &component {
                for to in edges.get(from).into_iter().flatten() {
                    if component.contains(to) {
                        lines.push(format!("    {} -> {}", name(from), name(to)));
                    }
                }
            }
            report.push(format!(
                "{}: {}\n{}",
                root.parent().unwrap().parent().unwrap().display(),
                component
                    .iter()
                    .map(|m| name(m))
                    .collect::<Vec<_>>()
                    .join(", "),
                lines.join("\n")
            ));
        }
    }
    assert!(
        modules > 60,
        "only {modules} modules were found: the walk is broken"
    );
    assert!(report.is_empty(), "module cycles:\n{}", report.join("\n"));
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let a = vec!["a".to_string()];
    let b = vec!["b".to_string()];
    let c = vec!["c".to_string()];
    let edges = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone(), c.clone()])),
        (c.clone(), BTreeSet::new()),
    ]);
    assert_eq!(cycles(&edges), vec![vec![a, b]]);
}

/// Lines of a file before its test module (`#[cfg(test)] mod ...`).
fn production_lines(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod "))
        .unwrap_or(lines.len())
}

#[test]
fn every_source_file_reads_in_one_sitting() {
    let root = workspace_root();
    let mut too_long = Vec::new();
    let mut stack = vec![root.join("crates"), root.join("src-tauri/src")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && name != "tests" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs")
                && !name.ends_with("tests.rs")
                && name != "test_support.rs"
            {
                let lines = production_lines(&fs::read_to_string(&path).unwrap());
                if lines > MAX_PRODUCTION_LINES {
                    too_long.push(format!(
                        "{} ({lines} lines)",
                        path.strip_prefix(&root).unwrap().display()
                    ));
                }
            }
        }
    }
    too_long.sort();
    assert!(
        too_long.is_empty(),
        "files over {MAX_PRODUCTION_LINES} lines of production code:\n{}",
        too_long.join("\n")
    );
}

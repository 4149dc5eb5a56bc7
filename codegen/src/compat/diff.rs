//! The comparison itself: pure functions over two definitions.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use safething_ir::types::is_string_enum;
use safething_ir::{
    Access, Action, Attribute, AttributeKind, DataSchema, Definition, Event, IrPath, SchemaType,
    Segment, cmp_numbers,
};
use serde_json::{Number, Value};

use super::Finding;
use super::rules::CompatRule as R;

/// How deep the comparison follows nested schemas and `ref`s; validated definitions are far
/// shallower, this only keeps a hostile pair from exhausting the stack.
const MAX_DEPTH: usize = 64;

/// Who sends a value: decides whether narrowing or widening breaks old peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    /// Peers send it to the thing (action input, written attribute values).
    Input,
    /// The thing sends it (attribute values, event data, action output).
    Output,
    /// Both: a writable attribute's value is read and written.
    Both,
}

impl Dir {
    fn input(self) -> bool {
        matches!(self, Dir::Input | Dir::Both)
    }

    fn output(self) -> bool {
        matches!(self, Dir::Output | Dir::Both)
    }
}

/// Where a compared schema is, in the new and in the old definition.
#[derive(Clone, Debug)]
struct At {
    new: IrPath,
    old: IrPath,
}

impl At {
    fn same(path: IrPath) -> At {
        At {
            new: path.clone(),
            old: path,
        }
    }

    fn key(&self, key: &str) -> At {
        At {
            new: self.new.key(key),
            old: self.old.key(key),
        }
    }

    fn index(&self, new: usize, old: usize) -> At {
        At {
            new: self.new.index(new),
            old: self.old.index(old),
        }
    }
}

/// Results of [`Cx::same`] by the addresses of the two schemas (both definitions are borrowed,
/// unchanged, for the whole comparison): each pair is compared once, so nested unions cost a
/// product of sizes, not an exponential.
type SameCache = RefCell<BTreeMap<(usize, usize), bool>>;

struct Cx<'a> {
    old: &'a Definition,
    new: &'a Definition,
    findings: Vec<Finding>,
    visited: BTreeSet<(String, String, Dir)>,
    same: &'a SameCache,
}

/// Every finding between `old` and `new`, in no particular order (duplicates removed).
pub(super) fn compare(old: &Definition, new: &Definition) -> Vec<Finding> {
    let cache = SameCache::default();
    let mut cx = Cx::new(old, new, &cache);
    cx.thing();
    cx.types();
    cx.affordances();
    let mut seen = BTreeSet::new();
    cx.findings
        .into_iter()
        .filter(|f| seen.insert((f.rule, f.path.clone(), f.message.clone())))
        .collect()
}

impl<'a> Cx<'a> {
    fn new(old: &'a Definition, new: &'a Definition, same: &'a SameCache) -> Cx<'a> {
        Cx {
            old,
            new,
            findings: Vec::new(),
            visited: BTreeSet::new(),
            same,
        }
    }

    fn push(&mut self, rule: R, path: IrPath, message: String) {
        self.findings.push(Finding::new(rule, path, None, message));
    }

    fn push_gone(&mut self, rule: R, path: IrPath, old_path: IrPath, message: String) {
        self.findings
            .push(Finding::new(rule, path, Some(old_path), message));
    }

    fn thing(&mut self) {
        let (old, new) = (&self.old.thing.name, &self.new.thing.name);
        if old != new {
            self.push(
                R::ThingRenamed,
                IrPath::of(["thing", "name"]),
                format!(
                    "the thing was renamed from `{old}` to `{new}`: its generated types and \
                     module are renamed"
                ),
            );
        }
    }

    /// Named types removed or renamed; their contents are compared where they are used.
    fn types(&mut self) {
        let (old, new) = (self.old, self.new);
        for (name, schema) in &old.types {
            if new.types.contains_key(name) {
                continue;
            }
            let renamed = new
                .types
                .iter()
                .filter(|(n, _)| !old.types.contains_key(*n))
                .find(|(_, s)| self.same(schema, s, 0))
                .map(|(n, _)| n.clone());
            let old_path = IrPath::of(["types", name.as_str()]);
            match renamed {
                Some(to) => self.push_gone(
                    R::TypeRenamed,
                    IrPath::of(["types", to.as_str()]),
                    old_path,
                    format!("type `{name}` was renamed to `{to}`: code naming `{name}` breaks"),
                ),
                None => self.push_gone(
                    R::TypeRemoved,
                    IrPath::of(["types"]),
                    old_path,
                    format!("type `{name}` was removed: code naming it breaks"),
                ),
            }
        }
    }

    fn affordances(&mut self) {
        let (old, new) = (self.old, self.new);
        for (name, o) in &old.attributes {
            match new.attributes.get(name) {
                Some(n) => self.attribute(name, o, n),
                None => self.gone("attributes", "attribute", name),
            }
        }
        for (name, o) in &old.events {
            match new.events.get(name) {
                Some(n) => self.event(name, o, n),
                None => self.gone("events", "event", name),
            }
        }
        for (name, o) in &old.actions {
            match new.actions.get(name) {
                Some(n) => self.action(name, o, n),
                None => self.gone("actions", "action", name),
            }
        }
    }

    /// An affordance of the old definition that the new one has not (of that kind).
    fn gone(&mut self, table: &str, kind: &str, name: &str) {
        let old_path = IrPath::of([table, name]);
        let new = self.new;
        let a_kind = match kind {
            "attribute" => "an attribute",
            "event" => "an event",
            _ => "an action",
        };
        let now = [
            (
                "attributes",
                "an attribute",
                new.attributes.contains_key(name),
            ),
            ("events", "an event", new.events.contains_key(name)),
            ("actions", "an action", new.actions.contains_key(name)),
        ]
        .into_iter()
        .find(|(_, _, present)| *present);
        match now {
            Some((now_table, now_kind, _)) => self.push_gone(
                R::AffordanceKindChanged,
                IrPath::of([now_table, name]),
                old_path,
                format!("{kind} `{name}` is now {now_kind}: old peers use it as {a_kind}"),
            ),
            None => {
                let renamed = match self.renamed_to(table, name) {
                    Some(to) => format!(" (renamed to `{to}`?)"),
                    None => String::new(),
                };
                self.push_gone(
                    R::AffordanceRemoved,
                    IrPath::of([table]),
                    old_path,
                    format!("{kind} `{name}` was removed{renamed}: old peers still use it"),
                )
            }
        }
    }

    /// A new affordance of the same kind with the same payloads as the removed `name`: probably
    /// its new name.
    fn renamed_to(&self, table: &str, name: &str) -> Option<String> {
        let (old, new) = (self.old, self.new);
        let payloads = |o: Option<&DataSchema>, n: Option<&DataSchema>| match (o, n) {
            (Some(o), Some(n)) => self.same(o, n, 0),
            (None, None) => true,
            _ => false,
        };
        let found = match table {
            "attributes" => {
                let o = old.attributes.get(name)?;
                new.attributes
                    .iter()
                    .filter(|(n, _)| !old.attributes.contains_key(*n))
                    .find(|(_, n)| n.kind == o.kind && self.same(&o.schema, &n.schema, 0))
                    .map(|(n, _)| n)
            }
            "events" => {
                let o = old.events.get(name)?;
                new.events
                    .iter()
                    .filter(|(n, _)| !old.events.contains_key(*n))
                    .find(|(_, n)| payloads(o.data.as_ref(), n.data.as_ref()))
                    .map(|(n, _)| n)
            }
            _ => {
                let o = old.actions.get(name)?;
                new.actions
                    .iter()
                    .filter(|(n, _)| !old.actions.contains_key(*n))
                    .find(|(_, n)| {
                        payloads(o.input.as_ref(), n.input.as_ref())
                            && payloads(o.output.as_ref(), n.output.as_ref())
                    })
                    .map(|(n, _)| n)
            }
        };
        found.cloned()
    }

    fn attribute(&mut self, name: &str, o: &Attribute, n: &Attribute) {
        let at = At::same(IrPath::of(["attributes", name]));
        if o.kind != n.kind {
            let kind = |k: AttributeKind| match k {
                AttributeKind::Static => "static",
                AttributeKind::Dynamic => "dynamic",
            };
            self.push(
                R::AttributeKindChanged,
                at.new.key("kind"),
                format!(
                    "attribute `{name}` changed from {} to {}",
                    kind(o.kind),
                    kind(n.kind)
                ),
            );
        }
        if o.writable && !n.writable {
            self.push(
                R::WritableRemoved,
                at.new.clone(),
                format!("attribute `{name}` is no longer writable: old peers' writes are refused"),
            );
        }
        self.access("attribute", name, &at.new, &o.access, &n.access);
        match (o.history, n.history) {
            (Some(before), None) => self.push(
                R::HistoryRemoved,
                at.new.clone(),
                format!(
                    "attribute `{name}` no longer keeps a history (it kept the last {before} \
                     values)"
                ),
            ),
            (Some(before), Some(now)) if now < before => self.push(
                R::HistoryShortened,
                at.new.key("history"),
                format!("attribute `{name}` keeps the last {now} values, no longer {before}"),
            ),
            _ => {}
        }
        let dir = if o.writable && n.writable {
            Dir::Both
        } else {
            Dir::Output
        };
        self.schema(&o.schema, &n.schema, dir, &at, 0);
    }

    fn event(&mut self, name: &str, o: &Event, n: &Event) {
        let at = At::same(IrPath::of(["events", name]));
        self.access("event", name, &at.new, &o.access, &n.access);
        self.payload(
            &format!("the data of event `{name}`"),
            o.data.as_ref(),
            n.data.as_ref(),
            Dir::Output,
            &at.key("data"),
        );
    }

    fn action(&mut self, name: &str, o: &Action, n: &Action) {
        let at = At::same(IrPath::of(["actions", name]));
        self.access("action", name, &at.new, &o.access, &n.access);
        self.payload(
            &format!("the input of action `{name}`"),
            o.input.as_ref(),
            n.input.as_ref(),
            Dir::Input,
            &at.key("input"),
        );
        self.payload(
            &format!("the output of action `{name}`"),
            o.output.as_ref(),
            n.output.as_ref(),
            Dir::Output,
            &at.key("output"),
        );
        let before = o.timeout().unwrap_or(Action::DEFAULT_TIMEOUT);
        let now = n.timeout().unwrap_or(Action::DEFAULT_TIMEOUT);
        if now < before {
            let path = if n.timeout.is_some() {
                at.new.key("timeout")
            } else {
                at.new.clone()
            };
            self.push(
                R::TimeoutShortened,
                path,
                format!(
                    "the timeout of action `{name}` went from {} to {}",
                    duration(before),
                    duration(now)
                ),
            );
        }
        if o.safe && !n.safe {
            self.push(
                R::SafeRemoved,
                at.new.clone(),
                format!("action `{name}` is no longer safe: it may change the thing's state"),
            );
        }
        if o.idempotent && !n.idempotent {
            self.push(
                R::IdempotentRemoved,
                at.new.clone(),
                format!(
                    "action `{name}` is no longer idempotent: repeating a request is no longer \
                     harmless"
                ),
            );
        }
    }

    fn access(&mut self, kind: &str, name: &str, path: &IrPath, o: &Access, n: &Access) {
        let rank = |a: &Access| Access::KNOWN.iter().position(|k| k == a).unwrap_or(0);
        let (before, now) = (rank(o), rank(n));
        if before == now {
            return;
        }
        let path = path.key("access");
        if now > before {
            self.push(
                R::AccessTightened,
                path,
                format!(
                    "the access of {kind} `{name}` was tightened from `{o}` to `{n}`: parties \
                     that could use it are refused"
                ),
            );
        } else {
            let clear = if *n == Access::All {
                " (and its payloads travel unencrypted)"
            } else {
                ""
            };
            self.push(
                R::AccessLoosened,
                path,
                format!(
                    "the access of {kind} `{name}` was loosened from `{o}` to `{n}`: more \
                     parties may use it{clear}"
                ),
            );
        }
    }

    fn payload(
        &mut self,
        what: &str,
        o: Option<&DataSchema>,
        n: Option<&DataSchema>,
        dir: Dir,
        at: &At,
    ) {
        match (o, n) {
            (Some(o), Some(n)) => self.schema(o, n, dir, at, 0),
            (None, Some(_)) => self.push(
                R::PayloadAdded,
                at.new.clone(),
                format!("{what} is new: old peers neither send nor expect one"),
            ),
            (Some(_), None) => self.push_gone(
                R::PayloadRemoved,
                at.new.parent(),
                at.old.clone(),
                format!("{what} was removed: old peers still send or expect one"),
            ),
            (None, None) => {}
        }
    }

    /// Whether two schemas accept the same values and generate the same types (`depth`: how
    /// deep the comparison that asks already is).
    fn same(&self, o: &DataSchema, n: &DataSchema, depth: usize) -> bool {
        let key = (
            std::ptr::from_ref(o) as usize,
            std::ptr::from_ref(n) as usize,
        );
        if let Some(known) = self.same.borrow().get(&key) {
            return *known;
        }
        let mut sub = Cx::new(self.old, self.new, self.same);
        sub.schema(o, n, Dir::Both, &At::same(IrPath::root()), depth + 1);
        let same = sub.findings.iter().all(|f| !f.is_error());
        self.same.borrow_mut().insert(key, same);
        same
    }

    /// Compares two schemas at the same place, following `ref`s into the named types (findings
    /// inside a named type point at its declaration).
    fn schema(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match (&o.reference, &n.reference) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                let renamed = !self.new.types.contains_key(a) && !self.old.types.contains_key(b);
                if !renamed {
                    self.push(
                        R::RustTypeChanged,
                        at.new.clone(),
                        format!("{} is now of type `{b}` instead of `{a}`", subject(&at.new)),
                    );
                }
            }
            (Some(a), None) => self.push(
                R::RustTypeChanged,
                at.new.clone(),
                format!(
                    "{} is no longer of the named type `{a}`: its generated type changes",
                    subject(&at.new)
                ),
            ),
            (None, Some(b)) => self.push(
                R::RustTypeChanged,
                at.new.clone(),
                format!(
                    "{} is now of the named type `{b}`: its generated type changes",
                    subject(&at.new)
                ),
            ),
            (None, None) => {}
        }
        let (os, opath, oname) = resolve(self.old, o, &at.old);
        let (ns, npath, nname) = resolve(self.new, n, &at.new);
        if let (Some(a), Some(b)) = (oname, nname)
            && !self.visited.insert((a.to_owned(), b.to_owned(), dir))
        {
            return;
        }
        let at = At {
            new: npath,
            old: opath,
        };
        self.node(os, ns, dir, &at, depth);
    }

    fn node(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At, depth: usize) {
        if self.unions(o, n, dir, at, depth) {
            return;
        }
        if self.types_differ(o, n, dir, at) {
            return;
        }
        self.enumeration(o, n, dir, at);
        self.range(o, n, dir, at);
        self.lengths(o, n, dir, at);
        self.annotations(o, n, dir, at);
        if let (Some(oi), Some(ni)) = (&o.items, &n.items) {
            self.schema(oi, ni, dir, &at.key("items"), depth + 1);
        }
        self.properties(o, n, dir, at, depth);
    }

    /// `oneOf` on either side; true when the schemas were compared as unions.
    fn unions(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At, depth: usize) -> bool {
        match (&o.one_of, &n.one_of) {
            (None, None) => false,
            (Some(oa), Some(na)) if oa.len() == na.len() => {
                for (i, (oa, na)) in oa.iter().zip(na).enumerate() {
                    self.schema(oa, na, dir, &at.key("oneOf").index(i, i), depth + 1);
                }
                true
            }
            (Some(oa), Some(na)) => {
                let olds: Vec<&DataSchema> = oa.iter().collect();
                let news: Vec<&DataSchema> = na.iter().collect();
                self.alternatives(&olds, &news, dir, at, (true, true), depth);
                true
            }
            (None, Some(na)) => {
                if na.iter().any(|alt| self.same(o, alt, depth)) {
                    let news: Vec<&DataSchema> = na.iter().collect();
                    self.alternatives(&[o], &news, dir, at, (false, true), depth);
                } else {
                    self.type_changed(at, "a single type", "a union (`oneOf`)");
                }
                true
            }
            (Some(oa), None) => {
                if oa.iter().any(|alt| self.same(alt, n, depth)) {
                    let olds: Vec<&DataSchema> = oa.iter().collect();
                    self.alternatives(&olds, &[n], dir, at, (true, false), depth);
                } else {
                    self.type_changed(at, "a union (`oneOf`)", "a single type");
                }
                true
            }
        }
    }

    /// Alternatives matched by structure; the rest of the same kind (JSON type, named type or
    /// union) are paired in order and compared in detail; what is left was removed or added.
    /// `unions`: whether the old and the new schema are unions (else the one alternative is the
    /// schema itself).
    fn alternatives(
        &mut self,
        olds: &[&DataSchema],
        news: &[&DataSchema],
        dir: Dir,
        at: &At,
        unions: (bool, bool),
        depth: usize,
    ) {
        let old_path = |i: usize| {
            if unions.0 {
                at.old.key("oneOf").index(i)
            } else {
                at.old.clone()
            }
        };
        let new_path = |j: usize| {
            if unions.1 {
                at.new.key("oneOf").index(j)
            } else {
                at.new.clone()
            }
        };
        let unmatched_old: Vec<usize> = olds
            .iter()
            .enumerate()
            .filter(|(_, o)| !news.iter().any(|n| self.same(o, n, depth)))
            .map(|(i, _)| i)
            .collect();
        let mut unmatched_new: Vec<usize> = news
            .iter()
            .enumerate()
            .filter(|(_, n)| !olds.iter().any(|o| self.same(o, n, depth)))
            .map(|(j, _)| j)
            .collect();
        let kind = |s: &DataSchema| (s.ty, s.reference.clone(), s.one_of.is_some());
        for i in unmatched_old {
            let (Some(o), paired) = (
                olds.get(i),
                unmatched_new
                    .iter()
                    .position(|&j| news.get(j).map(|n| kind(n)) == olds.get(i).map(|o| kind(o))),
            ) else {
                continue;
            };
            if let Some(p) = paired {
                let j = unmatched_new.remove(p);
                if let Some(n) = news.get(j) {
                    let here = At {
                        new: new_path(j),
                        old: old_path(i),
                    };
                    self.schema(o, n, dir, &here, depth + 1);
                }
                continue;
            }
            let what = describe(o);
            if dir.input() {
                self.push_gone(
                    R::InputAlternativeRemoved,
                    at.new.clone(),
                    old_path(i),
                    format!("{} no longer accepts {what}", subject(&at.new)),
                );
            } else {
                self.push_gone(
                    R::RustTypeChanged,
                    at.new.clone(),
                    old_path(i),
                    format!(
                        "{} is no longer ever {what}: its generated type loses that case",
                        subject(&at.new)
                    ),
                );
            }
        }
        for j in unmatched_new {
            let Some(n) = news.get(j) else {
                continue;
            };
            let what = describe(n);
            if dir.output() {
                let rule = if n.ty == Some(SchemaType::Null) {
                    R::OutputNullableAdded
                } else {
                    R::OutputAlternativeAdded
                };
                self.push(
                    rule,
                    new_path(j),
                    format!(
                        "{} may now be {what}: old peers do not expect it",
                        subject(&at.new)
                    ),
                );
            } else {
                self.push(
                    R::EnumVariantAdded,
                    new_path(j),
                    format!(
                        "{} may now be {what}: its generated type gains a case, and code that \
                         matches on it breaks",
                        subject(&at.new)
                    ),
                );
            }
        }
    }

    fn type_changed(&mut self, at: &At, from: &str, to: &str) {
        self.push(
            R::TypeChanged,
            at.new.clone(),
            format!("{} changed from {from} to {to}", subject(&at.new)),
        );
    }

    /// Different JSON types; true when nothing else is worth comparing.
    fn types_differ(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At) -> bool {
        let (Some(a), Some(b)) = (o.ty, n.ty) else {
            return false;
        };
        if a == b {
            return false;
        }
        let path = at.new.key("type");
        match (a, b) {
            (SchemaType::Integer, SchemaType::Number) if !dir.output() => self.push(
                R::RustTypeChanged,
                path,
                format!(
                    "{} accepts any number, no longer only integers: its generated type \
                     changes",
                    subject(&at.new)
                ),
            ),
            (SchemaType::Number, SchemaType::Integer) if !dir.input() => self.push(
                R::RustTypeChanged,
                path,
                format!(
                    "{} is now always an integer: its generated type changes",
                    subject(&at.new)
                ),
            ),
            _ => self.push(
                R::TypeChanged,
                path,
                format!("{} changed from type `{a}` to `{b}`", subject(&at.new)),
            ),
        }
        true
    }

    fn enumeration(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At) {
        let (ov, nv) = (allowed(o), allowed(n));
        let path = keyword(at, o, n, &["enum", "const"]);
        let missing = |from: &Option<Vec<&Value>>, to: &Option<Vec<&Value>>| -> Vec<String> {
            match (from, to) {
                (Some(from), Some(to)) => from
                    .iter()
                    .filter(|v| !to.contains(v))
                    .map(|v| v.to_string())
                    .collect(),
                _ => Vec::new(),
            }
        };
        let removed = missing(&ov, &nv);
        let added = missing(&nv, &ov);
        let mut wire_removed = false;
        let mut wire_added = false;
        if dir.input() {
            if ov.is_none() && nv.is_some() {
                self.push(
                    R::InputEnumValueRemoved,
                    path.clone(),
                    format!(
                        "{} now accepts only {}",
                        subject(&at.new),
                        list(nv.iter().flatten().map(|v| v.to_string()))
                    ),
                );
            } else if !removed.is_empty() {
                wire_removed = true;
                self.push(
                    R::InputEnumValueRemoved,
                    path.clone(),
                    format!(
                        "{} no longer accepts {}",
                        subject(&at.new),
                        list(removed.iter().cloned())
                    ),
                );
            }
        }
        if dir.output() {
            if ov.is_some() && nv.is_none() {
                self.push(
                    R::OutputEnumValueAdded,
                    at.new.clone(),
                    format!(
                        "{} is no longer limited to {}",
                        subject(&at.new),
                        list(ov.iter().flatten().map(|v| v.to_string()))
                    ),
                );
            } else if !added.is_empty() {
                wire_added = true;
                self.push(
                    R::OutputEnumValueAdded,
                    path.clone(),
                    format!(
                        "{} may now be {}: old peers do not expect it",
                        subject(&at.new),
                        list(added.iter().cloned())
                    ),
                );
            }
        }
        if is_string_enum(o) && is_string_enum(n) {
            if !added.is_empty() && !wire_added {
                self.push(
                    R::EnumVariantAdded,
                    path.clone(),
                    format!(
                        "{} gained {}: its generated enum is exhaustive, so `match`es on it \
                         break",
                        subject(&at.new),
                        list(added.iter().cloned())
                    ),
                );
            }
            if !removed.is_empty() && !wire_removed {
                self.push(
                    R::EnumVariantRemoved,
                    path,
                    format!(
                        "{} lost {}: code naming its generated variant breaks",
                        subject(&at.new),
                        list(removed.iter().cloned())
                    ),
                );
            }
        }
    }

    fn range(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At) {
        let (olo, ohi) = (lower(o), upper(o));
        let (nlo, nhi) = (lower(n), upper(n));
        let narrowed_lo = tighter(&nlo, &olo, Ordering::Greater);
        let narrowed = narrowed_lo || tighter(&nhi, &ohi, Ordering::Less);
        let widened_lo = tighter(&olo, &nlo, Ordering::Greater);
        let widened = widened_lo || tighter(&ohi, &nhi, Ordering::Less);
        let (from, to) = (show_range(&olo, &ohi), show_range(&nlo, &nhi));
        // Point at the bound that moved.
        let bound = |low: bool| {
            let keys: &[&str] = if low {
                &["minimum", "exclusiveMinimum"]
            } else {
                &["maximum", "exclusiveMaximum"]
            };
            keyword(at, o, n, keys)
        };
        if dir.input() && narrowed {
            self.push(
                R::InputRangeNarrowed,
                bound(narrowed_lo),
                format!(
                    "the range of {} was narrowed from {from} to {to}: old peers may send \
                     values it now refuses",
                    subject(&at.new)
                ),
            );
        }
        if dir.output() && widened {
            self.push(
                R::OutputRangeWidened,
                bound(widened_lo),
                format!(
                    "the range of {} was widened from {from} to {to}: old peers may receive \
                     values they refuse",
                    subject(&at.new)
                ),
            );
        }
        let path = keyword(at, o, n, &["multipleOf"]);
        let covers = |a: &Option<Number>, b: &Option<Number>| match (a, b) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => is_multiple(a, b),
        };
        let show = |m: &Option<Number>| m.as_ref().map_or("none".to_owned(), Number::to_string);
        if dir.input() && !covers(&o.multiple_of, &n.multiple_of) {
            self.push(
                R::InputMultipleOfNarrowed,
                path.clone(),
                format!(
                    "{} changed `multipleOf` from {} to {}: old peers may send values it now \
                     refuses",
                    subject(&at.new),
                    show(&o.multiple_of),
                    show(&n.multiple_of)
                ),
            );
        }
        if dir.output() && !covers(&n.multiple_of, &o.multiple_of) {
            self.push(
                R::OutputMultipleOfWidened,
                path,
                format!(
                    "{} changed `multipleOf` from {} to {}: old peers may receive values they \
                     refuse",
                    subject(&at.new),
                    show(&o.multiple_of),
                    show(&n.multiple_of)
                ),
            );
        }
        if o.ty == Some(SchemaType::Integer)
            && n.ty == Some(SchemaType::Integer)
            && !is_string_enum(o)
        {
            let (before, now) = (
                crate::rust::types::integer_type(o).to_string(),
                crate::rust::types::integer_type(n).to_string(),
            );
            if before != now {
                self.push(
                    R::RustTypeChanged,
                    at.new.clone(),
                    format!(
                        "{} is generated as `{now}`, no longer `{before}` (its range changed)",
                        subject(&at.new)
                    ),
                );
            }
        }
    }

    fn lengths(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At) {
        let pairs = [
            (
                "length",
                (o.min_length, o.max_length),
                (n.min_length, n.max_length),
                ["minLength", "maxLength"],
                R::InputLengthNarrowed,
                R::OutputLengthWidened,
            ),
            (
                "number of items",
                (o.min_items, o.max_items),
                (n.min_items, n.max_items),
                ["minItems", "maxItems"],
                R::InputItemsNarrowed,
                R::OutputItemsWidened,
            ),
        ];
        for (what, (omin, omax), (nmin, nmax), keys, narrowed_rule, widened_rule) in pairs {
            let (omin, nmin) = (omin.unwrap_or(0), nmin.unwrap_or(0));
            let max_tighter = |a: Option<u64>, b: Option<u64>| match (a, b) {
                (Some(a), Some(b)) => a < b,
                (Some(_), None) => true,
                _ => false,
            };
            let narrowed = nmin > omin || max_tighter(nmax, omax);
            let widened = nmin < omin || max_tighter(omax, nmax);
            let show = |min: u64, max: Option<u64>| match max {
                Some(max) => format!("{min}..={max}"),
                None => format!("{min}.."),
            };
            let (from, to) = (show(omin, omax), show(nmin, nmax));
            let path = keyword(at, o, n, &keys);
            if dir.input() && narrowed {
                self.push(
                    narrowed_rule,
                    path.clone(),
                    format!(
                        "the {what} of {} was narrowed from {from} to {to}: old peers may \
                         send values it now refuses",
                        subject(&at.new)
                    ),
                );
            }
            if dir.output() && widened {
                self.push(
                    widened_rule,
                    path,
                    format!(
                        "the {what} of {} was widened from {from} to {to}: old peers may \
                         receive values they refuse",
                        subject(&at.new)
                    ),
                );
            }
        }
    }

    /// `pattern`, `format`, `unit`, `default`, content: what does not order.
    fn annotations(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At) {
        let show = |s: &Option<String>| match s {
            Some(s) => format!("`{s}`"),
            None => "none".to_owned(),
        };
        let checks = [
            (
                "pattern",
                &o.pattern,
                &n.pattern,
                R::InputPatternChanged,
                R::OutputPatternChanged,
            ),
            (
                "format",
                &o.format,
                &n.format,
                R::InputFormatChanged,
                R::OutputFormatChanged,
            ),
        ];
        for (key, before, now, input_rule, output_rule) in checks {
            if before == now {
                continue;
            }
            let path = keyword(at, o, n, &[key]);
            let message = format!(
                "the {key} of {} changed from {} to {}",
                subject(&at.new),
                show(before),
                show(now)
            );
            if dir.input() && now.is_some() {
                self.push(
                    input_rule,
                    path,
                    format!("{message}: old peers may send strings it now refuses"),
                );
            } else if dir.output() && before.is_some() {
                self.push(
                    output_rule,
                    path,
                    format!("{message}: old peers may receive strings they refuse"),
                );
            }
        }
        if let (Some(before), Some(now)) = (&o.unit, &n.unit)
            && before != now
        {
            self.push(
                R::UnitChanged,
                keyword(at, o, n, &["unit"]),
                format!(
                    "the unit of {} changed from `{before}` to `{now}`: the same number now \
                     means something else",
                    subject(&at.new)
                ),
            );
        }
        if o.content_media_type != n.content_media_type || o.content_encoding != n.content_encoding
        {
            self.push(
                R::ContentChanged,
                keyword(at, o, n, &["contentMediaType", "contentEncoding"]),
                format!(
                    "the content of {} changed from {}/{} to {}/{} (media type/encoding)",
                    subject(&at.new),
                    show(&o.content_media_type),
                    show(&o.content_encoding),
                    show(&n.content_media_type),
                    show(&n.content_encoding)
                ),
            );
        }
        if o.default.is_some() && o.default != n.default {
            let now = n
                .default
                .as_ref()
                .map_or("none".to_owned(), Value::to_string);
            let before = o.default.as_ref().map_or(String::new(), Value::to_string);
            let who = if dir.input() {
                "a value old peers leave out"
            } else {
                "a value that is absent"
            };
            self.push(
                R::DefaultChanged,
                keyword(at, o, n, &["default"]),
                format!(
                    "the default of {} changed from {before} to {now}: {who} now means \
                     something else",
                    subject(&at.new)
                ),
            );
        }
    }

    fn properties(&mut self, o: &DataSchema, n: &DataSchema, dir: Dir, at: &At, depth: usize) {
        let props = at.key("properties");
        for (name, op) in &o.properties {
            let here = props.key(name);
            let Some(np) = n.properties.get(name) else {
                if dir.input() {
                    self.push_gone(
                        R::InputFieldRemoved,
                        at.new.clone(),
                        here.old,
                        format!(
                            "property `{name}` of {} was removed: old peers that send it are \
                             refused",
                            subject(&at.new)
                        ),
                    );
                } else if o.is_required(name) {
                    self.push_gone(
                        R::OutputFieldRemoved,
                        at.new.clone(),
                        here.old,
                        format!(
                            "required property `{name}` of {} was removed: old peers expect \
                             it",
                            subject(&at.new)
                        ),
                    );
                } else {
                    self.push_gone(
                        R::StructFieldRemoved,
                        at.new.clone(),
                        here.old,
                        format!(
                            "optional property `{name}` of {} was removed: code reading its \
                             generated field breaks",
                            subject(&at.new)
                        ),
                    );
                }
                continue;
            };
            let (before, now) = (o.is_required(name), n.is_required(name));
            if !before && now {
                let rule = if dir.input() {
                    R::InputRequiredFieldAdded
                } else {
                    R::FieldOptionalityChanged
                };
                self.push(
                    rule,
                    here.new.clone(),
                    format!("property `{name}` of {} is now required", subject(&at.new)),
                );
            }
            if before && !now {
                let rule = if dir.output() {
                    R::OutputFieldOptional
                } else {
                    R::FieldOptionalityChanged
                };
                self.push(
                    rule,
                    here.new.clone(),
                    format!("property `{name}` of {} is now optional", subject(&at.new)),
                );
            }
            self.schema(op, np, dir, &here, depth + 1);
        }
        for name in n.properties.keys() {
            if o.properties.contains_key(name) {
                continue;
            }
            let path = props.new.key(name);
            let mut pushed = false;
            if dir.input() && n.is_required(name) {
                pushed = true;
                self.push(
                    R::InputRequiredFieldAdded,
                    path.clone(),
                    format!(
                        "{} has a new required property `{name}`: old peers do not send it",
                        subject(&at.new)
                    ),
                );
            }
            if dir.output() {
                pushed = true;
                self.push(
                    R::OutputFieldAdded,
                    path.clone(),
                    format!(
                        "{} has a new property `{name}`: objects are closed, old peers refuse \
                         it",
                        subject(&at.new)
                    ),
                );
            }
            if !pushed {
                self.push(
                    R::StructFieldAdded,
                    path,
                    format!(
                        "{} has a new optional property `{name}`: struct literals of its \
                         generated type must set it",
                        subject(&at.new)
                    ),
                );
            }
        }
    }
}

/// Follows `ref`s to the schema they name: the schema, its path, and the last type name.
fn resolve<'d>(
    def: &'d Definition,
    schema: &'d DataSchema,
    path: &IrPath,
) -> (&'d DataSchema, IrPath, Option<&'d str>) {
    let mut at = (schema, path.clone(), None);
    for _ in 0..MAX_DEPTH {
        let Some(name) = &at.0.reference else {
            break;
        };
        let Some(target) = def.types.get(name) else {
            break;
        };
        at = (
            target,
            IrPath::of(["types", name.as_str()]),
            Some(name.as_str()),
        );
    }
    at
}

/// Where to point for a change of one of `keys`: the first one that changed and is written in
/// the new schema, else the first one written there, else the schema itself.
fn keyword(at: &At, o: &DataSchema, n: &DataSchema, keys: &[&str]) -> IrPath {
    let changed = keys
        .iter()
        .find(|k| value_of(n, k).is_some() && value_of(n, k) != value_of(o, k));
    let written = || keys.iter().find(|k| value_of(n, k).is_some());
    changed
        .or_else(written)
        .map_or_else(|| at.new.clone(), |k| at.new.key(*k))
}

/// A keyword's value, as text to compare.
fn value_of(s: &DataSchema, key: &str) -> Option<String> {
    fn text<T: std::fmt::Debug>(v: &Option<T>) -> Option<String> {
        v.as_ref().map(|v| format!("{v:?}"))
    }
    match key {
        "minimum" => text(&s.minimum),
        "exclusiveMinimum" => text(&s.exclusive_minimum),
        "maximum" => text(&s.maximum),
        "exclusiveMaximum" => text(&s.exclusive_maximum),
        "multipleOf" => text(&s.multiple_of),
        "minLength" => text(&s.min_length),
        "maxLength" => text(&s.max_length),
        "minItems" => text(&s.min_items),
        "maxItems" => text(&s.max_items),
        "pattern" => text(&s.pattern),
        "format" => text(&s.format),
        "unit" => text(&s.unit),
        "default" => text(&s.default),
        "enum" => text(&s.enumeration),
        "const" => text(&s.constant),
        "contentMediaType" => text(&s.content_media_type),
        "contentEncoding" => text(&s.content_encoding),
        _ => None,
    }
}

/// The values an `enum` or `const` allows; `None` when the schema allows any.
fn allowed(s: &DataSchema) -> Option<Vec<&Value>> {
    match (&s.enumeration, &s.constant) {
        (Some(values), Some(c)) => Some(values.iter().filter(|v| *v == c).collect()),
        (Some(values), None) => Some(values.iter().collect()),
        (None, Some(c)) => Some(vec![c]),
        (None, None) => None,
    }
}

/// A bound: its number and whether it is exclusive.
type Bound = Option<(Number, bool)>;

fn lower(s: &DataSchema) -> Bound {
    tightest(&s.minimum, &s.exclusive_minimum, Ordering::Greater)
}

fn upper(s: &DataSchema) -> Bound {
    tightest(&s.maximum, &s.exclusive_maximum, Ordering::Less)
}

/// The tighter of an inclusive and an exclusive bound (`inward`: the direction that narrows).
fn tightest(inclusive: &Option<Number>, exclusive: &Option<Number>, inward: Ordering) -> Bound {
    match (inclusive, exclusive) {
        (Some(i), Some(e)) => match cmp_numbers(i, e) {
            Some(o) if o == inward => Some((i.clone(), false)),
            _ => Some((e.clone(), true)),
        },
        (Some(i), None) => Some((i.clone(), false)),
        (None, Some(e)) => Some((e.clone(), true)),
        (None, None) => None,
    }
}

/// Whether bound `a` excludes a value bound `b` allows (`inward`: the direction that narrows).
fn tighter(a: &Bound, b: &Bound, inward: Ordering) -> bool {
    match (a, b) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some((a, a_excl)), Some((b, b_excl))) => match cmp_numbers(a, b) {
            Some(Ordering::Equal) => *a_excl && !*b_excl,
            Some(o) => o == inward,
            None => false,
        },
    }
}

fn show_range(lo: &Bound, hi: &Bound) -> String {
    let lo = match lo {
        Some((n, false)) => format!("[{n}"),
        Some((n, true)) => format!("({n}"),
        None => "(-inf".to_owned(),
    };
    let hi = match hi {
        Some((n, false)) => format!("{n}]"),
        Some((n, true)) => format!("{n})"),
        None => "inf)".to_owned(),
    };
    format!("{lo}, {hi}")
}

/// Whether every multiple of `a` is a multiple of `b` (`a` is a multiple of `b`).
fn is_multiple(a: &Number, b: &Number) -> bool {
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return b != 0 && a.is_multiple_of(b);
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if b != 0.0 => {
            let r = a / b;
            r.is_finite() && r >= 1.0 && (r - r.round()).abs() < 1e-9
        }
        _ => false,
    }
}

/// A short description of a schema for messages: `null`, `an object ("By URL")`, ...
fn describe(s: &DataSchema) -> String {
    let base = match (&s.reference, s.ty) {
        (Some(r), _) => format!("a `{r}`"),
        (None, Some(SchemaType::Null)) => return "`null`".to_owned(),
        (None, Some(SchemaType::Integer)) => "an integer".to_owned(),
        (None, Some(SchemaType::Object)) => "an object".to_owned(),
        (None, Some(SchemaType::Array)) => "an array".to_owned(),
        (None, Some(t)) => format!("a {t}"),
        (None, None) => "a value".to_owned(),
    };
    match &s.title {
        Some(title) => format!("{base} (\"{title}\")"),
        None => base,
    }
}

/// What a path is about, for messages: `` `minutes` in the input of action `boost` ``,
/// `` type `Mode` ``.
fn subject(path: &IrPath) -> String {
    let keys: Vec<String> = path
        .segments()
        .iter()
        .map(|s| match s {
            Segment::Key(k) => k.clone(),
            Segment::Index(i) => format!("[{i}]"),
        })
        .collect();
    let (owner, rest) = match keys.as_slice() {
        [t, name, rest @ ..] if t == "types" => (format!("type `{name}`"), rest),
        [t, name, rest @ ..] if t == "attributes" => (format!("attribute `{name}`"), rest),
        [t, name, d, rest @ ..] if t == "events" && d == "data" => {
            (format!("the data of event `{name}`"), rest)
        }
        [t, name, io, rest @ ..] if t == "actions" && (io == "input" || io == "output") => {
            (format!("the {io} of action `{name}`"), rest)
        }
        _ => return format!("`{path}`"),
    };
    // The property chain inside the payload: `entries[].at`, `oneOf[1].mode`.
    let mut inner = String::new();
    let mut it = rest.iter().peekable();
    while let Some(k) = it.next() {
        match k.as_str() {
            "properties" => {
                if let Some(name) = it.next() {
                    if !inner.is_empty() {
                        inner.push('.');
                    }
                    inner.push_str(name);
                }
            }
            "items" => inner.push_str("[]"),
            "oneOf" => {
                inner.push_str("oneOf");
                if let Some(i) = it.next() {
                    inner.push_str(i);
                }
            }
            other => inner.push_str(other),
        }
    }
    if inner.is_empty() {
        owner
    } else {
        format!("`{inner}` in {owner}")
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn duration(d: std::time::Duration) -> String {
    if d.subsec_millis() != 0 || d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else if d.as_secs().is_multiple_of(60) {
        format!("{}m", d.as_secs() / 60)
    } else {
        format!("{}s", d.as_secs())
    }
}

//! The named types of a definition and the `ref`s between them, resolved once: what cycle
//! detection and the depth limit need, computed with explicit stacks (a definition may come
//! from the network, and may hold a chain of thousands of types) and memoized, so every ref is
//! followed a bounded number of times.

use std::collections::{BTreeMap, HashSet};

use crate::definition::Definition;
use crate::schema::DataSchema;

/// The named types and the refs between them, resolved once.
pub(crate) struct Graph<'a> {
    /// Type names in declaration (key) order; a type's index is its position here.
    pub(crate) names: Vec<&'a str>,
    /// For each type, the known types its schema refers to, in the order the refs are written
    /// (pre-order: a schema's own `ref`, then `items`, properties, `oneOf`).
    edges: Vec<Vec<usize>>,
    /// For each type, each of its refs to a known type with the depth of the `ref` schema.
    refs: Vec<Vec<(usize, usize)>>,
    /// For each type, the depth of its schema without following refs.
    inline: Vec<usize>,
}

impl<'a> Graph<'a> {
    pub(crate) fn of(def: &'a Definition, work: &mut u64) -> Graph<'a> {
        let names: Vec<&str> = def.types.keys().map(String::as_str).collect();
        let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut graph = Graph {
            names,
            edges: Vec::with_capacity(def.types.len()),
            refs: Vec::with_capacity(def.types.len()),
            inline: Vec::with_capacity(def.types.len()),
        };
        for schema in def.types.values() {
            let mut edges = Vec::new();
            let mut refs = Vec::new();
            let mut inline = 0;
            preorder(schema, work, |s, depth| {
                inline = inline.max(depth);
                if let Some(&target) = s.reference.as_deref().and_then(|r| index.get(r)) {
                    edges.push(target);
                    refs.push((target, depth));
                }
            });
            graph.edges.push(edges);
            graph.refs.push(refs);
            graph.inline.push(inline);
        }
        graph
    }

    /// The depth of every named type, refs followed, memoized: each ref is followed once.
    /// A ref that closes a cycle adds nothing (the cycle is reported on its own).
    pub(crate) fn heights(&self, work: &mut u64) -> Vec<usize> {
        const NEW: u8 = 0;
        const ACTIVE: u8 = 1;
        const DONE: u8 = 2;
        let n = self.names.len();
        let mut height = self.inline.clone();
        let mut state = vec![NEW; n];
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for root in 0..n {
            if state.get(root) != Some(&NEW) {
                continue;
            }
            if let Some(s) = state.get_mut(root) {
                *s = ACTIVE;
            }
            stack.push((root, 0));
            while let Some((node, pos)) = stack.last_mut() {
                let node = *node;
                if let Some(&(target, at)) = self.refs.get(node).and_then(|r| r.get(*pos)) {
                    *pos += 1;
                    *work += 1;
                    match state.get(target).copied() {
                        Some(NEW) => {
                            if let Some(s) = state.get_mut(target) {
                                *s = ACTIVE;
                            }
                            stack.push((target, 0));
                        }
                        Some(DONE) => raise(&mut height, node, at, target),
                        _ => {}
                    }
                } else {
                    stack.pop();
                    if let Some(s) = state.get_mut(node) {
                        *s = DONE;
                    }
                    // The parent's edge that led here is the one before its position.
                    if let Some(&(parent, pos)) = stack.last()
                        && let Some(&(_, at)) = self
                            .refs
                            .get(parent)
                            .and_then(|r| r.get(pos.wrapping_sub(1)))
                    {
                        raise(&mut height, parent, at, node);
                    }
                }
            }
        }
        height
    }

    /// The depth of a payload schema, refs followed (with `heights` of the named types).
    pub(crate) fn height_of(
        &self,
        schema: &DataSchema,
        heights: &[usize],
        work: &mut u64,
    ) -> usize {
        let mut max = 0;
        preorder(schema, work, |s, depth| {
            max = max.max(depth);
            if let Some(target) = s.reference.as_deref().and_then(|r| self.position(r)) {
                let h = heights.get(target).copied().unwrap_or_default();
                max = max.max(depth.saturating_add(h));
            }
        });
        max
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names.binary_search(&name).ok()
    }

    /// Strongly connected components (Tarjan's algorithm with an explicit stack): the
    /// component of each type, and whether each component holds a cycle.
    pub(crate) fn components(&self, work: &mut u64) -> (Vec<usize>, Vec<bool>) {
        let n = self.names.len();
        let mut index: Vec<Option<usize>> = vec![None; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<usize> = Vec::new();
        let mut component = vec![usize::MAX; n];
        let mut cyclic: Vec<bool> = Vec::new();
        let mut next = 0;
        let mut calls: Vec<(usize, usize)> = Vec::new();
        let visit = |v: usize,
                     next: &mut usize,
                     index: &mut Vec<Option<usize>>,
                     low: &mut Vec<usize>,
                     on_stack: &mut Vec<bool>,
                     stack: &mut Vec<usize>| {
            if let (Some(i), Some(l), Some(o)) =
                (index.get_mut(v), low.get_mut(v), on_stack.get_mut(v))
            {
                *i = Some(*next);
                *l = *next;
                *o = true;
            }
            *next += 1;
            stack.push(v);
        };
        for root in 0..n {
            if index.get(root).copied().flatten().is_some() {
                continue;
            }
            visit(
                root,
                &mut next,
                &mut index,
                &mut low,
                &mut on_stack,
                &mut stack,
            );
            calls.push((root, 0));
            while let Some((u, pos)) = calls.last_mut() {
                let u = *u;
                if let Some(&w) = self.edges.get(u).and_then(|e| e.get(*pos)) {
                    *pos += 1;
                    *work += 1;
                    match index.get(w).copied().flatten() {
                        None => {
                            visit(
                                w,
                                &mut next,
                                &mut index,
                                &mut low,
                                &mut on_stack,
                                &mut stack,
                            );
                            calls.push((w, 0));
                        }
                        Some(iw) if on_stack.get(w) == Some(&true) => lower(&mut low, u, iw),
                        Some(_) => {}
                    }
                } else {
                    calls.pop();
                    let lu = low.get(u).copied().unwrap_or_default();
                    if let Some(&(parent, _)) = calls.last() {
                        lower(&mut low, parent, lu);
                    }
                    if Some(lu) == index.get(u).copied().flatten() {
                        let id = cyclic.len();
                        let mut size = 0;
                        while let Some(w) = stack.pop() {
                            size += 1;
                            if let Some(o) = on_stack.get_mut(w) {
                                *o = false;
                            }
                            if let Some(c) = component.get_mut(w) {
                                *c = id;
                            }
                            if w == u {
                                break;
                            }
                        }
                        let self_loop = self.edges.get(u).is_some_and(|e| e.contains(&u));
                        cyclic.push(size > 1 || self_loop);
                    }
                }
            }
        }
        (component, cyclic)
    }

    /// A cycle from `start` back to it, within its component: the first one a depth-first walk
    /// following refs in written order finds, as type indices (`start .. start`).
    pub(crate) fn cycle_through(
        &self,
        start: usize,
        component: &[usize],
        work: &mut u64,
    ) -> Vec<usize> {
        let home = component.get(start).copied();
        // A set, not a vector of all types: there may be one walk per component.
        let mut visited: HashSet<usize> = HashSet::new();
        let mut trail = vec![start];
        let mut calls: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some((u, pos)) = calls.last_mut() {
            let u = *u;
            if let Some(&w) = self.edges.get(u).and_then(|e| e.get(*pos)) {
                *pos += 1;
                *work += 1;
                if w == start {
                    trail.push(w);
                    return trail;
                }
                if component.get(w).copied() == home && visited.insert(w) {
                    trail.push(w);
                    calls.push((w, 0));
                }
            } else {
                calls.pop();
                trail.pop();
            }
        }
        trail
    }
}

fn raise(height: &mut [usize], node: usize, at: usize, target: usize) {
    let h = height.get(target).copied().unwrap_or_default();
    if let Some(slot) = height.get_mut(node) {
        *slot = (*slot).max(at.saturating_add(h));
    }
}

fn lower(low: &mut [usize], node: usize, to: usize) {
    if let Some(slot) = low.get_mut(node) {
        *slot = (*slot).min(to);
    }
}

/// Visits every schema nested in `root` (itself included, at depth 1) in pre-order: a schema,
/// then its `items`, properties and `oneOf` alternatives, each with everything inside it.
pub(crate) fn preorder<'s>(
    root: &'s DataSchema,
    work: &mut u64,
    mut visit: impl FnMut(&'s DataSchema, usize),
) {
    let mut stack = vec![(root, 1usize)];
    while let Some((s, depth)) = stack.pop() {
        *work += 1;
        visit(s, depth);
        let start = stack.len();
        stack.extend(s.children().map(|(_, c)| (c, depth.saturating_add(1))));
        if let Some(pushed) = stack.get_mut(start..) {
            pushed.reverse();
        }
    }
}

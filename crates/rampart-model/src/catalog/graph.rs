//! The prerequisite graph of a set of flags: cycles and chain depths in one linear pass.
//!
//! Flags are nodes, prerequisites naming an existing flag are edges. One iterative Tarjan
//! pass finds the strongly connected components (a component of more than one flag is a
//! cycle) and emits them in reverse topological order: every component after all the
//! components it depends on. That order lets the depth of every flag be computed in one more
//! pass, without recursion, so a 100 000-deep chain costs what 100 000 flat flags cost and
//! cannot overflow the stack. Edges inside a cycle are not counted in depths: the cycle
//! itself is the problem to report.

use std::collections::{BTreeMap, VecDeque};

use crate::flag::Flag;

/// Flags sorted by key: a catalog's, or a catalog's with some flags replaced or added. A
/// flag's node in the graph is its position here.
#[derive(Debug)]
pub(super) struct View<'a>(Vec<&'a Flag>);

impl<'a> View<'a> {
    pub fn of(flags: &'a BTreeMap<String, Flag>) -> View<'a> {
        View(flags.values().collect())
    }

    /// `flags` with `changes` (sorted by key, each key once) replacing or adding flags: one
    /// merge of two sorted lists.
    pub fn with(flags: &'a BTreeMap<String, Flag>, changes: &[&'a Flag]) -> View<'a> {
        let mut merged = Vec::with_capacity(flags.len() + changes.len());
        let mut changes = changes.iter().peekable();
        for flag in flags.values() {
            while let Some(change) = changes.next_if(|change| change.key() < flag.key()) {
                merged.push(*change);
            }
            match changes.next_if(|change| change.key() == flag.key()) {
                Some(change) => merged.push(*change),
                None => merged.push(flag),
            }
        }
        merged.extend(changes);
        View(merged)
    }

    pub fn flags(&self) -> &[&'a Flag] {
        &self.0
    }

    pub fn node(&self, key: &str) -> Option<usize> {
        self.0.binary_search_by(|flag| flag.key().cmp(key)).ok()
    }

    pub fn get(&self, key: &str) -> Option<&'a Flag> {
        self.node(key).and_then(|node| self.0.get(node).copied())
    }
}

/// Sentinel for "not visited yet" in Tarjan's index.
const UNVISITED: usize = usize::MAX;

/// One prerequisite that names an existing flag.
#[derive(Debug, Clone, Copy)]
pub(super) struct Edge {
    /// The prerequisite's position in the flag's `prerequisites`.
    pub position: usize,
    /// The prerequisite flag's node.
    pub target: usize,
}

/// The prerequisite graph of a catalog (or of a catalog with some flags replaced).
#[derive(Debug)]
pub(super) struct Graph<'a> {
    /// The flags; nodes are positions in it.
    pub view: View<'a>,
    /// Every node's edges, one after the other: node `n`'s are
    /// `all_edges[edge_start[n]..edge_start[n + 1]]`.
    all_edges: Vec<Edge>,
    edge_start: Vec<usize>,
    /// The strongly connected component of each node.
    component: Vec<usize>,
    /// Whether each component is a cycle (more than one flag).
    cyclic: Vec<bool>,
    /// Nodes in Tarjan's emission order: each after every node it depends on, except for
    /// nodes of its own component.
    order: Vec<usize>,
    /// The longest prerequisite chain below each node, in levels (edges), and the next node
    /// on it.
    below: Vec<usize>,
    below_next: Vec<Option<usize>>,
}

impl<'a> Graph<'a> {
    /// Builds the graph and its components and depths: O(flags + prerequisites), up to the
    /// logarithmic cost of looking keys up.
    pub fn new(view: View<'a>) -> Graph<'a> {
        let n = view.flags().len();
        let mut all_edges = Vec::with_capacity(n);
        let mut edge_start = Vec::with_capacity(n + 1);
        for flag in view.flags() {
            edge_start.push(all_edges.len());
            for (position, prerequisite) in flag.spec().prerequisites.iter().enumerate() {
                if let Some(target) = view.node(&prerequisite.flag) {
                    all_edges.push(Edge { position, target });
                }
            }
        }
        edge_start.push(all_edges.len());
        let mut graph = Graph {
            view,
            all_edges,
            edge_start,
            component: Vec::new(),
            cyclic: Vec::new(),
            order: Vec::new(),
            below: Vec::new(),
            below_next: Vec::new(),
        };
        graph.find_components();
        graph.measure_below();
        graph
    }

    /// The prerequisites of `node` that name an existing flag.
    pub fn edges(&self, node: usize) -> &[Edge] {
        &self.all_edges[self.edge_start[node]..self.edge_start[node + 1]]
    }

    pub fn key(&self, node: usize) -> &'a str {
        self.view.flags()[node].key()
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.view.flags().len()
    }

    pub fn component(&self, node: usize) -> usize {
        self.component[node]
    }

    pub fn in_cycle(&self, node: usize) -> bool {
        self.cyclic[self.component[node]]
    }

    /// Whether an edge counts for depths: edges inside a cycle don't.
    pub fn counts(&self, from: usize, to: usize) -> bool {
        self.component[from] != self.component[to]
    }

    /// The longest chain below `node`, in prerequisite levels.
    pub fn below(&self, node: usize) -> usize {
        self.below[node]
    }

    /// Iterative Tarjan: fills `component`, `cyclic` and `order`.
    fn find_components(&mut self) {
        let n = self.len();
        let mut index = vec![UNVISITED; n];
        let mut lowlink = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<usize> = Vec::new();
        // The DFS call stack: a node and the next of its edges to follow.
        let mut calls: Vec<(usize, usize)> = Vec::new();
        let mut counter = 0;
        self.component = vec![0; n];
        self.order = Vec::with_capacity(n);
        for root in 0..n {
            if index[root] != UNVISITED {
                continue;
            }
            index[root] = counter;
            lowlink[root] = counter;
            counter += 1;
            stack.push(root);
            on_stack[root] = true;
            calls.push((root, 0));
            while let Some(&mut (node, ref mut next)) = calls.last_mut() {
                if let Some(edge) = self.edges(node).get(*next) {
                    *next += 1;
                    let target = edge.target;
                    if index[target] == UNVISITED {
                        index[target] = counter;
                        lowlink[target] = counter;
                        counter += 1;
                        stack.push(target);
                        on_stack[target] = true;
                        calls.push((target, 0));
                    } else if on_stack[target] {
                        lowlink[node] = lowlink[node].min(index[target]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    lowlink[parent] = lowlink[parent].min(lowlink[node]);
                }
                if lowlink[node] == index[node] {
                    let id = self.cyclic.len();
                    let start = self.order.len();
                    while let Some(member) = stack.pop() {
                        on_stack[member] = false;
                        self.component[member] = id;
                        self.order.push(member);
                        if member == node {
                            break;
                        }
                    }
                    self.cyclic.push(self.order.len() - start > 1);
                }
            }
        }
    }

    /// Depths below every node, in emission order: a node's prerequisites outside its own
    /// component are all measured before it.
    fn measure_below(&mut self) {
        let n = self.len();
        let mut below = vec![0; n];
        let mut below_next = vec![None; n];
        for &node in &self.order {
            for edge in self.edges(node) {
                if self.counts(node, edge.target) && below[edge.target] + 1 > below[node] {
                    below[node] = below[edge.target] + 1;
                    below_next[node] = Some(edge.target);
                }
            }
        }
        self.below = below;
        self.below_next = below_next;
    }

    /// The longest chain of dependents above every node, in levels, and the previous node on
    /// it: the same pass in reverse emission order (dependents before their prerequisites).
    pub fn above(&self) -> (Vec<usize>, Vec<Option<usize>>) {
        let n = self.len();
        let mut above = vec![0; n];
        let mut above_previous = vec![None; n];
        for &node in self.order.iter().rev() {
            for edge in self.edges(node) {
                if self.counts(node, edge.target) && above[node] + 1 > above[edge.target] {
                    above[edge.target] = above[node] + 1;
                    above_previous[edge.target] = Some(node);
                }
            }
        }
        (above, above_previous)
    }

    /// The longest chain from `node` down: `node` first.
    pub fn chain_below(&self, node: usize) -> Vec<usize> {
        let mut chain = vec![node];
        let mut current = node;
        while let Some(next) = self.below_next[current] {
            chain.push(next);
            current = next;
        }
        chain
    }

    /// A shortest cycle through `node` (which must be in one), as the position of the
    /// prerequisite it leaves by and the nodes it passes, `node` first and last.
    pub fn cycle_through(&self, node: usize) -> Option<(usize, Vec<usize>)> {
        let component = self.component[node];
        // Breadth-first from `node` inside its component; `parent` leads back to it.
        let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([node]);
        while let Some(current) = queue.pop_front() {
            for edge in self.edges(current) {
                if self.component[edge.target] != component {
                    continue;
                }
                if edge.target == node {
                    let mut path = vec![node, current];
                    let mut back = current;
                    while back != node {
                        back = *parent.get(&back)?;
                        path.push(back);
                    }
                    path.reverse();
                    let second = *path.get(1)?;
                    let position = self
                        .edges(node)
                        .iter()
                        .find(|edge| edge.target == second)?
                        .position;
                    return Some((position, path));
                }
                if edge.target != node && !parent.contains_key(&edge.target) {
                    parent.insert(edge.target, current);
                    queue.push_back(edge.target);
                }
            }
        }
        None
    }
}

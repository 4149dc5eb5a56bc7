//! Batched signatures for publications (`docs/protocol.md` §2.1).
//!
//! One Ed25519 signature costs a sender tens of microseconds and every receiver about twice
//! that: signing each event and attribute update on its own caps a device at a few ten
//! thousand messages a second. A device therefore signs its publications in **batches**: a
//! signer task takes whatever queued while it was making the previous signature (at low rates
//! a batch of one, sent with the plain v2 signature, no added wait), builds a Merkle tree
//! (RFC 6962 hashing, SHA-256) over the messages' to-be-signed bytes and signs its root once.
//! Each frame carries the root's signature, its index in the batch and its audit path, so it
//! stays verifiable **on its own** (a stored sample is re-verified alone, years later), and a
//! receiver that already verified the root for this sender only hashes the path
//! (`RootCache`).
//!
//! Every v2 binding is kept: a leaf is the v2 signing input (label, key expression, and every
//! frame byte before the proof, so sender, id, kind and the batched flag itself). The root
//! signature is domain-separated from v2's single signatures ([`ROOT_LABEL`]) and binds the
//! batch size.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::identity::Identity;
use crate::presign::Presigner;
use crate::transport::Transport;

/// The most messages one signature covers. At 256 a signature and a verification cost each
/// message about a tenth of a microsecond; each doubling adds one 32-byte hash to every frame
/// (256: a proof of at most 8 hashes, 260 bytes with the size and index), and batches of 512
/// measured no faster. Floods fill batches to about 190 frames on average
/// (`docs/benchmarks.md`).
pub const MAX_BATCH: usize = 256;

/// Hashes in the longest audit path a receiver accepts (trees of up to 65535 leaves).
pub const MAX_PATH: usize = 16;

/// The domain label of a root signature: `"safething/v2/batch" ‖ 0x00 ‖ u16be(size) ‖ root`.
/// A single v2 signature starts `"safething/v2" ‖ 0x00`, so neither can pass for the other.
pub const ROOT_LABEL: &[u8] = b"safething/v2/batch";

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The leaf hash of a message: `SHA-256(0x00 ‖ v2 signing input)` (RFC 6962 §2.1).
pub fn leaf_hash(signing_input: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(signing_input);
    h.finalize().into()
}

/// [`leaf_hash`] of the signing input of the frame bytes `signed_part` on `key`
/// ([`crate::frame::signing_input`]), hashed in place; `None` for a key too long to sign.
pub fn frame_leaf(key: &str, signed_part: &[u8]) -> Option<Hash> {
    let key_len = u16::try_from(key.len()).ok()?.to_be_bytes();
    let mut h = Sha256::new();
    for part in leaf_input(key, &key_len, signed_part) {
        h.update(part);
    }
    Some(h.finalize().into())
}

/// The parts of a leaf's input, in order: `0x00 ‖ label ‖ 0x00 ‖ key length ‖ key ‖ frame`.
fn leaf_input<'a>(key: &'a str, key_len: &'a [u8; 2], signed_part: &'a [u8]) -> [&'a [u8]; 6] {
    [
        &[0x00],
        crate::frame::LABEL,
        &[0x00],
        key_len,
        key.as_bytes(),
        signed_part,
    ]
}

/// Leaf hashers that have absorbed the first 64 bytes of a leaf's input ([`frame_leaf`]). The
/// frames of a stream share those bytes — the label, the key expression and the frame's header
/// up to its sender — so the leaves of a stream's frames are hashed from the second block on:
/// one SHA-256 compression of three saved on each frame, at the sender and at every receiver.
#[derive(Clone, Debug, Default)]
pub(crate) struct LeafPrefixes {
    /// The blocks absorbed and the hashers that absorbed them; the oldest replaced first.
    entries: [Option<([u8; 64], Sha256)>; 4],
    next: usize,
}

impl LeafPrefixes {
    /// [`frame_leaf`] of `signed_part` on `key`, the same hash.
    pub(crate) fn leaf(&mut self, key: &str, signed_part: &[u8]) -> Option<Hash> {
        let key_len = u16::try_from(key.len()).ok()?.to_be_bytes();
        let mut parts = leaf_input(key, &key_len, signed_part);
        // The first block, and what is left of each part after it.
        let mut block = [0u8; 64];
        let mut filled = 0;
        for part in &mut parts {
            let n = (64 - filled).min(part.len());
            let (head, rest) = part.split_at_checked(n)?;
            block.get_mut(filled..filled + n)?.copy_from_slice(head);
            filled += n;
            *part = rest;
        }
        if filled < 64 {
            return frame_leaf(key, signed_part);
        }
        let mut h = match self.entries.iter().flatten().find(|(b, _)| *b == block) {
            Some((_, hasher)) => hasher.clone(),
            None => {
                let mut hasher = Sha256::new();
                hasher.update(block);
                if let Some(slot) = self.entries.get_mut(self.next) {
                    *slot = Some((block, hasher.clone()));
                }
                self.next = (self.next + 1) % self.entries.len();
                hasher
            }
        };
        for part in parts {
            h.update(part);
        }
        Some(h.finalize().into())
    }
}

/// An interior node: `SHA-256(0x01 ‖ left ‖ right)` (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // The two padded blocks of a 65-byte message, compressed directly: the same hash as
    // `Sha256::digest`, without its buffering, which costs about as much at this size.
    const IV: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    let mut blocks = [[0u8; 64]; 2];
    let [first, second] = &mut blocks;
    let (prefix, rest) = first.split_at_mut(1);
    prefix.copy_from_slice(&[0x01]);
    let (l, r) = rest.split_at_mut(32);
    l.copy_from_slice(left);
    let (right_head, right_last) = right.split_at(31);
    r.copy_from_slice(right_head);
    let (tail, length) = second.split_at_mut(56);
    let (head, _) = tail.split_at_mut(2);
    head.copy_from_slice(&[right_last.first().copied().unwrap_or_default(), 0x80]);
    length.copy_from_slice(&(65u64 * 8).to_be_bytes());
    let mut state = IV;
    sha2::block_api::compress256(&mut state, &blocks);
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// What the root signature covers: `"safething/v2/batch" ‖ 0x00 ‖ u16be(size) ‖ root`.
pub fn root_message(size: u16, root: &Hash) -> [u8; ROOT_LABEL.len() + 3 + 32] {
    let mut m = [0u8; ROOT_LABEL.len() + 3 + 32];
    let (label, rest) = m.split_at_mut(ROOT_LABEL.len());
    label.copy_from_slice(ROOT_LABEL);
    // rest = 0x00 ‖ size ‖ root
    if let Some((zero, rest)) = rest.split_first_mut() {
        *zero = 0;
        let (size_bytes, root_bytes) = rest.split_at_mut(2);
        size_bytes.copy_from_slice(&size.to_be_bytes());
        root_bytes.copy_from_slice(root);
    }
    m
}

/// How many hashes the audit path of leaf `index` in a tree of `size` leaves has; `None` when
/// `index` is not a leaf of such a tree or the tree is not a batch (`size < 2`).
pub fn path_len(index: u16, size: u16) -> Option<usize> {
    if size < 2 || index >= size {
        return None;
    }
    // The walk of RFC 9162 §2.1.3.2, counting its steps.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut n = 0;
    while snode != 0 {
        if fnode & 1 == 0 && fnode == snode {
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
        n += 1;
    }
    Some(n)
}

/// The root a leaf's audit path leads to (RFC 9162 §2.1.3.2), or `None` when the path does
/// not fit the index and size.
pub fn root_from_path(leaf: &Hash, index: u16, size: u16, path: &[u8]) -> Option<Hash> {
    if path_len(index, size)? * 32 != path.len() {
        return None;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path.chunks_exact(32) {
        let p: &Hash = p.try_into().ok()?;
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

/// The root of a tree over `leaves` (RFC 6962 `MTH`) and each leaf's audit path (`PATH`),
/// lowest sibling first. Every interior node is hashed once.
pub fn tree(leaves: &[Hash]) -> (Hash, Vec<Vec<Hash>>) {
    let Some(tree) = Tree::new(leaves) else {
        return (Sha256::digest([]).into(), Vec::new());
    };
    let mut path = [[0u8; 32]; MAX_PATH];
    let paths = (0..tree.size)
        .map(|index| {
            let n = tree.path(index, &mut path);
            path.get(..n).unwrap_or_default().to_vec()
        })
        .collect();
    (tree.root(), paths)
}

/// Every node of a Merkle tree over at least one leaf, by in-order [`position`].
#[derive(Debug)]
struct Tree {
    size: u16,
    nodes: Vec<Hash>,
}

impl Tree {
    /// The tree over `leaves`; `None` for none, or more than a `u16` counts.
    fn new(leaves: &[Hash]) -> Option<Tree> {
        let size = u16::try_from(leaves.len()).ok().filter(|&n| n > 0)?;
        let mut nodes = vec![[0u8; 32]; 2 * leaves.len() - 1];
        fill(leaves, 0, &mut nodes);
        Some(Tree { size, nodes })
    }

    fn root(&self) -> Hash {
        self.nodes
            .get(position((0, self.size)))
            .copied()
            .unwrap_or_default()
    }

    /// The audit path of leaf `index`, lowest sibling first, into `out`; returns its length
    /// (0 for a tree of one, or an index outside it).
    fn path(&self, index: u16, out: &mut [Hash; MAX_PATH]) -> usize {
        let Some(levels) = path_spans(index, self.size) else {
            return 0;
        };
        let mut n = 0;
        for ((_, sibling), slot) in levels.iter().zip(out.iter_mut()) {
            if let Some(node) = self.nodes.get(position(*sibling)) {
                *slot = *node;
                n += 1;
            }
        }
        n
    }
}

/// Hashes the subtree over `leaves`, the first of which is leaf `lo`, into `nodes`; returns
/// its root.
fn fill(leaves: &[Hash], lo: usize, nodes: &mut [Hash]) -> Hash {
    let node = match leaves {
        [] => return [0u8; 32],
        [one] => *one,
        _ => {
            let k = split(leaves.len());
            let (left, right) = leaves.split_at(k);
            let l = fill(left, lo, nodes);
            let r = fill(right, lo + k, nodes);
            node_hash(&l, &r)
        }
    };
    if let Some(slot) = nodes.get_mut(position_of(lo, lo + leaves.len())) {
        *slot = node;
    }
    node
}

/// The largest power of two below `n` (`n ≥ 2`): where RFC 6962 splits `n` leaves.
fn split(n: usize) -> usize {
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The in-order position of the node that covers leaves `lo..hi`: `2 × lo` for a leaf, and
/// `2 × m − 1` for an interior node whose halves meet at leaf `m`. Unique within a tree, and
/// below `2 × size − 1`.
fn position((lo, hi): (u16, u16)) -> usize {
    position_of(usize::from(lo), usize::from(hi))
}

/// [`position`] of leaves `lo..hi`.
fn position_of(lo: usize, hi: usize) -> usize {
    if hi - lo <= 1 {
        2 * lo
    } else {
        2 * (lo + split(hi - lo)) - 1
    }
}

/// Appends a batch proof to a frame whose bytes up to the body are `frame` (`docs/protocol.md`
/// §1): `u16be size ‖ u16be index ‖ path ‖ signature`.
pub fn append_proof(frame: &mut Vec<u8>, size: u16, index: u16, path: &[Hash], signature: &[u8]) {
    frame.reserve(4 + path.len() * 32 + signature.len());
    frame.extend_from_slice(&size.to_be_bytes());
    frame.extend_from_slice(&index.to_be_bytes());
    for p in path {
        frame.extend_from_slice(p);
    }
    frame.extend_from_slice(signature);
}

/// Roots a receiver has verified, per sender: a hit spares the Ed25519 verification (the
/// path is still hashed up to the root, and the frame's signature bytes must be the ones
/// verified). Bounded whatever senders do — at most [`RootCache::PER_SENDER`] roots for each
/// of at most [`RootCache::SENDERS`] senders, the least recently used sender forgotten first —
/// so a flood of batches from fresh keys costs their verifications, never memory.
#[derive(Debug, Default)]
pub(crate) struct RootCache {
    senders: foldhash::HashMap<[u8; 32], SenderRoots>,
    clock: u64,
}

#[derive(Debug, Default)]
struct SenderRoots {
    /// The newest last: (size, root, signature).
    roots: VecDeque<(u16, Hash, [u8; 64])>,
    /// The nodes of the newest batch known to be in its signed tree.
    nodes: Option<KnownNodes>,
    last_used: u64,
}

/// The nodes of one verified batch that are known to belong to its tree: each frame's leaf,
/// path and the nodes between them, as frames were verified. A frame of the batch then checks
/// against them instead of hashing its path up to the root: its leaf and the nodes it hashes
/// meet a known node, and every sibling above must be that very known node. Every frame is
/// held to its whole proof, at about one node hash per frame instead of one per level (none
/// for a frame whose leaf came as its neighbour's sibling).
#[derive(Debug)]
struct KnownNodes {
    size: u16,
    signature: [u8; 64],
    /// By in-order [`position`], `2 × size − 1` of them.
    nodes: Vec<Option<Hash>>,
}

/// One level of an audit path: the leaves covered by the node on the way up, and by its
/// sibling (the path's hash at that level).
type Level = ((u16, u16), (u16, u16));

/// The levels of one audit path, without allocating.
#[derive(Debug, Default)]
struct Levels {
    /// Top down, as the path is found.
    levels: [Level; MAX_PATH],
    len: usize,
}

impl Levels {
    /// The levels, lowest first.
    fn iter(&self) -> std::iter::Rev<std::slice::Iter<'_, Level>> {
        self.levels.get(..self.len).unwrap_or_default().iter().rev()
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Each level of leaf `index`'s audit path in a tree of `size` leaves, lowest first (RFC 6962
/// §2.1.1, `PATH`). `None` when `index` is not a leaf of a batch of that size.
fn path_spans(index: u16, size: u16) -> Option<Levels> {
    if size < 2 || index >= size {
        return None;
    }
    let (mut lo, mut hi) = (0u16, size);
    let mut top_down = Levels::default();
    while hi - lo > 1 {
        let k = u16::try_from(split(usize::from(hi - lo))).ok()?;
        let level = if index < lo + k {
            let level = ((lo, lo + k), (lo + k, hi));
            hi = lo + k;
            level
        } else {
            let level = ((lo + k, hi), (lo, lo + k));
            lo += k;
            level
        };
        *top_down.levels.get_mut(top_down.len)? = level;
        top_down.len += 1;
    }
    Some(top_down)
}

/// What the known nodes of a batch say about a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Known {
    /// The frame's leaf and whole proof are in the batch's signed tree.
    InTree,
    /// The frame claims this batch's signature but is not in its tree.
    NotInTree,
    /// No known nodes for this batch: verify the proof in full.
    Unknown,
}

impl KnownNodes {
    /// Batches up to this size keep their known nodes (at most `2 × size − 1` of them,
    /// 17 KiB), so that a sender of huge batches cannot make a receiver hold much.
    const MAX_SIZE: u16 = MAX_BATCH as u16;

    /// Seeds the nodes of a batch from one frame whose proof was verified up to the signed
    /// `root`, in `reuse`'s memory when given.
    fn seed(
        reuse: Option<KnownNodes>,
        (size, signature, root): (u16, [u8; 64], Hash),
        leaf: &Hash,
        index: u16,
        path: &[u8],
    ) -> Option<KnownNodes> {
        if !(2..=Self::MAX_SIZE).contains(&size) {
            return None;
        }
        let mut nodes = reuse.map(|k| k.nodes).unwrap_or_default();
        nodes.clear();
        nodes.resize(2 * usize::from(size) - 1, None);
        let mut known = KnownNodes {
            size,
            signature,
            nodes,
        };
        *known.nodes.get_mut(position((0, size)))? = Some(root);
        (known.check(leaf, index, path) == Known::InTree).then_some(known)
    }

    fn get(&self, span: (u16, u16)) -> Option<&Hash> {
        self.nodes.get(position(span))?.as_ref()
    }

    fn set(&mut self, span: (u16, u16), node: Hash) {
        if let Some(slot) = self.nodes.get_mut(position(span)) {
            *slot = Some(node);
        }
    }

    /// How many nodes are known.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.nodes.iter().flatten().count()
    }

    /// Checks a frame of this batch against the known nodes; learns its nodes when it is in
    /// the tree.
    fn check(&mut self, leaf: &Hash, index: u16, path: &[u8]) -> Known {
        let Some(levels) = path_spans(index, self.size) else {
            return Known::NotInTree;
        };
        if levels.len() * 32 != path.len() {
            return Known::NotInTree;
        }
        // The node on the way up at each level, from the leaf.
        let mut own = [[0u8; 32]; MAX_PATH];
        let mut node = *leaf;
        for (level, (((span, sibling), p), slot)) in levels
            .iter()
            .zip(path.chunks_exact(32))
            .zip(own.iter_mut())
            .enumerate()
        {
            *slot = node;
            if let Some(known) = self.get(*span) {
                // Met the known tree: the rest of the proof must be the known siblings.
                if *known != node {
                    return Known::NotInTree;
                }
                return self.rest_is_known(&levels, path, &own, level);
            }
            let Ok(p) = <&Hash>::try_from(p) else {
                return Known::NotInTree;
            };
            if self.get(*sibling).is_some_and(|k| k != p) {
                return Known::NotInTree;
            }
            node = if sibling.0 < span.0 {
                node_hash(p, &node)
            } else {
                node_hash(&node, p)
            };
        }
        // Up to the root, which is always known.
        match self.get((0, self.size)) {
            Some(root) if *root == node => {
                self.learn(&levels, path, &own, levels.len());
                Known::InTree
            }
            _ => Known::NotInTree,
        }
    }

    /// The proof's siblings from level `level` up must all be the known ones; then the
    /// nodes below it are learnt.
    fn rest_is_known(
        &mut self,
        levels: &Levels,
        path: &[u8],
        own: &[Hash; MAX_PATH],
        level: usize,
    ) -> Known {
        let rest = levels.iter().zip(path.chunks_exact(32)).skip(level);
        for ((_, sibling), p) in rest {
            match self.get(*sibling) {
                Some(known) if known.as_slice() == p => {}
                Some(_) => return Known::NotInTree,
                // Cannot happen for nodes learnt from verified proofs; checked in full then.
                None => return Known::Unknown,
            }
        }
        self.learn(levels, path, own, level);
        Known::InTree
    }

    /// Remembers the nodes of a checked proof below level `upto`: the node on the way up
    /// and its sibling at each level.
    fn learn(&mut self, levels: &Levels, path: &[u8], own: &[Hash; MAX_PATH], upto: usize) {
        for (((span, sibling), p), node) in
            levels.iter().zip(path.chunks_exact(32)).zip(own).take(upto)
        {
            self.set(*span, *node);
            if let Ok(p) = <Hash>::try_from(p) {
                self.set(*sibling, p);
            }
        }
    }
}

impl RootCache {
    /// Roots remembered per sender: a sender's batches arrive one after the other, so the
    /// last few cover reordering between keys.
    pub(crate) const PER_SENDER: usize = 4;
    /// Senders remembered (about 400 KiB at most).
    pub(crate) const SENDERS: usize = 1024;
    /// Senders whose newest batch keeps its known nodes (about 1 MiB at most); frames of
    /// the others hash their whole path.
    pub(crate) const NODE_HOLDERS: usize = 64;

    /// Whether `root` of a batch of `size` with `signature` was verified for `sender`.
    pub(crate) fn contains(
        &mut self,
        sender: &[u8; 32],
        size: u16,
        root: &Hash,
        signature: &[u8; 64],
    ) -> bool {
        self.clock = self.clock.wrapping_add(1);
        let clock = self.clock;
        match self.senders.get_mut(sender) {
            Some(s) => {
                s.last_used = clock;
                s.roots
                    .iter()
                    .rev()
                    .any(|(n, r, sig)| *n == size && r == root && sig == signature)
            }
            None => false,
        }
    }

    /// Checks a frame against the known nodes of `sender`'s newest batch, when the frame
    /// claims that batch (same size and signature bytes).
    pub(crate) fn check_known(
        &mut self,
        sender: &[u8; 32],
        size: u16,
        signature: &[u8; 64],
        leaf: &Hash,
        index: u16,
        path: &[u8],
    ) -> Known {
        match self
            .senders
            .get_mut(sender)
            .and_then(|s| s.nodes.as_mut())
            .filter(|k| k.size == size && &k.signature == signature)
        {
            Some(known) => known.check(leaf, index, path),
            None => Known::Unknown,
        }
    }

    /// Remembers a verified root, and the nodes of the frame that led to it (`leaf` at
    /// `index` with `path`), for the batch's other frames.
    pub(crate) fn insert_with_nodes(
        &mut self,
        sender: &[u8; 32],
        size: u16,
        root: Hash,
        signature: [u8; 64],
        (leaf, index, path): (&Hash, u16, &[u8]),
    ) {
        self.insert(sender, size, root, signature);
        let Some(s) = self.senders.get_mut(sender) else {
            return;
        };
        if s.nodes.as_ref().is_some_and(|k| k.signature == signature) {
            return;
        }
        // This sender's nodes of its previous batch make room for this one's; a sender new
        // to them takes the least recently heard holder's when there are enough holders.
        let mut reuse = s.nodes.take();
        if reuse.is_none()
            && self.senders.values().filter(|s| s.nodes.is_some()).count() >= Self::NODE_HOLDERS
        {
            reuse = self
                .senders
                .values_mut()
                .filter(|s| s.nodes.is_some())
                .min_by_key(|s| s.last_used)
                .and_then(|s| s.nodes.take());
        }
        if let Some(s) = self.senders.get_mut(sender) {
            s.nodes = KnownNodes::seed(reuse, (size, signature, root), leaf, index, path);
        }
    }

    /// Remembers a verified root.
    pub(crate) fn insert(&mut self, sender: &[u8; 32], size: u16, root: Hash, signature: [u8; 64]) {
        self.clock = self.clock.wrapping_add(1);
        if !self.senders.contains_key(sender) && self.senders.len() >= Self::SENDERS {
            let quietest = self
                .senders
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| *k);
            if let Some(k) = quietest {
                self.senders.remove(&k);
            }
        }
        let s = self.senders.entry(*sender).or_default();
        s.last_used = self.clock;
        if s.roots.len() >= Self::PER_SENDER {
            s.roots.pop_front();
        }
        s.roots.push_back((size, root, signature));
    }

    /// Roots held, all senders together.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.senders.values().map(|s| s.roots.len()).sum()
    }
}

/// A publication waiting for its signature: its key and its frame up to the body (signed
/// flag set).
struct Job {
    key: String,
    frame: Vec<u8>,
}

/// How many times the signer yields, under load, for a batch to fill before it signs.
const FILL_YIELDS: usize = 4;

/// The depth of the signer's queue: what a publisher may run ahead of the signatures before
/// it waits (a few batches).
const QUEUE: usize = 4 * MAX_BATCH;

/// A device's signer: publications go in, in order, and leave signed — alone or in batches —
/// in the same order. Started on first use, from inside the runtime.
pub(crate) struct Batcher {
    identity: Identity,
    transport: Arc<dyn Transport>,
    tx: Mutex<Option<mpsc::Sender<Job>>>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl Batcher {
    /// A signer for `identity`'s publications, sent on `transport`.
    pub(crate) fn new(identity: Identity, transport: Arc<dyn Transport>) -> Batcher {
        Batcher {
            identity,
            transport,
            tx: Mutex::new(None),
        }
    }

    /// Queues `frame` (everything before the signature, signed flag set) for `key`. Returns
    /// once it is queued — waiting while the queue is full — so a publisher runs ahead of the
    /// signatures and the signer finds a batch; publications leave in the order queued, and a
    /// failure to send is logged by the signer.
    pub(crate) async fn submit(&self, key: String, frame: Vec<u8>) -> Result<(), crate::Error> {
        let mut job = Job { key, frame };
        let tx = {
            let mut slot = self.tx.lock().unwrap_or_else(|e| e.into_inner());
            let mut closed = false;
            if let Some(sender) = &*slot {
                // Mostly there is room: queued without cloning the sender, whose count each
                // clone and drop would bounce between the publisher's and the signer's cores.
                match sender.try_send(job) {
                    Ok(()) => return Ok(()),
                    Err(mpsc::error::TrySendError::Full(j)) => job = j,
                    Err(mpsc::error::TrySendError::Closed(j)) => (job, closed) = (j, true),
                }
            }
            match &*slot {
                Some(sender) if !closed => sender.clone(),
                _ => {
                    let (sender, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(sign_and_send(
                        self.identity.clone(),
                        self.transport.clone(),
                        rx,
                    ));
                    *slot = Some(sender.clone());
                    sender
                }
            }
        };
        tx.send(job)
            .await
            .map_err(|_| crate::Error::Transport(crate::transport::TransportError::Closed))
    }
}

/// The signer task: takes what queued (up to [`MAX_BATCH`]), signs it, publishes it, again.
async fn sign_and_send(
    identity: Identity,
    transport: Arc<dyn Transport>,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut last = 0;
    let mut signer = Presigner::new(identity);
    loop {
        if rx.is_empty() {
            // Idle: make the next signature's nonce now, so that a lone publication is
            // signed without the point multiplication.
            signer.prepare();
        }
        if rx.recv_many(&mut jobs, MAX_BATCH).await == 0 {
            break;
        }
        if last > 1 {
            // Under load (the last batch had company): let the publishers fill this one a
            // little more, as each signature saves every receiver a verification.
            for _ in 0..FILL_YIELDS {
                if jobs.len() >= MAX_BATCH {
                    break;
                }
                tokio::task::yield_now().await;
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
            }
        }
        last = jobs.len();
        // Frames that follow one another on a key leave together (`publish_frames`), so a
        // transport may carry them in one sample.
        let mut ready = sign_batch(&mut |m| signer.sign(m), &mut jobs)
            .into_iter()
            .peekable();
        while let Some((key, first)) = ready.next() {
            let mut run = vec![Bytes::from(first)];
            while let Some((_, frame)) = ready.next_if(|(next, _)| *next == key) {
                run.push(Bytes::from(frame));
            }
            if let Err(e) = transport.publish_frames(&key, run).await {
                tracing::debug!(%key, error = %e, "could not publish");
            }
        }
    }
}

/// Signs the frames of `jobs` (emptied) with `sign`: one alone with the plain v2 signature,
/// more with one root signature and a proof each. A frame whose key is too long to sign is
/// dropped (and logged).
fn sign_batch(
    sign: &mut impl FnMut(&[u8]) -> [u8; 64],
    jobs: &mut Vec<Job>,
) -> Vec<(String, Vec<u8>)> {
    let mut ready: Vec<(String, Vec<u8>)> = Vec::with_capacity(jobs.len());
    if let [only] = &mut jobs[..] {
        match crate::frame::signing_input(&only.key, &only.frame) {
            Ok(m) => {
                let sig = sign(&m);
                let mut frame = std::mem::take(&mut only.frame);
                frame.extend_from_slice(&sig);
                ready.push((std::mem::take(&mut only.key), frame));
            }
            Err(e) => tracing::error!(key = %only.key, error = %e, "could not sign"),
        }
        jobs.clear();
        return ready;
    }
    let mut leaves = Vec::with_capacity(jobs.len());
    let mut prefixes = LeafPrefixes::default();
    for mut job in jobs.drain(..) {
        if let Some(flags) = job.frame.get_mut(crate::frame::FLAGS_AT) {
            *flags |= crate::frame::FLAG_BATCHED;
        }
        match prefixes.leaf(&job.key, &job.frame) {
            Some(leaf) => {
                leaves.push(leaf);
                ready.push((job.key, job.frame));
            }
            None => tracing::error!(key = %job.key, "could not sign: key expression too long"),
        }
    }
    let Ok(size) = u16::try_from(leaves.len()) else {
        return Vec::new();
    };
    if size < 2 {
        // All but one could not be signed: a batch of one is never sent, so that one goes
        // alone, with the plain signature.
        return ready
            .into_iter()
            .filter_map(|(key, mut frame)| {
                let flags = frame.get_mut(crate::frame::FLAGS_AT)?;
                *flags &= !crate::frame::FLAG_BATCHED;
                let m = crate::frame::signing_input(&key, &frame).ok()?;
                let sig = sign(&m);
                frame.extend_from_slice(&sig);
                Some((key, frame))
            })
            .collect();
    }
    let Some(tree) = Tree::new(&leaves) else {
        return Vec::new();
    };
    let sig = sign(&root_message(size, &tree.root()));
    let mut path = [[0u8; 32]; MAX_PATH];
    for (index, (_, frame)) in (0..size).zip(ready.iter_mut()) {
        let n = tree.path(index, &mut path);
        append_proof(frame, size, index, path.get(..n).unwrap_or_default(), &sig);
    }
    ready
}

/// Signs frames as the signer task does, for known-answer vectors and tests: `frames` are
/// `(key, frame up to the body)`.
#[cfg(test)]
pub(crate) fn sign_frames(identity: &Identity, frames: Vec<(String, Vec<u8>)>) -> Vec<Vec<u8>> {
    let mut jobs: Vec<Job> = frames
        .into_iter()
        .map(|(key, frame)| Job { key, frame })
        .collect();
    sign_batch(&mut |m| identity.sign(m), &mut jobs)
        .into_iter()
        .map(|(_, f)| f)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// RFC 6962's MTH, computed the slow and obvious way.
    fn mth(d: &[Hash]) -> Hash {
        match d {
            [] => Sha256::digest([]).into(),
            [one] => *one,
            _ => {
                let mut k = 1;
                while k * 2 < d.len() {
                    k *= 2;
                }
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    #[test]
    fn every_path_leads_to_the_root_and_has_the_expected_length() {
        for n in 2..=70usize {
            let d = leaves(n);
            let (root, paths) = tree(&d);
            assert_eq!(root, mth(&d), "n = {n}");
            for (i, path) in paths.iter().enumerate() {
                let (i16, n16) = (i as u16, n as u16);
                assert_eq!(path_len(i16, n16), Some(path.len()), "n = {n}, i = {i}");
                let flat: Vec<u8> = path.concat();
                assert_eq!(root_from_path(&d[i], i16, n16, &flat), Some(root));
                // Another position, or another leaf, leads elsewhere.
                let other = (i + 1) % n;
                if path_len(other as u16, n16) == Some(path.len()) {
                    assert_ne!(root_from_path(&d[i], other as u16, n16, &flat), Some(root));
                }
                assert_ne!(root_from_path(&d[other], i16, n16, &flat), Some(root));
            }
        }
    }

    #[test]
    fn paths_of_the_wrong_shape_are_refused() {
        let d = leaves(5);
        let (_, paths) = tree(&d);
        let flat: Vec<u8> = paths[0].concat();
        assert_eq!(root_from_path(&d[0], 0, 5, &flat[..32]), None);
        assert_eq!(root_from_path(&d[0], 5, 5, &flat), None);
        assert_eq!(root_from_path(&d[0], 0, 1, &[]), None);
        assert_eq!(path_len(0, 0), None);
        assert_eq!(path_len(0, 1), None);
        assert_eq!(path_len(0, u16::MAX), Some(16));
        assert!((2..=u16::MAX).all(|n| path_len(n - 1, n).is_some_and(|l| l <= MAX_PATH)));
    }

    #[test]
    fn the_root_label_differs_from_single_signatures() {
        let m = root_message(3, &[7; 32]);
        assert!(!m.starts_with(b"safething/v2\x00"));
        assert_eq!(&m[..ROOT_LABEL.len()], ROOT_LABEL);
        assert_eq!(&m[ROOT_LABEL.len()..ROOT_LABEL.len() + 3], &[0, 0, 3]);
    }

    use crate::envelope::{Binding, EnvelopeError, Kind, Outgoing, Sealer, Signing, Verifier};
    use serde_json::{Value, json};

    const KEY: &str = "safething/v1/bench-01/events/tick";

    /// `n` frames from `sealer` (bodies `0..n`), signed as one batch.
    fn batch(sealer: &Sealer, n: usize) -> Vec<Vec<u8>> {
        let frames = (0..n)
            .map(|i| {
                let out = Outgoing::new(Kind::Publication, Binding::None);
                let f = sealer
                    .frame_written(KEY, &out, crate::envelope::now_ms(), |w| {
                        serde_json::to_writer(w, &json!(i))
                    })
                    .unwrap();
                (KEY.to_owned(), f)
            })
            .collect();
        sign_frames(sealer.identity(), frames)
    }

    fn open(v: &Verifier, bytes: &[u8]) -> Result<Value, EnvelopeError> {
        v.open::<Value>(KEY, bytes).map(|o| o.body)
    }

    #[test]
    fn each_frame_of_a_batch_verifies_alone_and_a_batch_of_one_is_a_plain_frame() {
        let sealer = Sealer::new(Identity::generate().unwrap(), Signing::Signed);
        let frames = batch(&sealer, 5);
        for (i, f) in frames.iter().enumerate() {
            // A fresh verifier each time: no cached root.
            assert_eq!(open(&Verifier::new(Signing::Signed), f), Ok(json!(i)));
            let decoded = crate::frame::decode(f).unwrap();
            assert_eq!(
                decoded.batch.map(|p| (p.index, p.size)),
                Some((i as u16, 5))
            );
        }
        // One verifier: the first frame verifies the root, the others hit the cache.
        let v = Verifier::new(Signing::Signed);
        for (i, f) in frames.iter().enumerate().rev() {
            assert_eq!(open(&v, f), Ok(json!(i)));
        }
        let one = batch(&sealer, 1);
        let decoded = crate::frame::decode(&one[0]).unwrap();
        assert!(decoded.batch.is_none());
        assert_eq!(open(&v, &one[0]), Ok(json!(0)));
        // Another key, as for single signatures, fails.
        assert_eq!(
            v.open::<Value>("safething/v1/bench-01/events/other", &frames[1])
                .unwrap_err(),
            EnvelopeError::BadSignature
        );
    }

    /// Any bit of a proof changed — a sibling hash, the index, the size — or a body changed,
    /// leads to another root: refused, whether the genuine root is cached or not.
    #[test]
    fn attack_forged_merkle_path() {
        let sealer = Sealer::new(Identity::generate().unwrap(), Signing::Signed);
        let frames = batch(&sealer, 6);
        let warm = Verifier::new(Signing::Signed);
        assert!(open(&warm, &frames[0]).is_ok());
        let f = &frames[2];
        let head = crate::frame::decode(f).unwrap().signed_part.len();
        let sig_at = f.len() - 64;
        for at in 0..sig_at {
            let mut forged = f.clone();
            forged[at] ^= 0x01;
            for v in [&warm, &Verifier::new(Signing::Signed)] {
                assert!(open(v, &forged).is_err(), "byte {at} (proof from {head})");
            }
        }
        // A made-up path with a genuine signature.
        let mut forged = f.clone();
        forged[head + 4..sig_at].fill(0x42);
        assert_eq!(open(&warm, &forged), Err(EnvelopeError::BadSignature));
        // Someone else's root signature over the same tree.
        let mallory = Sealer::new(Identity::generate().unwrap(), Signing::Signed);
        let theirs = batch(&mallory, 6);
        let mut forged = f.clone();
        forged[sig_at..].copy_from_slice(&theirs[2][theirs[2].len() - 64..]);
        assert_eq!(open(&warm, &forged), Err(EnvelopeError::BadSignature));
    }

    /// A frame given the index and path of another position in its batch, or the proof and
    /// signature of another batch of the same sender (same size), is refused — with the other
    /// batch's root verified and cached or not.
    #[test]
    fn attack_message_moved_between_batches() {
        let sealer = Sealer::new(Identity::generate().unwrap(), Signing::Signed);
        let (a, b) = (batch(&sealer, 4), batch(&sealer, 4));
        let proof = |f: &Vec<u8>| {
            let head = crate::frame::decode(f).unwrap().signed_part.len();
            (f[..head].to_vec(), f[head..].to_vec())
        };
        for warm in [false, true] {
            let v = Verifier::new(Signing::Signed);
            if warm {
                for f in a.iter().chain(&b) {
                    assert!(open(&v, f).is_ok());
                }
            }
            let (msg, _) = proof(&a[1]);
            // Another position of the same batch (index, path and signature all genuine).
            for other in [0, 2, 3] {
                let (_, tail) = proof(&a[other]);
                if tail.len() == proof(&a[1]).1.len() {
                    let moved = [msg.clone(), tail].concat();
                    assert_eq!(open(&v, &moved), Err(EnvelopeError::BadSignature));
                }
            }
            // The same position of another batch.
            let (_, tail) = proof(&b[1]);
            let moved = [msg.clone(), tail].concat();
            assert_eq!(open(&v, &moved), Err(EnvelopeError::BadSignature));
            // Only a position's own index with a sibling's path.
            let (_, mut tail) = proof(&a[0]);
            tail[3] = 1;
            let moved = [msg, tail].concat();
            assert_eq!(open(&v, &moved), Err(EnvelopeError::BadSignature));
        }
    }

    /// The spans of a path name, level by level, the nodes `tree` puts in it: walking them
    /// leads to the root for every leaf of every size.
    #[test]
    fn path_spans_follow_the_tree() {
        for size in 2..=70u16 {
            let l = leaves(size as usize);
            let (root, paths) = tree(&l);
            for (i, path) in paths.iter().enumerate() {
                let spans = path_spans(i as u16, size).unwrap();
                assert_eq!(spans.len(), path.len());
                assert_eq!(Some(spans.len()), path_len(i as u16, size));
                let mut node = l[i];
                for ((own, sibling), p) in spans.iter().zip(path) {
                    assert_eq!(mth(&l[sibling.0 as usize..sibling.1 as usize]), *p);
                    assert_eq!(mth(&l[own.0 as usize..own.1 as usize]), node);
                    node = if sibling.0 < own.0 {
                        node_hash(p, &node)
                    } else {
                        node_hash(&node, p)
                    };
                }
                assert_eq!(node, root, "size {size} leaf {i}");
            }
        }
        assert!(path_spans(3, 3).is_none() && path_spans(0, 1).is_none());
    }

    /// Once one frame of a batch is verified, the others check against the known nodes, in
    /// any order; a leaf at another position, a changed sibling at any level, or a leaf of
    /// another tree is refused; what is kept stays within `2 × size - 1` nodes.
    #[test]
    fn attack_forged_path_against_known_nodes() {
        for size in [2u16, 3, 5, 8, 13, 64, 255, 256] {
            let l = leaves(size as usize);
            let (root, paths) = tree(&l);
            let flat = |p: &Vec<Hash>| p.concat();
            let first = size as usize / 2;
            let mut known = KnownNodes::seed(
                None,
                (size, [9; 64], root),
                &l[first],
                first as u16,
                &flat(&paths[first]),
            )
            .unwrap();
            for i in (0..size as usize).rev() {
                // Moved: this leaf with a neighbour's index and path.
                let j = (i + 1) % size as usize;
                assert_eq!(
                    known.check(&l[i], j as u16, &flat(&paths[j])),
                    Known::NotInTree
                );
                // Each sibling changed in turn.
                for level in 0..paths[i].len() {
                    let mut p = paths[i].clone();
                    p[level][0] ^= 1;
                    assert_eq!(
                        known.check(&l[i], i as u16, &flat(&p)),
                        Known::NotInTree,
                        "{size}/{i}/{level}"
                    );
                }
                assert_eq!(
                    known.check(&leaf_hash(b"other"), i as u16, &flat(&paths[i])),
                    Known::NotInTree
                );
                assert_eq!(
                    known.check(&l[i], i as u16, &flat(&paths[i])),
                    Known::InTree
                );
                assert!(known.count() < 2 * size as usize);
            }
            assert_eq!(known.count(), 2 * size as usize - 1);
        }
        // Batches above the bound keep no nodes.
        let big = KnownNodes::MAX_SIZE + 1;
        let seed =
            |size| KnownNodes::seed(None, (size, [0; 64], [0; 32]), &[0; 32], 0, &[0; 32 * 9]);
        assert!(seed(big).is_none());
        // A seed whose proof does not lead to the root keeps nothing.
        let (root, paths) = tree(&leaves(5));
        let wrong = KnownNodes::seed(
            None,
            (5, [0; 64], root),
            &leaf_hash(b"x"),
            0,
            &paths[0].concat(),
        );
        assert!(wrong.is_none());
    }

    /// Every node of a tree has its own in-order position, below `2 × size − 1`.
    #[test]
    fn leaves_hashed_from_a_shared_first_block_are_the_same() {
        let mut prefixes = LeafPrefixes::default();
        let keys = [
            "a",
            "safething/v1/garden-01/events/e",
            &"k".repeat(70),
            "b/c",
            "d",
        ];
        for round in 0..3 {
            for (i, key) in keys.iter().enumerate() {
                for len in [0usize, 1, 30, 47, 48, 49, 63, 64, 65, 200] {
                    let part: Vec<u8> = (0..len).map(|b| (b * 7 + i + round) as u8).collect();
                    assert_eq!(
                        prefixes.leaf(key, &part),
                        frame_leaf(key, &part),
                        "{key} {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn node_hash_is_sha256_of_the_prefixed_pair() {
        for i in 0..50u8 {
            let (l, r) = ([i; 32], [i.wrapping_mul(7) ^ 0x5a; 32]);
            let mut h = Sha256::new();
            h.update([0x01]);
            h.update(l);
            h.update(r);
            let want: Hash = h.finalize().into();
            assert_eq!(node_hash(&l, &r), want);
        }
    }

    #[test]
    fn node_positions_are_unique_within_a_tree() {
        fn spans(lo: u16, hi: u16, out: &mut Vec<(u16, u16)>) {
            out.push((lo, hi));
            if hi - lo > 1 {
                let m = lo + split(usize::from(hi - lo)) as u16;
                spans(lo, m, out);
                spans(m, hi, out);
            }
        }
        for size in 1..=300u16 {
            let mut all = Vec::new();
            spans(0, size, &mut all);
            let mut positions: Vec<usize> = all.iter().map(|s| position(*s)).collect();
            positions.sort_unstable();
            positions.dedup();
            assert_eq!(positions.len(), 2 * size as usize - 1, "size {size}");
            assert!(positions.iter().all(|&p| p < 2 * size as usize - 1));
        }
    }

    /// Batches from many senders at once: only [`RootCache::NODE_HOLDERS`] of them keep
    /// known nodes, the most recently heard, and frames of the others still verify.
    #[test]
    fn attack_known_nodes_flood() {
        let l = leaves(MAX_BATCH);
        let (root, paths) = tree(&l);
        let mut cache = RootCache::default();
        for i in 0..(RootCache::NODE_HOLDERS * 4) {
            let mut sender = [0u8; 32];
            sender[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let this = (&l[0], 0, &paths[0].concat()[..]);
            cache.insert_with_nodes(&sender, MAX_BATCH as u16, root, [i as u8; 64], this);
            let holders = cache.senders.values().filter(|s| s.nodes.is_some()).count();
            assert!(holders <= RootCache::NODE_HOLDERS);
            let known = cache.check_known(
                &sender,
                MAX_BATCH as u16,
                &[i as u8; 64],
                &l[1],
                1,
                &paths[1].concat(),
            );
            assert_eq!(known, Known::InTree, "the newest sender keeps its nodes");
        }
        let mut first = [0u8; 32];
        first[..8].copy_from_slice(&0u64.to_be_bytes());
        let evicted = cache.check_known(
            &first,
            MAX_BATCH as u16,
            &[0; 64],
            &l[2],
            2,
            &paths[2].concat(),
        );
        assert_eq!(
            evicted,
            Known::Unknown,
            "the first sender's nodes made room"
        );
        assert!(cache.contains(&first, MAX_BATCH as u16, &root, &[0; 64]));
    }

    /// A flood of roots from fresh keys stays within the cache's bounds, and a sender's own
    /// roots stay usable as long as it is among the recently heard.
    #[test]
    fn attack_root_cache_flood() {
        let mut cache = RootCache::default();
        let alice = [0xa1; 32];
        cache.insert(&alice, 2, [1; 32], [1; 64]);
        for i in 0..(RootCache::SENDERS * 3) {
            let mut sender = [0u8; 32];
            sender[..8].copy_from_slice(&(i as u64).to_be_bytes());
            for r in 0..10u8 {
                cache.insert(&sender, 2, [r; 32], [r; 64]);
            }
            if i % 64 == 0 {
                // Alice keeps talking.
                assert!(cache.contains(&alice, 2, &[1; 32], &[1; 64]));
            }
        }
        assert!(cache.senders.len() <= RootCache::SENDERS);
        assert!(cache.len() <= RootCache::SENDERS * RootCache::PER_SENDER);
        assert!(cache.contains(&alice, 2, &[1; 32], &[1; 64]));
        // A hit needs the same size and signature as verified.
        assert!(!cache.contains(&alice, 3, &[1; 32], &[1; 64]));
        assert!(!cache.contains(&alice, 2, &[1; 32], &[2; 64]));
    }
}

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
//! ([`RootCache`]).
//!
//! Every v2 binding is kept: a leaf is the v2 signing input (label, key expression, and every
//! frame byte before the proof, so sender, id, kind and the batched flag itself). The root
//! signature is domain-separated from v2's single signatures ([`ROOT_LABEL`]) and binds the
//! batch size.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::identity::Identity;
use crate::presign::Presigner;
use crate::transport::Transport;

/// The most messages one signature covers. At 64 a signature and a verification cost each
/// message about a microsecond or less; larger batches would save little more, while each
/// frame carries one more 32-byte hash per doubling (64: a proof of at most 6 hashes, 196
/// bytes with the size and index). Floods fill batches to 53–59 frames on average
/// (`docs/benchmarks.md`).
pub const MAX_BATCH: usize = 64;

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
    let key_len = u16::try_from(key.len()).ok()?;
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(crate::frame::LABEL);
    h.update([0x00]);
    h.update(key_len.to_be_bytes());
    h.update(key.as_bytes());
    h.update(signed_part);
    Some(h.finalize().into())
}

/// An interior node: `SHA-256(0x01 ‖ left ‖ right)` (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
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
    let depth = (usize::BITS - leaves.len().leading_zeros()) as usize;
    let mut paths = vec![Vec::with_capacity(depth); leaves.len()];
    let root = subtree(leaves, &mut paths);
    (root, paths)
}

fn subtree(leaves: &[Hash], paths: &mut [Vec<Hash>]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            // The largest power of two below the number of leaves (RFC 6962 §2.1).
            let k = 1usize << (usize::BITS - 1 - (leaves.len() - 1).leading_zeros());
            let (left_leaves, right_leaves) = leaves.split_at(k);
            let (left_paths, right_paths) = paths.split_at_mut(k.min(paths.len()));
            let left = subtree(left_leaves, left_paths);
            let right = subtree(right_leaves, right_paths);
            for p in left_paths {
                p.push(right);
            }
            for p in right_paths {
                p.push(left);
            }
            node_hash(&left, &right)
        }
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
/// held to its whole proof, at about one node hash per frame instead of one per level.
#[derive(Debug)]
struct KnownNodes {
    size: u16,
    signature: [u8; 64],
    /// By the range of leaves a node covers ([`span`]).
    nodes: foldhash::HashMap<u32, Hash>,
}

/// The key of the node that covers leaves `lo..hi`.
fn span(lo: u16, hi: u16) -> u32 {
    (u32::from(lo) << 16) | u32::from(hi)
}

/// One level of an audit path: the leaves covered by the node on the way up, and by its
/// sibling (the path's hash at that level).
type Level = ((u16, u16), (u16, u16));

/// Each level of leaf `index`'s audit path in a tree of `size` leaves, lowest first (RFC 6962
/// §2.1.1, `PATH`). `None` when `index` is not a leaf of a batch of that size.
fn path_spans(index: u16, size: u16) -> Option<Vec<Level>> {
    if size < 2 || index >= size {
        return None;
    }
    let (mut lo, mut hi) = (0u16, size);
    let mut levels = Vec::with_capacity(MAX_PATH);
    while hi - lo > 1 {
        // The largest power of two below the number of leaves.
        let n = hi - lo;
        let k = 1u16 << (u16::BITS - 1 - (n - 1).leading_zeros());
        if index < lo + k {
            levels.push(((lo, lo + k), (lo + k, hi)));
            hi = lo + k;
        } else {
            levels.push(((lo + k, hi), (lo, lo + k)));
            lo += k;
        }
    }
    levels.reverse();
    Some(levels)
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
    /// Batches up to this size keep their known nodes (at most `2 × size - 1` of them), so
    /// that a sender of huge batches cannot make a receiver hold much.
    const MAX_SIZE: u16 = 2 * MAX_BATCH as u16;

    /// Seeds the nodes of a batch from one frame whose proof was verified up to the signed
    /// `root`.
    fn seed(
        size: u16,
        signature: [u8; 64],
        root: Hash,
        leaf: &Hash,
        index: u16,
        path: &[u8],
    ) -> Option<KnownNodes> {
        if size > Self::MAX_SIZE {
            return None;
        }
        let mut known = KnownNodes {
            size,
            signature,
            nodes: foldhash::HashMap::default(),
        };
        known.nodes.insert(span(0, size), root);
        let spans = path_spans(index, size)?;
        known.learn(leaf, &spans, path, spans.len());
        Some(known)
    }

    /// Remembers the nodes of a proof, from the leaf up to level `upto` (exclusive).
    fn learn(&mut self, leaf: &Hash, spans: &[Level], path: &[u8], upto: usize) {
        let mut node = *leaf;
        for ((own, sibling), p) in spans.iter().zip(path.chunks_exact(32)).take(upto) {
            let Ok(p) = <&Hash>::try_from(p) else { return };
            self.nodes.insert(span(own.0, own.1), node);
            self.nodes.insert(span(sibling.0, sibling.1), *p);
            node = if sibling.0 < own.0 {
                node_hash(p, &node)
            } else {
                node_hash(&node, p)
            };
        }
    }

    /// Checks a frame of this batch against the known nodes.
    fn check(&mut self, leaf: &Hash, index: u16, path: &[u8]) -> Known {
        let Some(spans) = path_spans(index, self.size) else {
            return Known::NotInTree;
        };
        if spans.len() * 32 != path.len() {
            return Known::NotInTree;
        }
        let mut node = *leaf;
        for (level, ((own, sibling), p)) in spans.iter().zip(path.chunks_exact(32)).enumerate() {
            if let Some(known) = self.nodes.get(&span(own.0, own.1)) {
                // Met the known tree: the rest of the proof must be the known siblings.
                if *known != node {
                    return Known::NotInTree;
                }
                return self.rest_is_known(leaf, &spans, path, level);
            }
            let Ok(p) = <&Hash>::try_from(p) else {
                return Known::NotInTree;
            };
            if self
                .nodes
                .get(&span(sibling.0, sibling.1))
                .is_some_and(|k| k != p)
            {
                return Known::NotInTree;
            }
            node = if sibling.0 < own.0 {
                node_hash(p, &node)
            } else {
                node_hash(&node, p)
            };
        }
        // Up to the root, which is always known.
        match self.nodes.get(&span(0, self.size)) {
            Some(root) if *root == node => {
                self.learn(leaf, &spans, path, spans.len());
                Known::InTree
            }
            _ => Known::NotInTree,
        }
    }

    /// The proof's siblings from a known node up must all be the known ones; then the nodes
    /// below it are learnt.
    fn rest_is_known(&mut self, leaf: &Hash, spans: &[Level], path: &[u8], level: usize) -> Known {
        let rest = spans.iter().zip(path.chunks_exact(32)).skip(level);
        for ((_, sibling), p) in rest {
            match self.nodes.get(&span(sibling.0, sibling.1)) {
                Some(known) if known.as_slice() == p => {}
                Some(_) => return Known::NotInTree,
                // Cannot happen for nodes learnt from verified proofs; checked in full then.
                None => return Known::Unknown,
            }
        }
        self.learn(leaf, spans, path, level);
        Known::InTree
    }
}

impl RootCache {
    /// Roots remembered per sender: a sender's batches arrive one after the other, so the
    /// last few cover reordering between keys.
    pub(crate) const PER_SENDER: usize = 4;
    /// Senders remembered (about 400 KiB at most).
    pub(crate) const SENDERS: usize = 1024;

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
        if let Some(s) = self.senders.get_mut(sender)
            && s.nodes.as_ref().is_none_or(|k| k.signature != signature)
        {
            s.nodes = KnownNodes::seed(size, signature, root, leaf, index, path);
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
        let tx = {
            let mut tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
            match &*tx {
                Some(tx) if !tx.is_closed() => tx.clone(),
                _ => {
                    let (sender, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(sign_and_send(
                        self.identity.clone(),
                        self.transport.clone(),
                        rx,
                    ));
                    *tx = Some(sender.clone());
                    sender
                }
            }
        };
        tx.send(Job { key, frame })
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
        for (key, bytes) in sign_batch(&mut |m| signer.sign(m), &mut jobs) {
            if let Err(e) = transport.publish(&key, bytes.into()).await {
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
    for mut job in jobs.drain(..) {
        if let Some(flags) = job.frame.get_mut(crate::frame::FLAGS_AT) {
            *flags |= crate::frame::FLAG_BATCHED;
        }
        match frame_leaf(&job.key, &job.frame) {
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
    let (root, paths) = tree(&leaves);
    let sig = sign(&root_message(size, &root));
    for (index, ((_, frame), path)) in ready.iter_mut().zip(paths).enumerate() {
        let index = u16::try_from(index).unwrap_or(u16::MAX);
        append_proof(frame, size, index, &path, &sig);
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
        for size in [2u16, 3, 5, 8, 13, 64] {
            let l = leaves(size as usize);
            let (root, paths) = tree(&l);
            let flat = |p: &Vec<Hash>| p.concat();
            let first = size as usize / 2;
            let mut known = KnownNodes::seed(
                size,
                [9; 64],
                root,
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
                assert!(known.nodes.len() < 2 * size as usize);
            }
            assert_eq!(known.nodes.len(), 2 * size as usize - 1);
        }
        // Batches above the bound keep no nodes.
        let big = KnownNodes::MAX_SIZE + 1;
        assert!(KnownNodes::seed(big, [0; 64], [0; 32], &[0; 32], 0, &[0; 32 * 9]).is_none());
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

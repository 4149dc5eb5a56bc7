/**
 * Messages: frames signed, sealed, verified and opened exactly as `docs/protocol.md` §2–5 and
 * the Rust runtime's `envelope` module do it.
 *
 * A {@link Sealer} writes a participant's frames: the body (sealed with a symmetric key or to a
 * thing when asked, bound to the frame's key, sender and id), then an Ed25519 signature over the
 * protocol label, the key expression and every frame byte before the signature. A
 * {@link Verifier} reads frames: layout, signature (always required; a batched frame's path
 * up to its batch's signed root, §2.1), freshness.
 *
 * @module
 */
import { concat, copy, hex, randomBytes, utf8 } from "./bytes.js";
import { bodyAad, sealTo } from "./crypto.js";
import { FrameError, Kind, decode, encodeUnsigned, pathLength, signingInput } from "./frame.js";
import { UntrustedError } from "./errors.js";
import { PublicKey } from "./identity.js";
/** The default freshness window: how far a sender's clock may be from ours (120 s). */
export const DEFAULT_WINDOW_MS = 120_000;
/** The sealed body text (`{"sealed":…}`) of `plaintext` in a frame from `sender` with id `id` on `key`. */
export async function sealBody(protection, key, sender, id, plaintext) {
    const aad = bodyAad(key, sender, id);
    const sealed = "key" in protection ? await protection.key.seal(aad, plaintext) : await sealTo(protection.to, aad, plaintext);
    return JSON.stringify({ sealed });
}
/** Signs and frames outgoing messages for one participant. */
export class Sealer {
    #identity;
    #prefix = randomBytes(8);
    #counter = 0n;
    constructor(identity) {
        this.#identity = identity;
    }
    /** The participant's identity. */
    get identity() {
        return this.#identity;
    }
    /** A fresh message id, unique for this sender: 8 random bytes drawn at start ‖ u64be counter. */
    nextId() {
        const id = new Uint8Array(16);
        id.set(this.#prefix);
        new DataView(id.buffer).setBigUint64(8, this.#counter, false);
        this.#counter += 1n;
        return id;
    }
    /** Frames `body` (a JSON value, serialized compactly) for sending on `key`. */
    frame(key, out, body) {
        return this.frameText(key, out, JSON.stringify(body));
    }
    /** Frames an already serialized JSON body (its exact bytes travel, or are sealed). */
    async frameText(key, out, text) {
        const id = out.id ?? this.nextId();
        const sender = this.#identity.publicKey.bytes;
        const body = out.protection === undefined ? utf8(text) : utf8(await sealBody(out.protection, key, sender, id, utf8(text)));
        const header = { kind: out.kind, sealed: out.protection !== undefined, sender, id, ts: BigInt(out.ts ?? Date.now()), binding: out.binding };
        const unsigned = encodeUnsigned(header, body, true);
        const signature = await this.#identity.sign(signingInput(key, unsigned));
        const frame = new Uint8Array(unsigned.length + signature.length);
        frame.set(unsigned);
        frame.set(signature, unsigned.length);
        return frame;
    }
}
/** An {@link UntrustedError} for a frame that is not one, naming an unsupported version as such. */
function unreadable(e) {
    if (e instanceof FrameError)
        return new UntrustedError(e.message);
    return new UntrustedError(`malformed message: ${e instanceof Error ? e.message : String(e)}`);
}
/** The domain label of a batch's root signature (§2.1). */
export const ROOT_LABEL = "safething/v2/batch";
async function sha256(...parts) {
    return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", concat(...parts)));
}
/** The leaf hash of a message: `SHA-256(0x00 ‖ v2 signing input)` (RFC 6962). */
export function leafHash(input) {
    return sha256(Uint8Array.of(0), input);
}
/** An interior node: `SHA-256(0x01 ‖ left ‖ right)` (RFC 6962). */
export function nodeHash(left, right) {
    return sha256(Uint8Array.of(1), left, right);
}
/** What a batch's root signature covers: `"safething/v2/batch" ‖ 0x00 ‖ u16be(size) ‖ root`. */
export function rootMessage(size, root) {
    return concat(utf8(ROOT_LABEL), Uint8Array.of(0, size >> 8, size & 0xff), root);
}
/** The root a leaf's audit path leads to (RFC 9162 §2.1.3.2), or `undefined` when the path does not fit. */
export async function rootFromPath(leaf, proof) {
    const n = pathLength(proof.index, proof.size);
    if (n === undefined || n * 32 !== proof.path.length)
        return undefined;
    let fn = proof.index;
    let sn = proof.size - 1;
    let r = copy(leaf);
    for (let at = 0; at < proof.path.length; at += 32) {
        const p = proof.path.subarray(at, at + 32);
        if (sn === 0)
            return undefined;
        if ((fn & 1) === 1 || fn === sn) {
            r = await nodeHash(p, r);
            if ((fn & 1) === 0) {
                while ((fn & 1) === 0 && fn !== 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        }
        else {
            r = await nodeHash(r, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn === 0 ? r : undefined;
}
/**
 * Batch roots verified, per sender (hex of size ‖ root ‖ signature): a hit spares the Ed25519
 * verification, never the path. Bounded: {@link RootCache.PER_SENDER} roots for each of at most
 * {@link RootCache.SENDERS} senders, the least recently used sender forgotten first.
 */
class RootCache {
    static PER_SENDER = 4;
    static SENDERS = 1024;
    #senders = new Map();
    has(sender, entry) {
        const roots = this.#senders.get(sender);
        if (roots === undefined)
            return false;
        // Most recently used last.
        this.#senders.delete(sender);
        this.#senders.set(sender, roots);
        return roots.includes(entry);
    }
    add(sender, entry) {
        let roots = this.#senders.get(sender);
        if (roots === undefined) {
            if (this.#senders.size >= RootCache.SENDERS) {
                const oldest = this.#senders.keys().next();
                if (oldest.done !== true)
                    this.#senders.delete(oldest.value);
            }
            roots = [];
        }
        else {
            this.#senders.delete(sender);
        }
        roots.push(entry);
        if (roots.length > RootCache.PER_SENDER)
            roots.shift();
        this.#senders.set(sender, roots);
    }
    /** Roots held, all senders together. */
    get size() {
        let n = 0;
        for (const roots of this.#senders.values())
            n += roots.length;
        return n;
    }
}
/** Checks received frames: layout, signature (always required), freshness. */
export class Verifier {
    windowMs;
    #keys = new Map();
    #roots = new RootCache();
    /** Batch roots held in the cache (bounded; for tests). */
    get cachedRoots() {
        return this.#roots.size;
    }
    constructor(windowMs = DEFAULT_WINDOW_MS) {
        this.windowMs = windowMs;
    }
    #key(sender) {
        const text = hex(sender);
        let key = this.#keys.get(text);
        if (key === undefined) {
            key = PublicKey.fromBytes(sender);
            if (key === undefined)
                return undefined;
            if (this.#keys.size > 1024)
                this.#keys.clear();
            this.#keys.set(text, key);
        }
        return key;
    }
    /**
     * Opens the frame received on `key`; throws {@link UntrustedError}. With `from`, the frame
     * must be signed by that key (the key pinned for the thing asked, never one a relay names).
     * `anyAge` skips the freshness window, for frames a store kept ({@link Verifier.openStored}).
     */
    async open(key, bytes, options = {}) {
        let frame;
        try {
            frame = decode(bytes);
        }
        catch (e) {
            throw unreadable(e);
        }
        const h = frame.header;
        if (frame.signature === undefined)
            throw new UntrustedError("message is not signed");
        let from;
        if (options.from !== undefined) {
            from = options.from;
            const expected = from.bytes;
            if (hex(expected) !== hex(h.sender))
                throw new UntrustedError(`message from ${PublicKey.fromBytes(h.sender)?.toString() ?? hex(h.sender)}, expected ${from.toString()}`);
        }
        else {
            from = this.#key(h.sender);
            if (from === undefined)
                throw new UntrustedError("malformed message: the sender is not a valid key");
        }
        let input;
        try {
            input = signingInput(key, frame.signedPart);
        }
        catch (e) {
            throw unreadable(e);
        }
        if (frame.batch === undefined) {
            if (!(await from.verify(input, frame.signature)))
                throw new UntrustedError("bad signature");
        }
        else {
            // A batch: the path from this frame's leaf must lead to a root signed by the sender —
            // verified now, or earlier with these very signature bytes.
            const root = await rootFromPath(await leafHash(input), frame.batch);
            if (root === undefined)
                throw new UntrustedError("bad signature");
            const sender = hex(h.sender);
            const entry = `${frame.batch.size}:${hex(root)}:${hex(frame.signature)}`;
            if (!this.#roots.has(sender, entry)) {
                if (!(await from.verify(rootMessage(frame.batch.size, root), frame.signature)))
                    throw new UntrustedError("bad signature");
                this.#roots.add(sender, entry);
            }
        }
        const ts = Number(h.ts);
        if (options.anyAge !== true) {
            const now = options.now ?? Date.now();
            const skew = Math.abs(now - ts);
            if (!(skew <= this.windowMs))
                throw new UntrustedError(`stale message: sent ${skew} ms away from now (window ${this.windowMs} ms)`);
        }
        return { from, id: h.id, ts, kind: h.kind, binding: h.binding, sealed: h.sealed, body: frame.body };
    }
    /**
     * Opens a frame a store kept for the thing key `key` (`docs/protocol.md` §11): every check of
     * {@link open} — signature by `from` (the key pinned for the thing) over `key` as the caller
     * computes it, a batched frame's path — except the freshness window (stored frames are old by
     * nature; readers report their age instead).
     */
    openStored(key, bytes, from) {
        return this.open(key, bytes, { from, anyAge: true });
    }
}
/**
 * Checks that `opened` is a frame of `kind` (a reply, or a request state) bound to the request
 * `id` of `requester`; throws {@link UntrustedError} otherwise (§5).
 */
export function expectBound(opened, kind, id, requester) {
    if (opened.kind !== kind)
        throw new UntrustedError(`a ${Kind[opened.kind]} where a ${Kind[kind]} was expected`);
    const b = opened.binding;
    if (b.type !== "request" || hex(b.id) !== hex(id) || hex(b.requester) !== hex(requester.bytes)) {
        throw new UntrustedError("a reply bound to another request");
    }
}
/** The boot epoch a description names (`"boot"`, 32 hex digits), or `undefined`. */
export function parseBoot(text) {
    if (typeof text !== "string" || !/^[0-9a-f]{32}$/.test(text))
        return undefined;
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++)
        out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return out;
}

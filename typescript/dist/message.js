/**
 * Messages: frames signed, sealed, verified and opened exactly as `docs/protocol.md` §2–5 and
 * the Rust runtime's `envelope` module do it.
 *
 * A {@link Sealer} writes a participant's frames: the body (sealed with a symmetric key or to a
 * thing when asked, bound to the frame's key, sender and id), then an Ed25519 signature over the
 * protocol label, the key expression and every frame byte before the signature. A
 * {@link Verifier} reads frames: layout, signature (always required), freshness.
 *
 * @module
 */
import { hex, randomBytes, utf8 } from "./bytes.js";
import { bodyAad, sealTo } from "./crypto.js";
import { FrameError, Kind, decode, encodeUnsigned, signingInput } from "./frame.js";
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
/** Checks received frames: layout, signature (always required), freshness. */
export class Verifier {
    windowMs;
    #keys = new Map();
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
        if (!(await from.verify(input, frame.signature)))
            throw new UntrustedError("bad signature");
        const ts = Number(h.ts);
        const now = options.now ?? Date.now();
        const skew = Math.abs(now - ts);
        if (!(skew <= this.windowMs))
            throw new UntrustedError(`stale message: sent ${skew} ms away from now (window ${this.windowMs} ms)`);
        return { from, id: h.id, ts, kind: h.kind, binding: h.binding, sealed: h.sealed, body: frame.body };
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

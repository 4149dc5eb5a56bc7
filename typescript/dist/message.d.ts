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
import { type Bytes } from "./bytes.js";
import { type SymmetricKey } from "./crypto.js";
import { type Binding, Kind, type Proof } from "./frame.js";
import { type Identity, PublicKey } from "./identity.js";
import type { Json } from "./wire.js";
/** The default freshness window: how far a sender's clock may be from ours (120 s). */
export declare const DEFAULT_WINDOW_MS = 120000;
/** How a body is sealed: with a symmetric key (group, owner), or to a thing alone (claims). */
export type Protection = {
    key: SymmetricKey;
} | {
    to: PublicKey;
};
/** What to write besides the key and body. */
export interface Outgoing {
    kind: Kind;
    binding: Binding;
    /** The message id (default: the sealer's next one). */
    id?: Bytes;
    /** The timestamp, Unix milliseconds (default: now). */
    ts?: number;
    /** Seal the body (default: in the clear). */
    protection?: Protection;
}
/** The sealed body text (`{"sealed":…}`) of `plaintext` in a frame from `sender` with id `id` on `key`. */
export declare function sealBody(protection: Protection, key: string, sender: Uint8Array, id: Uint8Array, plaintext: Uint8Array): Promise<string>;
/** Signs and frames outgoing messages for one participant. */
export declare class Sealer {
    #private;
    constructor(identity: Identity);
    /** The participant's identity. */
    get identity(): Identity;
    /** A fresh message id, unique for this sender: 8 random bytes drawn at start ‖ u64be counter. */
    nextId(): Bytes;
    /** Frames `body` (a JSON value, serialized compactly) for sending on `key`. */
    frame(key: string, out: Outgoing, body: Json | object): Promise<Bytes>;
    /** Frames an already serialized JSON body (its exact bytes travel, or are sealed). */
    frameText(key: string, out: Outgoing, text: string): Promise<Bytes>;
}
/** A received frame whose signature and freshness were checked. */
export interface Opened {
    /** Who sent (and signed) it. */
    from: PublicKey;
    /** Its id, unique for the sender. */
    id: Bytes;
    /** The sender's timestamp, Unix milliseconds. */
    ts: number;
    kind: Kind;
    binding: Binding;
    /** Whether its body is sealed. */
    sealed: boolean;
    /** The body bytes as received (sealed or not). */
    body: Bytes;
}
/** The domain label of a batch's root signature (§2.1). */
export declare const ROOT_LABEL = "safething/v2/batch";
/** The leaf hash of a message: `SHA-256(0x00 ‖ v2 signing input)` (RFC 6962). */
export declare function leafHash(input: Uint8Array): Promise<Bytes>;
/** An interior node: `SHA-256(0x01 ‖ left ‖ right)` (RFC 6962). */
export declare function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Bytes>;
/** What a batch's root signature covers: `"safething/v2/batch" ‖ 0x00 ‖ u16be(size) ‖ root`. */
export declare function rootMessage(size: number, root: Uint8Array): Bytes;
/** The root a leaf's audit path leads to (RFC 9162 §2.1.3.2), or `undefined` when the path does not fit. */
export declare function rootFromPath(leaf: Uint8Array, proof: Proof): Promise<Bytes | undefined>;
/** Checks received frames: layout, signature (always required), freshness. */
export declare class Verifier {
    #private;
    readonly windowMs: number;
    /** Batch roots held in the cache (bounded; for tests). */
    get cachedRoots(): number;
    constructor(windowMs?: number);
    /**
     * Opens the frame received on `key`; throws {@link UntrustedError}. With `from`, the frame
     * must be signed by that key (the key pinned for the thing asked, never one a relay names).
     * `anyAge` skips the freshness window, for frames a store kept ({@link Verifier.openStored}).
     */
    open(key: string, bytes: Uint8Array, options?: {
        from?: PublicKey;
        now?: number;
        anyAge?: boolean;
    }): Promise<Opened>;
    /**
     * Opens a frame a store kept for the thing key `key` (`docs/protocol.md` §11): every check of
     * {@link open} — signature by `from` (the key pinned for the thing) over `key` as the caller
     * computes it, a batched frame's path — except the freshness window (stored frames are old by
     * nature; readers report their age instead).
     */
    openStored(key: string, bytes: Uint8Array, from: PublicKey): Promise<Opened>;
}
/**
 * Checks that `opened` is a frame of `kind` (a reply, or a request state) bound to the request
 * `id` of `requester`; throws {@link UntrustedError} otherwise (§5).
 */
export declare function expectBound(opened: Opened, kind: Kind, id: Uint8Array, requester: PublicKey): void;
/** The boot epoch a description names (`"boot"`, 32 hex digits), or `undefined`. */
export declare function parseBoot(text: unknown): Bytes | undefined;

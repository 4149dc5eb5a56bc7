/**
 * Envelopes: how every message travels, exactly as the Rust runtime writes and checks them.
 *
 * ```json
 * {"v":1,"from":"st…","id":"9f2c…-17","ts":1764250000123,"body":{…},"sig":"…"}
 * ```
 *
 * `sig` is an Ed25519 signature (base64url, no padding) over
 * `"safething/v1" 0 key 0 from(32 bytes) id 0 ts(8 bytes, big-endian) body`, where `key` is the
 * key expression the message travels on and `body` the body's exact text. Receivers verify the
 * body as received: {@link scanMembers} finds the raw text of each top-level member of the
 * envelope, so no canonical JSON is needed.
 *
 * @module
 */
import { type Bytes } from "./bytes.js";
import { type Identity, PublicKey } from "./identity.js";
import type { Json } from "./wire.js";
/** The envelope format version. */
export declare const VERSION = 1;
/** The default freshness window: how far a sender's clock may be from ours (120 s). */
export declare const DEFAULT_WINDOW_MS = 120000;
/** The bytes a signature covers. */
export declare function signingInput(key: string, from: PublicKey, id: string, ts: number, body: string): Bytes;
/** Where a raw JSON value sits in a text: `text.slice(start, end)`. */
export interface Span {
    start: number;
    end: number;
}
/**
 * The raw text span of every top-level member of a JSON object (a scanner, not a parser:
 * each member's text is checked by `JSON.parse` where it is used). Throws on malformed input.
 */
export declare function scanMembers(text: string): Map<string, Span>;
/** Signs and wraps outgoing messages for one participant. */
export declare class Sealer {
    #private;
    constructor(identity: Identity);
    /** The participant's identity. */
    get identity(): Identity;
    /** A fresh message id, unique for this sender (`<random hex>-<counter hex>`). */
    nextId(): string;
    /** Wraps `body` for sending on `key`: the envelope's text. */
    seal(key: string, body: Json | object): Promise<string>;
    /** Wraps an already serialized body with a given message id. */
    sealRaw(key: string, body: string, id: string, ts?: number): Promise<string>;
}
/** A received, checked message. */
export interface Opened {
    /** Who sent (and signed) it. */
    from: PublicKey;
    /** Its id, unique for the sender. */
    id: string;
    /** The sender's timestamp, Unix milliseconds. */
    ts: number;
    /** The body's exact text. */
    body: string;
}
/** Checks received envelopes: shape, version, signature, freshness. Always requires signatures. */
export declare class Verifier {
    #private;
    readonly windowMs: number;
    constructor(windowMs?: number);
    /** Opens the envelope text received on `key`; throws {@link UntrustedError}. */
    open(key: string, envelope: string, now?: number): Promise<Opened>;
}

/**
 * The protocol v2 frame: the one TypeScript reader and writer of the bytes every message
 * travels as (`docs/protocol.md` §1–2), byte for byte what the Rust runtime's `src/frame.rs`
 * reads and writes.
 *
 * ```text
 * "ST" 0x02 kind flags sender(32) n id(n) ts(u64be) binding len(u32be) body [signature(64)]
 * batched: ... body size(u16be) index(u16be) path(32 each) root-signature(64)
 * ```
 *
 * This module knows bytes only: signing, freshness and sealing are `message.ts`'s.
 *
 * @module
 */
import { type Bytes } from "./bytes.js";
/** The protocol version this runtime speaks. */
export declare const VERSION = 2;
/** The domain label of signatures, HKDF salts and AEAD associated data. */
export declare const LABEL = "safething/v2";
/** The longest message id, in bytes. */
export declare const MAX_ID = 32;
/** The longest body, in bytes (16 MiB). */
export declare const MAX_BODY: number;
/** The length of a boot epoch. */
export declare const EPOCH_LEN = 16;
/** The length of a signature. */
export declare const SIGNATURE_LEN = 64;
/** What a frame is (§1.1). */
export declare enum Kind {
    /** A query's payload, to a device; bound to the device's boot epoch. */
    Request = 1,
    /** A device's answer to a request; bound to that request. */
    Reply = 2,
    /** An attribute update or an event. */
    Publication = 3,
    /** A request-state publication on `requests/<id>`; bound to the invoke request. */
    State = 4,
    /** A thing's description. */
    Description = 5
}
/** What a frame is tied to besides its key (§1.2). */
export type Binding = {
    type: "none";
} | {
    type: "epoch";
    epoch: Bytes;
} | {
    type: "request";
    id: Bytes;
    requester: Bytes;
};
/** A frame's header fields. */
export interface Header {
    kind: Kind;
    /** Whether the body is sealed (`{"sealed":…}`). */
    sealed: boolean;
    /** The sender's ed25519 public key, 32 bytes. */
    sender: Bytes;
    /** The message id, 1 to 32 bytes. */
    id: Bytes;
    /** The sender's clock, Unix milliseconds (a u64, hence a bigint). */
    ts: bigint;
    binding: Binding;
}
/** A frame read from bytes. */
export interface Frame {
    header: Header;
    /** The body bytes, as received. */
    body: Bytes;
    /** Every byte the signature covers besides the label and key expression. */
    signedPart: Bytes;
    /** The signature, when the signed flag is set (a batch's root signature with `batch`). */
    signature: Bytes | undefined;
    /** The frame's place in a signed batch, when the batched flag is set (§2.1). */
    batch?: Proof;
}
/** A frame's place in a signed batch (§2.1). */
export interface Proof {
    /** How many frames the batch has (at least 2). */
    size: number;
    /** This frame's position, below `size`. */
    index: number;
    /** The audit path, lowest sibling first: 32 bytes per hash, as many as {@link pathLength} says. */
    path: Bytes;
}
/**
 * How many hashes the audit path of leaf `index` in a tree of `size` leaves has (the walk of
 * RFC 9162 §2.1.3.2); `undefined` when `index` is not a leaf of it or `size` is below 2.
 */
export declare function pathLength(index: number, size: number): number | undefined;
/** Why bytes are not a frame this runtime accepts (never thrown for anything but bad input). */
export declare class FrameError extends Error {
    /** `unsupported_version` (a SAFEthing message of another version) or `malformed`. */
    readonly code: "unsupported_version" | "malformed";
    /** The version named, for `unsupported_version` (1 for a JSON envelope). */
    readonly version: number | undefined;
    constructor(code: "unsupported_version" | "malformed", detail: string, version?: number);
}
/**
 * Reads a frame; throws {@link FrameError}. Checks the layout only: the signature is checked by
 * whoever knows the key expression ({@link signingInput}).
 */
export declare function decode(bytes: Uint8Array): Frame;
/**
 * The bytes of a frame up to its signature (what {@link signingInput} covers); throws
 * {@link FrameError} for fields a frame cannot hold.
 */
export declare function encodeUnsigned(header: Header, body: Uint8Array, signed: boolean): Bytes;
/** `lp(x)`: `u16be(len(x)) ‖ x`; throws {@link FrameError} when `x` is longer than 65535. */
export declare function lp(x: Uint8Array): Bytes;
/** What an ed25519 signature covers: `"safething/v2" 0x00 lp(key) frame-without-signature`. */
export declare function signingInput(key: string, signedPart: Uint8Array): Bytes;

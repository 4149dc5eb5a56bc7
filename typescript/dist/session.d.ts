import { type Bytes } from "./bytes.js";
import { type Binding, type Kind } from "./frame.js";
import type { Identity, PublicKey } from "./identity.js";
import type { Opened } from "./message.js";
import type { Transport } from "./transport.js";
/** The frame kind byte of session frames. */
export declare const SESSION_KIND = 6;
/** Session frame types. */
export declare const HELLO = 1;
export declare const WELCOME = 2;
export declare const SEALED = 3;
export declare const UNKNOWN = 4;
export declare const REFUSED = 5;
/** The key expression handshakes go on. */
export declare function sessionKey(thing: string): string;
/** Whether `bytes` is a session frame: `"ST" 02 06`. */
export declare function isSessionFrame(bytes: Uint8Array): boolean;
/** An X25519 key pair from a 32-byte secret (random unless given, for known-answer tests). */
export declare function ephemeral(secret?: Uint8Array): Promise<{
    priv: CryptoKey;
    pub: Bytes;
}>;
/** The client's hello: its key, the thing's, a timestamp and its ephemeral key, signed. */
export declare function hello(me: Identity, thing: PublicKey, key: string, ts: bigint, epk: Uint8Array): Promise<Bytes>;
/** The keys a handshake yields. */
export interface SessionKeys {
    sid: Bytes;
    boot: Bytes;
    lifetimeMs: number;
    maxMessages: number;
    transcript: Bytes;
    c2d: Bytes;
    d2c: Bytes;
}
/**
 * Checks a welcome (signed by the thing's pinned key over the hello and itself) and derives the
 * session keys; throws {@link UntrustedError}.
 */
export declare function acceptWelcome(thing: PublicKey, key: string, helloBytes: Uint8Array, priv: CryptoKey, welcome: Uint8Array): Promise<SessionKeys>;
/** The associated data of a sealed frame: `"safething/v2" 0 lp(key) header`. */
export declare function sealedAad(key: string, header: Uint8Array): Bytes;
/** Seals `plain` (an unsigned v2 frame) as frame `ctr` of session `sid` on `key`. */
export declare function sealFrame(k: CryptoKey, key: string, sid: Uint8Array, ctr: bigint, plain: Uint8Array): Promise<Bytes>;
/** Opens a sealed frame; `undefined` when it does not decrypt under `k`. */
export declare function openFrame(k: CryptoKey, key: string, frame: Uint8Array): Promise<{
    sid: Bytes;
    ctr: bigint;
    plain: Bytes;
} | undefined>;
/** Imports a session key for AES-GCM. */
export declare function aesKey(secret: Uint8Array): Promise<CryptoKey>;
/** What a reply in a session turned out to be. */
export type Answer = {
    type: "frame";
    plain: Bytes;
} | {
    type: "unknown";
    ctr: bigint;
};
/** A session with one thing, as the client holds it. */
export declare class ClientSession {
    #private;
    readonly sid: Bytes;
    /** The device's boot epoch when the session was made: requests in it name it. */
    readonly boot: Bytes;
    private constructor();
    /** @internal */
    static create(thing: PublicKey, keys: SessionKeys, started: number): Promise<ClientSession>;
    /** Whether it may still be used (the device keeps it, and counters remain). */
    usable(): boolean;
    /** Seals an unsigned v2 request frame on `key`: the frame and its counter. */
    seal(key: string, plain: Uint8Array): Promise<{
        frame: Bytes;
        ctr: bigint;
    }>;
    /** Opens a reply received on `key`: a sealed frame of this session, or the device's signed unknown-session answer; throws {@link UntrustedError}. */
    open(key: string, frame: Uint8Array): Promise<Answer>;
}
/**
 * Makes a session with the thing whose pinned key is `thing` (`key`: {@link sessionKey} of its
 * id); throws when there is none to be had (the caller then sends signed requests).
 */
export declare function handshake(transport: Transport, me: Identity, thing: PublicKey, key: string, timeoutMs: number): Promise<ClientSession>;
/** An unsigned v2 frame, body in the clear: what a session carries. */
export declare function plainFrame(sender: PublicKey, kind: Kind, binding: Binding, id: Uint8Array, ts: bigint, body: Uint8Array): Bytes;
/** Reads the v2 frame a session carried: unsigned, in the clear, from `peer`, fresh; throws {@link UntrustedError}. */
export declare function openPlain(plain: Uint8Array, peer: PublicKey, windowMs: number): Opened;

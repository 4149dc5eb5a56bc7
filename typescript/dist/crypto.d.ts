/**
 * Confidentiality, exactly as the Rust runtime's `crypto` module (all WebCrypto):
 *
 * - payloads of `group`/`owner` affordances are sealed with AES-256-GCM (random 96-bit nonce,
 *   the key expression as associated data): `{"sealed": {"kid", "nonce", "ct"}}`;
 * - a device hands its symmetric keys out *wrapped* for each holder: AES-256-GCM under a key
 *   derived with HKDF-SHA256 (salt `safething/v1`, info `"wrap" 0 thing 0 kid 0 holder-key`) from
 *   X25519 between the device's and the holder's keys (each Ed25519 key doubles as an X25519
 *   key), with the key id as associated data;
 * - claims are sealed to the thing alone with an ephemeral X25519 key (info
 *   `"to" 0 ephemeral-key 0 thing-key`): `{"sealed": {"epk", "nonce", "ct"}}`.
 *
 * @module
 */
import { type Bytes } from "./bytes.js";
import type { Identity, PublicKey } from "./identity.js";
import type { WrappedKey } from "./wire.js";
/** An encrypted payload. */
export interface Sealed {
    /** Which symmetric key (symmetric payloads). */
    kid?: string;
    /** The sender's ephemeral X25519 public key (payloads sealed to a thing). */
    epk?: string;
    /** 12-byte nonce, base64url. */
    nonce: string;
    /** Ciphertext and tag, base64url. */
    ct: string;
}
/** The body of a message whose payload is encrypted. */
export interface SealedBody {
    sealed: Sealed;
}
/** How every sealed body starts (bodies are written compactly). */
export declare const SEALED_PREFIX = "{\"sealed\":";
/** A symmetric (AES-256-GCM) key and its id. */
export declare class SymmetricKey {
    #private;
    /** Identifies the key in sealed payloads. */
    readonly kid: string;
    private constructor();
    /** A key from its 32 secret bytes. */
    static fromSecret(kid: string, secret: Uint8Array): Promise<SymmetricKey>;
    /** A fresh random key with a random id. */
    static generate(): Promise<SymmetricKey>;
    /** The secret bytes (to wrap the key for a holder). */
    secret(): Promise<Bytes>;
    /** Encrypts `plaintext` bound to `aad` (the key expression it travels on). */
    seal(aad: string, plaintext: Uint8Array): Promise<Sealed>;
    /** Decrypts a payload sealed with this key for `aad`; `undefined` when it does not open. */
    open(aad: string, sealed: Sealed): Promise<Bytes | undefined>;
}
/** Unwraps the key wrapped for `me` (a holder's side); `undefined` when there is none for us. */
export declare function unwrap(me: Identity, thingKey: PublicKey, thing: string, wrapped: WrappedKey): Promise<SymmetricKey | undefined>;
/** Wraps `key` for each holder (the device's side; used by tests and tools). */
export declare function wrap(device: Identity, thing: string, key: SymmetricKey, holders: PublicKey[]): Promise<WrappedKey>;
/** Seals `plaintext` so that only the holder of `to` can open it (an ephemeral X25519 key). */
export declare function sealTo(to: PublicKey, aad: string, plaintext: Uint8Array): Promise<Sealed>;
/** Opens a payload sealed to `me` with {@link sealTo}; `undefined` when it does not open. */
export declare function openTo(me: Identity, aad: string, sealed: Sealed): Promise<Bytes | undefined>;

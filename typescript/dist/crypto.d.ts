/**
 * Confidentiality, exactly as `docs/protocol.md` §3 and the Rust runtime's `crypto` module
 * (all WebCrypto):
 *
 * - bodies of `group`/`owner` affordances are sealed with AES-256-GCM (random 96-bit nonce),
 *   bound by their associated data to the protocol label, key expression, sender and message
 *   id of the frame that carries them ({@link bodyAad}): `{"sealed": {"kid", "nonce", "ct"}}`;
 * - a device hands its symmetric keys out *wrapped* for each holder: AES-256-GCM under a key
 *   derived with HKDF-SHA256 (salt `safething/v2`, info `lp("wrap") lp(thing) lp(kid)
 *   lp(holder)`) from X25519 between the device's and the holder's keys (each Ed25519 key
 *   doubles as an X25519 key), associated data `lp("safething/v2") lp("wrap") lp(kid)`;
 * - claims are sealed to the thing alone with an ephemeral X25519 key (info `lp("to") lp(epk)
 *   lp(thing key)`): `{"sealed": {"epk", "nonce", "ct"}}`.
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
/**
 * The associated data of a sealed frame body (§3.1): `lp("safething/v2") ‖ lp(key) ‖
 * lp(sender) ‖ lp(id)`, so a body opens only inside a frame from the same sender, with the same
 * id, on the same key.
 */
export declare function bodyAad(key: string, sender: Uint8Array, id: Uint8Array): Bytes;
/** The associated data of a wrapped key (§3.5): `lp("safething/v2") ‖ lp("wrap") ‖ lp(kid)`. */
export declare function wrapAad(kid: string): Bytes;
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
    /** Encrypts `plaintext` bound to `aad` (a fresh random nonce unless one is given, for known-answer tests). */
    seal(aad: Uint8Array, plaintext: Uint8Array, nonce?: Uint8Array): Promise<Sealed>;
    /** Decrypts a payload sealed with this key for `aad`; `undefined` when it does not open. */
    open(aad: Uint8Array, sealed: Sealed): Promise<Bytes | undefined>;
}
/** The HKDF info of `parts`: each length-prefixed (§3.3). */
export declare function hkdfInfo(parts: Uint8Array[]): Bytes;
/** HKDF-SHA256 with salt `safething/v2` and the length-prefixed info parts: the 32 key bytes. */
export declare function hkdf(shared: Uint8Array, info: Uint8Array[]): Promise<Bytes>;
/** Unwraps the key wrapped for `me` (a holder's side); `undefined` when there is none for us. */
export declare function unwrap(me: Identity, thingKey: PublicKey, thing: string, wrapped: WrappedKey): Promise<SymmetricKey | undefined>;
/** Wraps `key` for each holder (the device's side; used by tests and tools); `nonce` only for known-answer tests. */
export declare function wrap(device: Identity, thing: string, key: SymmetricKey, holders: PublicKey[], nonce?: Uint8Array): Promise<WrappedKey>;
/**
 * Seals `plaintext` so that only the holder of `to` can open it (an ephemeral X25519 key, §3.4).
 * `ephemeral` and `nonce` are drawn at random; give them only for known-answer tests.
 */
export declare function sealTo(to: PublicKey, aad: Uint8Array, plaintext: Uint8Array, ephemeral?: Uint8Array, nonce?: Uint8Array): Promise<Sealed>;
/** Opens a payload sealed to `me` with {@link sealTo}; `undefined` when it does not open. */
export declare function openTo(me: Identity, aad: Uint8Array, sealed: Sealed): Promise<Bytes | undefined>;

/**
 * Identities: an Ed25519 key pair for every thing and every person or app (WebCrypto).
 *
 * A {@link PublicKey} prints as `st` followed by the key in lowercase base32 (54 characters),
 * exactly as the Rust runtime prints it; {@link PublicKey.short} gives a 10-character
 * fingerprint for humans. An {@link Identity} persists as a JWK (`toJwk` / `fromJwk`), or in the
 * Rust runtime's identity file format (`toFileText` / `fromFileText`).
 *
 * @module
 */
import { type Bytes } from "./bytes.js";
/**
 * Whether the key is a point of small order (1, 2, 4 or 8): strict verification refuses
 * signatures under such keys, as the Rust runtime's `verify_strict` does (anyone can forge them).
 */
export declare function isSmallOrder(bytes: Uint8Array): boolean;
/**
 * The X25519 (Montgomery) form of an Ed25519 public key: u = (1 + y) / (1 - y) mod p, the
 * birational map of libsodium's `crypto_sign_ed25519_pk_to_curve25519` and the Rust runtime.
 */
export declare function edwardsToMontgomery(ed25519: Uint8Array): Bytes | undefined;
/** A public key: who signed a message, who owns a thing, who is in its group. */
export declare class PublicKey {
    #private;
    private constructor();
    /** From the 32 raw key bytes; `undefined` unless they are a point on the curve. */
    static fromBytes(bytes: Uint8Array): PublicKey | undefined;
    /** Parses the printable form (`st` + 52 base32 characters); throws {@link IdentityError}. */
    static parse(text: string): PublicKey;
    /** The raw key bytes (a copy). */
    get bytes(): Bytes;
    /** `st` + 52 base32 characters. */
    toString(): string;
    /** The printable form, so keys serialize as strings. */
    toJSON(): string;
    /** A 10-character fingerprint for humans; recognises a key, does not identify it. */
    short(): string;
    /** Whether both are the same key. */
    equals(other: PublicKey): boolean;
    /** The same key as an X25519 public key (raw u coordinate). */
    x25519(): Bytes;
    /** Checks an Ed25519 `signature` over `message`, strictly: non-canonical `S`, small-order keys and a small-order `R` are refused. */
    verify(message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}
/** A private key in JSON Web Key form (RFC 8037), as {@link Identity.toJwk} writes it. */
export interface IdentityJwk {
    /** Always `OKP`. */
    kty: "OKP";
    /** Always `Ed25519`. */
    crv: "Ed25519";
    /** The 32-byte seed, base64url. */
    d: string;
    /** The public key, base64url. */
    x: string;
}
/** A key pair: signs what its holder sends. Keep the secret in {@link toJwk}'s output safe. */
export declare class Identity {
    #private;
    private constructor();
    /** A fresh random identity. */
    static generate(): Promise<Identity>;
    /** The identity with this 32-byte secret key (the Ed25519 seed, as in the Rust runtime). */
    static fromSecret(secret: Uint8Array): Promise<Identity>;
    /** From a JWK written by {@link toJwk}; checks that `x` matches `d`. */
    static fromJwk(jwk: IdentityJwk): Promise<Identity>;
    /** From the text of a Rust identity file (`safething-identity-v1`, then the secret in base32). */
    static fromFileText(text: string): Promise<Identity>;
    /** The Rust identity file format (readable by `safething --identity FILE`). */
    toFileText(): string;
    /** The key pair as a JWK, to persist (e.g. in IndexedDB or a file readable only by its user). */
    toJwk(): IdentityJwk;
    /** The public half. */
    get publicKey(): PublicKey;
    /** Signs `message` (Ed25519). */
    sign(message: Uint8Array): Promise<Bytes>;
    /**
     * The same key as an X25519 private key for key agreement: the scalar is the first 32 bytes
     * of SHA-512(seed), as Ed25519 derives it (X25519 clamps it).
     */
    x25519Key(): Promise<CryptoKey>;
}

/**
 * Byte helpers: UTF-8, base32 (RFC 4648, no padding, lowercase as SAFEthing prints keys),
 * base64url (no padding, as in sealed bodies and the gateway's JSON), hex.
 *
 * @module
 */
/** Bytes backed by a plain `ArrayBuffer` (what WebCrypto accepts). */
export type Bytes = Uint8Array<ArrayBuffer>;
/** UTF-8 bytes of a string. */
export declare function utf8(text: string): Bytes;
/** The string of UTF-8 bytes; throws on invalid UTF-8. */
export declare function fromUtf8(bytes: Uint8Array): string;
/** Joins byte arrays. */
export declare function concat(...parts: Uint8Array[]): Bytes;
/** A copy of `bytes` backed by its own `ArrayBuffer`. */
export declare function copy(bytes: Uint8Array): Bytes;
/** Whether two byte arrays are equal. */
export declare function equal(a: Uint8Array, b: Uint8Array): boolean;
/** `n` random bytes from the platform's cryptographic source. */
export declare function randomBytes(n: number): Bytes;
/** Base32 (RFC 4648 alphabet, lowercase, no padding). */
export declare function base32(bytes: Uint8Array): string;
/**
 * Decodes base32 without padding (either case); `undefined` when it is not canonical base32
 * (unknown characters, impossible lengths, or non-zero trailing bits — as the Rust decoder).
 */
export declare function fromBase32(text: string): Bytes | undefined;
/** Base64url without padding. */
export declare function base64url(bytes: Uint8Array): string;
/** Decodes base64url without padding; `undefined` when it is not canonical. */
export declare function fromBase64url(text: string): Bytes | undefined;
/** Lowercase hex. */
export declare function hex(bytes: Uint8Array): string;

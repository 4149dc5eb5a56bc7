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

import { type Bytes, base32, base64url, concat, copy, equal, fromBase32, fromBase64url, randomBytes } from "./bytes.js";
import { IdentityError } from "./errors.js";

const PREFIX = "st";
const FILE_HEADER = "safething-identity-v1";

/** The field prime of Curve25519, 2^255 - 19. */
const P = (1n << 255n) - 19n;
/** The Edwards curve constant d = -121665/121666. */
const D = mod(-121665n * inverse(121666n));
/** sqrt(-1) mod p. */
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

function mod(a: bigint): bigint {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

function inverse(a: bigint): bigint {
  return pow(a, P - 2n);
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

function toLittleEndian(n: bigint): Bytes {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 255n);
    v >>= 8n;
  }
  return out;
}

/** The y coordinate of a compressed Edwards point, if the bytes are a point on the curve. */
function decompressY(bytes: Uint8Array): bigint | undefined {
  if (bytes.length !== 32) return undefined;
  const y = fromLittleEndian(bytes) & ((1n << 255n) - 1n);
  if (y >= P) return undefined;
  // x^2 = (y^2 - 1) / (d y^2 + 1); the point exists when that has a square root.
  const y2 = (y * y) % P;
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  const x2 = (u * inverse(v)) % P;
  if (x2 === 0n) return (bytes[31] ?? 0) & 0x80 ? undefined : y;
  let x = pow(x2, (P + 3n) / 8n);
  if ((x * x) % P !== x2) x = (x * SQRT_M1) % P;
  if ((x * x) % P !== x2) return undefined;
  return y;
}

/** The order of the Ed25519 base point: a signature's `S` must be below it (canonical). */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** The y coordinate of the points of order 8 (the other one is its negation). */
const Y_ORDER_8 = 0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n;

/**
 * Whether the key is a point of small order (1, 2, 4 or 8): strict verification refuses
 * signatures under such keys, as the Rust runtime's `verify_strict` does (anyone can forge them).
 */
export function isSmallOrder(bytes: Uint8Array): boolean {
  const y = decompressY(bytes);
  if (y === undefined) return false;
  return y === 0n || y === 1n || y === P - 1n || y === Y_ORDER_8 || y === P - Y_ORDER_8;
}

/**
 * Whether a signature's `R` names a point of small order, whatever its encoding: its y
 * coordinate (mod p) is one of theirs. Strict verification refuses such signatures, as the
 * Rust runtime does; an honest signer's `R` never is one.
 */
function isSmallOrderR(bytes: Uint8Array): boolean {
  const y = (fromLittleEndian(bytes) & ((1n << 255n) - 1n)) % P;
  return y === 0n || y === 1n || y === P - 1n || y === Y_ORDER_8 || y === P - Y_ORDER_8;
}

/**
 * The X25519 (Montgomery) form of an Ed25519 public key: u = (1 + y) / (1 - y) mod p, the
 * birational map of libsodium's `crypto_sign_ed25519_pk_to_curve25519` and the Rust runtime.
 */
export function edwardsToMontgomery(ed25519: Uint8Array): Bytes | undefined {
  const y = decompressY(ed25519);
  if (y === undefined) return undefined;
  const denominator = mod(1n - y);
  if (denominator === 0n) return undefined;
  return toLittleEndian(mod((1n + y) * inverse(denominator)));
}

/** A public key: who signed a message, who owns a thing, who is in its group. */
export class PublicKey {
  readonly #bytes: Bytes;
  readonly #text: string;
  #verifyKey: Promise<CryptoKey> | undefined;

  private constructor(bytes: Bytes) {
    this.#bytes = bytes;
    this.#text = PREFIX + base32(bytes);
  }

  /** From the 32 raw key bytes; `undefined` unless they are a point on the curve. */
  static fromBytes(bytes: Uint8Array): PublicKey | undefined {
    if (decompressY(bytes) === undefined) return undefined;
    return new PublicKey(copy(bytes));
  }

  /** Parses the printable form (`st` + 52 base32 characters); throws {@link IdentityError}. */
  static parse(text: string): PublicKey {
    const invalid = () =>
      new IdentityError(`\`${text.slice(0, 80)}\` is not a SAFEthing public key (expected \`st\` and 52 base32 characters)`);
    if (!text.startsWith(PREFIX)) throw invalid();
    const bytes = fromBase32(text.slice(PREFIX.length));
    if (bytes === undefined || bytes.length !== 32) throw invalid();
    const key = PublicKey.fromBytes(bytes);
    if (key === undefined) throw invalid();
    return key;
  }

  /** The raw key bytes (a copy). */
  get bytes(): Bytes {
    return copy(this.#bytes);
  }

  /** `st` + 52 base32 characters. */
  toString(): string {
    return this.#text;
  }

  /** The printable form, so keys serialize as strings. */
  toJSON(): string {
    return this.#text;
  }

  /** A 10-character fingerprint for humans; recognises a key, does not identify it. */
  short(): string {
    return this.#text.slice(0, 10);
  }

  /** Whether both are the same key. */
  equals(other: PublicKey): boolean {
    return equal(this.#bytes, other.#bytes);
  }

  /** The same key as an X25519 public key (raw u coordinate). */
  x25519(): Bytes {
    const u = edwardsToMontgomery(this.#bytes);
    // fromBytes checked the point, so the map is defined.
    if (u === undefined) throw new IdentityError("not a valid Ed25519 key");
    return u;
  }

  /** Checks an Ed25519 `signature` over `message`, strictly: non-canonical `S`, small-order keys and a small-order `R` are refused. */
  async verify(message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (signature.length !== 64 || isSmallOrder(this.#bytes)) return false;
    if (isSmallOrderR(signature.subarray(0, 32))) return false;
    if (fromLittleEndian(signature.subarray(32)) >= L) return false;
    this.#verifyKey ??= globalThis.crypto.subtle.importKey("raw", this.#bytes, { name: "Ed25519" }, false, ["verify"]);
    try {
      return await globalThis.crypto.subtle.verify({ name: "Ed25519" }, await this.#verifyKey, copy(signature), copy(message));
    } catch {
      return false;
    }
  }
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

const PKCS8_ED25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

/** A key pair: signs what its holder sends. Keep the secret in {@link toJwk}'s output safe. */
export class Identity {
  readonly #seed: Bytes;
  readonly #signKey: CryptoKey;
  readonly #publicKey: PublicKey;
  #x25519: Promise<CryptoKey> | undefined;

  private constructor(seed: Bytes, signKey: CryptoKey, publicKey: PublicKey) {
    this.#seed = seed;
    this.#signKey = signKey;
    this.#publicKey = publicKey;
  }

  /** A fresh random identity. */
  static async generate(): Promise<Identity> {
    return Identity.fromSecret(randomBytes(32));
  }

  /** The identity with this 32-byte secret key (the Ed25519 seed, as in the Rust runtime). */
  static async fromSecret(secret: Uint8Array): Promise<Identity> {
    if (secret.length !== 32) throw new IdentityError("a secret key is 32 bytes");
    const seed = copy(secret);
    const subtle = globalThis.crypto.subtle;
    const signKey = await subtle.importKey("pkcs8", concat(PKCS8_ED25519, seed), { name: "Ed25519" }, true, ["sign"]);
    const jwk = await subtle.exportKey("jwk", signKey);
    const x = jwk.x === undefined ? undefined : fromBase64url(jwk.x);
    const publicKey = x === undefined ? undefined : PublicKey.fromBytes(x);
    if (publicKey === undefined) throw new IdentityError("the platform derived no public key");
    return new Identity(seed, signKey, publicKey);
  }

  /** From a JWK written by {@link toJwk}; checks that `x` matches `d`. */
  static async fromJwk(jwk: IdentityJwk): Promise<Identity> {
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") throw new IdentityError("not an Ed25519 JWK");
    const seed = fromBase64url(jwk.d);
    if (seed === undefined || seed.length !== 32) throw new IdentityError("the JWK's `d` is not a 32-byte key");
    const identity = await Identity.fromSecret(seed);
    if (jwk.x !== base64url(identity.publicKey.bytes)) throw new IdentityError("the JWK's `x` does not match its `d`");
    return identity;
  }

  /** From the text of a Rust identity file (`safething-identity-v1`, then the secret in base32). */
  static async fromFileText(text: string): Promise<Identity> {
    const lines = text.split("\n");
    if (lines[0]?.trim() !== FILE_HEADER) throw new IdentityError("not a SAFEthing identity file (missing header line)");
    const secret = fromBase32((lines[1] ?? "").trim());
    if (secret === undefined || secret.length !== 32) throw new IdentityError("the identity file's key is not 32 bytes of base32");
    return Identity.fromSecret(secret);
  }

  /** The Rust identity file format (readable by `safething --identity FILE`). */
  toFileText(): string {
    return `${FILE_HEADER}\n${base32(this.#seed)}\n# public key: ${this.#publicKey.toString()}\n`;
  }

  /** The key pair as a JWK, to persist (e.g. in IndexedDB or a file readable only by its user). */
  toJwk(): IdentityJwk {
    return { kty: "OKP", crv: "Ed25519", d: base64url(this.#seed), x: base64url(this.#publicKey.bytes) };
  }

  /** The public half. */
  get publicKey(): PublicKey {
    return this.#publicKey;
  }

  /** Signs `message` (Ed25519). */
  async sign(message: Uint8Array): Promise<Bytes> {
    return new Uint8Array(await globalThis.crypto.subtle.sign({ name: "Ed25519" }, this.#signKey, copy(message)));
  }

  /**
   * The same key as an X25519 private key for key agreement: the scalar is the first 32 bytes
   * of SHA-512(seed), as Ed25519 derives it (X25519 clamps it).
   */
  x25519Key(): Promise<CryptoKey> {
    this.#x25519 ??= (async () => {
      const hash = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-512", this.#seed));
      const scalar = hash.slice(0, 32);
      return globalThis.crypto.subtle.importKey("pkcs8", concat(PKCS8_X25519, scalar), { name: "X25519" }, false, ["deriveBits"]);
    })();
    return this.#x25519;
  }
}

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

import { type Bytes, base64url, concat, copy, fromBase64url, hex, randomBytes, utf8 } from "./bytes.js";
import { LABEL, lp } from "./frame.js";
import type { Identity, PublicKey } from "./identity.js";
import type { WrappedKey } from "./wire.js";

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

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
export function bodyAad(key: string, sender: Uint8Array, id: Uint8Array): Bytes {
  return concat(lp(utf8(LABEL)), lp(utf8(key)), lp(sender), lp(id));
}

/** The associated data of a wrapped key (§3.5): `lp("safething/v2") ‖ lp("wrap") ‖ lp(kid)`. */
export function wrapAad(kid: string): Bytes {
  return concat(lp(utf8(LABEL)), lp(utf8("wrap")), lp(utf8(kid)));
}

/** A symmetric (AES-256-GCM) key and its id. */
export class SymmetricKey {
  /** Identifies the key in sealed payloads. */
  readonly kid: string;
  readonly #key: CryptoKey;

  private constructor(kid: string, key: CryptoKey) {
    this.kid = kid;
    this.#key = key;
  }

  /** A key from its 32 secret bytes. */
  static async fromSecret(kid: string, secret: Uint8Array): Promise<SymmetricKey> {
    if (secret.length !== 32) throw new Error("an AES-256 key is 32 bytes");
    const key = await subtle().importKey("raw", copy(secret), { name: "AES-GCM" }, true, ["encrypt", "decrypt"]);
    return new SymmetricKey(kid, key);
  }

  /** A fresh random key with a random id. */
  static async generate(): Promise<SymmetricKey> {
    return SymmetricKey.fromSecret(hex(randomBytes(8)), randomBytes(32));
  }

  /** The secret bytes (to wrap the key for a holder). */
  async secret(): Promise<Bytes> {
    return new Uint8Array(await subtle().exportKey("raw", this.#key));
  }

  /** Encrypts `plaintext` bound to `aad` (a fresh random nonce unless one is given, for known-answer tests). */
  async seal(aad: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array = randomBytes(12)): Promise<Sealed> {
    if (nonce.length !== 12) throw new Error("an AES-GCM nonce is 12 bytes");
    const ct = await subtle().encrypt({ name: "AES-GCM", iv: copy(nonce), additionalData: copy(aad) }, this.#key, copy(plaintext));
    return { kid: this.kid, nonce: base64url(nonce), ct: base64url(new Uint8Array(ct)) };
  }

  /** Decrypts a payload sealed with this key for `aad`; `undefined` when it does not open. */
  async open(aad: Uint8Array, sealed: Sealed): Promise<Bytes | undefined> {
    const nonce = fromBase64url(sealed.nonce);
    const ct = fromBase64url(sealed.ct);
    if (nonce === undefined || nonce.length !== 12 || ct === undefined) return undefined;
    try {
      const plain = await subtle().decrypt({ name: "AES-GCM", iv: nonce, additionalData: copy(aad) }, this.#key, ct);
      return new Uint8Array(plain);
    } catch {
      return undefined;
    }
  }
}

/** X25519 between our key and a raw public u coordinate; `undefined` for a non-contributory result. */
async function agree(ours: CryptoKey, theirs: Uint8Array): Promise<Bytes | undefined> {
  try {
    const pub = await subtle().importKey("raw", copy(theirs), { name: "X25519" }, false, []);
    const shared = new Uint8Array(await subtle().deriveBits({ name: "X25519", public: pub }, ours, 256));
    return shared.every((b) => b === 0) ? undefined : shared;
  } catch {
    // WebCrypto refuses an all-zero shared secret (a small-order public key).
    return undefined;
  }
}

/** The HKDF info of `parts`: each length-prefixed (§3.3). */
export function hkdfInfo(parts: Uint8Array[]): Bytes {
  return concat(...parts.map(lp));
}

/** HKDF-SHA256 with salt `safething/v2` and the length-prefixed info parts: the 32 key bytes. */
export async function hkdf(shared: Uint8Array, info: Uint8Array[]): Promise<Bytes> {
  const ikm = await subtle().importKey("raw", copy(shared), "HKDF", false, ["deriveBits"]);
  const bits = await subtle().deriveBits({ name: "HKDF", hash: "SHA-256", salt: utf8(LABEL), info: hkdfInfo(info) }, ikm, 256);
  return new Uint8Array(bits);
}

async function derive(shared: Uint8Array, info: Uint8Array[], kid = ""): Promise<SymmetricKey> {
  return SymmetricKey.fromSecret(kid, await hkdf(shared, info));
}

async function wrappingKey(ours: Identity, theirs: PublicKey, thing: string, kid: string, holder: PublicKey): Promise<SymmetricKey | undefined> {
  const shared = await agree(await ours.x25519Key(), theirs.x25519());
  if (shared === undefined) return undefined;
  return derive(shared, [utf8("wrap"), utf8(thing), utf8(kid), holder.bytes]);
}

/** Unwraps the key wrapped for `me` (a holder's side); `undefined` when there is none for us. */
export async function unwrap(me: Identity, thingKey: PublicKey, thing: string, wrapped: WrappedKey): Promise<SymmetricKey | undefined> {
  const mine = wrapped.holders[me.publicKey.toString()];
  if (mine === undefined) return undefined;
  const k = await wrappingKey(me, thingKey, thing, wrapped.kid, me.publicKey);
  const secret = await k?.open(wrapAad(wrapped.kid), { nonce: mine.nonce, ct: mine.ct });
  if (secret === undefined || secret.length !== 32) return undefined;
  return SymmetricKey.fromSecret(wrapped.kid, secret);
}

/** Wraps `key` for each holder (the device's side; used by tests and tools); `nonce` only for known-answer tests. */
export async function wrap(device: Identity, thing: string, key: SymmetricKey, holders: PublicKey[], nonce?: Uint8Array): Promise<WrappedKey> {
  const out: WrappedKey = { kid: key.kid, holders: {} };
  const secret = await key.secret();
  for (const holder of holders) {
    const k = await wrappingKey(device, holder, thing, key.kid, holder);
    if (k === undefined) continue;
    const sealed = await k.seal(wrapAad(key.kid), secret, nonce ?? randomBytes(12));
    out.holders[holder.toString()] = { nonce: sealed.nonce, ct: sealed.ct };
  }
  return out;
}

const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

/**
 * Seals `plaintext` so that only the holder of `to` can open it (an ephemeral X25519 key, §3.4).
 * `ephemeral` and `nonce` are drawn at random; give them only for known-answer tests.
 */
export async function sealTo(to: PublicKey, aad: Uint8Array, plaintext: Uint8Array, ephemeral?: Uint8Array, nonce?: Uint8Array): Promise<Sealed> {
  const secret = ephemeral ?? randomBytes(32);
  if (secret.length !== 32) throw new Error("an X25519 secret is 32 bytes");
  const priv = await subtle().importKey("pkcs8", concat(PKCS8_X25519, secret), { name: "X25519" }, true, ["deriveBits"]);
  const jwk = await subtle().exportKey("jwk", priv);
  const epk = jwk.x === undefined ? undefined : fromBase64url(jwk.x);
  if (epk === undefined || epk.length !== 32) throw new Error("the platform derived no X25519 public key");
  const shared = await agree(priv, to.x25519());
  if (shared === undefined) throw new Error("cannot agree a key with this public key");
  const key = await derive(shared, [utf8("to"), epk, to.bytes]);
  const sealed = await key.seal(aad, plaintext, nonce ?? randomBytes(12));
  return { epk: base64url(epk), nonce: sealed.nonce, ct: sealed.ct };
}

/** Opens a payload sealed to `me` with {@link sealTo}; `undefined` when it does not open. */
export async function openTo(me: Identity, aad: Uint8Array, sealed: Sealed): Promise<Bytes | undefined> {
  const epk = sealed.epk === undefined ? undefined : fromBase64url(sealed.epk);
  if (epk === undefined || epk.length !== 32) return undefined;
  const shared = await agree(await me.x25519Key(), epk);
  if (shared === undefined) return undefined;
  const key = await derive(shared, [utf8("to"), epk, me.publicKey.bytes]);
  return key.open(aad, sealed);
}


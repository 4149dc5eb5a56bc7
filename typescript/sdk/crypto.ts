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

import { type Bytes, base64url, concat, copy, fromBase64url, hex, randomBytes, utf8 } from "./bytes.js";
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

/** How every sealed body starts (bodies are written compactly). */
export const SEALED_PREFIX = '{"sealed":';

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

  /** Encrypts `plaintext` bound to `aad` (the key expression it travels on). */
  async seal(aad: string, plaintext: Uint8Array): Promise<Sealed> {
    const nonce = randomBytes(12);
    const ct = await subtle().encrypt({ name: "AES-GCM", iv: nonce, additionalData: utf8(aad) }, this.#key, copy(plaintext));
    return { kid: this.kid, nonce: base64url(nonce), ct: base64url(new Uint8Array(ct)) };
  }

  /** Decrypts a payload sealed with this key for `aad`; `undefined` when it does not open. */
  async open(aad: string, sealed: Sealed): Promise<Bytes | undefined> {
    const nonce = fromBase64url(sealed.nonce);
    const ct = fromBase64url(sealed.ct);
    if (nonce === undefined || nonce.length !== 12 || ct === undefined) return undefined;
    try {
      const plain = await subtle().decrypt({ name: "AES-GCM", iv: nonce, additionalData: utf8(aad) }, this.#key, ct);
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

/** HKDF-SHA256 with salt `safething/v1` and the info parts joined by a 0 byte. */
async function derive(shared: Uint8Array, info: Uint8Array[], kid = ""): Promise<SymmetricKey> {
  const parts: Uint8Array[] = [];
  info.forEach((part, i) => {
    if (i > 0) parts.push(Uint8Array.of(0));
    parts.push(part);
  });
  const ikm = await subtle().importKey("raw", copy(shared), "HKDF", false, ["deriveBits"]);
  const bits = await subtle().deriveBits({ name: "HKDF", hash: "SHA-256", salt: utf8("safething/v1"), info: concat(...parts) }, ikm, 256);
  return SymmetricKey.fromSecret(kid, new Uint8Array(bits));
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
  const secret = await k?.open(wrapped.kid, { nonce: mine.nonce, ct: mine.ct });
  if (secret === undefined || secret.length !== 32) return undefined;
  return SymmetricKey.fromSecret(wrapped.kid, secret);
}

/** Wraps `key` for each holder (the device's side; used by tests and tools). */
export async function wrap(device: Identity, thing: string, key: SymmetricKey, holders: PublicKey[]): Promise<WrappedKey> {
  const out: WrappedKey = { kid: key.kid, holders: {} };
  const secret = await key.secret();
  for (const holder of holders) {
    const k = await wrappingKey(device, holder, thing, key.kid, holder);
    if (k === undefined) continue;
    const sealed = await k.seal(key.kid, secret);
    out.holders[holder.toString()] = { nonce: sealed.nonce, ct: sealed.ct };
  }
  return out;
}

/** Seals `plaintext` so that only the holder of `to` can open it (an ephemeral X25519 key). */
export async function sealTo(to: PublicKey, aad: string, plaintext: Uint8Array): Promise<Sealed> {
  const eph = (await subtle().generateKey({ name: "X25519" }, true, ["deriveBits"])) as CryptoKeyPair;
  const epk = new Uint8Array(await subtle().exportKey("raw", eph.publicKey));
  const shared = await agree(eph.privateKey, to.x25519());
  if (shared === undefined) throw new Error("cannot agree a key with this public key");
  const key = await derive(shared, [utf8("to"), epk, to.bytes]);
  const sealed = await key.seal(aad, plaintext);
  return { epk: base64url(epk), nonce: sealed.nonce, ct: sealed.ct };
}

/** Opens a payload sealed to `me` with {@link sealTo}; `undefined` when it does not open. */
export async function openTo(me: Identity, aad: string, sealed: Sealed): Promise<Bytes | undefined> {
  const epk = sealed.epk === undefined ? undefined : fromBase64url(sealed.epk);
  if (epk === undefined || epk.length !== 32) return undefined;
  const shared = await agree(await me.x25519Key(), epk);
  if (shared === undefined) return undefined;
  const key = await derive(shared, [utf8("to"), epk, me.publicKey.bytes]);
  return key.open(aad, sealed);
}


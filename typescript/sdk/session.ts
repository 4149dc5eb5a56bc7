// Sessions for request/reply (`docs/protocol.md` §10): one signed handshake with a thing
// (X25519 ephemeral keys, both sides signing the transcript), then requests and replies sealed
// with AES-256-GCM under pairwise, directional keys, with counters. Inside travels the unsigned
// v2 frame the request or reply would have been, so every binding of protocol v2 holds.
// A platform without X25519 in WebCrypto makes no session: requests then go signed, as before.

import { type Bytes, concat, copy, equal, fromBase64url, randomBytes, utf8 } from "./bytes.js";
import { hkdf } from "./crypto.js";
import { type Binding, decode, encodeUnsigned, type Kind, signingInput, VERSION } from "./frame.js";
import type { Identity, PublicKey } from "./identity.js";
import type { Opened } from "./message.js";
import { UntrustedError } from "./errors.js";
import type { Transport } from "./transport.js";

/** The frame kind byte of session frames. */
export const SESSION_KIND = 0x06;
/** Session frame types. */
export const HELLO = 0x01;
export const WELCOME = 0x02;
export const SEALED = 0x03;
export const UNKNOWN = 0x04;
export const REFUSED = 0x05;
const HELLO_SIGNED = 5 + 32 + 32 + 8 + 32;
const HELLO_LEN = HELLO_SIGNED + 64;
const WELCOME_SIGNED = 5 + 16 + 32 + 16 + 8 + 4 + 4;
const WELCOME_LEN = WELCOME_SIGNED + 64;
const UNKNOWN_SIGNED = 5 + 16 + 8 + 8;
const UNKNOWN_LEN = UNKNOWN_SIGNED + 64;
const SEALED_HEADER = 5 + 16 + 8;
/** How many counters behind the highest one a receiver still accepts. */
const WINDOW = 128n;

const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

function subtle(): SubtleCrypto {
  return globalThis.crypto.subtle;
}

/** The key expression handshakes go on. */
export function sessionKey(thing: string): string {
  return `safething/v1/${thing}/session`;
}

/** Whether `bytes` is a session frame: `"ST" 02 06`. */
export function isSessionFrame(bytes: Uint8Array): boolean {
  return bytes.length >= 5 && bytes[0] === 0x53 && bytes[1] === 0x54 && bytes[2] === VERSION && bytes[3] === SESSION_KIND;
}

function prefix(type: number): Bytes {
  return Uint8Array.of(0x53, 0x54, VERSION, SESSION_KIND, type);
}

function u64(n: bigint): Bytes {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
}

function readU64(bytes: Uint8Array, at: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(at, false);
}

function readU32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, false);
}

function nonce(ctr: bigint): Bytes {
  return concat(new Uint8Array(4), u64(ctr));
}

/** An X25519 key pair from a 32-byte secret (random unless given, for known-answer tests). */
export async function ephemeral(secret?: Uint8Array): Promise<{ priv: CryptoKey; pub: Bytes }> {
  const priv = await subtle().importKey("pkcs8", concat(PKCS8_X25519, secret ?? randomBytes(32)), { name: "X25519" }, true, ["deriveBits"]);
  const jwk = await subtle().exportKey("jwk", priv);
  const pub = jwk.x === undefined ? undefined : fromBase64url(jwk.x);
  if (pub === undefined || pub.length !== 32) throw new Error("the platform derived no X25519 public key");
  return { priv, pub };
}

/** The client's hello: its key, the thing's, a timestamp and its ephemeral key, signed. */
export async function hello(me: Identity, thing: PublicKey, key: string, ts: bigint, epk: Uint8Array): Promise<Bytes> {
  const signed = concat(prefix(HELLO), me.publicKey.bytes, thing.bytes, u64(ts), epk);
  return concat(signed, await me.sign(signingInput(key, signed)));
}

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
export async function acceptWelcome(thing: PublicKey, key: string, helloBytes: Uint8Array, priv: CryptoKey, welcome: Uint8Array): Promise<SessionKeys> {
  if (welcome.length !== WELCOME_LEN || !isSessionFrame(welcome) || welcome[4] !== WELCOME) throw new UntrustedError("not a welcome");
  const signed = welcome.subarray(0, WELCOME_SIGNED);
  if (!(await thing.verify(signingInput(key, concat(helloBytes, signed)), welcome.subarray(WELCOME_SIGNED)))) throw new UntrustedError("bad handshake signature");
  const sid = copy(welcome.subarray(5, 21));
  const epk = copy(welcome.subarray(21, 53));
  const boot = copy(welcome.subarray(53, 69));
  const lifetimeMs = readU32(welcome, 77);
  const maxMessages = readU32(welcome, 81);
  let shared: Bytes;
  try {
    const pub = await subtle().importKey("raw", epk, { name: "X25519" }, false, []);
    shared = new Uint8Array(await subtle().deriveBits({ name: "X25519", public: pub }, priv, 256));
  } catch {
    throw new UntrustedError("key agreement failed");
  }
  if (shared.every((b) => b === 0)) throw new UntrustedError("key agreement failed");
  const transcript = new Uint8Array(await subtle().digest("SHA-256", concat(helloBytes, welcome)));
  const c2d = await hkdf(shared, [utf8("session c2d"), transcript]);
  const d2c = await hkdf(shared, [utf8("session d2c"), transcript]);
  return { sid, boot, lifetimeMs, maxMessages, transcript, c2d, d2c };
}

/** The associated data of a sealed frame: `"safething/v2" 0 lp(key) header`. */
export function sealedAad(key: string, header: Uint8Array): Bytes {
  return signingInput(key, header);
}

/** Seals `plain` (an unsigned v2 frame) as frame `ctr` of session `sid` on `key`. */
export async function sealFrame(k: CryptoKey, key: string, sid: Uint8Array, ctr: bigint, plain: Uint8Array): Promise<Bytes> {
  const header = concat(prefix(SEALED), sid, u64(ctr));
  const ct = new Uint8Array(await subtle().encrypt({ name: "AES-GCM", iv: nonce(ctr), additionalData: sealedAad(key, header) }, k, copy(plain)));
  return concat(header, ct);
}

/** Opens a sealed frame; `undefined` when it does not decrypt under `k`. */
export async function openFrame(k: CryptoKey, key: string, frame: Uint8Array): Promise<{ sid: Bytes; ctr: bigint; plain: Bytes } | undefined> {
  if (!isSessionFrame(frame) || frame[4] !== SEALED || frame.length < SEALED_HEADER + 16) return undefined;
  const header = frame.subarray(0, SEALED_HEADER);
  const ctr = readU64(frame, 21);
  try {
    const plain = await subtle().decrypt({ name: "AES-GCM", iv: nonce(ctr), additionalData: sealedAad(key, header) }, k, copy(frame.subarray(SEALED_HEADER)));
    return { sid: copy(frame.subarray(5, 21)), ctr, plain: new Uint8Array(plain) };
  } catch {
    return undefined;
  }
}

/** Imports a session key for AES-GCM. */
export function aesKey(secret: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey("raw", copy(secret), "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Counters seen: the highest, and a bitmap of the {@link WINDOW} below it. */
class ReplayWindow {
  #top = 0n;
  #seen = 0n;

  accept(ctr: bigint): boolean {
    if (ctr === 0n) return false;
    if (ctr > this.#top) {
      const shift = ctr - this.#top;
      this.#seen = shift >= WINDOW ? 1n : ((this.#seen << shift) | 1n) & ((1n << WINDOW) - 1n);
      this.#top = ctr;
      return true;
    }
    const behind = this.#top - ctr;
    if (behind >= WINDOW) return false;
    const bit = 1n << behind;
    if ((this.#seen & bit) !== 0n) return false;
    this.#seen |= bit;
    return true;
  }
}

/** What a reply in a session turned out to be. */
export type Answer = { type: "frame"; plain: Bytes } | { type: "unknown"; ctr: bigint };

/** A session with one thing, as the client holds it. */
export class ClientSession {
  readonly sid: Bytes;
  /** The device's boot epoch when the session was made: requests in it name it. */
  readonly boot: Bytes;
  readonly #thing: PublicKey;
  readonly #c2d: CryptoKey;
  readonly #d2c: CryptoKey;
  readonly #renewAt: number;
  readonly #maxMessages: bigint;
  #sent = 0n;
  readonly #window = new ReplayWindow();

  private constructor(thing: PublicKey, keys: SessionKeys, c2d: CryptoKey, d2c: CryptoKey, started: number) {
    this.sid = keys.sid;
    this.boot = keys.boot;
    this.#thing = thing;
    this.#c2d = c2d;
    this.#d2c = d2c;
    this.#renewAt = started + keys.lifetimeMs * 0.9;
    this.#maxMessages = BigInt(keys.maxMessages);
  }

  /** @internal */
  static async create(thing: PublicKey, keys: SessionKeys, started: number): Promise<ClientSession> {
    return new ClientSession(thing, keys, await aesKey(keys.c2d), await aesKey(keys.d2c), started);
  }

  /** Whether it may still be used (the device keeps it, and counters remain). */
  usable(): boolean {
    return Date.now() < this.#renewAt && this.#sent + 1024n < this.#maxMessages;
  }

  /** Seals an unsigned v2 request frame on `key`: the frame and its counter. */
  async seal(key: string, plain: Uint8Array): Promise<{ frame: Bytes; ctr: bigint }> {
    this.#sent += 1n;
    const ctr = this.#sent;
    return { frame: await sealFrame(this.#c2d, key, this.sid, ctr, plain), ctr };
  }

  /** Opens a reply received on `key`: a sealed frame of this session, or the device's signed unknown-session answer; throws {@link UntrustedError}. */
  async open(key: string, frame: Uint8Array): Promise<Answer> {
    if (isSessionFrame(frame) && frame[4] === UNKNOWN) {
      if (frame.length !== UNKNOWN_LEN) throw new UntrustedError("malformed session frame");
      const signed = frame.subarray(0, UNKNOWN_SIGNED);
      if (!(await this.#thing.verify(signingInput(key, signed), frame.subarray(UNKNOWN_SIGNED)))) throw new UntrustedError("bad signature");
      if (!equal(frame.subarray(5, 21), this.sid)) throw new UntrustedError("an answer about another session");
      return { type: "unknown", ctr: readU64(frame, 21) };
    }
    const opened = await openFrame(this.#d2c, key, frame);
    if (opened === undefined || !equal(opened.sid, this.sid)) throw new UntrustedError("a session frame that does not decrypt");
    if (!this.#window.accept(opened.ctr)) throw new UntrustedError("replayed session counter");
    return { type: "frame", plain: opened.plain };
  }
}

/**
 * Makes a session with the thing whose pinned key is `thing` (`key`: {@link sessionKey} of its
 * id); throws when there is none to be had (the caller then sends signed requests).
 */
export async function handshake(transport: Transport, me: Identity, thing: PublicKey, key: string, timeoutMs: number): Promise<ClientSession> {
  const started = Date.now();
  const eph = await ephemeral();
  const helloBytes = await hello(me, thing, key, BigInt(started), eph.pub);
  const replies = await transport.query(key, helloBytes, timeoutMs);
  const timer = setTimeout(() => replies.close(), timeoutMs + 1000);
  try {
    for (;;) {
      const sample = await replies.next();
      if (sample === undefined) break;
      if (isSessionFrame(sample.frame) && sample.frame[4] === REFUSED) throw new UntrustedError("the device refused a session");
      try {
        const keys = await acceptWelcome(thing, key, helloBytes, eph.priv, sample.frame);
        return await ClientSession.create(thing, keys, started);
      } catch {
        // Not a valid welcome: keep waiting.
      }
    }
  } finally {
    clearTimeout(timer);
    replies.close();
  }
  throw new UntrustedError("no valid answer to the handshake");
}

/** An unsigned v2 frame, body in the clear: what a session carries. */
export function plainFrame(sender: PublicKey, kind: Kind, binding: Binding, id: Uint8Array, ts: bigint, body: Uint8Array): Bytes {
  return encodeUnsigned({ kind, sealed: false, sender: sender.bytes, id: copy(id), ts, binding }, body, false);
}

/** Reads the v2 frame a session carried: unsigned, in the clear, from `peer`, fresh; throws {@link UntrustedError}. */
export function openPlain(plain: Uint8Array, peer: PublicKey, windowMs: number): Opened {
  let f;
  try {
    f = decode(plain);
  } catch (e) {
    throw new UntrustedError(`malformed message: ${e instanceof Error ? e.message : String(e)}`);
  }
  const h = f.header;
  if (f.signature !== undefined || h.sealed) throw new UntrustedError("a session carries unsigned frames in the clear");
  if (!equal(h.sender, peer.bytes)) throw new UntrustedError("a session frame from someone else");
  const ts = Number(h.ts);
  const skew = Math.abs(Date.now() - ts);
  if (!(skew <= windowMs)) throw new UntrustedError(`stale message: sent ${skew} ms away from now (window ${windowMs} ms)`);
  return { from: peer, id: h.id, ts, kind: h.kind, binding: h.binding, sealed: false, body: f.body };
}

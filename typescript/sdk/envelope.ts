/**
 * Envelopes: how every message travels, exactly as the Rust runtime writes and checks them.
 *
 * ```json
 * {"v":1,"from":"st…","id":"9f2c…-17","ts":1764250000123,"body":{…},"sig":"…"}
 * ```
 *
 * `sig` is an Ed25519 signature (base64url, no padding) over
 * `"safething/v1" 0 key 0 from(32 bytes) id 0 ts(8 bytes, big-endian) body`, where `key` is the
 * key expression the message travels on and `body` the body's exact text. Receivers verify the
 * body as received: {@link scanMembers} finds the raw text of each top-level member of the
 * envelope, so no canonical JSON is needed.
 *
 * @module
 */

import { type Bytes, base64url, concat, fromBase64url, hex, randomBytes, utf8 } from "./bytes.js";
import { UntrustedError } from "./errors.js";
import { type Identity, PublicKey } from "./identity.js";
import type { Json } from "./wire.js";

/** The envelope format version. */
export const VERSION = 1;

/** The default freshness window: how far a sender's clock may be from ours (120 s). */
export const DEFAULT_WINDOW_MS = 120_000;

/** The bytes a signature covers. */
export function signingInput(key: string, from: PublicKey, id: string, ts: number, body: string): Bytes {
  const stamp = new Uint8Array(8);
  new DataView(stamp.buffer).setBigUint64(0, BigInt(ts), false);
  return concat(utf8("safething/v1\0"), utf8(key), Uint8Array.of(0), from.bytes, utf8(id), Uint8Array.of(0), stamp, utf8(body));
}

/** Where a raw JSON value sits in a text: `text.slice(start, end)`. */
export interface Span {
  start: number;
  end: number;
}

function skipWhitespace(text: string, at: number): number {
  let i = at;
  while (i < text.length && " \t\n\r".includes(text[i] ?? "")) i++;
  return i;
}

function skipString(text: string, at: number): number {
  // text[at] is the opening quote.
  let i = at + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  throw new Error("unterminated string");
}

function skipValue(text: string, at: number): number {
  const c = text[at];
  if (c === '"') return skipString(text, at);
  if (c === "{" || c === "[") {
    let depth = 0;
    let i = at;
    while (i < text.length) {
      const d = text[i];
      if (d === '"') {
        i = skipString(text, i);
        continue;
      }
      if (d === "{" || d === "[") depth++;
      else if (d === "}" || d === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new Error("unterminated object or array");
  }
  let i = at;
  while (i < text.length && !",}] \t\n\r".includes(text[i] ?? "")) i++;
  if (i === at) throw new Error(`unexpected character at ${at}`);
  return i;
}

/**
 * The raw text span of every top-level member of a JSON object (a scanner, not a parser:
 * each member's text is checked by `JSON.parse` where it is used). Throws on malformed input.
 */
export function scanMembers(text: string): Map<string, Span> {
  const members = new Map<string, Span>();
  let i = skipWhitespace(text, 0);
  if (text[i] !== "{") throw new Error("not a JSON object");
  i = skipWhitespace(text, i + 1);
  if (text[i] === "}") return members;
  for (;;) {
    if (text[i] !== '"') throw new Error(`expected a member name at ${i}`);
    const nameEnd = skipString(text, i);
    const name: unknown = JSON.parse(text.slice(i, nameEnd));
    if (typeof name !== "string") throw new Error("bad member name");
    i = skipWhitespace(text, nameEnd);
    if (text[i] !== ":") throw new Error(`expected \`:\` at ${i}`);
    i = skipWhitespace(text, i + 1);
    const end = skipValue(text, i);
    if (members.has(name)) throw new Error(`duplicate member \`${name}\``);
    members.set(name, { start: i, end });
    i = skipWhitespace(text, end);
    if (text[i] === ",") {
      i = skipWhitespace(text, i + 1);
      continue;
    }
    if (text[i] === "}") {
      if (skipWhitespace(text, i + 1) !== text.length) throw new Error("trailing characters after the object");
      return members;
    }
    throw new Error(`expected \`,\` or \`}\` at ${i}`);
  }
}

/** Signs and wraps outgoing messages for one participant. */
export class Sealer {
  readonly #identity: Identity;
  readonly #nonce = hex(randomBytes(8));
  #counter = 0;

  constructor(identity: Identity) {
    this.#identity = identity;
  }

  /** The participant's identity. */
  get identity(): Identity {
    return this.#identity;
  }

  /** A fresh message id, unique for this sender (`<random hex>-<counter hex>`). */
  nextId(): string {
    const n = this.#counter++;
    return `${this.#nonce}-${n.toString(16)}`;
  }

  /** Wraps `body` for sending on `key`: the envelope's text. */
  seal(key: string, body: Json | object): Promise<string> {
    return this.sealRaw(key, JSON.stringify(body), this.nextId());
  }

  /** Wraps an already serialized body with a given message id. */
  async sealRaw(key: string, body: string, id: string, ts: number = Date.now()): Promise<string> {
    const from = this.#identity.publicKey;
    const sig = await this.#identity.sign(signingInput(key, from, id, ts, body));
    return `{"v":${VERSION},"from":${JSON.stringify(from.toString())},"id":${JSON.stringify(id)},"ts":${ts},"body":${body},"sig":"${base64url(sig)}"}`;
  }
}

/** A received, checked message. */
export interface Opened {
  /** Who sent (and signed) it. */
  from: PublicKey;
  /** Its id, unique for the sender. */
  id: string;
  /** The sender's timestamp, Unix milliseconds. */
  ts: number;
  /** The body's exact text. */
  body: string;
}

/** Checks received envelopes: shape, version, signature, freshness. Always requires signatures. */
export class Verifier {
  readonly windowMs: number;
  readonly #keys = new Map<string, PublicKey>();

  constructor(windowMs: number = DEFAULT_WINDOW_MS) {
    this.windowMs = windowMs;
  }

  #key(text: string): PublicKey {
    let key = this.#keys.get(text);
    if (key === undefined) {
      key = PublicKey.parse(text);
      if (this.#keys.size > 1024) this.#keys.clear();
      this.#keys.set(text, key);
    }
    return key;
  }

  /** Opens the envelope text received on `key`; throws {@link UntrustedError}. */
  async open(key: string, envelope: string, now: number = Date.now()): Promise<Opened> {
    let members: Map<string, Span>;
    try {
      members = scanMembers(envelope);
    } catch (e) {
      throw new UntrustedError(`malformed message: ${e instanceof Error ? e.message : String(e)}`);
    }
    const raw = (name: string): string | undefined => {
      const span = members.get(name);
      return span === undefined ? undefined : envelope.slice(span.start, span.end);
    };
    const parse = (name: string): unknown => {
      const text = raw(name);
      if (text === undefined) throw new UntrustedError(`malformed message: missing \`${name}\``);
      try {
        return JSON.parse(text);
      } catch {
        throw new UntrustedError(`malformed message: \`${name}\` is not JSON`);
      }
    };
    const v = parse("v");
    if (v !== VERSION) throw new UntrustedError(`unsupported envelope version ${String(v)}`);
    const fromText = parse("from");
    const id = parse("id");
    const ts = parse("ts");
    const body = raw("body");
    if (typeof fromText !== "string" || typeof id !== "string" || typeof ts !== "number" || !Number.isSafeInteger(ts) || ts < 0 || body === undefined) {
      throw new UntrustedError("malformed message: bad `from`, `id`, `ts` or `body`");
    }
    parse("body");
    if (!members.has("sig")) throw new UntrustedError("message is not signed");
    const sigText = parse("sig");
    let from: PublicKey;
    try {
      from = this.#key(fromText);
    } catch {
      throw new UntrustedError("malformed message: `from` is not a public key");
    }
    const sig = typeof sigText === "string" ? fromBase64url(sigText) : undefined;
    if (sig === undefined || sig.length !== 64) throw new UntrustedError("bad signature");
    if (!(await from.verify(signingInput(key, from, id, ts, body), sig))) throw new UntrustedError("bad signature");
    const skew = Math.abs(now - ts);
    if (skew > this.windowMs) throw new UntrustedError(`stale message: sent ${skew} ms away from now (window ${this.windowMs} ms)`);
    return { from, id, ts, body };
  }
}

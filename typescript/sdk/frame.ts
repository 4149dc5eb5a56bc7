/**
 * The protocol v2 frame: the one TypeScript reader and writer of the bytes every message
 * travels as (`docs/protocol.md` §1–2), byte for byte what the Rust runtime's `src/frame.rs`
 * reads and writes.
 *
 * ```text
 * "ST" 0x02 kind flags sender(32) n id(n) ts(u64be) binding len(u32be) body [signature(64)]
 * batched: ... body size(u16be) index(u16be) path(32 each) root-signature(64)
 * ```
 *
 * This module knows bytes only: signing, freshness and sealing are `message.ts`'s.
 *
 * @module
 */

import { type Bytes, concat, copy, utf8 } from "./bytes.js";

/** The protocol version this runtime speaks. */
export const VERSION = 2;
/** The domain label of signatures, HKDF salts and AEAD associated data. */
export const LABEL = "safething/v2";
/** The longest message id, in bytes. */
export const MAX_ID = 32;
/** The longest body, in bytes (16 MiB). */
export const MAX_BODY = 16 << 20;
/** The length of a boot epoch. */
export const EPOCH_LEN = 16;
/** The length of a signature. */
export const SIGNATURE_LEN = 64;

const FLAG_SIGNED = 0x01;
const FLAG_SEALED = 0x02;
const FLAG_BATCHED = 0x04;

/** What a frame is (§1.1). */
export enum Kind {
  /** A query's payload, to a device; bound to the device's boot epoch. */
  Request = 1,
  /** A device's answer to a request; bound to that request. */
  Reply = 2,
  /** An attribute update or an event. */
  Publication = 3,
  /** A request-state publication on `requests/<id>`; bound to the invoke request. */
  State = 4,
  /** A thing's description. */
  Description = 5,
}

/** What a frame is tied to besides its key (§1.2). */
export type Binding =
  | { type: "none" }
  | { type: "epoch"; epoch: Bytes }
  | { type: "request"; id: Bytes; requester: Bytes };

/** A frame's header fields. */
export interface Header {
  kind: Kind;
  /** Whether the body is sealed (`{"sealed":…}`). */
  sealed: boolean;
  /** The sender's ed25519 public key, 32 bytes. */
  sender: Bytes;
  /** The message id, 1 to 32 bytes. */
  id: Bytes;
  /** The sender's clock, Unix milliseconds (a u64, hence a bigint). */
  ts: bigint;
  binding: Binding;
}

/** A frame read from bytes. */
export interface Frame {
  header: Header;
  /** The body bytes, as received. */
  body: Bytes;
  /** Every byte the signature covers besides the label and key expression. */
  signedPart: Bytes;
  /** The signature, when the signed flag is set (a batch's root signature with `batch`). */
  signature: Bytes | undefined;
  /** The frame's place in a signed batch, when the batched flag is set (§2.1). */
  batch?: Proof;
}

/** A frame's place in a signed batch (§2.1). */
export interface Proof {
  /** How many frames the batch has (at least 2). */
  size: number;
  /** This frame's position, below `size`. */
  index: number;
  /** The audit path, lowest sibling first: 32 bytes per hash, as many as {@link pathLength} says. */
  path: Bytes;
}

/**
 * How many hashes the audit path of leaf `index` in a tree of `size` leaves has (the walk of
 * RFC 9162 §2.1.3.2); `undefined` when `index` is not a leaf of it or `size` is below 2.
 */
export function pathLength(index: number, size: number): number | undefined {
  if (size < 2 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let n = 0;
  while (sn !== 0) {
    if ((fn & 1) === 0 && fn === sn) {
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    }
    fn >>= 1;
    sn >>= 1;
    n += 1;
  }
  return n;
}

/** Why bytes are not a frame this runtime accepts (never thrown for anything but bad input). */
export class FrameError extends Error {
  /** `unsupported_version` (a SAFEthing message of another version) or `malformed`. */
  readonly code: "unsupported_version" | "malformed";
  /** The version named, for `unsupported_version` (1 for a JSON envelope). */
  readonly version: number | undefined;

  constructor(code: "unsupported_version" | "malformed", detail: string, version?: number) {
    super(code === "unsupported_version" ? `unsupported protocol version ${version ?? "?"} (this runtime speaks version 2)` : `malformed frame: ${detail}`);
    this.name = "FrameError";
    this.code = code;
    this.version = version;
  }
}

const malformed = (what: string) => new FrameError("malformed", what);

/** A cursor that never reads past the end of its input. */
class Reader {
  at: number;
  constructor(
    readonly bytes: Uint8Array,
    at: number,
  ) {
    this.at = at;
  }

  take(n: number, what: string): Bytes {
    if (this.bytes.length - this.at < n) throw malformed(what);
    const out = copy(this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return out;
  }

  byte(what: string): number {
    if (this.at >= this.bytes.length) throw malformed(what);
    const b = this.bytes[this.at] ?? 0;
    this.at += 1;
    return b;
  }

  id(what: string): Bytes {
    const n = this.byte(what);
    const bytes = this.take(n, what);
    if (n < 1 || n > MAX_ID) throw malformed("id length not within 1..=32");
    return bytes;
  }

  u16(what: string): number {
    const b = this.take(2, what);
    return new DataView(b.buffer).getUint16(0, false);
  }

  u32(what: string): number {
    const b = this.take(4, what);
    return new DataView(b.buffer).getUint32(0, false);
  }

  u64(what: string): bigint {
    const b = this.take(8, what);
    return new DataView(b.buffer).getBigUint64(0, false);
  }
}

function kindOf(b: number): Kind | undefined {
  return b >= 1 && b <= 5 ? (b as Kind) : undefined;
}

/**
 * Reads a frame; throws {@link FrameError}. Checks the layout only: the signature is checked by
 * whoever knows the key expression ({@link signingInput}).
 */
export function decode(bytes: Uint8Array): Frame {
  if (bytes[0] === 0x53 && bytes[1] === 0x54 && bytes.length >= 3) {
    const v = bytes[2] ?? 0;
    if (v !== VERSION) throw new FrameError("unsupported_version", "", v);
  } else if (bytes[0] === 0x7b) {
    // A v1 envelope was a JSON object.
    throw new FrameError("unsupported_version", "", 1);
  } else {
    throw malformed("not a SAFEthing frame");
  }
  const r = new Reader(bytes, 3);
  const kind = kindOf(r.byte("kind"));
  if (kind === undefined) throw malformed("unknown kind");
  const flags = r.byte("flags");
  if ((flags & ~(FLAG_SIGNED | FLAG_SEALED | FLAG_BATCHED)) !== 0) throw malformed("unknown flags");
  if ((flags & FLAG_BATCHED) !== 0 && (flags & FLAG_SIGNED) === 0) throw malformed("batched but not signed");
  const sender = r.take(32, "sender");
  const id = r.id("message id");
  const ts = r.u64("timestamp");
  let binding: Binding;
  switch (kind) {
    case Kind.Request:
      binding = { type: "epoch", epoch: r.take(EPOCH_LEN, "epoch") };
      break;
    case Kind.Reply:
    case Kind.State:
      binding = { type: "request", id: r.id("request id"), requester: r.take(32, "requester") };
      break;
    default:
      binding = { type: "none" };
  }
  const len = r.u32("body length");
  if (len > MAX_BODY) throw malformed("body too long");
  const body = r.take(len, "body");
  const signedLen = r.at;
  let batch: Proof | undefined;
  if ((flags & FLAG_BATCHED) !== 0) {
    const size = r.u16("batch size");
    const index = r.u16("batch index");
    const n = pathLength(index, size);
    if (n === undefined) throw malformed("batch index not within 0..size, size below 2");
    batch = { size, index, path: r.take(n * 32, "batch path") };
  }
  const signature = (flags & FLAG_SIGNED) !== 0 ? r.take(SIGNATURE_LEN, "signature") : undefined;
  if (r.at !== bytes.length) throw malformed("trailing bytes");
  const frame: Frame = {
    header: { kind, sealed: (flags & FLAG_SEALED) !== 0, sender, id, ts, binding },
    body,
    signedPart: copy(bytes.subarray(0, signedLen)),
    signature,
  };
  if (batch !== undefined) frame.batch = batch;
  return frame;
}

/** Whether `binding` has the shape a frame of `kind` carries. */
function fits(kind: Kind, binding: Binding): boolean {
  switch (kind) {
    case Kind.Request:
      return binding.type === "epoch" && binding.epoch.length === EPOCH_LEN;
    case Kind.Reply:
    case Kind.State:
      return binding.type === "request" && binding.id.length >= 1 && binding.id.length <= MAX_ID && binding.requester.length === 32;
    default:
      return binding.type === "none";
  }
}

/**
 * The bytes of a frame up to its signature (what {@link signingInput} covers); throws
 * {@link FrameError} for fields a frame cannot hold.
 */
export function encodeUnsigned(header: Header, body: Uint8Array, signed: boolean): Bytes {
  if (!fits(header.kind, header.binding)) throw malformed("binding does not fit the kind");
  if (header.sender.length !== 32) throw malformed("sender");
  if (header.id.length < 1 || header.id.length > MAX_ID) throw malformed("id length not within 1..=32");
  if (header.ts < 0n || header.ts > 0xffff_ffff_ffff_ffffn) throw malformed("timestamp");
  if (body.length > MAX_BODY) throw malformed("body too long");
  const fixed = new Uint8Array(5);
  fixed.set([0x53, 0x54, VERSION, header.kind, (signed ? FLAG_SIGNED : 0) | (header.sealed ? FLAG_SEALED : 0)]);
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, header.ts, false);
  const b = header.binding;
  const binding =
    b.type === "epoch" ? b.epoch : b.type === "request" ? concat(Uint8Array.of(b.id.length), b.id, b.requester) : new Uint8Array(0);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, body.length, false);
  return concat(fixed, header.sender, Uint8Array.of(header.id.length), header.id, ts, binding, len, body);
}

/** `lp(x)`: `u16be(len(x)) ‖ x`; throws {@link FrameError} when `x` is longer than 65535. */
export function lp(x: Uint8Array): Bytes {
  if (x.length > 0xffff) throw malformed("length-prefixed part too long");
  return concat(Uint8Array.of(x.length >> 8, x.length & 0xff), x);
}

/** What an ed25519 signature covers: `"safething/v2" 0x00 lp(key) frame-without-signature`. */
export function signingInput(key: string, signedPart: Uint8Array): Bytes {
  return concat(utf8(LABEL), Uint8Array.of(0), lp(utf8(key)), signedPart);
}

/**
 * The client: discover things, read and watch attributes, receive events, write, run actions and
 * administer things — the same behaviour as the Rust runtime's `safething::client`.
 *
 * ```ts
 * const transport = await GatewayTransport.connect("http://127.0.0.1:8080");
 * const client = await Client.connect({ transport, identity });
 * const garden = await client.thing("garden-01");
 * for await (const update of await garden.watch("moisture_level", (f) => f.lt(5))) {
 *   const action = await garden.invoke("open_valve", { psi: 60 });
 *   console.log(update.value, await action.output());
 * }
 * ```
 *
 * @module
 */

import { type Bytes, fromUtf8, hex, utf8 } from "./bytes.js";
import { type Sealed, type SymmetricKey, bodyAad, unwrap } from "./crypto.js";
import { Kind } from "./frame.js";
import { type Opened, type Protection, Sealer, Verifier, expectBound, parseBoot } from "./message.js";
import { type ClientSession, handshake, isSessionFrame, openPlain, plainFrame, sessionKey } from "./session.js";
import {
  AccessDeniedError,
  CancelledError,
  ActionFailedError,
  InvalidPayloadError,
  NoValueError,
  OfflineError,
  ProtocolError,
  RejectedError,
  ShutdownError,
  TimedOutError,
  TransportError,
  UnknownAffordanceError,
  UnknownThingError,
  UntrustedError,
  type AffordanceKind,
  type AnySafethingError,
  fromProblem,
} from "./errors.js";
import { type FilterArg, FilterState, toFilter } from "./filter.js";
import { Identity, PublicKey } from "./identity.js";
import * as keys from "./keys.js";
import { CompiledSchema, parseDuration } from "./schema.js";
import type { LivelinessChange, Sample, Stream, Transport } from "./transport.js";
import {
  type Access,
  type ActionState,
  type ActionUpdate,
  type AdminRequest,
  type AttributeDefinition,
  type AttributeUpdate,
  type DataSchema,
  type Definition,
  type Description,
  type EventMessage,
  type Json,
  type Lifecycle,
  type Problem,
  type ReadReply,
  type WrappedKey,
  isFinal,
} from "./wire.js";

/** How long the client waits beyond an action's deadline for the device's final word. */
const DEADLINE_GRACE_MS = 2000;
/** Default action deadline when neither the definition nor the caller sets one. */
const DEFAULT_ACTION_TIMEOUT_MS = 60_000;
/** How many unwrapped keys a handle remembers. */
const KNOWN_KEYS = 8;

/** Options of {@link Client.connect}. */
export interface ClientOptions {
  /** The network (e.g. a {@link GatewayTransport}). */
  transport: Transport;
  /** Who this client is (default: a fresh identity, kept in memory). */
  identity?: Identity;
  /** Trusted thing keys by thing id (instead of trusting the first key seen). */
  trust?: { [thingId: string]: PublicKey | string };
  /** How long reads, writes and descriptions wait for the device (default 5000 ms). */
  requestTimeoutMs?: number;
  /** How long discovery collects answers (default 1000 ms). */
  discoveryTimeoutMs?: number;
  /** How far a sender's clock may be from ours (default 120 000 ms). */
  freshnessMs?: number;
  /**
   * Whether reads, writes, actions and their status/cancel go in a session with each thing
   * (`docs/protocol.md` §10: one signed handshake, then AES-GCM frames; default true). A platform
   * or device without sessions gets signed requests, and callers see the same results.
   */
  sessions?: boolean;
}

/** A thing found by discovery. */
export interface ThingSummary {
  id: string;
  /** Its definition's name (the thing type). */
  name: string;
  /** Human title (the definition's title, or its name). */
  title: string;
  /** Definition version. */
  version: string;
  state: Lifecycle;
  /** Whether it is online now. */
  online: boolean;
  /** Its public key. */
  key: PublicKey;
  /** Its owner's key, if claimed. */
  owner: PublicKey | undefined;
}

/** The current value of an attribute. */
export interface AttributeReading<T = Json> {
  value: T;
  /** Its sequence number. */
  seq: number;
  /** When the device set it, Unix milliseconds. */
  ts: number;
}

/** Where a reading came from: the device, or a store that kept the thing's signed publication. */
export type Source = "device" | "store";

/** A remembered value and who kept it. */
export type SourcedEntry<T = Json> = HistoryEntry<T> & { source: Source };

/** An attribute's value and where it came from ({@link RemoteThing.readWithSource}). */
export interface Reading<T = Json> {
  value: T;
  /** Its sequence number. */
  seq: number;
  /** When the device set it (device) or published it (store), Unix milliseconds. */
  timestamp: number;
  /** Who answered. */
  source: Source;
  /** How old the value is by this machine's clock, milliseconds (0 for a clock behind). */
  ageMs: number;
}

/** What a client asks a store for (`docs/protocol.md` §11): the query payload, JSON. */
export type StoreQuery = { op: "latest" } | { op: "history"; limit: number } | { op: "since"; after: { epoch: number; seq: number; ts: number }; limit: number };

/** The most frames a store returns for one query, whatever it is asked. */
export const STORE_MAX_LIMIT = 1000;

/** How long stores have to answer, at most. */
const STORE_TIMEOUT_MS = 2000;

/** How old `ts` is now, milliseconds (0 for a clock behind). */
function ageOf(ts: number): number {
  return Math.max(0, Date.now() - ts);
}

/**
 * Whether a failed device read may be answered by a store: the device did not answer (or the
 * network failed), not "no such attribute", "forbidden" or a bad answer.
 */
function fallsBack(e: unknown): boolean {
  return e instanceof OfflineError || e instanceof TimedOutError || e instanceof UnknownThingError || e instanceof TransportError;
}

/** One remembered value of an attribute. */
export interface HistoryEntry<T = Json> {
  value: T;
  seq: number;
  /** When it was set, Unix milliseconds. */
  ts: number;
}

/** A change of an attribute. */
export interface Update<T = Json> {
  value: T;
  /** Consecutive values have consecutive numbers: a jump shows changes filtered out or lost. */
  seq: number;
  /** When the device set it, Unix milliseconds. */
  ts: number;
  /** The thing it comes from. */
  thing: string;
}

/** One delivery of an event. */
export interface EventDelivery<T = Json> {
  /** The payload (`null` for events without data). */
  data: T;
  seq: number;
  /** When the device emitted it, Unix milliseconds. */
  ts: number;
  /** The thing it comes from. */
  thing: string;
}

/** Options of one action request. */
export interface InvokeOptions {
  /** Overrides the definition's timeout, in milliseconds. */
  timeoutMs?: number;
  /** How many times to resend the identical request when the device does not answer at all. */
  retries?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Closes `stream` after `ms` (a guard against a transport that never ends a query). */
function closeAfter(stream: Stream<unknown>, ms: number): () => void {
  const timer = setTimeout(() => stream.close(), ms);
  return () => clearTimeout(timer);
}

/** Which things are online, from their liveliness tokens. */
class Presence {
  readonly #online = new Set<string>();
  readonly #listeners = new Set<(id: string, online: boolean) => void>();
  readonly #stream: Stream<LivelinessChange>;

  private constructor(stream: Stream<LivelinessChange>) {
    this.#stream = stream;
    void this.#run();
  }

  static async start(transport: Transport): Promise<Presence> {
    return new Presence(await transport.watchLiveliness(keys.ALL_THINGS));
  }

  async #run(): Promise<void> {
    for (;;) {
      let change: LivelinessChange | undefined;
      try {
        change = await this.#stream.next();
      } catch {
        change = undefined;
      }
      if (change === undefined) return;
      const id = keys.parseThing(change.key);
      if (id === undefined) continue;
      if (change.alive) this.#online.add(id);
      else this.#online.delete(id);
      for (const l of [...this.#listeners]) l(id, change.alive);
    }
  }

  isOnline(id: string): boolean {
    return this.#online.has(id);
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  listen(listener: (id: string, online: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#stream.close();
    this.#listeners.clear();
  }
}

/** One participant's access to things on a network. */
export class Client {
  /** @internal */ readonly transport: Transport;
  /** @internal */ readonly sealer: Sealer;
  /** @internal */ readonly verifier: Verifier;
  /** @internal */ readonly presence: Presence;
  /** @internal */ readonly requestTimeoutMs: number;
  /** @internal */ readonly sessions: boolean;
  readonly #discoveryTimeoutMs: number;
  readonly #pins = new Map<string, PublicKey>();
  #closed = false;

  private constructor(options: ClientOptions, identity: Identity, presence: Presence) {
    this.transport = options.transport;
    this.sealer = new Sealer(identity);
    this.verifier = new Verifier(options.freshnessMs);
    this.presence = presence;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.sessions = options.sessions ?? true;
    this.#discoveryTimeoutMs = options.discoveryTimeoutMs ?? 1000;
    for (const [id, key] of Object.entries(options.trust ?? {})) {
      this.#pins.set(id, typeof key === "string" ? PublicKey.parse(key) : key);
    }
  }

  /** Connects: starts following which things are online. */
  static async connect(options: ClientOptions): Promise<Client> {
    const identity = options.identity ?? (await Identity.generate());
    const presence = await Presence.start(options.transport);
    return new Client(options, identity, presence);
  }

  /** This client's identity. */
  get identity(): Identity {
    return this.sealer.identity;
  }

  /** This client's public key. */
  get publicKey(): PublicKey {
    return this.sealer.identity.publicKey;
  }

  /** Every thing that answers on the network, sorted by id (descriptions verified). */
  async discover(): Promise<ThingSummary[]> {
    this.#check();
    const replies = await this.transport.query(keys.ALL_DESCRIPTIONS, undefined, this.#discoveryTimeoutMs);
    const stop = closeAfter(replies, this.#discoveryTimeoutMs + 1000);
    const found = new Map<string, Description>();
    try {
      for await (const sample of replies) {
        try {
          // A wildcard query: the label names the thing, whose description (and pinned key) must match it.
          const d = await this.openDescription(sample.key, sample.frame);
          const old = found.get(d.id);
          if (old === undefined || old.revision < d.revision) found.set(d.id, d);
        } catch {
          // Descriptions that fail verification are ignored.
        }
      }
    } finally {
      stop();
    }
    return [...found.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((d) => ({
        id: d.id,
        name: d.definition.thing.name,
        title: d.definition.thing.title ?? d.definition.thing.name,
        version: d.definition.thing.version,
        state: d.state,
        online: true,
        key: PublicKey.parse(d.thing_key),
        owner: d.owner === undefined ? undefined : PublicKey.parse(d.owner),
      }));
  }

  /** Fetches and verifies a thing's description. */
  async describe(id: string): Promise<Description> {
    this.#check();
    if (!keys.isThingId(id)) throw new UnknownThingError(id);
    const replies = await this.transport.query(keys.description(id), undefined, this.requestTimeoutMs);
    const stop = closeAfter(replies, this.requestTimeoutMs + 1000);
    let lastError: unknown;
    try {
      for await (const sample of replies) {
        try {
          // Verified on the key asked, whatever key the transport labels it with.
          const d = await this.openDescription(keys.description(id), sample.frame);
          if (d.id !== id) continue;
          // Trust on first use: the first verified key of a thing is the one we keep.
          if (!this.#pins.has(id)) this.#pins.set(id, PublicKey.parse(d.thing_key));
          return d;
        } catch (e) {
          lastError = e;
        }
      }
    } finally {
      stop();
      replies.close();
    }
    if (lastError !== undefined) throw lastError;
    throw this.presence.isOnline(id) ? new TimedOutError(this.requestTimeoutMs) : new UnknownThingError(id);
  }

  /**
   * Verifies a description frame received on `key` (e.g. from `GET /v2/things/{id}`): a
   * `description` frame signed by the thing's own key, on its own key, matching any pinned key.
   */
  async openDescription(key: string, frame: Uint8Array): Promise<Description> {
    const opened = await this.verifier.open(key, frame);
    const d = descriptionOf(opened);
    if (keys.description(d.id) !== key) throw new ProtocolError(`description of \`${d.id}\` received on \`${key}\``);
    const thingKey = PublicKey.parse(d.thing_key);
    if (!opened.from.equals(thingKey)) throw new UntrustedError(`message from ${opened.from.toString()}, expected ${d.thing_key}`);
    const pinned = this.#pins.get(d.id);
    if (pinned !== undefined && !pinned.equals(thingKey)) throw new UntrustedError(`message from ${d.thing_key}, expected ${pinned.toString()}`);
    return d;
  }

  /** The key pinned for a thing (given in {@link ClientOptions.trust}, or learnt at first contact), if any. */
  pinnedKey(id: string): PublicKey | undefined {
    return this.#pins.get(id);
  }

  /**
   * Connects to a thing whose device may be offline: through the device's description, or else
   * a store's copy of it — accepted only when signed by the key already pinned for the thing
   * (a store cannot introduce a thing). Reads then fall back to stores
   * ({@link RemoteThing.readWithSource}); requests to the device fail until it is back.
   */
  async thingOrStored(id: string): Promise<RemoteThing> {
    try {
      return await this.thing(id);
    } catch (e) {
      if (!(e instanceof UnknownThingError || e instanceof TimedOutError || e instanceof OfflineError)) throw e;
      let stored: RemoteThing | undefined;
      try {
        stored = await this.storedThing(id);
      } catch (s) {
        // A transport that cannot ask stores (say, an older gateway): the device's silence is the answer.
        if (s instanceof TransportError) throw e;
        throw s;
      }
      if (stored === undefined) throw e;
      return stored;
    }
  }

  /**
   * Connects to a thing through a store's copy of its description alone, without asking the
   * device (for callers that already did): `undefined` when no key is pinned for the thing or
   * no store answered.
   */
  async storedThing(id: string): Promise<RemoteThing | undefined> {
    const d = await this.#storedDescription(id);
    return d === undefined ? undefined : RemoteThing.create(this, d);
  }

  /**
   * The newest description the stores kept, verified against the pinned key; `undefined` when
   * no key is pinned or none answered. Frames that fail are dropped (a lying store does not
   * spoil an honest one); when none verifies, the last rejection is thrown.
   */
  async #storedDescription(id: string): Promise<Description | undefined> {
    if (!keys.isThingId(id)) throw new UnknownThingError(id);
    const pinned = this.#pins.get(id);
    if (pinned === undefined) return undefined;
    const key = keys.description(id);
    let best: Description | undefined;
    let rejected: unknown;
    for (const frame of await this.queryStores(key, { op: "latest" })) {
      try {
        const d = descriptionOf(await this.verifier.openStored(key, frame, pinned));
        if (d.id !== id || !PublicKey.parse(d.thing_key).equals(pinned)) throw new UntrustedError("a stored description of another thing");
        if (best === undefined || best.revision <= d.revision) best = d;
      } catch (e) {
        rejected = e;
      }
    }
    if (best === undefined && rejected !== undefined) throw rejected;
    return best;
  }

  /**
   * @internal Asks every store for the frames kept for `thingKey` (`docs/protocol.md` §11):
   * the frames of all answers, as received (unverified).
   */
  async queryStores(thingKey: string, query: StoreQuery): Promise<Bytes[]> {
    this.#check();
    const key = keys.storeKey(thingKey);
    if (key === undefined) return [];
    const timeoutMs = Math.min(this.requestTimeoutMs, STORE_TIMEOUT_MS);
    const replies = await this.transport.query(key, utf8(JSON.stringify(query)), timeoutMs);
    const stop = closeAfter(replies, timeoutMs + 1000);
    const frames: Bytes[] = [];
    try {
      for await (const sample of replies) {
        frames.push(sample.frame);
        // Several stores answer; a bound keeps one that floods from holding our memory.
        if (frames.length > STORE_MAX_LIMIT * 4) break;
      }
    } finally {
      stop();
      replies.close();
    }
    return frames;
  }

  /** Connects to a thing: fetches its description (pinning its key on first contact). */
  async thing(id: string): Promise<RemoteThing> {
    const description = await this.describe(id);
    return RemoteThing.create(this, description);
  }

  /** Whether a thing is online now (from its liveliness token). */
  isOnline(id: string): boolean {
    return this.presence.isOnline(id);
  }

  /** Stops background work; streams and handles from this client end. Does not close the transport. */
  close(): void {
    this.#closed = true;
    this.presence.close();
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #check(): void {
    if (this.#closed) throw new ShutdownError();
  }
}

/** The description a verified frame carries (its kind, and the shape the client relies on, checked). */
function descriptionOf(opened: Opened): Description {
  if (opened.kind !== Kind.Description || opened.sealed) throw new UntrustedError("not a description frame");
  let d: Description;
  try {
    d = JSON.parse(fromUtf8(opened.body)) as Description;
  } catch {
    throw new UntrustedError("malformed description");
  }
  if (typeof d !== "object" || d === null || typeof d.id !== "string" || typeof d.thing_key !== "string" || typeof d.definition?.thing?.name !== "string") {
    throw new UntrustedError("malformed description");
  }
  return d;
}

/** How a request body travels. */
type Protect = { kind: "plain" } | { kind: "for"; access: Access } | { kind: "to_thing" };

class UnknownKey {
  constructor(readonly kid: string) {}
}

/** The `sealed` member of a sealed body, or `undefined` when the bytes are not one. */
function sealedOf(body: Uint8Array): Sealed | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(body));
  } catch {
    return undefined;
  }
  const sealed = (typeof parsed === "object" && parsed !== null ? (parsed as { sealed?: unknown }).sealed : undefined) as Partial<Sealed> | undefined;
  if (typeof sealed !== "object" || sealed === null || typeof sealed.nonce !== "string" || typeof sealed.ct !== "string") return undefined;
  if (sealed.kid !== undefined && typeof sealed.kid !== "string") return undefined;
  if (sealed.epk !== undefined && typeof sealed.epk !== "string") return undefined;
  return sealed as Sealed;
}

/** JSON of UTF-8 bytes; {@link UntrustedError} with `why` otherwise. */
function parseJson(bytes: Uint8Array, why: string): unknown {
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch {
    throw new UntrustedError(why);
  }
}

/** What an action request is sent as, to send it again for a device that restarted. */
interface Invocation {
  key: string;
  frame: Bytes;
  body: object;
  protect: Protect;
  /** The invoke frame's message id: the request id every state is bound to. */
  id: Bytes;
  /** The session it went in, and the v2 frame it carries (sealed anew for each sending). */
  session?: { session: ClientSession; plain: Bytes };
}

/** The device does not hold the session a request went in. */
class SessionGone {}

/** How long a handle sends signed requests after a failed handshake before trying again. */
const SESSION_PAUSE_MS = 30_000;

/** Decides whether `who` may use an affordance with access type `access` (as the device does). */
export function checkAccess(description: Description, access: Access, who: PublicKey): AccessDeniedError | undefined {
  const me = who.toString();
  const isOwner = description.owner === me;
  const isMember = isOwner || (description.group ?? []).includes(me);
  const isThing = description.thing_key === me;
  const deny = (reason: string) => new AccessDeniedError(access, reason);
  switch (access) {
    case "all":
      return undefined;
    case "group":
      return isThing || isMember ? undefined : deny(`${who.short()} is neither the owner nor a group member`);
    case "owner":
      if (isThing || isOwner) return undefined;
      return description.owner === undefined ? deny("the thing has no owner yet; claim it first") : deny(`${who.short()} is not the owner`);
    case "thing":
      return isThing ? undefined : deny("only the thing itself may use this");
    default:
      return deny(`unknown access type \`${String(access)}\` allows nobody`);
  }
}

/** Compiled schemas of every payload of a definition. */
interface Schemas {
  attributes: Map<string, CompiledSchema>;
  events: Map<string, CompiledSchema | undefined>;
  inputs: Map<string, CompiledSchema | undefined>;
  outputs: Map<string, CompiledSchema | undefined>;
}

function compileSchemas(def: Definition): Schemas {
  const types = def.types ?? {};
  const c = (s: DataSchema | undefined) => (s === undefined ? undefined : new CompiledSchema(s, types));
  return {
    attributes: new Map(Object.entries(def.attributes ?? {}).map(([n, a]) => [n, new CompiledSchema(a, types)])),
    events: new Map(Object.entries(def.events ?? {}).map(([n, e]) => [n, c(e.data)])),
    inputs: new Map(Object.entries(def.actions ?? {}).map(([n, a]) => [n, c(a.input)])),
    outputs: new Map(Object.entries(def.actions ?? {}).map(([n, a]) => [n, c(a.output)])),
  };
}

/** Throws {@link InvalidPayloadError} unless `value` matches `schema`. */
function checkValue(schema: CompiledSchema, value: unknown, what: string): void {
  const v = schema.check(value);
  if (v !== undefined) throw new InvalidPayloadError(what, v.path, v.keyword, v.message);
}

function own<V>(map: { [name: string]: V } | undefined, name: string): V | undefined {
  return map !== undefined && Object.hasOwn(map, name) ? map[name] : undefined;
}

/** Drops duplicates and stale messages: within one device run (`epoch`), sequence numbers only grow. */
class Order {
  last: { epoch: number; seq: number; ts: number } | undefined;

  accept(epoch: number, seq: number, ts: number): boolean {
    const last = this.last;
    const fresh = last === undefined ? true : last.epoch === epoch ? seq > last.seq : ts > last.ts;
    if (fresh) this.last = { epoch, seq, ts };
    return fresh;
  }
}

/**
 * A stream of items that a function pulls; iterate it with `for await`, or call `next()`.
 * An item that comes from the thing but breaks its schema makes `next()` throw
 * {@link InvalidPayloadError} (the stream stays open; a `for await` loop ends and closes it).
 */
export class ItemStream<T> implements Stream<T> {
  readonly #pull: () => Promise<T | undefined>;
  readonly #onClose: () => void;
  #closed = false;

  /** @internal */
  constructor(pull: () => Promise<T | undefined>, onClose: () => void) {
    this.#pull = pull;
    this.#onClose = onClose;
  }

  async next(): Promise<T | undefined> {
    if (this.#closed) return undefined;
    const item = await this.#pull();
    if (item === undefined) this.close();
    return item;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        const item = await this.next();
        if (item === undefined) return;
        yield item;
      }
    } finally {
      this.close();
    }
  }
}

/** The stream of an attribute watch. */
export type Watch<T = Json> = ItemStream<Update<T>>;
/** The stream of an event subscription. */
export type EventStream<T = Json> = ItemStream<EventDelivery<T>>;

/** A thing on the network, as a client uses it. */
export class RemoteThing {
  /** @internal */ readonly client: Client;
  /** The description at connection: its definition and key never change for this handle. */
  readonly initial: Description;
  /** The thing's key. */
  readonly thingKey: PublicKey;
  readonly #schemas: Schemas;
  #latest: Description;
  readonly #tried: string[] = [];
  #group: SymmetricKey | undefined;
  #owner: SymmetricKey | undefined;
  #known: SymmetricKey[] = [];
  /** The device's boot epoch as last learnt (description, or a `stale_epoch` answer). */
  #boot: Bytes = new Uint8Array(16);
  /** The session with the thing (`docs/protocol.md` §10), when there is one. */
  #session: ClientSession | undefined;
  /** No handshake before this time (one failed): requests go signed. */
  #sessionPausedUntil = 0;
  #handshaking: Promise<ClientSession | undefined> | undefined;

  private constructor(client: Client, description: Description) {
    this.client = client;
    this.initial = description;
    this.#latest = description;
    this.thingKey = PublicKey.parse(description.thing_key);
    this.#schemas = compileSchemas(description.definition);
  }

  /** @internal */
  static async create(client: Client, description: Description): Promise<RemoteThing> {
    const thing = new RemoteThing(client, description);
    await thing.#learn(description);
    return thing;
  }

  /** The thing's id. */
  get id(): string {
    return this.initial.id;
  }

  /** The definition the device serves. */
  get definition(): Definition {
    return this.initial.definition;
  }

  /** The latest known description (lifecycle, owner, group, keys). */
  get description(): Description {
    return this.#latest;
  }

  /** Whether the thing is online now. */
  isOnline(): boolean {
    return this.client.isOnline(this.id);
  }

  async #learn(description: Description): Promise<void> {
    const me = this.client.identity;
    const open = (w: WrappedKey | undefined) => (w === undefined ? Promise.resolve(undefined) : unwrap(me, this.thingKey, description.id, w));
    const bundle = description.keys ?? {};
    const group = await open(bundle.group);
    const owner = await open(bundle.owner);
    const previous: SymmetricKey[] = [];
    for (const w of bundle.previous ?? []) {
      const k = await open(w);
      if (k !== undefined) previous.push(k);
    }
    this.#latest = description;
    // The epoch of the description fetched last, whatever its revision: a device that
    // restarted keeps its revision but not its epoch.
    const boot = parseBoot(description.boot);
    if (boot !== undefined) this.#boot = boot;
    this.#group = group;
    this.#owner = owner;
    for (const k of [...previous, group, owner]) {
      if (k === undefined) continue;
      this.#known = this.#known.filter((old) => old.kid !== k.kid);
      this.#known.push(k);
    }
    if (this.#known.length > KNOWN_KEYS) this.#known = this.#known.slice(-KNOWN_KEYS);
  }

  /** Fetches the description again (lifecycle, owner, group and keys may have changed). */
  async refresh(): Promise<Description> {
    const description = await this.client.describe(this.id);
    if (description.thing_key !== this.initial.thing_key) {
      throw new UntrustedError(`message from ${description.thing_key}, expected ${this.initial.thing_key}`);
    }
    await this.#learn(description);
    return description;
  }

  #unknown(kind: AffordanceKind, name: string): UnknownAffordanceError {
    return new UnknownAffordanceError(this.id, kind, name);
  }

  /** Refuses locally what the device would refuse for lack of access (confirmed against a fresh description). */
  async precheck(access: Access): Promise<void> {
    const me = this.client.publicKey;
    if (checkAccess(this.#latest, access, me) === undefined) return;
    await this.refresh();
    const denied = checkAccess(this.#latest, access, me);
    if (denied !== undefined) throw denied;
  }

  /**
   * Frames a request body with message id `id`, naming the device's boot epoch: sealed with the
   * key of `group`/`owner` affordances (when this client holds it), or to the thing alone.
   */
  async frameRequest(protect: Protect, key: string, body: object, id: Bytes): Promise<Bytes> {
    let protection: Protection | undefined;
    if (protect.kind === "for") {
      const symmetric = protect.access === "group" ? this.#group : protect.access === "owner" ? this.#owner : undefined;
      if (symmetric !== undefined) protection = { key: symmetric };
    } else if (protect.kind === "to_thing") {
      protection = { to: this.thingKey };
    }
    const binding = { type: "epoch" as const, epoch: this.#boot };
    return this.client.sealer.frame(key, protection === undefined ? { kind: Kind.Request, binding, id } : { kind: Kind.Request, binding, id, protection }, body);
  }

  /**
   * The device restarted: fetches its description again (keys may have changed while this
   * handle was not looking) and takes the epoch its answer named (signed by the thing and bound
   * to our request, so it is the device's word).
   */
  async restarted(boot: string): Promise<void> {
    try {
      await this.refresh();
    } catch {
      // The epoch of the signed answer is enough to ask again.
    }
    const epoch = parseBoot(boot);
    if (epoch === undefined) throw new ProtocolError("the device named a malformed boot epoch");
    this.#boot = epoch;
  }

  /** What no answer means: the thing is offline, or too slow. */
  #silence(timeoutMs: number): AnySafethingError {
    return this.isOnline() ? new TimedOutError(timeoutMs) : new OfflineError(this.id);
  }

  /**
   * Opens a frame received for `key` that must be signed by this thing's pinned key, decrypting
   * a sealed body; `stored`: a frame a store kept (no freshness window).
   */
  async #open(key: string, frame: Uint8Array, stored = false): Promise<{ opened: Opened; body: unknown }> {
    const verifier = this.client.verifier;
    const opened = stored ? await verifier.openStored(key, frame, this.thingKey) : await verifier.open(key, frame, { from: this.thingKey });
    if (opened.sealed) {
      const sealed = sealedOf(opened.body);
      if (sealed === undefined) throw new UntrustedError("malformed sealed body");
      const kid = sealed.kid;
      if (kid === undefined || sealed.epk !== undefined) throw new UntrustedError("a sealed body this client cannot open");
      const symmetric = this.#known.find((k) => k.kid === kid);
      if (symmetric === undefined) throw new UnknownKey(kid);
      const plain = await symmetric.open(bodyAad(key, opened.from.bytes, opened.id), sealed);
      if (plain === undefined) throw new UntrustedError("cannot decrypt the payload");
      return { opened, body: parseJson(plain, "the decrypted payload is not JSON") };
    }
    return { opened, body: parseJson(opened.body, "the body is not JSON") };
  }

  /**
   * Opens a message that must come from this thing, decrypting a sealed payload; a payload
   * sealed with a key this handle has not seen makes it fetch the description once, then retry.
   */
  async openFresh(key: string, frame: Uint8Array): Promise<{ opened: Opened; body: unknown }> {
    try {
      return await this.#open(key, frame);
    } catch (e) {
      if (!(e instanceof UnknownKey)) throw e;
      if (!this.#tried.includes(e.kid)) {
        this.#tried.push(e.kid);
        try {
          await this.refresh();
        } catch {
          // Failing to refresh leaves the key unknown, reported below.
        }
      }
      try {
        return await this.#open(key, frame);
      } catch (again) {
        if (again instanceof UnknownKey) throw new UntrustedError(`sealed with key \`${again.kid}\`, which this client does not hold`);
        throw again;
      }
    }
  }

  /**
   * @internal The session to send a request in: the current one, or a new one; `undefined` when
   * sessions are off or none can be had now (the request then goes signed).
   */
  async session(): Promise<ClientSession | undefined> {
    if (!this.client.sessions) return undefined;
    if (this.#session?.usable()) return this.#session;
    if (Date.now() < this.#sessionPausedUntil) return undefined;
    this.#handshaking ??= (async () => {
      try {
        const made = await handshake(this.client.transport, this.client.identity, this.thingKey, sessionKey(this.id), this.client.requestTimeoutMs);
        this.#session = made;
        return made;
      } catch {
        this.#session = undefined;
        this.#sessionPausedUntil = Date.now() + SESSION_PAUSE_MS;
        return undefined;
      } finally {
        this.#handshaking = undefined;
      }
    })();
    return this.#handshaking;
  }

  /** @internal Drops `session` if it is still the current one; `pause`: send signed requests for a while. */
  forgetSession(session: ClientSession, pause = false): void {
    if (this.#session === session) this.#session = undefined;
    if (pause) this.#sessionPausedUntil = Date.now() + SESSION_PAUSE_MS;
  }

  /** @internal A request as the unsigned v2 frame a session carries, naming the session's boot epoch. */
  frameInSession(session: ClientSession, body: object, id: Bytes): Bytes {
    return plainFrame(this.client.publicKey, Kind.Request, { type: "epoch", epoch: session.boot }, id, BigInt(Date.now()), utf8(JSON.stringify(body)));
  }

  /** @internal Reads the v2 frame a session reply carried: from this thing, fresh, JSON. */
  openInSession(plain: Uint8Array): { opened: Opened; body: unknown } {
    const opened = openPlain(plain, this.thingKey, this.client.verifier.windowMs);
    return { opened, body: parseJson(opened.body, "the body is not JSON") };
  }

  /**
   * Sends a request on `key` — in the session with the thing, or signed — and returns the first
   * verified answer of the thing: only a reply from the thing's pinned key (its signature, or its
   * session) bound to this very request (its id, our key) is taken. A `stale_epoch` answer (the
   * device restarted) makes it ask again, once, as a new frame; so does an answer that the device
   * does not hold the session (in a new session, then signed).
   */
  async request<R>(key: string, body: object, timeoutMs: number = this.client.requestTimeoutMs, protect: Protect = { kind: "plain" }): Promise<R> {
    let retried = false;
    let renewed = false;
    for (;;) {
      const id = this.client.sealer.nextId();
      // Claims stay sealed to the thing and signed.
      const session = protect.kind === "to_thing" ? undefined : await this.session();
      let outcome: { ok: unknown } | { error: Problem };
      if (session !== undefined) {
        const { frame, ctr } = await session.seal(key, this.frameInSession(session, body, id));
        const answer = await this.#ask(key, frame, id, timeoutMs, { session, ctr });
        if (answer === undefined) {
          this.forgetSession(session, renewed);
          renewed = true;
          continue;
        }
        outcome = answer;
      } else {
        const frame = await this.frameRequest(protect, key, body, id);
        const answer = await this.#ask(key, frame, id, timeoutMs);
        if (answer === undefined) throw new ProtocolError("a session answer to a signed request");
        outcome = answer;
      }
      if ("ok" in outcome) return outcome.ok as R;
      const problem = outcome.error;
      if (problem.kind === "stale_epoch" && !retried) {
        retried = true;
        await this.restarted(problem.boot);
        continue;
      }
      throw fromProblem(this.id, problem);
    }
  }

  /** Sends one request and waits for the first reply bound to it; `undefined` when the device does not hold the session the request went in. */
  async #ask(key: string, frame: Bytes, id: Bytes, timeoutMs: number, sealed?: { session: ClientSession; ctr: bigint }): Promise<{ ok: unknown } | { error: Problem } | undefined> {
    const me = this.client.publicKey;
    const replies = await this.client.transport.query(key, frame, timeoutMs);
    const stop = closeAfter(replies, timeoutMs + 1000);
    let lastError: unknown;
    try {
      for (;;) {
        const sample = await replies.next();
        if (sample === undefined) break;
        let outcome: unknown;
        try {
          // Opened for the key we asked on, whatever key the transport labels it with.
          let opened: { opened: Opened; body: unknown };
          if (sealed !== undefined) {
            const answer = await sealed.session.open(key, sample.frame);
            if (answer.type === "unknown") {
              if (answer.ctr === sealed.ctr) return undefined;
              throw new UntrustedError("a session answer about another request");
            }
            opened = this.openInSession(answer.plain);
          } else {
            opened = await this.openFresh(key, sample.frame);
          }
          expectBound(opened.opened, Kind.Reply, id, me);
          outcome = opened.body;
        } catch (e) {
          lastError = e;
          continue;
        }
        if (typeof outcome === "object" && outcome !== null && "ok" in outcome) return outcome as { ok: unknown };
        if (typeof outcome === "object" && outcome !== null && "error" in outcome) {
          const problem = (outcome as { error: unknown }).error;
          if (typeof problem === "object" && problem !== null && typeof (problem as { kind?: unknown }).kind === "string") return { error: problem as Problem };
        }
        lastError = new ProtocolError("a reply that is neither `ok` nor `error`");
      }
    } finally {
      stop();
      replies.close();
    }
    throw lastError ?? this.#silence(timeoutMs);
  }

  #attribute(name: string): { attribute: AttributeDefinition; schema: CompiledSchema } {
    const attribute = own(this.definition.attributes, name);
    const schema = this.#schemas.attributes.get(name);
    if (attribute === undefined || schema === undefined) throw this.#unknown("attribute", name);
    return { attribute, schema };
  }

  async #readRaw(name: string, history: number | undefined): Promise<ReadReply> {
    const { attribute, schema } = this.#attribute(name);
    await this.precheck(attribute.access ?? "owner");
    const body = history === undefined ? { op: "read" } : { op: "read", history };
    const reply = await this.request<ReadReply>(keys.attribute(this.id, name), body);
    if (reply.value !== undefined) checkValue(schema, reply.value, `value of attribute \`${name}\``);
    for (const entry of reply.history ?? []) checkValue(schema, entry.value, `history of attribute \`${name}\``);
    return reply;
  }

  /** The current value of an attribute. */
  async read<T = Json>(name: string): Promise<AttributeReading<T>> {
    const reply = await this.#readRaw(name, undefined);
    if (reply.value === undefined) throw new NoValueError(name);
    return { value: reply.value as T, seq: reply.seq, ts: reply.ts };
  }

  /** The remembered values of an attribute that keeps a history, oldest first. */
  async history<T = Json>(name: string): Promise<HistoryEntry<T>[]> {
    const { attribute } = this.#attribute(name);
    if (attribute.history === undefined) throw new RejectedError({ kind: "bad_request", message: `attribute \`${name}\` keeps no history` });
    const reply = await this.#readRaw(name, attribute.history);
    return (reply.history ?? []).map((e) => ({ value: e.value as T, seq: e.seq, ts: e.ts }));
  }

  /**
   * The current value of an attribute from the device, or — when the device does not answer
   * (offline, timed out, unknown, the network failed) — from the stores, verified as the
   * thing's own signed publication: `source` says which, `ageMs` how old the value is.
   */
  async readWithSource<T = Json>(name: string): Promise<Reading<T>> {
    try {
      const r = await this.read<T>(name);
      return { value: r.value, seq: r.seq, timestamp: r.ts, source: "device", ageMs: ageOf(r.ts) };
    } catch (device) {
      if (!fallsBack(device)) throw device;
      const s = (await this.#stored<T>(name, { op: "latest" }, device)).at(-1);
      if (s === undefined) throw device;
      return { value: s.value, seq: s.seq, timestamp: s.ts, source: "store", ageMs: ageOf(s.ts) };
    }
  }

  /**
   * The remembered values of an attribute, oldest first, each saying where it came from: the
   * device's history, preceded by what the stores kept from before its oldest entry (a store
   * keeps more than a device; at most `limit` asked for); or, when the device does not answer,
   * the stores' alone. `source` says who gave the newest entries. Stores that fail to answer
   * only shorten the history the device gave.
   */
  async historyWithSource<T = Json>(name: string, limit: number = STORE_MAX_LIMIT): Promise<{ history: SourcedEntry<T>[]; source: Source }> {
    const n = Math.max(1, Math.min(STORE_MAX_LIMIT, Math.floor(limit)));
    const from = (source: Source) => (e: HistoryEntry<T>): SourcedEntry<T> => ({ ...e, source });
    let device: HistoryEntry<T>[];
    try {
      device = await this.history<T>(name);
    } catch (e) {
      if (!fallsBack(e)) throw e;
      const stored = await this.#stored<T>(name, { op: "history", limit: n }, e);
      if (stored.length === 0) throw e;
      return { history: stored.map(from("store")), source: "store" };
    }
    let older: HistoryEntry<T>[] = [];
    try {
      older = await this.#stored<T>(name, { op: "history", limit: n }, undefined);
    } catch {
      // No store, or none that tells the truth: the device's history alone.
    }
    // Older than the device's oldest entry: the stored copy of that very entry is stamped when
    // it was published, no earlier than when it was set.
    const first = device[0];
    const before = first === undefined ? [] : older.filter((h) => h.ts < first.ts || (h.ts === first.ts && h.seq < first.seq));
    return { history: [...before.map(from("store")), ...device.map(from("device"))], source: "device" };
  }

  /**
   * The values the stores kept for an attribute, each frame verified as this thing's
   * publication on the attribute's key (signature by the pinned key over the key we compute,
   * batch path, kind; no freshness window), opened with the keys this handle holds and checked
   * against the schema. A frame that fails is dropped, so a lying store does not spoil an
   * honest one; when none passes and some failed, a failure is thrown ({@link UntrustedError}
   * when any frame was not genuine). Sorted by
   * timestamp and sequence number, duplicates (the same frame from several stores) dropped.
   * A transport that cannot ask the stores throws `device` (what the device's silence was).
   */
  async #stored<T>(name: string, query: StoreQuery, device: unknown): Promise<HistoryEntry<T>[]> {
    const { schema } = this.#attribute(name);
    const key = keys.attribute(this.id, name);
    let frames: Bytes[];
    try {
      frames = await this.client.queryStores(key, query);
    } catch (e) {
      if (e instanceof TransportError) throw device;
      throw e;
    }
    const out: HistoryEntry<T>[] = [];
    let rejected: unknown;
    for (const frame of frames) {
      try {
        let message: { opened: Opened; body: unknown };
        try {
          message = await this.#open(key, frame, true);
        } catch (e) {
          // The device is not there to hand out a key we lack: that is the end of it.
          if (e instanceof UnknownKey) throw new UntrustedError(`sealed with key \`${e.kid}\`, which this client does not hold`);
          throw e;
        }
        const { opened, body } = message;
        if (opened.kind !== Kind.Publication) throw new UntrustedError(`a stored ${Kind[opened.kind] ?? "frame"} where a publication was expected`);
        const update = body as AttributeUpdate;
        if (typeof update !== "object" || update === null || typeof update.seq !== "number" || !("value" in update)) throw new UntrustedError("a stored publication that is not an attribute update");
        checkValue(schema, update.value, `stored value of attribute \`${name}\``);
        out.push({ value: update.value as T, seq: update.seq, ts: opened.ts });
      } catch (e) {
        // A forgery is what the caller most needs to hear of.
        if (rejected === undefined || e instanceof UntrustedError) rejected = e;
      }
    }
    if (out.length === 0 && rejected !== undefined) throw rejected;
    out.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    return out.filter((e, i) => i === 0 || e.ts !== out[i - 1]?.ts || e.seq !== out[i - 1]?.seq);
  }

  /** Writes a writable attribute; the device's handler accepts or rejects it. Returns the value the device now holds. */
  async write<T = Json>(name: string, value: T): Promise<AttributeReading<T>> {
    const { attribute, schema } = this.#attribute(name);
    if (attribute.writable !== true) throw new RejectedError({ kind: "not_writable", name });
    checkValue(schema, value, `value of attribute \`${name}\``);
    const access = attribute.access ?? "owner";
    await this.precheck(access);
    const reply = await this.request<ReadReply>(keys.attribute(this.id, name), { op: "write", value }, this.client.requestTimeoutMs, { kind: "for", access });
    if (reply.value === undefined) throw new NoValueError(name);
    checkValue(schema, reply.value, `value of attribute \`${name}\``);
    return { value: reply.value as T, seq: reply.seq, ts: reply.ts };
  }

  /** Follows an attribute: the stream starts with the current value (when it passes the filter) and yields every change that passes it. */
  async watch<T = Json>(name: string, filter?: FilterArg<T>): Promise<Watch<T>> {
    const { attribute, schema } = this.#attribute(name);
    const state = FilterState.compile(toFilter(filter), attribute, this.definition.types ?? {});
    await this.precheck(attribute.access ?? "owner");
    const key = keys.attribute(this.id, name);
    // Subscribe first, then read: no change can fall between the two.
    const subscriber = await this.client.transport.subscribe(key);
    const order = new Order();
    let first: Update<T> | undefined;
    try {
      const reply = await this.#readRaw(name, undefined);
      order.last = { epoch: reply.epoch, seq: reply.seq, ts: reply.ts };
      if (reply.value !== undefined) first = { value: reply.value as T, seq: reply.seq, ts: reply.ts, thing: this.id };
    } catch (e) {
      if (!(e instanceof OfflineError || e instanceof TimedOutError)) {
        subscriber.close();
        throw e;
      }
    }
    const pull = async (): Promise<Update<T> | undefined> => {
      if (first !== undefined) {
        const f = first;
        first = undefined;
        if (state.offer(f.value)) return f;
      }
      for (;;) {
        if (this.client.closed) return undefined;
        const sample = await subscriber.next();
        if (sample === undefined) return undefined;
        let message: { opened: Opened; body: unknown };
        try {
          message = await this.openFresh(key, sample.frame);
          if (message.opened.kind !== Kind.Publication) continue;
        } catch {
          continue; // Unverifiable: dropped.
        }
        const update = message.body as AttributeUpdate;
        if (typeof update !== "object" || update === null || typeof update.seq !== "number" || typeof update.epoch !== "number" || !("value" in update)) continue;
        if (!order.accept(update.epoch, update.seq, message.opened.ts)) continue;
        checkValue(schema, update.value, `value of attribute \`${name}\``);
        if (!state.offer(update.value)) continue;
        return { value: update.value as T, seq: update.seq, ts: message.opened.ts, thing: this.id };
      }
    };
    return new ItemStream(pull, () => subscriber.close());
  }

  /** Receives an event's notifications that pass the filter. */
  async subscribe<T = Json>(name: string, filter?: FilterArg<T>): Promise<EventStream<T>> {
    const event = own(this.definition.events, name);
    if (event === undefined) throw this.#unknown("event", name);
    const state = FilterState.compile(toFilter(filter), event.data ?? { type: "null" }, this.definition.types ?? {});
    await this.precheck(event.access ?? "owner");
    const schema = this.#schemas.events.get(name);
    const eventKey = keys.event(this.id, name);
    const subscriber = await this.client.transport.subscribe(eventKey);
    const order = new Order();
    const pull = async (): Promise<EventDelivery<T> | undefined> => {
      for (;;) {
        if (this.client.closed) return undefined;
        const sample = await subscriber.next();
        if (sample === undefined) return undefined;
        let message: { opened: Opened; body: unknown };
        try {
          message = await this.openFresh(eventKey, sample.frame);
          if (message.opened.kind !== Kind.Publication) continue;
        } catch {
          continue;
        }
        const m = message.body as EventMessage;
        if (typeof m !== "object" || m === null || typeof m.seq !== "number" || typeof m.epoch !== "number") continue;
        const data = m.data ?? null;
        if (!order.accept(m.epoch, m.seq, message.opened.ts)) continue;
        if (schema !== undefined) checkValue(schema, data, `data of event \`${name}\``);
        else if (data !== null) throw new ProtocolError(`event \`${name}\` carries data but declares none`);
        if (!state.offer(data)) continue;
        return { data: data as T, seq: m.seq, ts: message.opened.ts, thing: this.id };
      }
    };
    return new ItemStream(pull, () => subscriber.close());
  }

  /** Requests an action with `input` (`null` for actions without input). */
  async invoke<O = Json>(name: string, input: unknown = null, options: InvokeOptions = {}): Promise<ActionHandle<O>> {
    const action = own(this.definition.actions, name);
    if (action === undefined) throw this.#unknown("action", name);
    const inputSchema = this.#schemas.inputs.get(name);
    if (inputSchema !== undefined) checkValue(inputSchema, input, `input of action \`${name}\``);
    else if (input !== null && input !== undefined) throw new ProtocolError(`action \`${name}\` takes no input; pass null`);
    const access = action.access ?? "owner";
    await this.precheck(access);
    const timeoutMs = options.timeoutMs ?? (action.timeout === undefined ? undefined : parseDuration(action.timeout)) ?? DEFAULT_ACTION_TIMEOUT_MS;
    // The request id is the invoke frame's message id (`docs/protocol.md` §1.3).
    const id = this.client.sealer.nextId();
    const request = hex(id);
    const key = keys.action(this.id, name);
    const body: { op: "invoke"; request: string; input: unknown; timeout_ms?: number } = { op: "invoke", request, input: input ?? null };
    if (options.timeoutMs !== undefined) body.timeout_ms = options.timeoutMs;
    const protect: Protect = { kind: "for", access };
    // Framed once: a retry resends this request (same id), which the device recognises; in a
    // session each sending is sealed anew (a new counter).
    const session = await this.session();
    const plain = session === undefined ? undefined : this.frameInSession(session, body, id);
    const invocation: Invocation = { key, frame: new Uint8Array(0), body, protect, id };
    if (session !== undefined && plain !== undefined) {
      invocation.session = { session, plain };
      invocation.frame = (await session.seal(key, plain)).frame;
    } else {
      invocation.frame = await this.frameRequest(protect, key, body, id);
    }
    const replies = await this.client.transport.query(key, invocation.frame, timeoutMs + DEADLINE_GRACE_MS);
    const handle = new ActionHandle<O>(this, name, request, timeoutMs);
    void handle.drive(invocation, replies, options.retries ?? 0, this.#schemas.outputs.get(name));
    return handle;
  }

  async #admin(op: AdminRequest): Promise<Description> {
    const protect: Protect = op.op === "claim" ? { kind: "to_thing" } : { kind: "plain" };
    const description = await this.request<Description>(keys.admin(this.id), op, this.client.requestTimeoutMs, protect);
    if (description.thing_key === this.initial.thing_key && description.id === this.id) await this.#learn(description);
    return description;
  }

  /** Makes the thing operative (owner only). */
  publish(): Promise<Description> {
    return this.#admin({ op: "publish" });
  }

  /** Takes the thing out of service (owner only). */
  disable(): Promise<Description> {
    return this.#admin({ op: "disable" });
  }

  /** Adds a group member (owner only). */
  grant(member: PublicKey | string): Promise<Description> {
    return this.#admin({ op: "grant", member: member.toString() });
  }

  /** Removes a group member (owner only). */
  revoke(member: PublicKey | string): Promise<Description> {
    return this.#admin({ op: "revoke", member: member.toString() });
  }

  /** Hands the thing to a new owner (owner only). */
  transfer(owner: PublicKey | string): Promise<Description> {
    return this.#admin({ op: "transfer", owner: owner.toString() });
  }

  /** Claims an unclaimed thing with its one-time token (sealed to the thing alone). */
  claim(token: string): Promise<Description> {
    return this.#admin({ op: "claim", token });
  }
}

/** A running action request: its state, its state changes, its output, and cancellation. */
export class ActionHandle<O = Json> {
  readonly #thing: RemoteThing;
  /** The action's name. */
  readonly action: string;
  /** The request id. */
  readonly id: string;
  /** The deadline the request runs under, in milliseconds. */
  readonly timeoutMs: number;
  #state: ActionState<O> = { state: "requested" };
  #seq = 0;
  #error: AnySafethingError | undefined;
  readonly #listeners = new Set<() => void>();

  /** @internal */
  constructor(thing: RemoteThing, action: string, id: string, timeoutMs: number) {
    this.#thing = thing;
    this.action = action;
    this.id = id;
    this.timeoutMs = timeoutMs;
  }

  /** The latest known state. */
  get state(): ActionState<O> {
    return this.#state;
  }

  /** Whether the request is over (a final state, or a client-side end such as offline). */
  get over(): boolean {
    return isFinal(this.#state) || this.#error !== undefined;
  }

  #changed(): void {
    for (const l of [...this.#listeners]) l();
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => {
      const l = () => {
        this.#listeners.delete(l);
        resolve();
      };
      this.#listeners.add(l);
    });
  }

  /** Every state from now on (the current one first), ending after the final one. */
  async *states(): AsyncGenerator<ActionState<O>, void, undefined> {
    let seen: ActionState<O> | undefined;
    for (;;) {
      const current = this.#state;
      if (current !== seen) {
        seen = current;
        yield current;
      }
      if (this.over) return;
      if (this.#state === seen) await this.#wait();
    }
  }

  /** Waits for the final state: the output when `done`, an error otherwise. */
  async output(): Promise<O> {
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      const s = this.#state;
      switch (s.state) {
        case "done":
          return s.output;
        case "failed":
          throw new ActionFailedError(s.error);
        case "rejected":
          throw fromProblem(this.#thing.id, s.problem);
        case "cancelled":
          throw new CancelledError();
        case "timed_out":
          throw new TimedOutError(s.timeout_ms);
        default:
          await this.#wait();
      }
    }
  }

  /** Like {@link output}, but gives up after `limitMs`. */
  outputWithin(limitMs: number): Promise<O> {
    return Promise.race([
      this.output(),
      sleep(limitMs).then(() => {
        throw new TimedOutError(limitMs);
      }),
    ]);
  }

  /** Asks the device to cancel; the state becomes `cancelled` when the device confirms (a finished request keeps its final state). */
  async cancel(): Promise<void> {
    await this.#thing.request<ActionUpdate>(keys.request(this.#thing.id, this.id), { op: "cancel" });
  }

  #fail(error: AnySafethingError): void {
    if (this.over) return;
    this.#error = error;
    this.#changed();
  }

  /** Applies an update; returns whether the request is over. */
  #apply(update: ActionUpdate, output: CompiledSchema | undefined): boolean {
    if (update.request !== this.id && update.request !== "") return this.over;
    if (this.over) return true;
    const final = isFinal(update);
    if (update.seq <= this.#seq && !final) return false;
    if (update.state === "done") {
      const value = (update as { output?: unknown }).output ?? null;
      const v = output === undefined ? (value === null ? undefined : { path: "", keyword: "type", message: "the action declares no output" }) : output.check(value);
      if (v !== undefined) {
        this.#seq = update.seq;
        this.#fail(new InvalidPayloadError(`output of action \`${this.action}\``, v.path, v.keyword, v.message));
        return true;
      }
    }
    this.#seq = update.seq;
    const { request: _r, action: _a, seq: _s, ...state } = update;
    this.#state = state as ActionState<O>;
    this.#changed();
    return final;
  }

  /**
   * Opens a request state: sealed and signed for the request's key (whichever key carries it),
   * by the thing, or sealed in the request's session (`sealed`: the session and the query's key);
   * bound to this request and to us. Throws {@link SessionGone} when the device does not hold
   * the session.
   */
  async #openState(requestKey: string, id: Bytes, frame: Uint8Array, sealed?: { session: ClientSession; key: string }): Promise<ActionUpdate> {
    const thing = this.#thing;
    if (sealed !== undefined && isSessionFrame(frame)) {
      const answer = await sealed.session.open(sealed.key, frame);
      if (answer.type === "unknown") throw new SessionGone();
      const { opened, body } = thing.openInSession(answer.plain);
      expectBound(opened, Kind.State, id, thing.client.publicKey);
      return body as ActionUpdate;
    }
    const { opened, body } = await thing.openFresh(requestKey, frame);
    expectBound(opened, Kind.State, id, thing.client.publicKey);
    return body as ActionUpdate;
  }

  /** @internal Follows the request: replies to the query, retries, then the request's own key. */
  async drive(invocation: Invocation, first: Stream<Sample>, retries: number, output: CompiledSchema | undefined): Promise<void> {
    const thing = this.#thing;
    const { key, id } = invocation;
    let frame = invocation.frame;
    let session = invocation.session;
    let restarted = false;
    let renewed = false;
    const requestKey = keys.request(thing.id, this.id);
    const deadline = Date.now() + this.timeoutMs + DEADLINE_GRACE_MS;
    let current: Stream<Sample> = first;
    let offline = false;
    const stopPresence = thing.client.presence.listen((id, online) => {
      if (id === thing.id && !online) {
        offline = true;
        current.close();
      }
    });
    try {
      let attempts = 0;
      for (;;) {
        let heard = false;
        let stale: string | undefined;
        let gone = false;
        const stop = closeAfter(current, Math.max(0, deadline - Date.now()));
        try {
          for (;;) {
            let sample: Sample | undefined;
            try {
              sample = await current.next();
            } catch {
              sample = undefined;
            }
            if (sample === undefined) break;
            let update: ActionUpdate;
            try {
              update = await this.#openState(requestKey, id, sample.frame, session === undefined ? undefined : { session: session.session, key });
            } catch (e) {
              if (e instanceof SessionGone && !renewed) {
                gone = true;
                current.close();
                break;
              }
              continue; // An unverifiable reply is dropped.
            }
            heard = true;
            if (update.state === "rejected" && update.problem?.kind === "stale_epoch" && !restarted) {
              stale = update.problem.boot;
              current.close();
              break;
            }
            if (this.#apply(update, output)) return;
          }
        } finally {
          stop();
        }
        if (offline) return this.#fail(new OfflineError(thing.id));
        if (thing.client.closed) return this.#fail(new ShutdownError());
        if (gone && session !== undefined) {
          // The same request (same id) in a new session, or signed: the device never ran it.
          renewed = true;
          thing.forgetSession(session.session);
          const fresh = await thing.session();
          try {
            if (fresh !== undefined) {
              session = { session: fresh, plain: thing.frameInSession(fresh, invocation.body, id) };
            } else {
              session = undefined;
              frame = await thing.frameRequest(invocation.protect, key, invocation.body, id);
            }
          } catch (e) {
            return this.#fail(e instanceof Error && "kind" in e ? (e as AnySafethingError) : new ProtocolError(String(e)));
          }
        } else if (stale !== undefined) {
          // The same request (same id) for the device's new boot: it never saw it.
          restarted = true;
          if (session !== undefined) thing.forgetSession(session.session);
          session = undefined;
          try {
            await thing.restarted(stale);
            frame = await thing.frameRequest(invocation.protect, key, invocation.body, id);
          } catch (e) {
            return this.#fail(e instanceof Error && "kind" in e ? (e as AnySafethingError) : new ProtocolError(String(e)));
          }
        } else {
          if (heard) break;
          if (attempts >= retries || Date.now() >= deadline) {
            return this.#fail(thing.isOnline() ? new TimedOutError(this.timeoutMs) : new OfflineError(thing.id));
          }
          attempts++;
        }
        try {
          if (session !== undefined) frame = (await session.session.seal(key, session.plain)).frame;
          current = await thing.client.transport.query(key, frame, Math.max(0, deadline - Date.now()));
        } catch (e) {
          return this.#fail(e instanceof Error && "kind" in e ? (e as AnySafethingError) : new ProtocolError(String(e)));
        }
      }
      // The device accepted but the reply stream ended early: follow the request's key.
      await this.#poll(requestKey, id, deadline, output, () => offline);
    } finally {
      stopPresence();
    }
  }

  async #poll(requestKey: string, id: Bytes, deadline: number, output: CompiledSchema | undefined, offline: () => boolean): Promise<void> {
    const thing = this.#thing;
    let subscriber: Stream<Sample>;
    try {
      subscriber = await thing.client.transport.subscribe(requestKey);
    } catch {
      return this.#fail(new ProtocolError("cannot follow the request"));
    }
    let gone = false;
    const stopPresence = thing.client.presence.listen((id, online) => {
      if (id === thing.id && !online) {
        gone = true;
        subscriber.close();
      }
    });
    const stop = closeAfter(subscriber, Math.max(0, deadline - Date.now()));
    try {
      try {
        const update = await thing.request<ActionUpdate>(requestKey, { op: "status" });
        if (this.#apply(update, output)) return;
      } catch {
        // Keep listening.
      }
      for (;;) {
        let sample: Sample | undefined;
        try {
          sample = await subscriber.next();
        } catch {
          sample = undefined;
        }
        if (sample === undefined) break;
        try {
          if (this.#apply(await this.#openState(requestKey, id, sample.frame), output)) return;
        } catch {
          // Dropped.
        }
      }
    } finally {
      stop();
      stopPresence();
      subscriber.close();
    }
    if (gone || offline()) return this.#fail(new OfflineError(thing.id));
    this.#fail(new TimedOutError(this.timeoutMs));
  }
}

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
import { type Bytes } from "./bytes.js";
import { type Opened, Sealer, Verifier } from "./message.js";
import { type ClientSession } from "./session.js";
import { AccessDeniedError } from "./errors.js";
import { type FilterArg } from "./filter.js";
import { Identity, PublicKey } from "./identity.js";
import { CompiledSchema } from "./schema.js";
import type { Sample, Stream, Transport } from "./transport.js";
import { type Access, type ActionState, type Definition, type Description, type Json, type Lifecycle } from "./wire.js";
/** Options of {@link Client.connect}. */
export interface ClientOptions {
    /** The network (e.g. a {@link GatewayTransport}). */
    transport: Transport;
    /** Who this client is (default: a fresh identity, kept in memory). */
    identity?: Identity;
    /** Trusted thing keys by thing id (instead of trusting the first key seen). */
    trust?: {
        [thingId: string]: PublicKey | string;
    };
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
export type SourcedEntry<T = Json> = HistoryEntry<T> & {
    source: Source;
};
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
export type StoreQuery = {
    op: "latest";
} | {
    op: "history";
    limit: number;
} | {
    op: "since";
    after: {
        epoch: number;
        seq: number;
        ts: number;
    };
    limit: number;
};
/** The most frames a store returns for one query, whatever it is asked. */
export declare const STORE_MAX_LIMIT = 1000;
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
/** Which things are online, from their liveliness tokens. */
declare class Presence {
    #private;
    private constructor();
    static start(transport: Transport): Promise<Presence>;
    isOnline(id: string): boolean;
    /** Calls `listener` on every change; returns the function that stops it. */
    listen(listener: (id: string, online: boolean) => void): () => void;
    close(): void;
}
/** One participant's access to things on a network. */
export declare class Client {
    #private;
    /** @internal */ readonly transport: Transport;
    /** @internal */ readonly sealer: Sealer;
    /** @internal */ readonly verifier: Verifier;
    /** @internal */ readonly presence: Presence;
    /** @internal */ readonly requestTimeoutMs: number;
    /** @internal */ readonly sessions: boolean;
    private constructor();
    /** Connects: starts following which things are online. */
    static connect(options: ClientOptions): Promise<Client>;
    /** This client's identity. */
    get identity(): Identity;
    /** This client's public key. */
    get publicKey(): PublicKey;
    /** Every thing that answers on the network, sorted by id (descriptions verified). */
    discover(): Promise<ThingSummary[]>;
    /** Fetches and verifies a thing's description. */
    describe(id: string): Promise<Description>;
    /**
     * Verifies a description frame received on `key` (e.g. from `GET /v2/things/{id}`): a
     * `description` frame signed by the thing's own key, on its own key, matching any pinned key.
     */
    openDescription(key: string, frame: Uint8Array): Promise<Description>;
    /** The key pinned for a thing (given in {@link ClientOptions.trust}, or learnt at first contact), if any. */
    pinnedKey(id: string): PublicKey | undefined;
    /**
     * Connects to a thing whose device may be offline: through the device's description, or else
     * a store's copy of it — accepted only when signed by the key already pinned for the thing
     * (a store cannot introduce a thing). Reads then fall back to stores
     * ({@link RemoteThing.readWithSource}); requests to the device fail until it is back.
     */
    thingOrStored(id: string): Promise<RemoteThing>;
    /**
     * Connects to a thing through a store's copy of its description alone, without asking the
     * device (for callers that already did): `undefined` when no key is pinned for the thing or
     * no store answered.
     */
    storedThing(id: string): Promise<RemoteThing | undefined>;
    /**
     * @internal Asks every store for the frames kept for `thingKey` (`docs/protocol.md` §11):
     * the frames of all answers, as received (unverified).
     */
    queryStores(thingKey: string, query: StoreQuery): Promise<Bytes[]>;
    /** Connects to a thing: fetches its description (pinning its key on first contact). */
    thing(id: string): Promise<RemoteThing>;
    /** Whether a thing is online now (from its liveliness token). */
    isOnline(id: string): boolean;
    /** Stops background work; streams and handles from this client end. Does not close the transport. */
    close(): void;
    /** Whether {@link close} was called. */
    get closed(): boolean;
}
/** How a request body travels. */
type Protect = {
    kind: "plain";
} | {
    kind: "for";
    access: Access;
} | {
    kind: "to_thing";
};
/** What an action request is sent as, to send it again for a device that restarted. */
interface Invocation {
    key: string;
    frame: Bytes;
    body: object;
    protect: Protect;
    /** The invoke frame's message id: the request id every state is bound to. */
    id: Bytes;
    /** The session it went in, and the v2 frame it carries (sealed anew for each sending). */
    session?: {
        session: ClientSession;
        plain: Bytes;
    };
}
/** Decides whether `who` may use an affordance with access type `access` (as the device does). */
export declare function checkAccess(description: Description, access: Access, who: PublicKey): AccessDeniedError | undefined;
/**
 * A stream of items that a function pulls; iterate it with `for await`, or call `next()`.
 * An item that comes from the thing but breaks its schema makes `next()` throw
 * {@link InvalidPayloadError} (the stream stays open; a `for await` loop ends and closes it).
 */
export declare class ItemStream<T> implements Stream<T> {
    #private;
    /** @internal */
    constructor(pull: () => Promise<T | undefined>, onClose: () => void);
    next(): Promise<T | undefined>;
    close(): void;
    [Symbol.asyncIterator](): AsyncIterator<T>;
}
/** The stream of an attribute watch. */
export type Watch<T = Json> = ItemStream<Update<T>>;
/** The stream of an event subscription. */
export type EventStream<T = Json> = ItemStream<EventDelivery<T>>;
/** A thing on the network, as a client uses it. */
export declare class RemoteThing {
    #private;
    /** @internal */ readonly client: Client;
    /** The description at connection: its definition and key never change for this handle. */
    readonly initial: Description;
    /** The thing's key. */
    readonly thingKey: PublicKey;
    private constructor();
    /** @internal */
    static create(client: Client, description: Description): Promise<RemoteThing>;
    /** The thing's id. */
    get id(): string;
    /** The definition the device serves. */
    get definition(): Definition;
    /** The latest known description (lifecycle, owner, group, keys). */
    get description(): Description;
    /** Whether the thing is online now. */
    isOnline(): boolean;
    /** Fetches the description again (lifecycle, owner, group and keys may have changed). */
    refresh(): Promise<Description>;
    /** Refuses locally what the device would refuse for lack of access (confirmed against a fresh description). */
    precheck(access: Access): Promise<void>;
    /**
     * Frames a request body with message id `id`, naming the device's boot epoch: sealed with the
     * key of `group`/`owner` affordances (when this client holds it), or to the thing alone.
     */
    frameRequest(protect: Protect, key: string, body: object, id: Bytes): Promise<Bytes>;
    /**
     * The device restarted: fetches its description again (keys may have changed while this
     * handle was not looking) and takes the epoch its answer named (signed by the thing and bound
     * to our request, so it is the device's word).
     */
    restarted(boot: string): Promise<void>;
    /**
     * Opens a message that must come from this thing, decrypting a sealed payload; a payload
     * sealed with a key this handle has not seen makes it fetch the description once, then retry.
     */
    openFresh(key: string, frame: Uint8Array): Promise<{
        opened: Opened;
        body: unknown;
    }>;
    /**
     * @internal The session to send a request in: the current one, or a new one; `undefined` when
     * sessions are off or none can be had now (the request then goes signed).
     */
    session(): Promise<ClientSession | undefined>;
    /** @internal Drops `session` if it is still the current one; `pause`: send signed requests for a while. */
    forgetSession(session: ClientSession, pause?: boolean): void;
    /** @internal A request as the unsigned v2 frame a session carries, naming the session's boot epoch. */
    frameInSession(session: ClientSession, body: object, id: Bytes): Bytes;
    /** @internal Reads the v2 frame a session reply carried: from this thing, fresh, JSON. */
    openInSession(plain: Uint8Array): {
        opened: Opened;
        body: unknown;
    };
    /**
     * Sends a request on `key` — in the session with the thing, or signed — and returns the first
     * verified answer of the thing: only a reply from the thing's pinned key (its signature, or its
     * session) bound to this very request (its id, our key) is taken. A `stale_epoch` answer (the
     * device restarted) makes it ask again, once, as a new frame; so does an answer that the device
     * does not hold the session (in a new session, then signed).
     */
    request<R>(key: string, body: object, timeoutMs?: number, protect?: Protect): Promise<R>;
    /** The current value of an attribute. */
    read<T = Json>(name: string): Promise<AttributeReading<T>>;
    /** The remembered values of an attribute that keeps a history, oldest first. */
    history<T = Json>(name: string): Promise<HistoryEntry<T>[]>;
    /**
     * The current value of an attribute from the device, or — when the device does not answer
     * (offline, timed out, unknown, the network failed) — from the stores, verified as the
     * thing's own signed publication: `source` says which, `ageMs` how old the value is.
     */
    readWithSource<T = Json>(name: string): Promise<Reading<T>>;
    /**
     * The remembered values of an attribute, oldest first, each saying where it came from: the
     * device's history, preceded by what the stores kept from before its oldest entry (a store
     * keeps more than a device; at most `limit` asked for); or, when the device does not answer,
     * the stores' alone. `source` says who gave the newest entries. Stores that fail to answer
     * only shorten the history the device gave.
     */
    historyWithSource<T = Json>(name: string, limit?: number): Promise<{
        history: SourcedEntry<T>[];
        source: Source;
    }>;
    /** Writes a writable attribute; the device's handler accepts or rejects it. Returns the value the device now holds. */
    write<T = Json>(name: string, value: T): Promise<AttributeReading<T>>;
    /** Follows an attribute: the stream starts with the current value (when it passes the filter) and yields every change that passes it. */
    watch<T = Json>(name: string, filter?: FilterArg<T>): Promise<Watch<T>>;
    /** Receives an event's notifications that pass the filter. */
    subscribe<T = Json>(name: string, filter?: FilterArg<T>): Promise<EventStream<T>>;
    /** Requests an action with `input` (`null` for actions without input). */
    invoke<O = Json>(name: string, input?: unknown, options?: InvokeOptions): Promise<ActionHandle<O>>;
    /** Makes the thing operative (owner only). */
    publish(): Promise<Description>;
    /** Takes the thing out of service (owner only). */
    disable(): Promise<Description>;
    /** Adds a group member (owner only). */
    grant(member: PublicKey | string): Promise<Description>;
    /** Removes a group member (owner only). */
    revoke(member: PublicKey | string): Promise<Description>;
    /** Hands the thing to a new owner (owner only). */
    transfer(owner: PublicKey | string): Promise<Description>;
    /** Claims an unclaimed thing with its one-time token (sealed to the thing alone). */
    claim(token: string): Promise<Description>;
}
/** A running action request: its state, its state changes, its output, and cancellation. */
export declare class ActionHandle<O = Json> {
    #private;
    /** The action's name. */
    readonly action: string;
    /** The request id. */
    readonly id: string;
    /** The deadline the request runs under, in milliseconds. */
    readonly timeoutMs: number;
    /** @internal */
    constructor(thing: RemoteThing, action: string, id: string, timeoutMs: number);
    /** The latest known state. */
    get state(): ActionState<O>;
    /** Whether the request is over (a final state, or a client-side end such as offline). */
    get over(): boolean;
    /** Every state from now on (the current one first), ending after the final one. */
    states(): AsyncGenerator<ActionState<O>, void, undefined>;
    /** Waits for the final state: the output when `done`, an error otherwise. */
    output(): Promise<O>;
    /** Like {@link output}, but gives up after `limitMs`. */
    outputWithin(limitMs: number): Promise<O>;
    /** Asks the device to cancel; the state becomes `cancelled` when the device confirms (a finished request keeps its final state). */
    cancel(): Promise<void>;
    /** @internal Follows the request: replies to the query, retries, then the request's own key. */
    drive(invocation: Invocation, first: Stream<Sample>, retries: number, output: CompiledSchema | undefined): Promise<void>;
}
export {};

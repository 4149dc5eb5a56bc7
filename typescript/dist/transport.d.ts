/**
 * Transports: how a client reaches the network. {@link GatewayTransport} speaks the gateway's
 * WebSocket API v2 (`/v2/ws`, `docs/gateway.md`); the HTTP helpers use its REST endpoints.
 * Frames travel as their exact bytes (binary WebSocket messages, base64url in JSON), never
 * re-encoded, so signatures stay valid end to end.
 *
 * @module
 */
import { type Bytes } from "./bytes.js";
/** A frame received on a key. */
export interface Sample {
    /** The key it travelled on, as the relay labels it (verify on the key asked when there is one). */
    key: string;
    /** The frame's bytes. */
    frame: Bytes;
}
/** A thing's liveliness token appeared (`alive`) or disappeared (`gone`). */
export interface LivelinessChange {
    /** The token's key, `safething/v1/<thing-id>`. */
    key: string;
    /** Whether the token exists now. */
    alive: boolean;
}
/** An asynchronous stream of items that its consumer can close. */
export interface Stream<T> extends AsyncIterable<T> {
    /** The next item; `undefined` once the stream ended (or was closed). Throws when it failed. */
    next(): Promise<T | undefined>;
    /** Stops the stream: no further items, resources released. */
    close(): void;
}
/**
 * A queue of items that a producer pushes and a consumer reads; the building block of every
 * stream in the runtime.
 */
export declare class Channel<T> implements Stream<T> {
    #private;
    constructor(onClose?: () => void);
    /** Whether the stream has ended. */
    get ended(): boolean;
    /** Delivers an item (dropped after the end). */
    push(item: T): void;
    /** Ends the stream, with an error its consumer sees after the queued items. */
    end(error?: unknown): void;
    next(): Promise<T | undefined>;
    close(): void;
    [Symbol.asyncIterator](): AsyncIterator<T>;
}
/** What the client needs from a network. Keys and key expressions are under `safething/v1/`. */
export interface Transport {
    /**
     * Every publication on a key matching `keyExpr` (`*` and `**` allowed); resolves once the
     * subscription is declared, so every publication made afterwards reaches it.
     */
    subscribe(keyExpr: string): Promise<Stream<Sample>>;
    /** Sends a query (with a request frame, or none); the stream yields its replies and ends with them. */
    query(key: string, frame: Uint8Array | undefined, timeoutMs: number): Promise<Stream<Sample>>;
    /** Liveliness tokens matching `keyExpr`: those alive now first, then every change. */
    watchLiveliness(keyExpr: string): Promise<Stream<LivelinessChange>>;
    /** Closes the connection; every stream ends. */
    close(): void;
}
/** The parts of a WebSocket the gateway transport uses (the browser's, or the `ws` package's). */
export interface WebSocketLike {
    readonly readyState: number;
    /** Set to `"arraybuffer"` so binary messages arrive as bytes. */
    binaryType?: string;
    send(data: string): void;
    close(code?: number, reason?: string): void;
    onopen: ((event: never) => void) | null;
    onclose: ((event: never) => void) | null;
    onerror: ((event: never) => void) | null;
    onmessage: ((event: {
        data: unknown;
    }) => void) | null;
}
/** A WebSocket constructor: `WebSocket` in browsers, `(await import("ws")).WebSocket` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;
/** Options of {@link GatewayTransport.connect}. */
export interface GatewayOptions {
    /** The WebSocket implementation (default: the platform's `WebSocket`). */
    WebSocket?: WebSocketConstructor;
    /** How long to wait for the socket to open, in milliseconds (default 10 000). */
    connectTimeoutMs?: number;
}
/** A binary message from the gateway (`docs/gateway.md`): tag, operation id, key, frame. */
export interface BinaryMessage {
    tag: number;
    id: number;
    key: string;
    frame: Bytes;
}
/**
 * Reads a binary message: `tag(1) ‖ id(u32be) ‖ k(u16be) ‖ key(k, UTF-8) ‖ frame`; `undefined`
 * when it is shorter than its header, has an unknown tag, a key length outside 1..=1024 or a key
 * that is not UTF-8.
 */
export declare function parseBinaryMessage(bytes: Uint8Array): BinaryMessage | undefined;
/** The gateway's WebSocket URL for a base URL: `http://host:port` -> `ws://host:port/v2/ws`. */
export declare function gatewaySocketUrl(base: string): string;
/**
 * The gateway's WebSocket API v2 as a {@link Transport}: every operation is numbered, the
 * gateway tags what it sends with that number (frames in binary messages, control in text),
 * and `close` ends subscriptions and watches.
 */
export declare class GatewayTransport implements Transport {
    #private;
    private constructor();
    /** Opens a socket to `url` (`ws://host:port/v2/ws`, or the gateway's base `http://host:port`). */
    static connect(url: string, options?: GatewayOptions): Promise<GatewayTransport>;
    subscribe(keyExpr: string): Promise<Stream<Sample>>;
    query(key: string, frame: Uint8Array | undefined, timeoutMs: number): Promise<Stream<Sample>>;
    watchLiveliness(keyExpr: string): Promise<Stream<LivelinessChange>>;
    close(): void;
}
/** A thing as `GET /v2/things` lists it (convenience fields, unverified, plus its signed description frame). */
export interface GatewaySummary {
    id: string;
    name: string;
    title: string;
    version: string;
    state: string;
    online: boolean;
    key: string;
    owner?: string;
    key_expression: string;
    /** The signed description frame, base64url. */
    frame: string;
}
/** The options of the HTTP helpers. */
export interface HttpOptions {
    /** The `fetch` implementation (default: the platform's). */
    fetch?: typeof fetch;
}
/** A `{key, frame}` pair of the gateway's JSON as a {@link Sample}; `undefined` when it is not one. */
export declare function sampleOf(json: unknown): Sample | undefined;
/** `GET /v2/things`: every thing that answered the gateway's discovery (not verified: open each `frame` to trust it). */
export declare function fetchThings(base: string, options?: HttpOptions): Promise<GatewaySummary[]>;
/** `GET /v2/things/{id}`: a thing's signed description frame as a sample (verify it before use). */
export declare function fetchDescription(base: string, id: string, options?: HttpOptions): Promise<Sample>;
/** `POST /v2/query`: every reply of one query (replies that are not `{key, frame}` are dropped). */
export declare function httpQuery(base: string, key: string, frame: Uint8Array | undefined, timeoutMs?: number, options?: HttpOptions): Promise<Sample[]>;

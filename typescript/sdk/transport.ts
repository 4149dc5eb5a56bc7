/**
 * Transports: how a client reaches the network. {@link GatewayTransport} speaks the gateway's
 * WebSocket protocol v1 (`/v1/ws`); the HTTP helpers use its REST endpoints. Envelopes travel as
 * strings holding their exact text, never re-serialized, so signatures stay valid end to end.
 *
 * @module
 */

import { TransportError } from "./errors.js";

/** A message received on a key: the envelope's exact text. */
export interface Sample {
  /** The key it travelled on. */
  key: string;
  /** The envelope text. */
  envelope: string;
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
export class Channel<T> implements Stream<T> {
  readonly #items: T[] = [];
  readonly #waiters: { resolve: (item: T | undefined) => void; reject: (e: unknown) => void }[] = [];
  #ended = false;
  #error: unknown = undefined;
  readonly #onClose: (() => void) | undefined;

  constructor(onClose?: () => void) {
    this.#onClose = onClose;
  }

  /** Whether the stream has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Delivers an item (dropped after the end). */
  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(item);
    else this.#items.push(item);
  }

  /** Ends the stream, with an error its consumer sees after the queued items. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (this.#items.length === 0) {
      for (const w of this.#waiters.splice(0)) {
        if (error === undefined) w.resolve(undefined);
        else w.reject(error);
      }
    }
  }

  next(): Promise<T | undefined> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift());
    if (this.#ended) {
      const error = this.#error;
      this.#error = undefined;
      return error === undefined ? Promise.resolve(undefined) : Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  close(): void {
    this.#items.length = 0;
    this.end();
    this.#onClose?.();
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

/** What the client needs from a network. Keys and key expressions are under `safething/v1/`. */
export interface Transport {
  /** Every publication on a key matching `keyExpr` (`*` and `**` allowed). */
  subscribe(keyExpr: string): Promise<Stream<Sample>>;
  /** Sends a query (with an envelope, or none); the stream yields its replies and ends with them. */
  query(key: string, payload: string | undefined, timeoutMs: number): Promise<Stream<Sample>>;
  /** Liveliness tokens matching `keyExpr`: those alive now first, then every change. */
  watchLiveliness(keyExpr: string): Promise<Stream<LivelinessChange>>;
  /** Closes the connection; every stream ends. */
  close(): void;
}

/** The parts of a WebSocket the gateway transport uses (the browser's, or the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
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

type Pending =
  | { kind: "samples"; channel: Channel<Sample> }
  | { kind: "liveliness"; channel: Channel<LivelinessChange> };

/** Frames the gateway sends. */
interface Frame {
  op?: unknown;
  id?: unknown;
  key?: unknown;
  envelope?: unknown;
  error?: { code?: unknown; message?: unknown };
}

/** The gateway's WebSocket URL for a base URL: `http://host:port` -> `ws://host:port/v1/ws`. */
export function gatewaySocketUrl(base: string): string {
  const url = new URL(base);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (!url.pathname.endsWith("/v1/ws")) url.pathname = `${url.pathname.replace(/\/$/, "")}/v1/ws`;
  return url.toString();
}

/**
 * The gateway's WebSocket protocol v1 as a {@link Transport}: every operation is numbered, the
 * gateway tags what it sends with that number, and `close` ends subscriptions and watches.
 */
export class GatewayTransport implements Transport {
  readonly #socket: WebSocketLike;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  private constructor(socket: WebSocketLike) {
    this.#socket = socket;
    socket.onmessage = (event) => this.#receive(event.data);
    socket.onclose = () => this.#shutdown(new TransportError("the gateway closed the connection"));
    socket.onerror = () => this.#shutdown(new TransportError("the gateway connection failed"));
  }

  /** Opens a socket to `url` (`ws://host:port/v1/ws`, or the gateway's base `http://host:port`). */
  static connect(url: string, options: GatewayOptions = {}): Promise<GatewayTransport> {
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Ctor === undefined) return Promise.reject(new TransportError("no WebSocket implementation: pass one in the options"));
    const target = url.startsWith("ws:") || url.startsWith("wss:") ? url : gatewaySocketUrl(url);
    return new Promise((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = new Ctor(target);
      } catch (e) {
        reject(new TransportError(`cannot open ${target}: ${String(e)}`));
        return;
      }
      const timer = setTimeout(() => {
        socket.close();
        reject(new TransportError(`timed out connecting to ${target}`));
      }, options.connectTimeoutMs ?? 10_000);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve(new GatewayTransport(socket));
      };
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new TransportError(`cannot connect to ${target}`));
      };
      socket.onclose = () => {
        clearTimeout(timer);
        reject(new TransportError(`the gateway at ${target} closed the connection`));
      };
    });
  }

  #send(frame: object): void {
    if (this.#closed) throw new TransportError("the transport is closed");
    this.#socket.send(JSON.stringify(frame));
  }

  #open<P extends Pending>(make: (id: number) => P, frame: (id: number) => object): P {
    if (this.#closed) throw new TransportError("the transport is closed");
    const id = this.#nextId++;
    const pending = make(id);
    this.#pending.set(id, pending);
    this.#send(frame(id));
    return pending;
  }

  #closer(id: number, sendClose: boolean): () => void {
    return () => {
      if (!this.#pending.delete(id)) return;
      if (sendClose && !this.#closed) {
        try {
          this.#send({ op: "close", id });
        } catch {
          // The socket is gone; nothing to close.
        }
      }
    };
  }

  subscribe(keyExpr: string): Promise<Stream<Sample>> {
    try {
      const p = this.#open(
        (id) => ({ kind: "samples", channel: new Channel<Sample>(this.#closer(id, true)) }) as const,
        (id) => ({ op: "subscribe", id, key: keyExpr }),
      );
      return Promise.resolve(p.channel);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  query(key: string, payload: string | undefined, timeoutMs: number): Promise<Stream<Sample>> {
    try {
      const p = this.#open(
        (id) => ({ kind: "samples", channel: new Channel<Sample>(this.#closer(id, false)) }) as const,
        (id) => (payload === undefined ? { op: "query", id, key, timeout_ms: timeoutMs } : { op: "query", id, key, payload, timeout_ms: timeoutMs }),
      );
      return Promise.resolve(p.channel);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  watchLiveliness(keyExpr: string): Promise<Stream<LivelinessChange>> {
    try {
      const p = this.#open(
        (id) => ({ kind: "liveliness", channel: new Channel<LivelinessChange>(this.#closer(id, true)) }) as const,
        (id) => ({ op: "liveliness", id, key: keyExpr }),
      );
      return Promise.resolve(p.channel);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  close(): void {
    this.#shutdown(undefined);
    try {
      this.#socket.close();
    } catch {
      // Already closed.
    }
  }

  #shutdown(error: TransportError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) p.channel.end(error);
    this.#pending.clear();
  }

  #receive(data: unknown): void {
    let frame: Frame;
    try {
      frame = JSON.parse(typeof data === "string" ? data : String(data)) as Frame;
    } catch {
      return;
    }
    const id = typeof frame.id === "number" ? frame.id : undefined;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (pending === undefined || id === undefined) return;
    switch (frame.op) {
      case "sample":
      case "reply":
        if (pending.kind === "samples" && typeof frame.key === "string" && typeof frame.envelope === "string") {
          pending.channel.push({ key: frame.key, envelope: frame.envelope });
        }
        break;
      case "end":
        this.#pending.delete(id);
        pending.channel.end();
        break;
      case "alive":
      case "gone":
        if (pending.kind === "liveliness" && typeof frame.key === "string") {
          pending.channel.push({ key: frame.key, alive: frame.op === "alive" });
        }
        break;
      case "error": {
        this.#pending.delete(id);
        const code = typeof frame.error?.code === "string" ? frame.error.code : undefined;
        const message = typeof frame.error?.message === "string" ? frame.error.message : "refused by the gateway";
        pending.channel.end(new TransportError(message, code));
        break;
      }
      default:
    }
  }
}

/** A thing as `GET /v1/things` lists it (convenience fields, plus the signed description). */
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
  envelope: string;
}

/** The options of the HTTP helpers. */
export interface HttpOptions {
  /** The `fetch` implementation (default: the platform's). */
  fetch?: typeof fetch;
}

async function http(base: string, path: string, init: RequestInit, options: HttpOptions): Promise<unknown> {
  const f = options.fetch ?? globalThis.fetch;
  const url = new URL(path, base.endsWith("/") ? base : `${base}/`).toString();
  let response: Response;
  try {
    response = await f(url, init);
  } catch (e) {
    throw new TransportError(`cannot reach ${url}: ${String(e)}`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new TransportError(`${url} answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
    const code = typeof error?.code === "string" ? error.code : undefined;
    const message = typeof error?.message === "string" ? error.message : `HTTP ${response.status}`;
    throw new TransportError(message, code);
  }
  return body;
}

/** `GET /v1/things`: every thing that answered the gateway's discovery (not verified: open each `envelope` to trust it). */
export async function fetchThings(base: string, options: HttpOptions = {}): Promise<GatewaySummary[]> {
  const body = (await http(base, "v1/things", { method: "GET" }, options)) as { things?: GatewaySummary[] };
  return body.things ?? [];
}

/** `GET /v1/things/{id}`: a thing's signed description as a sample (verify it before use). */
export async function fetchDescription(base: string, id: string, options: HttpOptions = {}): Promise<Sample> {
  const body = (await http(base, `v1/things/${encodeURIComponent(id)}`, { method: "GET" }, options)) as Partial<Sample>;
  if (typeof body.key !== "string" || typeof body.envelope !== "string") throw new TransportError("the gateway sent no description");
  return { key: body.key, envelope: body.envelope };
}

/** `POST /v1/query`: every reply of one query. */
export async function httpQuery(base: string, key: string, payload: string | undefined, timeoutMs?: number, options: HttpOptions = {}): Promise<Sample[]> {
  const request: { key: string; payload?: string; timeout_ms?: number } = { key };
  if (payload !== undefined) request.payload = payload;
  if (timeoutMs !== undefined) request.timeout_ms = timeoutMs;
  const body = (await http(base, "v1/query", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) }, options)) as {
    replies?: Sample[];
  };
  return body.replies ?? [];
}

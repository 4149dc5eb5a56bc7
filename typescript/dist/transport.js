/**
 * Transports: how a client reaches the network. {@link GatewayTransport} speaks the gateway's
 * WebSocket protocol v1 (`/v1/ws`); the HTTP helpers use its REST endpoints. Envelopes travel as
 * strings holding their exact text, never re-serialized, so signatures stay valid end to end.
 *
 * @module
 */
import { TransportError } from "./errors.js";
/**
 * A queue of items that a producer pushes and a consumer reads; the building block of every
 * stream in the runtime.
 */
export class Channel {
    #items = [];
    #waiters = [];
    #ended = false;
    #error = undefined;
    #onClose;
    constructor(onClose) {
        this.#onClose = onClose;
    }
    /** Whether the stream has ended. */
    get ended() {
        return this.#ended;
    }
    /** Delivers an item (dropped after the end). */
    push(item) {
        if (this.#ended)
            return;
        const waiter = this.#waiters.shift();
        if (waiter !== undefined)
            waiter.resolve(item);
        else
            this.#items.push(item);
    }
    /** Ends the stream, with an error its consumer sees after the queued items. */
    end(error) {
        if (this.#ended)
            return;
        this.#ended = true;
        this.#error = error;
        if (this.#items.length === 0) {
            for (const w of this.#waiters.splice(0)) {
                if (error === undefined)
                    w.resolve(undefined);
                else
                    w.reject(error);
            }
        }
    }
    next() {
        if (this.#items.length > 0)
            return Promise.resolve(this.#items.shift());
        if (this.#ended) {
            const error = this.#error;
            this.#error = undefined;
            return error === undefined ? Promise.resolve(undefined) : Promise.reject(error);
        }
        return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
    close() {
        this.#items.length = 0;
        this.end();
        this.#onClose?.();
    }
    async *[Symbol.asyncIterator]() {
        try {
            for (;;) {
                const item = await this.next();
                if (item === undefined)
                    return;
                yield item;
            }
        }
        finally {
            this.close();
        }
    }
}
/** The gateway's WebSocket URL for a base URL: `http://host:port` -> `ws://host:port/v1/ws`. */
export function gatewaySocketUrl(base) {
    const url = new URL(base);
    if (url.protocol === "http:")
        url.protocol = "ws:";
    else if (url.protocol === "https:")
        url.protocol = "wss:";
    if (!url.pathname.endsWith("/v1/ws"))
        url.pathname = `${url.pathname.replace(/\/$/, "")}/v1/ws`;
    return url.toString();
}
/**
 * The gateway's WebSocket protocol v1 as a {@link Transport}: every operation is numbered, the
 * gateway tags what it sends with that number, and `close` ends subscriptions and watches.
 */
export class GatewayTransport {
    #socket;
    #pending = new Map();
    #nextId = 1;
    #closed = false;
    constructor(socket) {
        this.#socket = socket;
        socket.onmessage = (event) => this.#receive(event.data);
        socket.onclose = () => this.#shutdown(new TransportError("the gateway closed the connection"));
        socket.onerror = () => this.#shutdown(new TransportError("the gateway connection failed"));
    }
    /** Opens a socket to `url` (`ws://host:port/v1/ws`, or the gateway's base `http://host:port`). */
    static connect(url, options = {}) {
        const Ctor = options.WebSocket ?? globalThis.WebSocket;
        if (Ctor === undefined)
            return Promise.reject(new TransportError("no WebSocket implementation: pass one in the options"));
        const target = url.startsWith("ws:") || url.startsWith("wss:") ? url : gatewaySocketUrl(url);
        return new Promise((resolve, reject) => {
            let socket;
            try {
                socket = new Ctor(target);
            }
            catch (e) {
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
    #send(frame) {
        if (this.#closed)
            throw new TransportError("the transport is closed");
        this.#socket.send(JSON.stringify(frame));
    }
    #open(make, frame) {
        if (this.#closed)
            throw new TransportError("the transport is closed");
        const id = this.#nextId++;
        const pending = make(id);
        this.#pending.set(id, pending);
        this.#send(frame(id));
        return pending;
    }
    #closer(id, sendClose) {
        return () => {
            if (!this.#pending.delete(id))
                return;
            if (sendClose && !this.#closed) {
                try {
                    this.#send({ op: "close", id });
                }
                catch {
                    // The socket is gone; nothing to close.
                }
            }
        };
    }
    subscribe(keyExpr) {
        try {
            const p = this.#open((id) => ({ kind: "samples", channel: new Channel(this.#closer(id, true)) }), (id) => ({ op: "subscribe", id, key: keyExpr }));
            return Promise.resolve(p.channel);
        }
        catch (e) {
            return Promise.reject(e);
        }
    }
    query(key, payload, timeoutMs) {
        try {
            const p = this.#open((id) => ({ kind: "samples", channel: new Channel(this.#closer(id, false)) }), (id) => (payload === undefined ? { op: "query", id, key, timeout_ms: timeoutMs } : { op: "query", id, key, payload, timeout_ms: timeoutMs }));
            return Promise.resolve(p.channel);
        }
        catch (e) {
            return Promise.reject(e);
        }
    }
    watchLiveliness(keyExpr) {
        try {
            const p = this.#open((id) => ({ kind: "liveliness", channel: new Channel(this.#closer(id, true)) }), (id) => ({ op: "liveliness", id, key: keyExpr }));
            return Promise.resolve(p.channel);
        }
        catch (e) {
            return Promise.reject(e);
        }
    }
    close() {
        this.#shutdown(undefined);
        try {
            this.#socket.close();
        }
        catch {
            // Already closed.
        }
    }
    #shutdown(error) {
        if (this.#closed)
            return;
        this.#closed = true;
        for (const p of this.#pending.values())
            p.channel.end(error);
        this.#pending.clear();
    }
    #receive(data) {
        let frame;
        try {
            frame = JSON.parse(typeof data === "string" ? data : String(data));
        }
        catch {
            return;
        }
        const id = typeof frame.id === "number" ? frame.id : undefined;
        const pending = id === undefined ? undefined : this.#pending.get(id);
        if (pending === undefined || id === undefined)
            return;
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
async function http(base, path, init, options) {
    const f = options.fetch ?? globalThis.fetch;
    const url = new URL(path, base.endsWith("/") ? base : `${base}/`).toString();
    let response;
    try {
        response = await f(url, init);
    }
    catch (e) {
        throw new TransportError(`cannot reach ${url}: ${String(e)}`);
    }
    let body;
    try {
        body = await response.json();
    }
    catch {
        throw new TransportError(`${url} answered ${response.status} without JSON`);
    }
    if (!response.ok) {
        const error = body.error;
        const code = typeof error?.code === "string" ? error.code : undefined;
        const message = typeof error?.message === "string" ? error.message : `HTTP ${response.status}`;
        throw new TransportError(message, code);
    }
    return body;
}
/** `GET /v1/things`: every thing that answered the gateway's discovery (not verified: open each `envelope` to trust it). */
export async function fetchThings(base, options = {}) {
    const body = (await http(base, "v1/things", { method: "GET" }, options));
    return body.things ?? [];
}
/** `GET /v1/things/{id}`: a thing's signed description as a sample (verify it before use). */
export async function fetchDescription(base, id, options = {}) {
    const body = (await http(base, `v1/things/${encodeURIComponent(id)}`, { method: "GET" }, options));
    if (typeof body.key !== "string" || typeof body.envelope !== "string")
        throw new TransportError("the gateway sent no description");
    return { key: body.key, envelope: body.envelope };
}
/** `POST /v1/query`: every reply of one query. */
export async function httpQuery(base, key, payload, timeoutMs, options = {}) {
    const request = { key };
    if (payload !== undefined)
        request.payload = payload;
    if (timeoutMs !== undefined)
        request.timeout_ms = timeoutMs;
    const body = (await http(base, "v1/query", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) }, options));
    return body.replies ?? [];
}

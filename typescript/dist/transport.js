/**
 * Transports: how a client reaches the network. {@link GatewayTransport} speaks the gateway's
 * WebSocket API v2 (`/v2/ws`, `docs/gateway.md`); the HTTP helpers use its REST endpoints.
 * Frames travel as their exact bytes (binary WebSocket messages, base64url in JSON), never
 * re-encoded, so signatures stay valid end to end.
 *
 * @module
 */
import { base64url, copy, fromBase64url, fromUtf8 } from "./bytes.js";
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
/** Tag of a binary message carrying a query's reply. */
const TAG_REPLY = 0x01;
/** Tag of a binary message carrying a subscription's sample. */
const TAG_SAMPLE = 0x02;
/** The longest key a binary message carries. */
const MAX_KEY = 1024;
/**
 * Reads a binary message: `tag(1) ‖ id(u32be) ‖ k(u16be) ‖ key(k, UTF-8) ‖ frame`; `undefined`
 * when it is shorter than its header, has an unknown tag, a key length outside 1..=1024 or a key
 * that is not UTF-8.
 */
export function parseBinaryMessage(bytes) {
    if (bytes.length < 7)
        return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const tag = view.getUint8(0);
    if (tag !== TAG_REPLY && tag !== TAG_SAMPLE)
        return undefined;
    const id = view.getUint32(1, false);
    const k = view.getUint16(5, false);
    if (k < 1 || k > MAX_KEY || bytes.length < 7 + k)
        return undefined;
    let key;
    try {
        key = fromUtf8(bytes.subarray(7, 7 + k));
    }
    catch {
        return undefined;
    }
    return { tag, id, key, frame: copy(bytes.subarray(7 + k)) };
}
/** The gateway's WebSocket URL for a base URL: `http://host:port` -> `ws://host:port/v2/ws`. */
export function gatewaySocketUrl(base) {
    const url = new URL(base);
    if (url.protocol === "http:")
        url.protocol = "ws:";
    else if (url.protocol === "https:")
        url.protocol = "wss:";
    if (!url.pathname.endsWith("/v2/ws"))
        url.pathname = `${url.pathname.replace(/\/$/, "")}/v2/ws`;
    return url.toString();
}
/** The bytes of a binary WebSocket message, whatever the implementation delivers. */
function bytesOf(data) {
    if (data instanceof ArrayBuffer)
        return new Uint8Array(data);
    if (ArrayBuffer.isView(data))
        return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (Array.isArray(data) && data.every((d) => d instanceof Uint8Array)) {
        // The `ws` package's "fragments" binary type.
        const parts = data;
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
            out.set(p, at);
            at += p.length;
        }
        return out;
    }
    return undefined;
}
/**
 * The gateway's WebSocket API v2 as a {@link Transport}: every operation is numbered, the
 * gateway tags what it sends with that number (frames in binary messages, control in text),
 * and `close` ends subscriptions and watches.
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
    /** Opens a socket to `url` (`ws://host:port/v2/ws`, or the gateway's base `http://host:port`). */
    static connect(url, options = {}) {
        const Ctor = options.WebSocket ?? globalThis.WebSocket;
        if (Ctor === undefined)
            return Promise.reject(new TransportError("no WebSocket implementation: pass one in the options"));
        const target = url.startsWith("ws:") || url.startsWith("wss:") ? url : gatewaySocketUrl(url);
        return new Promise((resolve, reject) => {
            let socket;
            try {
                socket = new Ctor(target);
                socket.binaryType = "arraybuffer";
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
    #send(message) {
        if (this.#closed)
            throw new TransportError("the transport is closed");
        this.#socket.send(JSON.stringify(message));
    }
    #open(make, message) {
        if (this.#closed)
            throw new TransportError("the transport is closed");
        const id = this.#nextId;
        this.#nextId = this.#nextId >= 0xffff_fffe ? 1 : this.#nextId + 1;
        const pending = make(id);
        this.#pending.set(id, pending);
        this.#send(message(id));
        return pending;
    }
    #closer(id, sendClose) {
        return () => {
            const pending = this.#pending.get(id);
            if (pending === undefined)
                return;
            this.#pending.delete(id);
            pending.ready?.(new TransportError("closed before the gateway acknowledged it"));
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
    /** Opens an operation that resolves once the gateway sends `subscribed` for it. */
    #acknowledged(make, message) {
        return new Promise((resolve, reject) => {
            try {
                const p = this.#open(make, message);
                p.ready = (error) => {
                    p.ready = undefined;
                    if (error === undefined)
                        resolve(p.channel);
                    else
                        reject(error);
                };
            }
            catch (e) {
                reject(e);
            }
        });
    }
    subscribe(keyExpr) {
        return this.#acknowledged((id) => ({ kind: "samples", channel: new Channel(this.#closer(id, true)) }), (id) => ({ op: "subscribe", id, key: keyExpr }));
    }
    query(key, frame, timeoutMs) {
        try {
            const p = this.#open(
            // Closing it early (the first genuine reply was enough) frees the gateway's slot too.
            (id) => ({ kind: "samples", channel: new Channel(this.#closer(id, true)) }), (id) => (frame === undefined ? { op: "query", id, key, timeout_ms: timeoutMs } : { op: "query", id, key, frame: base64url(frame), timeout_ms: timeoutMs }));
            return Promise.resolve(p.channel);
        }
        catch (e) {
            return Promise.reject(e);
        }
    }
    watchLiveliness(keyExpr) {
        return this.#acknowledged((id) => ({ kind: "liveliness", channel: new Channel(this.#closer(id, true)) }), (id) => ({ op: "liveliness", id, key: keyExpr }));
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
        for (const p of this.#pending.values()) {
            p.ready?.(error ?? new TransportError("the transport is closed"));
            p.channel.end(error);
        }
        this.#pending.clear();
    }
    #receive(data) {
        if (typeof data !== "string") {
            const bytes = bytesOf(data);
            const message = bytes === undefined ? undefined : parseBinaryMessage(bytes);
            // Refused and ignored: short, unknown tag, bad key, or an id we did not open.
            if (message === undefined)
                return;
            const pending = this.#pending.get(message.id);
            if (pending?.kind !== "samples")
                return;
            pending.channel.push({ key: message.key, frame: message.frame });
            return;
        }
        let control;
        try {
            control = JSON.parse(data);
        }
        catch {
            return;
        }
        if (typeof control !== "object" || control === null)
            return;
        const id = typeof control.id === "number" ? control.id : undefined;
        const pending = id === undefined ? undefined : this.#pending.get(id);
        if (pending === undefined || id === undefined)
            return;
        switch (control.op) {
            case "subscribed":
                pending.ready?.();
                break;
            case "end":
                this.#pending.delete(id);
                pending.ready?.(new TransportError("ended before the gateway acknowledged it"));
                pending.channel.end();
                break;
            case "alive":
            case "gone":
                if (pending.kind === "liveliness" && typeof control.key === "string") {
                    pending.channel.push({ key: control.key, alive: control.op === "alive" });
                }
                break;
            case "error": {
                this.#pending.delete(id);
                const code = typeof control.error?.code === "string" ? control.error.code : undefined;
                const message = typeof control.error?.message === "string" ? control.error.message : "refused by the gateway";
                const error = new TransportError(message, code);
                pending.ready?.(error);
                pending.channel.end(error);
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
        const error = body?.error;
        const code = typeof error?.code === "string" ? error.code : undefined;
        const message = typeof error?.message === "string" ? error.message : `HTTP ${response.status}`;
        throw new TransportError(message, code);
    }
    return body;
}
/** A `{key, frame}` pair of the gateway's JSON as a {@link Sample}; `undefined` when it is not one. */
export function sampleOf(json) {
    const { key, frame } = (typeof json === "object" && json !== null ? json : {});
    if (typeof key !== "string" || typeof frame !== "string")
        return undefined;
    const bytes = fromBase64url(frame);
    return bytes === undefined ? undefined : { key, frame: bytes };
}
/** `GET /v2/things`: every thing that answered the gateway's discovery (not verified: open each `frame` to trust it). */
export async function fetchThings(base, options = {}) {
    const body = (await http(base, "v2/things", { method: "GET" }, options));
    return body?.things ?? [];
}
/** `GET /v2/things/{id}`: a thing's signed description frame as a sample (verify it before use). */
export async function fetchDescription(base, id, options = {}) {
    const sample = sampleOf(await http(base, `v2/things/${encodeURIComponent(id)}`, { method: "GET" }, options));
    if (sample === undefined)
        throw new TransportError("the gateway sent no description");
    return sample;
}
/** `POST /v2/query`: every reply of one query (replies that are not `{key, frame}` are dropped). */
export async function httpQuery(base, key, frame, timeoutMs, options = {}) {
    const request = { key };
    if (frame !== undefined)
        request.frame = base64url(frame);
    if (timeoutMs !== undefined)
        request.timeout_ms = timeoutMs;
    const body = (await http(base, "v2/query", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) }, options));
    return (body?.replies ?? []).map(sampleOf).filter((s) => s !== undefined);
}

// An in-memory network and a fake device for the client tests: the device frames, signs,
// encrypts and answers like the Rust device does (protocol v2: replies and states bound to
// their request and requester, requests naming its boot epoch; a small subset of it, enough to
// exercise the client's behaviour without a gateway).
import {
  type Binding,
  type Bytes,
  Channel,
  type Description,
  type Identity,
  type Json,
  Kind,
  type LivelinessChange,
  type Sample,
  type Sealed,
  Sealer,
  type Stream,
  SymmetricKey,
  type Transport,
  Verifier,
  bodyAad,
  fromUtf8,
  hex,
  keys,
  openTo,
  randomBytes,
  wrap,
} from "../../../typescript/sdk/index.js";

function matches(expr: string, key: string): boolean {
  const e = expr.split("/");
  const k = key.split("/");
  const walk = (i: number, j: number): boolean => {
    if (i === e.length) return j === k.length;
    if (e[i] === "**") return walk(i + 1, j) || (j < k.length && walk(i, j + 1));
    if (j === k.length) return false;
    return (e[i] === "*" || e[i] === k[j]) && walk(i + 1, j + 1);
  };
  return walk(0, 0);
}

type Handler = (key: string, payload: Uint8Array | undefined, reply: (key: string, frame: Bytes) => void) => Promise<boolean>;

/** A network in one process. */
export class Hub {
  readonly subs = new Set<{ expr: string; ch: Channel<Sample> }>();
  readonly live = new Set<{ expr: string; ch: Channel<LivelinessChange> }>();
  readonly tokens = new Set<string>();
  readonly handlers = new Map<string, Handler>();
  /** Stores: each answers queries on `safething/store/v1/**` (several may). */
  readonly stores: Handler[] = [];
  /** Sees every publication (a store keeping what things publish). */
  readonly taps: ((key: string, frame: Bytes) => void)[] = [];
  /** Rewrites every reply before delivery (a lying relay); identity by default. */
  relay: (sample: Sample) => Sample = (sample) => sample;

  transport(): Transport {
    return {
      subscribe: async (expr) => {
        const entry = { expr, ch: new Channel<Sample>(() => this.subs.delete(entry)) };
        this.subs.add(entry);
        return entry.ch;
      },
      query: async (key, payload) => {
        const ch = new Channel<Sample>();
        void (async () => {
          for (const [expr, handler] of this.handlers) {
            if (matches(expr, key) || matches(key, expr.replace("/**", "/description"))) {
              await handler(key, payload, (k, frame) => ch.push(this.relay({ key: k, frame })));
            }
          }
          if (matches("safething/store/v1/**", key)) {
            for (const store of this.stores) await store(key, payload, (k, frame) => ch.push(this.relay({ key: k, frame })));
          }
          ch.end();
        })();
        return ch;
      },
      watchLiveliness: async (expr) => {
        const entry = { expr, ch: new Channel<LivelinessChange>(() => this.live.delete(entry)) };
        this.live.add(entry);
        for (const t of this.tokens) if (matches(expr, t)) entry.ch.push({ key: t, alive: true });
        return entry.ch;
      },
      close() {},
    };
  }

  publish(key: string, frame: Bytes): void {
    for (const tap of this.taps) tap(key, frame);
    for (const s of this.subs) if (matches(s.expr, key)) s.ch.push({ key, frame });
  }

  setAlive(key: string, alive: boolean): void {
    if (alive) this.tokens.add(key);
    else this.tokens.delete(key);
    for (const l of this.live) if (matches(l.expr, key)) l.ch.push({ key, alive });
  }
}

export interface DeviceOptions {
  id: string;
  definition: Description["definition"];
  owner?: Identity;
  members?: Identity[];
}

/** A fake device with group and owner keys, lifecycle `published`. */
export class FakeDevice {
  readonly sealer: Sealer;
  readonly verifier = new Verifier();
  /** The boot epoch: requests naming another one get `stale_epoch`. */
  boot: Bytes = randomBytes(16);
  /** Requests refused for naming another epoch. */
  staleRefusals = 0;
  values = new Map<string, { value: Json; seq: number; ts: number }>();
  /** The values each attribute with a history remembers (as deep as its definition says). */
  histories = new Map<string, { value: Json; seq: number; ts: number }[]>();
  epoch = 1;
  revision = 1;
  group!: SymmetricKey;
  ownerKey!: SymmetricKey;
  received: { key: string; body: Json }[] = [];
  /** The latest state of each action request, and what `status` answers after the replies. */
  requests = new Map<string, { action: string; seq: number; state: object; invoke: Binding }>();
  /** What a `status` query finds (default: the latest state). */
  status: ((request: string) => object | undefined) | undefined;
  /** What `invoke` does: the states to reply, in order. */
  states: (request: string, input: Json) => object[] = () => [{ state: "accepted" }, { state: "running" }, { state: "done", output: null }];

  constructor(readonly hub: Hub, readonly me: Identity, readonly options: DeviceOptions) {
    this.sealer = new Sealer(me);
  }

  async start(): Promise<void> {
    this.group = await SymmetricKey.generate();
    this.ownerKey = await SymmetricKey.generate();
    this.hub.handlers.set(`safething/v1/${this.options.id}/**`, (k, p, r) => this.#answer(k, p, r));
    this.hub.setAlive(keys.thing(this.options.id), true);
  }

  async description(): Promise<Description> {
    const owner = this.options.owner?.publicKey;
    const holders = [owner, ...(this.options.members ?? []).map((m) => m.publicKey)].filter((k) => k !== undefined);
    return {
      id: this.options.id,
      state: "published",
      thing_key: this.me.publicKey.toString(),
      boot: hex(this.boot),
      ...(owner === undefined ? {} : { owner: owner.toString() }),
      group: (this.options.members ?? []).map((m) => m.publicKey.toString()),
      revision: this.revision,
      keys: {
        group: await wrap(this.me, this.options.id, this.group, holders),
        owner: await wrap(this.me, this.options.id, this.ownerKey, owner === undefined ? [] : [owner]),
      },
      definition: this.options.definition,
    };
  }

  /** Publishes its signed description (as a device does on registering: stores keep it). */
  async announce(): Promise<void> {
    const k = keys.description(this.options.id);
    this.hub.publish(k, await this.sealer.frame(k, { kind: Kind.Description, binding: { type: "none" } }, await this.description()));
  }

  #access(kind: "attributes" | "events" | "actions", name: string): string {
    const d = this.options.definition;
    const table = kind === "attributes" ? d.attributes : kind === "events" ? d.events : d.actions;
    return table?.[name]?.access ?? "owner";
  }

  /** A restart: a new boot epoch (requests framed for the old one are refused). */
  restart(): void {
    this.boot = randomBytes(16);
  }

  /** Frames `body` for `key` the way the device does for an affordance with `access`. */
  async seal(key: string, body: object, access: string, kind: Kind = Kind.Publication, binding: Binding = { type: "none" }): Promise<Bytes> {
    const k = access === "group" ? this.group : access === "owner" ? this.ownerKey : undefined;
    return this.sealer.frame(key, k === undefined ? { kind, binding } : { kind, binding, protection: { key: k } }, body);
  }

  async #open(key: string, frame: Uint8Array): Promise<{ body: Json; binding: Binding; epoch: Bytes }> {
    const opened = await this.verifier.open(key, frame);
    if (opened.kind !== Kind.Request || opened.binding.type !== "epoch") throw new Error("not a request");
    const binding: Binding = { type: "request", id: opened.id, requester: opened.from.bytes };
    const epoch = opened.binding.epoch;
    if (!opened.sealed) return { body: JSON.parse(fromUtf8(opened.body)) as Json, binding, epoch };
    const sealed = (JSON.parse(fromUtf8(opened.body)) as { sealed: Sealed }).sealed;
    const aad = bodyAad(key, opened.from.bytes, opened.id);
    const plain = sealed.epk !== undefined ? await openTo(this.me, aad, sealed) : await [this.group, this.ownerKey].find((k) => k.kid === sealed.kid)?.open(aad, sealed);
    if (plain === undefined) throw new Error("cannot open");
    return { body: JSON.parse(fromUtf8(plain)) as Json, binding, epoch };
  }

  async set(name: string, value: Json): Promise<void> {
    const old = this.values.get(name);
    const seq = (old?.seq ?? 0) + 1;
    const entry = { value, seq, ts: Date.now() };
    this.values.set(name, entry);
    const depth = this.options.definition.attributes?.[name]?.history;
    if (depth !== undefined) this.histories.set(name, [...(this.histories.get(name) ?? []), entry].slice(-depth));
    const key = keys.attribute(this.options.id, name);
    this.hub.publish(key, await this.seal(key, { value, seq, epoch: this.epoch }, this.#access("attributes", name)));
  }

  async emit(name: string, data: Json, seq: number): Promise<void> {
    const key = keys.event(this.options.id, name);
    this.hub.publish(key, await this.seal(key, { data, seq, epoch: this.epoch }, this.#access("events", name)));
  }

  async #answer(key: string, payload: Uint8Array | undefined, reply: (key: string, frame: Bytes) => void): Promise<boolean> {
    const id = this.options.id;
    // This fake device takes no sessions (`docs/protocol.md` §10): clients fall back to signed
    // requests, as with any device that does not answer a hello.
    if (key === `safething/v1/${id}/session`) return false;
    if (key === keys.description(id) || key === keys.ALL_DESCRIPTIONS) {
      const k = keys.description(id);
      reply(k, await this.sealer.frame(k, { kind: Kind.Description, binding: { type: "none" } }, await this.description()));
      return true;
    }
    if (payload === undefined) return false;
    const opened = await this.#open(key, payload);
    const to = opened.binding;
    const [, , , kind, name] = key.split("/");
    if (hex(opened.epoch) !== hex(this.boot)) {
      this.staleRefusals += 1;
      const problem = { kind: "stale_epoch", boot: hex(this.boot) };
      if (kind === "actions" && name !== undefined) {
        const request = String((opened.body as { request?: Json }).request);
        reply(key, await this.seal(keys.request(id, request), { request, action: name, seq: 1, state: "rejected", problem }, "all", Kind.State, to));
      } else {
        reply(key, await this.seal(key, { error: problem }, "all", Kind.Reply, to));
      }
      return true;
    }
    const body = opened.body as { op: string; [k: string]: Json };
    this.received.push({ key, body });
    if (kind === "attributes" && name !== undefined) {
      const access = this.#access("attributes", name);
      if (body.op === "write") await this.set(name, body.value ?? null);
      const current = this.values.get(name);
      const history = typeof body.history === "number" ? { history: this.histories.get(name) ?? [] } : {};
      const ok = current === undefined ? { seq: 0, ts: 0, epoch: this.epoch, ...history } : { ...current, epoch: this.epoch, ...history };
      reply(key, await this.seal(key, { ok }, access, Kind.Reply, to));
      return true;
    }
    if (kind === "actions" && name !== undefined && body.op === "invoke") {
      const request = String(body.request);
      if (to.type !== "request" || hex(to.id) !== request) throw new Error("the request id is not the invoke frame's id");
      const rkey = keys.request(id, request);
      let seq = 0;
      for (const state of this.states(request, body.input ?? null)) {
        seq += 1;
        this.requests.set(request, { action: name, seq, state, invoke: to });
        reply(key, await this.seal(rkey, { request, action: name, seq, ...(state as object) }, this.#access("actions", name), Kind.State, to));
      }
      return true;
    }
    if (kind === "requests" && name !== undefined) {
      const entry = this.requests.get(name);
      if (entry === undefined) {
        reply(key, await this.seal(key, { error: { kind: "unknown_request", request: name } }, "all", Kind.Reply, to));
        return true;
      }
      if (body.op === "cancel" || this.status !== undefined) entry.seq += 1;
      if (body.op === "cancel") {
        entry.state = { state: "cancelled" };
        // Published on the request's key too, bound to the invoke request (as the Rust device does).
        const update = { request: name, action: entry.action, seq: entry.seq, ...entry.state };
        this.hub.publish(key, await this.seal(key, update, this.#access("actions", entry.action), Kind.State, entry.invoke));
      }
      const state = body.op === "status" && this.status !== undefined ? (this.status(name) ?? entry.state) : entry.state;
      // Status and cancel replies are sealed like every state of the action.
      reply(key, await this.seal(key, { ok: { request: name, action: entry.action, seq: entry.seq, ...state } }, this.#access("actions", entry.action), Kind.Reply, to));
      return true;
    }
    if (kind === "admin") {
      if (body.op === "publish") this.revision += 1;
      reply(key, await this.seal(key, { ok: await this.description() }, "all", Kind.Reply, to));
      return true;
    }
    return false;
  }
}

/**
 * A store (`docs/store.md`) in memory: keeps every frame published on the hub byte for byte, by
 * key, and answers store queries (`docs/protocol.md` §11) with them, oldest first. `lie`
 * rewrites what it answers (a store that lies).
 */
export class FakeStore {
  readonly kept = new Map<string, Bytes[]>();
  lie: ((key: string, frames: Bytes[]) => Bytes[]) | undefined;

  constructor(readonly hub: Hub) {
    hub.taps.push((key, frame) => this.keep(key, frame));
    hub.stores.push((key, payload, reply) => this.#answer(key, payload, reply));
  }

  /** Keeps `frame` as published on the thing key `key`. */
  keep(key: string, frame: Bytes): void {
    const frames = this.kept.get(key) ?? [];
    frames.push(frame);
    this.kept.set(key, frames);
  }

  async #answer(key: string, payload: Uint8Array | undefined, reply: (key: string, frame: Bytes) => void): Promise<boolean> {
    const thingKey = `safething/v1/${key.slice("safething/store/v1/".length)}`;
    const query = (payload === undefined ? { op: "latest" } : JSON.parse(fromUtf8(payload))) as { op: string; limit?: number };
    const all = this.kept.get(thingKey) ?? [];
    let frames = query.op === "latest" ? all.slice(-1) : all.slice(-(query.limit ?? 1000));
    if (this.lie !== undefined) frames = this.lie(thingKey, frames);
    for (const f of frames) reply(key, f);
    return true;
  }
}

/** Takes a device off the network: it answers nothing and its liveliness token is gone. */
export function unplug(device: FakeDevice): void {
  device.hub.handlers.delete(`safething/v1/${device.options.id}/**`);
  device.hub.setAlive(keys.thing(device.options.id), false);
}

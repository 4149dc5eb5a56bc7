// An in-memory network and a fake device for the client tests: the device seals, signs,
// encrypts and answers like the Rust device does (a small subset of it, enough to exercise
// the client's behaviour without a gateway).
import {
  Channel,
  type Description,
  type Identity,
  type Json,
  type LivelinessChange,
  type Sample,
  Sealer,
  SEALED_PREFIX,
  type Sealed,
  type Stream,
  SymmetricKey,
  type Transport,
  Verifier,
  fromUtf8,
  keys,
  openTo,
  utf8,
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

type Handler = (key: string, payload: string | undefined, reply: (key: string, envelope: string) => void) => Promise<boolean>;

/** A network in one process. */
export class Hub {
  readonly subs = new Set<{ expr: string; ch: Channel<Sample> }>();
  readonly live = new Set<{ expr: string; ch: Channel<LivelinessChange> }>();
  readonly tokens = new Set<string>();
  readonly handlers = new Map<string, Handler>();

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
              await handler(key, payload, (k, e) => ch.push({ key: k, envelope: e }));
            }
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

  publish(key: string, envelope: string): void {
    for (const s of this.subs) if (matches(s.expr, key)) s.ch.push({ key, envelope });
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
  values = new Map<string, { value: Json; seq: number; ts: number }>();
  epoch = 1;
  revision = 1;
  group!: SymmetricKey;
  ownerKey!: SymmetricKey;
  received: { key: string; body: Json }[] = [];
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

  #access(kind: "attributes" | "events" | "actions", name: string): string {
    const d = this.options.definition;
    const table = kind === "attributes" ? d.attributes : kind === "events" ? d.events : d.actions;
    return table?.[name]?.access ?? "owner";
  }

  /** Seals `body` for `key` the way the device does for an affordance with `access`. */
  async seal(key: string, body: object, access: string): Promise<string> {
    const k = access === "group" ? this.group : access === "owner" ? this.ownerKey : undefined;
    if (k === undefined) return this.sealer.seal(key, body);
    return this.sealer.seal(key, { sealed: await k.seal(key, utf8(JSON.stringify(body))) });
  }

  async #open(key: string, envelope: string): Promise<Json> {
    const opened = await this.verifier.open(key, envelope);
    if (!opened.body.startsWith(SEALED_PREFIX)) return JSON.parse(opened.body) as Json;
    const sealed = (JSON.parse(opened.body) as { sealed: Sealed }).sealed;
    const plain =
      sealed.epk !== undefined
        ? await openTo(this.me, key, sealed)
        : await [this.group, this.ownerKey].find((k) => k.kid === sealed.kid)?.open(key, sealed);
    if (plain === undefined) throw new Error("cannot open");
    return JSON.parse(fromUtf8(plain)) as Json;
  }

  async set(name: string, value: Json): Promise<void> {
    const old = this.values.get(name);
    const seq = (old?.seq ?? 0) + 1;
    this.values.set(name, { value, seq, ts: Date.now() });
    const key = keys.attribute(this.options.id, name);
    this.hub.publish(key, await this.seal(key, { value, seq, epoch: this.epoch }, this.#access("attributes", name)));
  }

  async emit(name: string, data: Json, seq: number): Promise<void> {
    const key = keys.event(this.options.id, name);
    this.hub.publish(key, await this.seal(key, { data, seq, epoch: this.epoch }, this.#access("events", name)));
  }

  async #answer(key: string, payload: string | undefined, reply: (key: string, envelope: string) => void): Promise<boolean> {
    const id = this.options.id;
    if (key === keys.description(id) || key === keys.ALL_DESCRIPTIONS) {
      const k = keys.description(id);
      reply(k, await this.sealer.seal(k, await this.description()));
      return true;
    }
    if (payload === undefined) return false;
    const body = (await this.#open(key, payload)) as { op: string; [k: string]: Json };
    this.received.push({ key, body });
    const [, , , kind, name] = key.split("/");
    if (kind === "attributes" && name !== undefined) {
      const access = this.#access("attributes", name);
      if (body.op === "write") await this.set(name, body.value ?? null);
      const current = this.values.get(name);
      const ok = current === undefined ? { seq: 0, ts: 0, epoch: this.epoch } : { ...current, epoch: this.epoch };
      reply(key, await this.seal(key, { ok }, access));
      return true;
    }
    if (kind === "actions" && name !== undefined && body.op === "invoke") {
      const request = String(body.request);
      const rkey = keys.request(id, request);
      let seq = 0;
      for (const state of this.states(request, body.input ?? null)) {
        seq += 1;
        reply(key, await this.seal(rkey, { request, action: name, seq, ...(state as object) }, this.#access("actions", name)));
      }
      return true;
    }
    if (kind === "admin") {
      if (body.op === "publish") this.revision += 1;
      reply(key, await this.sealer.seal(key, { ok: await this.description() }));
      return true;
    }
    return false;
  }
}

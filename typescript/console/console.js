// The SAFEthing web console: plain ES modules on the compiled TypeScript runtime (/sdk/), no
// build step. The browser keeps its own identity (an Ed25519 key in localStorage); every request
// is signed here and every answer verified (and decrypted) here — the gateway only relays.

import * as rt from "/sdk/index.js";
import { historyChart } from "./chart.js";
import { describeSchema, inputFields } from "./forms.js";

const IDENTITY_KEY = "safething.identity";
/** The keys of the things this browser has met (id → key): a store's copy of a thing is only believed when signed by one. */
const PINS_KEY = "safething.pins";
const EVENT_FEED_LIMIT = 50;
const HISTORY_LIMIT = 100;

const $ = (sel) => document.querySelector(sel);

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false || v === null) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

const json = (v) => (v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));
const time = (ts) => new Date(ts).toLocaleTimeString();

/** A duration as people say it: "40 s", "5 min", "3 h", "2 days". */
export function ago(ms) {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  const days = Math.floor(s / 86_400);
  return `${days} day${days === 1 ? "" : "s"}`;
}

/** Where a value came from, next to it: nothing for the device, "from store, 5 min old" for a store. */
function sourceText(source, ts) {
  return source === "store" ? `from store, ${ago(Date.now() - ts)} old` : "";
}

/** An error as people read it: access denied with its rule, invalid input with its field. */
export function explain(e) {
  if (!rt.isSafethingError(e)) return e instanceof Error ? e.message : String(e);
  switch (e.kind) {
    case "access_denied":
      return `Access denied (rule: ${e.rule}): ${e.reason}`;
    case "invalid_payload":
      return `Invalid ${e.what}${e.path ? ` at ${e.path}` : ""}: ${e.reason}`;
    case "rejected":
      return `Refused by the device: ${rt.describeProblem(e.problem)}`;
    case "action_failed":
      return `The action failed: ${e.error.code}: ${e.error.message}`;
    case "not_published":
      return `${e.message} (its owner publishes it)`;
    case "transport":
      return `Gateway: ${e.message}`;
    default:
      return e.message;
  }
}

function status(text, kind = "info") {
  const el = $("#status");
  el.textContent = text;
  el.dataset.kind = kind;
}

// ---------------------------------------------------------------------------------------------
// Identity

async function loadIdentity() {
  const saved = localStorage.getItem(IDENTITY_KEY);
  if (saved !== null) {
    try {
      return await rt.Identity.fromJwk(JSON.parse(saved));
    } catch (e) {
      console.warn("stored identity unreadable, making a new one", e);
    }
  }
  const identity = await rt.Identity.generate();
  localStorage.setItem(IDENTITY_KEY, JSON.stringify(identity.toJwk()));
  return identity;
}

function showIdentity(identity) {
  $("#my-key").textContent = identity.publicKey.toString();
}

async function replaceIdentity(identity) {
  localStorage.setItem(IDENTITY_KEY, JSON.stringify(identity.toJwk()));
  location.reload();
}

function setupIdentityControls(identity) {
  $("#copy-key").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(identity.publicKey.toString());
      status("Public key copied.");
    } catch {
      status("Copy failed: select the key and copy it by hand.", "error");
    }
  });
  $("#export-identity").addEventListener("click", () => {
    const blob = new Blob([identity.toFileText()], { type: "text/plain" });
    const a = h("a", { href: URL.createObjectURL(blob), download: "safething-identity.key" });
    document.body.append(a);
    a.click();
    a.remove();
  });
  $("#import-identity").addEventListener("change", async (event) => {
    const file = event.target.files?.[0];
    if (!file) return;
    try {
      const next = await rt.Identity.fromFileText(await file.text());
      if (confirm(`Use identity ${next.publicKey.short()} instead of ${identity.publicKey.short()}? The current key is forgotten unless you exported it.`)) await replaceIdentity(next);
    } catch (e) {
      status(`Cannot import: ${explain(e)}`, "error");
    }
  });
  $("#new-identity").addEventListener("click", async () => {
    if (confirm("Make a new identity? The current key is forgotten unless you exported it.")) await replaceIdentity(await rt.Identity.generate());
  });
}

// ---------------------------------------------------------------------------------------------
// Pinned thing keys

function loadPins() {
  try {
    const pins = JSON.parse(localStorage.getItem(PINS_KEY) ?? "{}");
    const out = {};
    for (const [id, key] of Object.entries(typeof pins === "object" && pins !== null ? pins : {})) {
      try {
        out[id] = rt.PublicKey.parse(key);
      } catch {
        // A damaged entry is dropped; the thing is pinned again at the next contact.
      }
    }
    return out;
  } catch {
    return {};
  }
}

/** Remembers the key the client pinned for `id` (first contact), so a reload still knows it. */
function savePin(id) {
  const key = state.client?.pinnedKey(id);
  if (key === undefined) return;
  const pins = Object.fromEntries(Object.entries(loadPins()).map(([k, v]) => [k, v.toString()]));
  if (pins[id] === key.toString()) return;
  pins[id] = key.toString();
  localStorage.setItem(PINS_KEY, JSON.stringify(pins));
}

// ---------------------------------------------------------------------------------------------
// Connection and the list of things

const state = {
  identity: undefined,
  transport: undefined,
  client: undefined,
  things: [],
  /** Summaries of pinned things that did not answer, from a store's copy of their description (by id). */
  stored: new Map(),
  selected: undefined, // id
  view: undefined, // the open thing's view (closes its streams)
};

async function connect() {
  status("Connecting to the gateway…");
  const transport = await rt.GatewayTransport.connect(location.origin);
  const client = await rt.Client.connect({ transport, identity: state.identity, discoveryTimeoutMs: 1500, trust: loadPins() });
  state.transport = transport;
  state.client = client;
  client.presence?.listen?.(() => renderThings());
  status("Connected.");
  watchConnection(transport);
}

/** Reconnects when the gateway goes away (the transport's streams end with an error). */
async function watchConnection(transport) {
  const probe = await transport.watchLiveliness("safething/v1/*").catch(() => undefined);
  if (probe === undefined) return;
  for (;;) {
    try {
      if ((await probe.next()) === undefined) break;
    } catch {
      break;
    }
  }
  if (state.transport !== transport) return;
  status("Lost the gateway; reconnecting…", "error");
  state.view?.close();
  state.view = undefined;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    try {
      await connect();
      await refreshThings();
      if (state.selected) await select(state.selected);
      return;
    } catch {
      status("Gateway unreachable; retrying…", "error");
    }
  }
}

async function refreshThings() {
  try {
    const found = await state.client.discover();
    // Things this browser met that did not answer: listed from a store's copy of their
    // description (signed by the pinned key), marked as such.
    for (const id of Object.keys(loadPins())) {
      if (found.some((t) => t.id === id)) {
        state.stored.delete(id);
        continue;
      }
      if (!state.stored.has(id)) {
        try {
          const thing = await state.client.storedThing(id);
          if (thing !== undefined) state.stored.set(id, summaryOf(thing.description));
        } catch {
          // No store, or none that tells the truth: not listed.
        }
      }
      const s = state.stored.get(id);
      if (s !== undefined) found.push(s);
    }
    state.things = found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    renderThings();
  } catch (e) {
    status(`Cannot list things: ${explain(e)}`, "error");
  }
}

/** A list entry for a thing known from a store's copy of its description. */
function summaryOf(d) {
  return { id: d.id, name: d.definition.thing.name, title: d.definition.thing.title ?? d.definition.thing.name, version: d.definition.thing.version, state: d.state, online: false, stored: true };
}

function badge(text, kind) {
  return h("span", { class: `badge ${kind}`, "data-badge": kind, text });
}

function renderThings() {
  const list = $("#things");
  list.replaceChildren();
  if (state.things.length === 0) {
    list.append(h("li", { class: "empty", text: "No things answered yet. Start a device, then Refresh." }));
    return;
  }
  for (const t of state.things) {
    const online = state.client.isOnline(t.id);
    const button = h(
      "button",
      { type: "button", class: "thing", "data-thing-id": t.id, "aria-pressed": String(state.selected === t.id), onclick: () => select(t.id) },
      h("span", { class: "thing-title", text: t.title }),
      h("span", { class: "thing-id", text: t.id }),
      h("span", { class: "badges" }, badge(online ? "online" : "offline", online ? "online" : "offline"), badge(t.state, t.state), t.stored && !online ? badge("from store", "stored") : undefined),
    );
    list.append(h("li", {}, button));
  }
}

// ---------------------------------------------------------------------------------------------
// One thing

async function select(id) {
  state.selected = id;
  state.view?.close();
  state.view = undefined;
  renderThings();
  const panel = $("#thing");
  panel.hidden = false;
  panel.replaceChildren(h("p", { text: `Opening ${id}…` }));
  try {
    // A device that does not answer is opened from a store's copy of its description, when one
    // is signed by the key pinned for it.
    const thing = await state.client.thingOrStored(id);
    savePin(id);
    if (state.selected !== id) return;
    state.view = new ThingView(thing, panel);
    state.view.render();
  } catch (e) {
    panel.replaceChildren(h("p", { class: "error", role: "alert", text: `Cannot open ${id}: ${explain(e)}` }));
  }
}

function roleOf(description, me) {
  if (description.owner === me) return "owner";
  if ((description.group ?? []).includes(me)) return "member";
  return "stranger";
}

/** A claim token, or the token inside a `safething:claim?id=…&key=…&token=…` URI. */
export function parseClaim(text) {
  const t = text.trim();
  if (!t.startsWith("safething:claim?")) return { token: t };
  const params = new URLSearchParams(t.slice("safething:claim?".length));
  return { token: params.get("token") ?? "", id: params.get("id") ?? undefined, key: params.get("key") ?? undefined };
}

class ThingView {
  constructor(thing, panel) {
    this.thing = thing;
    this.panel = panel;
    this.closers = [];
    this.closed = false;
    /** Called when the device goes offline (each attribute then shows what a store kept). */
    this.offline = [];
    const stop = state.client.presence?.listen?.((id, online) => {
      if (id !== thing.id || this.closed) return;
      if (this.meta !== undefined) this.renderMeta();
      if (!online) for (const f of this.offline) f();
    });
    if (stop) this.closers.push(stop);
    // The age of stored values grows while the page is open.
    const tick = setInterval(() => {
      for (const el of this.panel.querySelectorAll("[data-source=store][data-ts]")) el.textContent = sourceText("store", Number(el.dataset.ts));
    }, 10_000);
    this.closers.push(() => clearInterval(tick));
  }

  close() {
    this.closed = true;
    for (const c of this.closers.splice(0)) {
      try {
        c();
      } catch {
        // already closed
      }
    }
  }

  get me() {
    return state.client.publicKey.toString();
  }

  render() {
    const d = this.thing.description;
    const def = this.thing.definition;
    this.alert = h("div", { class: "alert", role: "alert", id: "thing-alert" });
    this.meta = h("dl", { class: "meta" });
    this.panel.replaceChildren(
      h("h2", { id: "thing-heading", text: `${def.thing.title ?? def.thing.name} — ${d.id}` }),
      def.thing.description ? h("p", { class: "muted", text: def.thing.description }) : undefined,
      this.meta,
      this.alert,
      this.ownerSection(),
      this.attributesSection(),
      this.actionsSection(),
      this.eventsSection(),
    );
    this.renderMeta();
  }

  fail(e, where) {
    this.alert.textContent = `${where}: ${explain(e)}`;
    this.alert.dataset.kind = rt.isSafethingError(e) ? e.kind : "error";
  }

  ok(text) {
    this.alert.textContent = "";
    status(text);
  }

  renderMeta() {
    const d = this.thing.description;
    const role = roleOf(d, this.me);
    const online = this.thing.isOnline();
    const row = (k, v) => [h("dt", { text: k }), h("dd", {}, v)];
    this.meta.replaceChildren(
      ...row("Type", `${d.definition.thing.name} ${d.definition.thing.version}`),
      ...row("State", badge(d.state, d.state)),
      ...row("Presence", badge(online ? "online" : "offline", online ? "online" : "offline")),
      ...row("Thing key", h("code", { title: d.thing_key, text: rt.PublicKey.parse(d.thing_key).short() })),
      ...row("Owner", d.owner ? h("code", { title: d.owner, text: rt.PublicKey.parse(d.owner).short() }) : "none (unclaimed)"),
      ...row("Group", String((d.group ?? []).length) + " member(s)"),
      ...row("You are", h("span", { "data-role": role, text: role === "stranger" ? "not a member" : `the ${role}` })),
    );
    this.meta.dataset.state = d.state;
    this.meta.dataset.role = role;
    const s = state.things.find((t) => t.id === d.id);
    if (s) {
      s.state = d.state;
      renderThings();
    }
  }

  /** Runs an owner operation, shows its result or error. */
  async admin(label, op, reopen = false) {
    try {
      await op();
      this.ok(`${label}: done.`);
      if (reopen) {
        // Keys were rotated or wrapped for us: start again from a fresh description.
        await refreshThings();
        await select(this.thing.id);
      } else {
        this.renderMeta();
      }
    } catch (e) {
      this.fail(e, label);
    }
  }

  ownerSection() {
    const claimInput = h("input", { id: "claim-token", name: "token", type: "text", autocomplete: "off", placeholder: "token or safething:claim?… URI", "aria-describedby": "claim-help" });
    const claim = h(
      "form",
      {
        class: "inline",
        "data-op": "claim",
        onsubmit: (ev) => {
          ev.preventDefault();
          const c = parseClaim(claimInput.value);
          if (c.token === "") return this.fail(new Error("enter the token the device shows"), "Claim");
          if (c.id !== undefined && c.id !== this.thing.id) return this.fail(new Error(`this URI is for ${c.id}, not ${this.thing.id}`), "Claim");
          if (c.key !== undefined && c.key !== this.thing.description.thing_key) return this.fail(new Error("the thing's key does not match the claim URI: not claiming (an impostor?)"), "Claim");
          this.admin("Claim", () => this.thing.claim(c.token), true);
        },
      },
      h("label", { for: "claim-token", text: "Claim with token " }),
      claimInput,
      h("button", { type: "submit", id: "claim", text: "Claim" }),
      h("p", { id: "claim-help", class: "hint", text: "The first claim with the device's one-time token makes this console's key the owner." }),
    );
    const memberInput = h("input", { id: "member-key", name: "member", type: "text", autocomplete: "off", placeholder: "st…", "aria-label": "Member's public key" });
    const member = () => {
      const text = memberInput.value.trim();
      rt.PublicKey.parse(text);
      return text;
    };
    const withKey = (label, op) => async () => {
      let key;
      try {
        key = member();
      } catch (e) {
        memberInput.setAttribute("aria-invalid", "true");
        return this.fail(e, `${label}: not a public key`);
      }
      memberInput.removeAttribute("aria-invalid");
      await this.admin(label, () => op(key), true);
    };
    return h(
      "section",
      { class: "card", "aria-labelledby": "owner-heading" },
      h("h3", { id: "owner-heading", text: "Ownership" }),
      this.thing.description.owner === undefined ? claim : undefined,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", id: "publish", onclick: () => this.admin("Publish", () => this.thing.publish()), text: "Publish" }),
        h("button", { type: "button", id: "disable", onclick: () => this.admin("Disable", () => this.thing.disable()), text: "Disable" }),
      ),
      h(
        "div",
        { class: "inline" },
        h("label", { for: "member-key", text: "Group member " }),
        memberInput,
        h("button", { type: "button", id: "grant", onclick: withKey("Grant", (k) => this.thing.grant(k)), text: "Grant" }),
        h("button", { type: "button", id: "revoke", onclick: withKey("Revoke", (k) => this.thing.revoke(k)), text: "Revoke" }),
      ),
    );
  }

  attributesSection() {
    const def = this.thing.definition;
    const types = def.types ?? {};
    const rows = [];
    for (const [name, a] of Object.entries(def.attributes ?? {})) {
      const access = a.access ?? "owner";
      if (access === "thing") continue;
      const s = rt.resolve(a, types);
      const value = h("output", { class: "value", "aria-live": "polite", text: a.kind === "static" ? json(a.value) : "…" });
      const seq = h("span", { class: "seq muted" });
      const source = h("span", { class: "source", "data-source": "device" });
      const chart = h("div", { class: "chart-box" });
      const row = h(
        "div",
        { class: "attribute", "data-attribute": name },
        h("div", { class: "attr-head" }, h("strong", { text: name }), badge(access, `access-${access}`), h("span", { class: "hint", text: describeSchema(s) })),
        a.description ? h("p", { class: "muted", text: a.description }) : undefined,
        h("div", { class: "attr-value" }, value, seq, source),
        chart,
      );
      if (a.kind !== "static") this.follow(name, a, s, { value, seq, source }, chart);
      if (a.writable) row.append(this.writeForm(name, a, types));
      rows.push(row);
    }
    return h("section", { class: "card", "aria-labelledby": "attributes-heading" }, h("h3", { id: "attributes-heading", text: "Attributes" }), ...rows);
  }

  async follow(name, a, schema, { value, seq, source }, chart) {
    const points = [];
    // With the device offline its description cannot be fetched again to confirm a refusal: the
    // rule is checked against the description at hand (a store's value would not open anyway).
    const deniedOffline = () => (this.thing.isOnline() ? undefined : rt.checkAccess(this.thing.description, a.access ?? "owner", state.client.publicKey));
    const draw = (from) => {
      while (points.length > HISTORY_LIMIT) points.shift();
      const chartOf = historyChart(points, { label: from === "store" ? `${name} history (from store)` : `${name} history`, schema });
      if (from === "store") chart.replaceChildren(chartOf, h("p", { class: "muted", "data-source": "store", text: "history from a store (the device did not answer)" }));
      else chart.replaceChildren(chartOf);
    };
    /** Shows a value and where it came from (a live update or a device read: "device"). */
    let shown;
    const show = (v, s, ts, from) => {
      shown = { seq: s, ts };
      value.textContent = json(v);
      value.classList.remove("denied");
      value.dataset.seq = String(s);
      value.dataset.source = from;
      seq.textContent = ` #${s} at ${time(ts)}`;
      source.dataset.source = from;
      source.dataset.ts = String(ts);
      source.textContent = sourceText(from, ts);
    };
    // The device does not answer: the value a store kept, verified against the thing's key.
    const fromStore = async () => {
      try {
        const r = await this.thing.readWithSource(name);
        if (this.closed) return;
        if (shown === undefined || r.timestamp >= shown.ts) show(r.value, r.seq, r.timestamp, r.source);
      } catch (e) {
        if (this.closed) return;
        if (shown === undefined) {
          value.textContent = explain(deniedOffline() ?? e);
          value.classList.add("denied");
        } else {
          source.dataset.source = "none";
          source.textContent = "device offline; last seen live";
        }
      }
    };
    if (a.history) {
      try {
        const { history, source: from } = await this.thing.historyWithSource(name, HISTORY_LIMIT);
        for (const e of history) points.push(e);
        draw(from);
      } catch (e) {
        chart.replaceChildren(h("p", { class: "muted", text: `history: ${explain(deniedOffline() ?? e)}` }));
      }
    }
    let watch;
    try {
      watch = await this.thing.watch(name);
    } catch (e) {
      if (this.closed) return;
      const denied = deniedOffline();
      if (!this.thing.isOnline() && denied === undefined && rt.isSafethingError(e) && e.kind !== "access_denied") return fromStore();
      value.textContent = explain(denied ?? e);
      value.classList.add("denied");
      return;
    }
    if (this.closed) return watch.close();
    this.closers.push(() => watch.close());
    this.offline.push(() => void fromStore());
    if (!this.thing.isOnline()) void fromStore();
    for (;;) {
      let u;
      try {
        u = await watch.next();
      } catch (e) {
        if (this.closed) return;
        value.textContent = explain(e);
        continue;
      }
      if (u === undefined || this.closed) return;
      show(u.value, u.seq, u.ts, "device");
      if (a.history) {
        if (!points.some((p) => p.seq === u.seq)) points.push(u);
        draw("device");
      }
    }
  }

  writeForm(name, a, types) {
    const fields = inputFields({ ...a, kind: undefined, history: undefined, writable: undefined, access: undefined, value: undefined }, types);
    const form = h(
      "form",
      { class: "inline write", novalidate: true, "data-write": name },
      fields.element,
      h("button", { type: "submit", text: "Write" }),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      fields.clear();
      let v;
      try {
        v = fields.read();
      } catch (violation) {
        fields.show(violation);
        return;
      }
      const violation = new rt.CompiledSchema(a, types).check(v);
      if (violation !== undefined) {
        fields.show(violation);
        return;
      }
      try {
        await this.thing.write(name, v);
        this.ok(`${name} written.`);
      } catch (e) {
        if (e?.kind === "invalid_payload") fields.show({ path: e.path, message: e.reason });
        this.fail(e, `Write ${name}`);
      }
    });
    return form;
  }

  actionsSection() {
    const def = this.thing.definition;
    const types = def.types ?? {};
    const forms = [];
    for (const [name, a] of Object.entries(def.actions ?? {})) {
      const access = a.access ?? "owner";
      if (access === "thing") continue;
      const fields = inputFields(a.input, types);
      const progress = h("ol", { class: "progress", "aria-live": "polite" });
      const form = h(
        "form",
        { class: "action", novalidate: true, "data-action": name, "aria-labelledby": `action-${name}` },
        h("div", { class: "attr-head" }, h("strong", { id: `action-${name}`, text: name }), badge(access, `access-${access}`), a.timeout ? h("span", { class: "hint", text: `timeout ${a.timeout}` }) : undefined),
        a.description ? h("p", { class: "muted", text: a.description }) : undefined,
        fields.element,
        h("button", { type: "submit", text: `Run ${name}` }),
        progress,
      );
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        fields.clear();
        let input;
        try {
          input = fields.read();
        } catch (violation) {
          fields.show(violation);
          return;
        }
        if (a.input !== undefined) {
          // The runtime's own schema check, before anything is sent.
          const violation = new rt.CompiledSchema(a.input, types).check(input);
          if (violation !== undefined) {
            fields.show(violation);
            this.fail(new rt.InvalidPayloadError(`input of action \`${name}\``, violation.path, violation.keyword, violation.message), `Run ${name}`);
            return;
          }
        }
        await this.run(name, input, progress, fields);
      });
      forms.push(form);
    }
    return h("section", { class: "card", "aria-labelledby": "actions-heading" }, h("h3", { id: "actions-heading", text: "Actions" }), ...forms);
  }

  async run(name, input, progress, fields) {
    this.alert.textContent = "";
    const item = h("li", { class: "request", "data-request-state": "requested" });
    const label = h("span", { class: "states", text: "requested" });
    const cancel = h("button", { type: "button", class: "small", text: "Cancel" });
    item.append(h("span", { class: "muted", text: `${time(Date.now())} ${json(input)} ` }), label, cancel);
    progress.prepend(item);
    while (progress.children.length > 5) progress.lastChild.remove();
    const mark = (s, extra) => {
      item.dataset.requestState = s;
      label.textContent = `${label.textContent} → ${s}${extra ? ` ${extra}` : ""}`;
    };
    let handle;
    try {
      handle = await this.thing.invoke(name, input);
    } catch (e) {
      if (e?.kind === "invalid_payload") fields.show({ path: e.path, message: e.reason });
      mark("failed", `(${explain(e)})`);
      cancel.remove();
      this.fail(e, `Run ${name}`);
      return;
    }
    cancel.addEventListener("click", () => handle.cancel().catch((e) => this.fail(e, `Cancel ${name}`)));
    try {
      for await (const s of handle.states()) {
        if (s.state === "requested") continue;
        if (s.state === "done") mark("done", `→ ${json(s.output)}`);
        else if (s.state === "failed") mark("failed", `(${s.error.code}: ${s.error.message})`);
        else if (s.state === "rejected") mark("rejected", `(${rt.describeProblem(s.problem)})`);
        else if (s.state === "timed_out") mark("timed_out", `(after ${s.timeout_ms} ms)`);
        else mark(s.state);
      }
    } catch (e) {
      mark("failed", `(${explain(e)})`);
      this.fail(e, `Run ${name}`);
    } finally {
      cancel.remove();
    }
  }

  eventsSection() {
    const def = this.thing.definition;
    const feed = h("ol", { class: "feed", id: "event-feed", "aria-live": "polite" });
    const notes = h("div", { class: "muted" });
    for (const [name, e] of Object.entries(def.events ?? {})) {
      if ((e.access ?? "owner") === "thing") continue;
      this.listen(name, feed, notes);
    }
    return h(
      "section",
      { class: "card", "aria-labelledby": "events-heading" },
      h("h3", { id: "events-heading", text: "Events" }),
      notes,
      feed,
      h("p", { class: "muted empty-feed", text: Object.keys(def.events ?? {}).length ? "Events appear here as they happen." : "This thing has no events." }),
    );
  }

  async listen(name, feed, notes) {
    let stream;
    try {
      stream = await this.thing.subscribe(name);
    } catch (e) {
      notes.append(h("p", { text: `${name}: ${explain(e)}` }));
      return;
    }
    if (this.closed) return stream.close();
    this.closers.push(() => stream.close());
    for (;;) {
      let d;
      try {
        d = await stream.next();
      } catch (e) {
        if (this.closed) return;
        feed.prepend(h("li", { class: "error", text: `${name}: ${explain(e)}` }));
        continue;
      }
      if (d === undefined || this.closed) return;
      feed.prepend(h("li", { "data-event": name }, h("time", { text: time(d.ts) }), " ", h("strong", { text: name }), " ", h("code", { text: json(d.data) })));
      while (feed.children.length > EVENT_FEED_LIMIT) feed.lastChild.remove();
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  try {
    state.identity = await loadIdentity();
  } catch (e) {
    status(`This browser cannot keep an Ed25519 identity (WebCrypto): ${explain(e)}`, "error");
    return;
  }
  showIdentity(state.identity);
  setupIdentityControls(state.identity);
  $("#refresh").addEventListener("click", () => refreshThings());
  try {
    await connect();
  } catch (e) {
    status(`Cannot reach the gateway: ${explain(e)}`, "error");
    return;
  }
  await refreshThings();
  setInterval(() => {
    if (state.client) refreshThings();
  }, 5000);
  document.body.dataset.ready = "true";
}

main();

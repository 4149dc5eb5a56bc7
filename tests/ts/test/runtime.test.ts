// Unit tests of the TypeScript runtime: encodings, keys, frames, crypto, schema checks and
// filters. (Interop with the Rust runtime: interop.test.mjs, run by `cargo test --test ts_interop`.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as st from "../../../typescript/sdk/index.js";

const hexBytes = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

test("base32 and base64url round trip and reject what Rust rejects", () => {
  for (let n = 0; n < 40; n++) {
    const bytes = st.randomBytes(n);
    assert.deepEqual(st.fromBase32(st.base32(bytes)), bytes);
    assert.deepEqual(st.fromBase64url(st.base64url(bytes)), bytes);
  }
  assert.equal(st.base32(st.utf8("foobar")), "mzxw6ytboi");
  assert.equal(st.base64url(st.utf8("foob")), "Zm9vYg");
  assert.deepEqual(st.fromBase32("MZXW6YTBOI"), st.utf8("foobar"));
  assert.equal(st.fromBase32("mzxw6ytbo!"), undefined);
  assert.equal(st.fromBase32("a"), undefined);
  assert.equal(st.fromBase64url("Zm9vYh"), undefined, "non-zero trailing bits");
});

test("RFC 8032 test vector 1: keys print as st + base32 and sign identically", async () => {
  const id = await st.Identity.fromSecret(hexBytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  assert.deepEqual(id.publicKey.bytes, hexBytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
  const printed = id.publicKey.toString();
  assert.match(printed, /^st[a-z2-7]{52}$/);
  assert.ok(st.PublicKey.parse(printed).equals(id.publicKey));
  assert.ok(st.PublicKey.parse(printed.toUpperCase().replace("ST", "st")).equals(id.publicKey));
  assert.equal(id.publicKey.short(), printed.slice(0, 10));
  const sig = await id.sign(new Uint8Array());
  assert.deepEqual(
    sig,
    hexBytes("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
  );
  assert.ok(await id.publicKey.verify(new Uint8Array(), sig));
  assert.ok(!(await id.publicKey.verify(Uint8Array.of(1), sig)));
  assert.throws(() => st.PublicKey.parse("st123"), st.IdentityError);
  assert.throws(() => st.PublicKey.parse("xx"), st.IdentityError);
});

test("identities persist as JWK and as Rust identity files", async () => {
  const id = await st.Identity.generate();
  const back = await st.Identity.fromJwk(id.toJwk());
  assert.ok(back.publicKey.equals(id.publicKey));
  const file = await st.Identity.fromFileText(id.toFileText());
  assert.ok(file.publicKey.equals(id.publicKey));
  const other = await st.Identity.generate();
  await assert.rejects(st.Identity.fromJwk({ ...id.toJwk(), x: other.toJwk().x }), st.IdentityError);
});

test("Ed25519 keys map to X25519 keys that agree (both directions)", async () => {
  const a = await st.Identity.generate();
  const b = await st.Identity.generate();
  const key = await st.SymmetricKey.generate();
  const wrapped = await st.wrap(a, "thing-1", key, [b.publicKey]);
  const unwrapped = await st.unwrap(b, a.publicKey, "thing-1", wrapped);
  assert.ok(unwrapped);
  assert.deepEqual(await unwrapped.secret(), await key.secret());
  assert.equal(await st.unwrap(a, a.publicKey, "thing-1", wrapped), undefined);
  const aad = st.utf8("aad");
  const sealed = await st.sealTo(b.publicKey, aad, st.utf8("token"));
  assert.equal(st.fromUtf8((await st.openTo(b, aad, sealed)) ?? new Uint8Array()), "token");
  assert.equal(await st.openTo(a, aad, sealed), undefined);
  assert.equal(await st.openTo(b, st.utf8("aae"), sealed), undefined);
});

test("frames: round trip, bound to key, body, kind and binding, fresh, always signed", async () => {
  const id = await st.Identity.generate();
  const sealer = new st.Sealer(id);
  const verifier = new st.Verifier();
  const none: st.Binding = { type: "none" };
  const frame = await sealer.frame("a/b", { kind: st.Kind.Publication, binding: none }, { x: 1, s: 'é "q" 🌱' });
  const opened = await verifier.open("a/b", frame);
  assert.deepEqual(JSON.parse(st.fromUtf8(opened.body)), { x: 1, s: 'é "q" 🌱' });
  assert.ok(opened.from.equals(id.publicKey));
  assert.equal(opened.kind, st.Kind.Publication);
  await assert.rejects(verifier.open("a/c", frame), /bad signature/);
  for (const at of [3, 4, 40, frame.length - 70, frame.length - 1]) {
    const tampered = Uint8Array.from(frame);
    tampered[at] = (tampered[at] ?? 0) ^ 2;
    await assert.rejects(verifier.open("a/b", tampered), st.UntrustedError, `byte ${at}`);
  }
  await assert.rejects(verifier.open("a/b", frame, { now: Date.now() + 200_000 }), /stale/);
  const unsigned = st.decode(frame).signedPart;
  unsigned[4] = 0; // the signed flag cleared, the signature dropped
  await assert.rejects(verifier.open("a/b", unsigned), /not signed/);
  const other = await st.Identity.generate();
  await assert.rejects(verifier.open("a/b", frame, { from: other.publicKey }), /expected/);
  for (const garbage of ["", "{", '{"v":1}', "ST", "ST\u0001"]) await assert.rejects(verifier.open("a/b", st.utf8(garbage)), st.UntrustedError);
  await assert.rejects(verifier.open("a/b", st.utf8('{"v":1,"from":"st"}')), /unsupported protocol version 1/);
  const ids = new Set([st.hex(sealer.nextId()), st.hex(sealer.nextId())]);
  assert.equal(ids.size, 2);
});

test("sealed bodies open only in a frame from the same sender, with the same id, on the same key", async () => {
  const id = await st.Identity.generate();
  const key = await st.SymmetricKey.generate();
  const sealer = new st.Sealer(id);
  const frame = await sealer.frame("a/b", { kind: st.Kind.Publication, binding: { type: "none" }, protection: { key } }, { value: 1 });
  const opened = await new st.Verifier().open("a/b", frame);
  assert.ok(opened.sealed);
  const sealed = JSON.parse(st.fromUtf8(opened.body)).sealed as st.Sealed;
  assert.equal(st.fromUtf8((await key.open(st.bodyAad("a/b", opened.from.bytes, opened.id), sealed)) ?? new Uint8Array()), '{"value":1}');
  assert.equal(await key.open(st.bodyAad("a/c", opened.from.bytes, opened.id), sealed), undefined);
  assert.equal(await key.open(st.bodyAad("a/b", (await st.Identity.generate()).publicKey.bytes, opened.id), sealed), undefined);
  assert.equal(await key.open(st.bodyAad("a/b", opened.from.bytes, sealer.nextId()), sealed), undefined);
});

test("the gateway's binary messages: tag, operation id, key, frame; anything shorter or stranger is refused", () => {
  const key = st.utf8("safething/v1/garden-01/attributes/x");
  const message = st.concat(Uint8Array.of(2, 0, 0, 1, 2, 0, key.length), key, Uint8Array.of(0x53, 0x54, 2));
  const m = st.parseBinaryMessage(message);
  assert.deepEqual(m && { tag: m.tag, id: m.id, key: m.key, frame: st.hex(m.frame) }, { tag: 2, id: 258, key: "safething/v1/garden-01/attributes/x", frame: "535402" });
  assert.equal(st.parseBinaryMessage(message.subarray(0, 6)), undefined, "shorter than its header");
  assert.equal(st.parseBinaryMessage(message.subarray(0, 7 + key.length - 1)), undefined, "shorter than its key");
  assert.equal(st.parseBinaryMessage(st.concat(Uint8Array.of(3), message.subarray(1))), undefined, "unknown tag");
  assert.equal(st.parseBinaryMessage(Uint8Array.of(1, 0, 0, 0, 1, 0, 1, 0xff)), undefined, "a key that is not UTF-8");
  assert.equal(st.parseBinaryMessage(Uint8Array.of(1, 0, 0, 0, 1, 0, 0)), undefined, "an empty key");
});

test("schema checks shared with Rust (tests/vectors/value-checks.json): same errors, pointers and tagged unions", () => {
  // Compiled to tests/ts/build/tests/ts/test/: five levels up is tests/.
  const file = new URL("../../../../../vectors/value-checks.json", import.meta.url);
  const doc = JSON.parse(readFileSync(file, "utf8")) as {
    types: { [name: string]: st.DataSchema };
    cases: { name: string; schema: st.DataSchema; value: st.Json; error: st.Violation | null }[];
  };
  assert.ok(doc.cases.length > 30, "the case file lost its cases");
  for (const c of doc.cases) {
    assert.deepEqual(new st.CompiledSchema(c.schema, doc.types).check(c.value) ?? null, c.error, c.name);
  }
});

test("schema checks: types, bounds, lengths, pattern, enum, const, required, unknown properties, items, oneOf, refs", () => {
  const types: { [name: string]: st.DataSchema } = { Percent: { type: "number", minimum: 0, maximum: 100 } };
  const s = new st.CompiledSchema(
    {
      type: "object",
      required: ["level"],
      properties: { level: { ref: "Percent" }, tags: { type: "array", maxItems: 2, items: { type: "string", maxLength: 3 } } },
    },
    types,
  );
  assert.ok(s.accepts({ level: 5 }));
  assert.deepEqual(s.check({}), { path: "", keyword: "required", message: "missing required property `level`" });
  assert.equal(s.check({ level: 101 })?.path, "/level");
  assert.equal(s.check({ level: 101 })?.keyword, "maximum");
  assert.deepEqual(s.check({ level: 1, tags: ["ok", "toolong"] }), { path: "/tags/1", keyword: "maxLength", message: "longer than 3 characters" });
  assert.equal(s.check({ level: 1, tags: ["a", "b", "c"] })?.keyword, "maxItems");
  assert.equal(s.check({ level: 1, x: 1 })?.keyword, "properties");
  assert.equal(s.check("x")?.keyword, "type");
  const int = new st.CompiledSchema({ type: "integer", minimum: 0, maximum: 120 });
  assert.ok(int.accepts(60));
  assert.equal(int.check(60.5)?.keyword, "type");
  assert.equal(int.check(-1)?.keyword, "minimum");
  assert.ok(new st.CompiledSchema({ type: "string", enum: ["open", "closed"] }).accepts("open"));
  assert.equal(new st.CompiledSchema({ type: "string", enum: ["open", "closed"] }).check("ajar")?.keyword, "enum");
  assert.equal(new st.CompiledSchema({ const: 1 }).check(2)?.keyword, "const");
  const one = new st.CompiledSchema({ oneOf: [{ type: "integer" }, { type: "string", pattern: "^a+$" }] });
  assert.ok(one.accepts(3) && one.accepts("aaa"));
  assert.equal(one.check("b")?.message, "matches none of the oneOf alternatives");
  assert.equal(new st.CompiledSchema({ oneOf: [{ type: "number" }, { type: "integer" }] }).check(1)?.keyword, "oneOf");
  const mult = new st.CompiledSchema({ type: "number", multipleOf: 0.5, exclusiveMaximum: 10 });
  assert.ok(mult.accepts(1.5));
  assert.equal(mult.check(1.2)?.keyword, "multipleOf");
  assert.equal(mult.check(10)?.keyword, "exclusiveMaximum");
  assert.ok(new st.CompiledSchema({ ref: "A" }, { A: { ref: "B" }, B: { ref: "A" } }).accepts(1), "cyclic refs do not hang");
  // Open maps: any member names, each value checked; `anyValue`: anything.
  const map = new st.CompiledSchema({ type: "object", additionalProperties: { ref: "Percent" } }, types);
  assert.ok(map.accepts({}) && map.accepts({ kitchen: 5, "any name": 100 }));
  assert.deepEqual(map.check({ kitchen: 5, hall: 101 }), { path: "/hall", keyword: "maximum", message: map.check({ hall: 101 })?.message });
  assert.equal(map.check([1])?.keyword, "type");
  const any = new st.CompiledSchema({ anyValue: true });
  assert.ok(any.accepts(1) && any.accepts("x") && any.accepts(null) && any.accepts({ a: [1] }));
  assert.equal(st.parseDuration("1m30s"), 90_000);
  assert.equal(st.parseDuration("30"), undefined);
});

test("filters: compiled against the schema, evaluated like the Rust runtime", () => {
  const reading: st.DataSchema = { type: "object", required: ["level"], properties: { level: { type: "number" }, at: { type: "string" }, ok: { type: "boolean" } } };
  type Reading = { level: number; at?: string; ok?: boolean };
  const f = st.filter<Reading>();
  const s = st.FilterState.compile(f.field("level").lt(5).and(f.minInterval(1000)), reading);
  assert.ok(s.offer({ level: 3 }, 0));
  assert.ok(!s.offer({ level: 3 }, 500), "rate limited");
  assert.ok(!s.offer({ level: 7 }, 2000), "not below 5");
  assert.ok(s.offer({ level: 4 }, 2000));
  const step = st.FilterState.compile(st.filter<number>().step(2), { type: "number" });
  assert.deepEqual([1, 2, 3.5, 4, 0].map((v) => step.offer(v)), [true, false, true, false, true]);
  const either = st.FilterState.compile(st.filter<number>().lt(0).or(st.filter<number>().gt(10)), { type: "number" });
  assert.deepEqual([-1, 5, 11].map((v) => either.offer(v)), [true, false, true]);
  const bad = (filter: st.Filter<never> | st.FilterNode, schema: st.DataSchema, message: RegExp) =>
    assert.throws(() => st.FilterState.compile(filter, schema), (e: unknown) => e instanceof st.InvalidFilterError && message.test(e.message));
  bad({ op: "compare", field: ["nope"], cmp: "lt", value: 1 }, reading, /no field `nope`; fields: at, level, ok/);
  bad({ op: "compare", field: ["ok"], cmp: "lt", value: true }, reading, /cannot be ordered/);
  bad({ op: "compare", field: ["level"], cmp: "gt", value: "x" }, reading, /compares it with "x"/);
  bad({ op: "compare", cmp: "eq", value: "ajar" }, { type: "string", enum: ["open", "closed"] }, /can never equal/);
  bad({ op: "step", delta: 1 }, { type: "string" }, /needs a number/);
  bad({ op: "step", delta: -1 }, { type: "number" }, /positive delta/);
  assert.deepEqual(st.parseFilter("level gt 90 and min_interval 1s or lt 5"), {
    op: "or",
    any: [
      { op: "and", all: [{ op: "compare", cmp: "gt", value: 90, field: ["level"] }, { op: "min_interval", ms: 1000 }] },
      { op: "compare", cmp: "lt", value: 5 },
    ],
  });
  assert.throws(() => st.parseFilter("level zz 3"), st.InvalidFilterError);
  assert.equal(st.Filter.parse("lt 5").toString(), "lt 5");
});

test("errors carry their kind and data", () => {
  const e = st.fromProblem("garden-01", { kind: "access_denied", rule: "owner", reason: "not the owner" });
  assert.ok(e instanceof st.AccessDeniedError && e instanceof st.SafethingError);
  assert.equal(e.kind, "access_denied");
  if (e.kind === "access_denied") assert.equal(e.rule, "owner");
  const r = st.fromProblem("garden-01", { kind: "busy" });
  assert.equal(r.kind, "rejected");
  assert.equal(r.message, "rejected: the device is busy: its action queue is full");
  const p = new st.InvalidPayloadError("input of action `open_valve`", "/psi", "maximum", "greater than the maximum 120");
  assert.equal(p.message, "invalid input of action `open_valve`: /psi: greater than the maximum 120");
  assert.ok(st.isSafethingError(p));
  assert.equal(st.versionKey("1.4.2"), st.versionKey("1.0.0"));
  assert.notEqual(st.versionKey("0.3.1"), st.versionKey("0.4.0"));
});

/** A WebSocket the test drives: records what the transport sends, delivers what the test says. */
class FakeSocket {
  static last: FakeSocket | undefined;
  readyState = 1;
  binaryType = "blob";
  sent: string[] = [];
  onopen: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
    queueMicrotask(() => this.onopen?.(undefined as never));
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {}
  deliver(data: unknown): void {
    this.onmessage?.({ data });
  }
}

test("the gateway transport: v2 socket, subscribe resolves on `subscribed`, binary frames routed by operation id", async () => {
  const transport = await st.GatewayTransport.connect("http://127.0.0.1:1/", { WebSocket: FakeSocket });
  const socket = FakeSocket.last;
  assert.ok(socket !== undefined);
  assert.equal(socket.url, "ws://127.0.0.1:1/v2/ws");
  assert.equal(socket.binaryType, "arraybuffer");
  let resolved = false;
  const subscribing = transport.subscribe("safething/v1/*/events/**").then((s) => {
    resolved = true;
    return s;
  });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(JSON.parse(socket.sent[0] ?? "{}"), { op: "subscribe", id: 1, key: "safething/v1/*/events/**" });
  assert.equal(resolved, false, "not before the gateway acknowledged it");
  socket.deliver(JSON.stringify({ op: "subscribed", id: 1 }));
  const samples = await subscribing;
  const key = st.utf8("safething/v1/garden-01/events/e");
  const frame = Uint8Array.of(0x53, 0x54, 2, 3);
  socket.deliver(st.concat(Uint8Array.of(2, 0, 0, 0, 9, 0, key.length), key, frame).buffer); // an id never opened: ignored
  socket.deliver(st.concat(Uint8Array.of(2, 0, 0, 0, 1, 0, key.length), key, frame).buffer);
  const sample = await samples.next();
  assert.equal(sample?.key, "safething/v1/garden-01/events/e");
  assert.equal(st.hex(sample?.frame ?? new Uint8Array()), "53540203");

  const request = Uint8Array.of(1, 2, 3, 250);
  const replies = await transport.query("safething/v1/garden-01/admin", request, 1000);
  assert.deepEqual(JSON.parse(socket.sent[1] ?? "{}"), { op: "query", id: 2, key: "safething/v1/garden-01/admin", frame: "AQID-g", timeout_ms: 1000 });
  socket.deliver(JSON.stringify({ op: "end", id: 2 }));
  assert.equal(await replies.next(), undefined);
  const early = await transport.query("safething/v1/garden-01/actions/open_valve", request, 60_000);
  early.close();
  assert.deepEqual(JSON.parse(socket.sent.at(-1) ?? "{}"), { op: "close", id: 3 }, "a query closed early is closed at the gateway too");

  const refused = transport.subscribe("nope");
  socket.deliver(JSON.stringify({ op: "error", id: 4, error: { code: "invalid_key", message: "bad key" } }));
  await assert.rejects(refused, (e: unknown) => e instanceof st.TransportError && e.code === "invalid_key");
  samples.close();
  assert.deepEqual(JSON.parse(socket.sent.at(-1) ?? "{}"), { op: "close", id: 1 });
  transport.close();
});

test("attack_weak_signatures: signatures under a small-order key, or with a non-canonical S, are refused", async () => {
  const sealer = new st.Sealer(await st.Identity.generate());
  const frame = await sealer.frame("a/b", { kind: st.Kind.Publication, binding: { type: "none" } }, { x: 1 });
  const verifier = new st.Verifier();
  await verifier.open("a/b", frame);
  // S + L: the same signature for a lax verifier, refused by a strict one.
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const s = frame.subarray(frame.length - 32);
  let n = 0n;
  for (let i = 31; i >= 0; i--) n = (n << 8n) | BigInt(s[i] ?? 0);
  n += L;
  const malleated = Uint8Array.from(frame);
  for (let i = 0; i < 32; i++) {
    malleated[frame.length - 32 + i] = Number(n & 255n);
    n >>= 8n;
  }
  if (n === 0n) await assert.rejects(verifier.open("a/b", malleated), /bad signature/);
  // The identity point as a key: R = identity, S = 0 "signs" every message for a lax verifier.
  const identityPoint = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));
  assert.ok(st.isSmallOrder(identityPoint));
  const weak = st.PublicKey.fromBytes(identityPoint);
  assert.ok(weak !== undefined);
  const forged = st.concat(identityPoint, new Uint8Array(32));
  assert.equal(await weak.verify(st.utf8("anything"), forged), false);
  const header = { kind: st.Kind.Publication, sealed: false, sender: identityPoint, id: Uint8Array.of(1), ts: BigInt(Date.now()), binding: { type: "none" } as st.Binding };
  const unsigned = st.encodeUnsigned(header, st.utf8("{}"), true);
  await assert.rejects(verifier.open("a/b", st.concat(unsigned, forged)), /bad signature/);
  assert.equal(st.isSmallOrder(sealer.identity.publicKey.bytes), false);
});

test("attack_signature_with_small_order_r: R = identity with S = k·a passes the plain equation, and is refused", async () => {
  const { createHash } = await import("node:crypto");
  const identity = await st.Identity.generate();
  const jwk = identity.toJwk();
  const seed = Buffer.from(jwk.d, "base64url");
  const littleEndian = (b: Uint8Array) => {
    let n = 0n;
    for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
    return n;
  };
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const h = createHash("sha512").update(seed).digest();
  const clamped = Uint8Array.from(h.subarray(0, 32));
  clamped[0] = (clamped[0] ?? 0) & 248;
  clamped[31] = ((clamped[31] ?? 0) & 127) | 64;
  const a = littleEndian(clamped) % L;
  const R = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0));
  const message = st.utf8("open the door");
  const key = identity.publicKey;
  const k = littleEndian(createHash("sha512").update(R).update(key.bytes).update(message).digest()) % L;
  let s = (k * a) % L;
  const S = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    S[i] = Number(s & 255n);
    s >>= 8n;
  }
  const forged = st.concat(R, S);
  // WebCrypto alone accepts it: [S]B − [k]A is the identity.
  const raw = await globalThis.crypto.subtle.importKey("raw", key.bytes, { name: "Ed25519" }, false, ["verify"]);
  assert.equal(await globalThis.crypto.subtle.verify({ name: "Ed25519" }, raw, forged, message), true);
  assert.equal(await key.verify(message, forged), false);
  assert.equal(await key.verify(message, await identity.sign(message)), true);
});

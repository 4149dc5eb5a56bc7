// Unit tests of the TypeScript runtime: encodings, keys, envelopes, crypto, schema checks and
// filters. (Interop with the Rust runtime: interop.test.mjs, run by `cargo test --test ts_interop`.)
import assert from "node:assert/strict";
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
  const sealed = await st.sealTo(b.publicKey, "aad", st.utf8("token"));
  assert.equal(st.fromUtf8((await st.openTo(b, "aad", sealed)) ?? new Uint8Array()), "token");
  assert.equal(await st.openTo(a, "aad", sealed), undefined);
});

test("envelopes: round trip, bound to key and body, fresh", async () => {
  const id = await st.Identity.generate();
  const sealer = new st.Sealer(id);
  const verifier = new st.Verifier();
  const env = await sealer.seal("a/b", { x: 1, s: "é \"q\" 🌱" });
  const opened = await verifier.open("a/b", env);
  assert.deepEqual(JSON.parse(opened.body), { x: 1, s: "é \"q\" 🌱" });
  assert.ok(opened.from.equals(id.publicKey));
  await assert.rejects(verifier.open("a/c", env), /bad signature/);
  await assert.rejects(verifier.open("a/b", env.replace('"x":1', '"x":2')), /bad signature/);
  await assert.rejects(verifier.open("a/b", env, Date.now() + 200_000), /stale/);
  await assert.rejects(verifier.open("a/b", env.replace(/,"sig":"[^"]*"/, "")), /not signed/);
  for (const garbage of ["", "{", "null", '{"v":1}', "[1]"]) await assert.rejects(verifier.open("a/b", garbage), st.UntrustedError);
  const ids = new Set([sealer.nextId(), sealer.nextId()]);
  assert.equal(ids.size, 2);
});

test("the member scanner finds raw member text, whitespace and nesting included", () => {
  const text = ' { "a" : 1 , "body" : {"s":"}\\"{","n":[1,{"x":"]"}]} , "z":"\\u0041" } ';
  const m = st.scanMembers(text);
  const raw = (k: string) => {
    const span = m.get(k);
    return span && text.slice(span.start, span.end);
  };
  assert.equal(raw("a"), "1");
  assert.equal(raw("body"), '{"s":"}\\"{","n":[1,{"x":"]"}]}');
  assert.equal(raw("z"), '"\\u0041"');
  assert.throws(() => st.scanMembers('{"a":1,"a":2}'));
  assert.throws(() => st.scanMembers('{"a":1} x'));
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

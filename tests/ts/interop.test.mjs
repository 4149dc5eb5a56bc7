// Interop with the Rust runtime, without a gateway: verifies and decrypts the vectors Rust wrote
// (SAFETHING_VECTORS/rust.json), and writes vectors of its own (SAFETHING_VECTORS/ts.json) that
// `tests/ts_interop.rs` verifies and decrypts. Runs on the checked-in compiled runtime
// (typescript/dist), which a drift test keeps identical to the TypeScript source.
//
//   cargo test --test ts_interop
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import * as st from "../../typescript/dist/index.js";

const dir = process.env.SAFETHING_VECTORS;
const skip = dir === undefined ? "SAFETHING_VECTORS is not set: run `cargo test --test ts_interop`" : false;
const v = dir === undefined ? undefined : JSON.parse(readFileSync(join(dir, "rust.json"), "utf8"));
const out = {};
const ts = (e) => JSON.parse(e).ts;

test("the same secrets give the same printable keys", { skip }, async () => {
  for (const who of [v.device, v.holder, v.ts_identity]) {
    const id = await st.Identity.fromSecret(Uint8Array.from(who.secret));
    assert.equal(id.publicKey.toString(), who.public);
    assert.ok(st.PublicKey.parse(who.public).equals(id.publicKey));
  }
});

test("Rust envelopes verify, and only on their own key", { skip }, async () => {
  const verifier = new st.Verifier();
  for (const name of ["plain", "tricky", "description"]) {
    const { key, envelope } = v[name];
    const opened = await verifier.open(key, envelope, ts(envelope));
    assert.equal(opened.from.toString(), v.device.public);
    assert.deepEqual(JSON.parse(opened.body), JSON.parse(envelope).body);
    await assert.rejects(verifier.open(`${key}x`, envelope, ts(envelope)), st.UntrustedError);
    await assert.rejects(verifier.open(key, envelope, ts(envelope) + 121_000), /stale/);
  }
  const { key, envelope } = v.tricky;
  const tampered = envelope.replace("Grüße", "Gruesse");
  await assert.rejects(verifier.open(key, tampered, ts(envelope)), /bad signature/);
});

test("a Rust description's group key unwraps for its holder and opens sealed payloads", { skip }, async () => {
  const holder = await st.Identity.fromSecret(Uint8Array.from(v.holder.secret));
  const stranger = await st.Identity.fromSecret(Uint8Array.from(v.ts_identity.secret));
  const verifier = new st.Verifier();
  const d = v.description;
  const description = JSON.parse((await verifier.open(d.key, d.envelope, ts(d.envelope))).body);
  const thingKey = st.PublicKey.parse(description.thing_key);
  assert.equal(description.definition.thing.name, "GardeningDevice");
  const group = await st.unwrap(holder, thingKey, v.thing, description.keys.group);
  assert.ok(group, "the holder unwraps the group key");
  assert.equal(group.kid, v.group_kid);
  assert.equal(await st.unwrap(stranger, thingKey, v.thing, description.keys.group), undefined);
  assert.equal(await st.unwrap(holder, thingKey, "garden-02", description.keys.group), undefined);

  const s = v.sealed;
  const opened = await verifier.open(s.key, s.envelope, ts(s.envelope));
  assert.ok(opened.body.startsWith(st.SEALED_PREFIX));
  const sealed = JSON.parse(opened.body).sealed;
  const update = JSON.parse(st.fromUtf8(await group.open(s.key, sealed)));
  assert.equal(update.value, s.value);
  assert.equal(await group.open(`${s.key}x`, sealed), undefined, "bound to its key expression");

  // Vectors for Rust: a write sealed with the unwrapped key, signed by the TypeScript identity.
  const me = await st.Identity.fromSecret(Uint8Array.from(v.ts_identity.secret));
  const sealer = new st.Sealer(me);
  const writeKey = `safething/v1/${v.thing}/attributes/target_level`;
  const sealedWrite = await group.seal(writeKey, st.utf8(JSON.stringify({ op: "write", value: 55 })));
  out.sealed_write = { key: writeKey, envelope: await sealer.seal(writeKey, { sealed: sealedWrite }) };
});

test("a claim sealed to the thing by Rust opens for the thing alone", { skip }, async () => {
  const device = await st.Identity.fromSecret(Uint8Array.from(v.device.secret));
  const holder = await st.Identity.fromSecret(Uint8Array.from(v.holder.secret));
  const c = v.claim;
  assert.equal(st.fromUtf8(await st.openTo(device, c.aad, c.sealed)), c.plaintext);
  assert.equal(await st.openTo(holder, c.aad, c.sealed), undefined);
  assert.equal(await st.openTo(device, `${c.aad}x`, c.sealed), undefined);
});

test("the client verifies a Rust description and pins the thing's key", { skip }, async () => {
  const transport = {
    subscribe: async () => new st.Channel(),
    query: async () => new st.Channel(),
    watchLiveliness: async () => new st.Channel(),
    close() {},
  };
  const d = v.description;
  const client = await st.Client.connect({ transport, freshnessMs: Date.now() - ts(d.envelope) + 60_000 });
  const description = await client.openDescription(d.key, d.envelope);
  assert.equal(description.id, v.thing);
  await assert.rejects(client.openDescription(`safething/v1/garden-02/description`, d.envelope), st.UntrustedError);
  const pinned = await st.Client.connect({ transport, trust: { [v.thing]: v.holder.public }, freshnessMs: 1e12 });
  await assert.rejects(pinned.openDescription(d.key, d.envelope), /expected/);
  client.close();
  pinned.close();
});

test("TypeScript signs, seals and wraps for Rust", { skip }, async () => {
  const me = await st.Identity.fromSecret(Uint8Array.from(v.ts_identity.secret));
  const sealer = new st.Sealer(me);
  const device = st.PublicKey.parse(v.device.public);
  const holder = st.PublicKey.parse(v.holder.public);
  out.identity = { public: me.publicKey.toString() };
  const key = `safething/v1/${v.thing}/actions/open_valve`;
  const body = { op: "invoke", request: sealer.nextId(), input: { psi: 60 } };
  out.envelope = { key, body, envelope: await sealer.seal(key, body) };
  const unicodeBody = { note: "Grüße \"quoted\" \\ 🌱 \n", n: 1.5 };
  out.unicode = { key, body: unicodeBody, envelope: await sealer.seal(key, unicodeBody) };
  const claimAad = `safething/v1/${v.thing}/admin`;
  const plaintext = JSON.stringify({ op: "claim", token: "fedcba9876543210" });
  out.claim = { aad: claimAad, plaintext, sealed: await st.sealTo(device, claimAad, st.utf8(plaintext)) };
  const fresh = await st.SymmetricKey.generate();
  const wrapped = await st.wrap(me, v.thing, fresh, [holder]);
  const aad = `safething/v1/${v.thing}/events/very_dry_alarm`;
  out.wrapped = { key: wrapped, aad, sealed: await fresh.seal(aad, st.utf8("wrapped by TypeScript")) };
});

test("write the TypeScript vectors", { skip }, () => {
  for (const name of ["identity", "envelope", "unicode", "sealed_write", "claim", "wrapped"]) {
    assert.ok(out[name] !== undefined, `vector ${name} was made`);
  }
  writeFileSync(join(dir, "ts.json"), JSON.stringify(out, null, 2));
});

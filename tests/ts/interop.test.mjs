// Interop with the Rust runtime, without a gateway (protocol v2, `docs/protocol.md` §9):
// verifies and decrypts the frames Rust wrote (SAFETHING_VECTORS/rust.json), and writes frames of
// its own (SAFETHING_VECTORS/ts.json) that `tests/ts_interop.rs` verifies and decrypts. Runs on
// the checked-in compiled runtime (typescript/dist), which a drift test keeps identical to the
// TypeScript source.
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

const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const frameOf = (name) => unhex(v[name].frame);
const tsOf = (frame) => Number(st.decode(frame).header.ts);
const body = (opened) => JSON.parse(st.fromUtf8(opened.body));

test("the same secrets give the same printable keys", { skip }, async () => {
  for (const who of [v.device, v.holder, v.ts_identity]) {
    const id = await st.Identity.fromSecret(Uint8Array.from(who.secret));
    assert.equal(id.publicKey.toString(), who.public);
    assert.ok(st.PublicKey.parse(who.public).equals(id.publicKey));
  }
});

test("Rust frames verify, and only on their own key, fresh and untampered", { skip }, async () => {
  const verifier = new st.Verifier();
  for (const name of ["plain", "tricky", "description"]) {
    const { key } = v[name];
    const frame = frameOf(name);
    const now = tsOf(frame);
    const opened = await verifier.open(key, frame, { now });
    assert.equal(opened.from.toString(), v.device.public);
    assert.equal(opened.sealed, false);
    body(opened);
    await assert.rejects(verifier.open(`${key}x`, frame, { now }), /bad signature/);
    await assert.rejects(verifier.open(key, frame, { now: now + 121_000 }), /stale/);
    const tampered = Uint8Array.from(frame);
    tampered[tampered.length - 70] ^= 1;
    await assert.rejects(verifier.open(key, tampered, { now }), /bad signature/);
  }
  const tricky = body(await verifier.open(v.tricky.key, frameOf("tricky"), { now: tsOf(frameOf("tricky")) }));
  assert.equal(tricky.data.note, 'Grüße "quoted" \\ 🌱 \n');
});

test("a Rust description's group key unwraps for its holder and opens sealed bodies", { skip }, async () => {
  const holder = await st.Identity.fromSecret(Uint8Array.from(v.holder.secret));
  const stranger = await st.Identity.fromSecret(Uint8Array.from(v.ts_identity.secret));
  const verifier = new st.Verifier();
  const d = frameOf("description");
  const description = body(await verifier.open(v.description.key, d, { now: tsOf(d) }));
  const thingKey = st.PublicKey.parse(description.thing_key);
  assert.equal(description.definition.thing.name, "GardeningDevice");
  assert.equal(description.boot, v.boot);
  const group = await st.unwrap(holder, thingKey, v.thing, description.keys.group);
  assert.ok(group, "the holder unwraps the group key");
  assert.equal(group.kid, v.group_kid);
  assert.equal(await st.unwrap(stranger, thingKey, v.thing, description.keys.group), undefined);
  assert.equal(await st.unwrap(holder, thingKey, "garden-02", description.keys.group), undefined);

  const s = frameOf("sealed");
  const opened = await verifier.open(v.sealed.key, s, { now: tsOf(s) });
  assert.ok(opened.sealed);
  const sealed = body(opened).sealed;
  const aad = st.bodyAad(v.sealed.key, opened.from.bytes, opened.id);
  const update = JSON.parse(st.fromUtf8(await group.open(aad, sealed)));
  assert.equal(update.value, v.sealed.value);
  assert.equal(await group.open(st.bodyAad(`${v.sealed.key}x`, opened.from.bytes, opened.id), sealed), undefined, "bound to its key expression");
  assert.equal(await group.open(st.bodyAad(v.sealed.key, holder.publicKey.bytes, opened.id), sealed), undefined, "bound to its sender");
  assert.equal(await group.open(st.bodyAad(v.sealed.key, opened.from.bytes, new Uint8Array(16)), sealed), undefined, "bound to its id");

  // For Rust: a write request naming the boot epoch, sealed with the unwrapped key, signed by the TypeScript identity.
  const me = await st.Identity.fromSecret(Uint8Array.from(v.ts_identity.secret));
  const sealer = new st.Sealer(me);
  const writeKey = `safething/v1/${v.thing}/attributes/target_level`;
  const frame = await sealer.frame(writeKey, { kind: st.Kind.Request, binding: { type: "epoch", epoch: unhex(v.boot) }, protection: { key: group } }, { op: "write", value: 55 });
  out.sealed_write = { key: writeKey, frame: st.hex(frame) };
});

test("a claim sealed to the thing by Rust opens for the thing alone, in its own frame", { skip }, async () => {
  const device = await st.Identity.fromSecret(Uint8Array.from(v.device.secret));
  const holder = await st.Identity.fromSecret(Uint8Array.from(v.holder.secret));
  const c = frameOf("claim");
  const opened = await new st.Verifier().open(v.claim.key, c, { now: tsOf(c) });
  assert.equal(opened.from.toString(), v.holder.public);
  const sealed = body(opened).sealed;
  const aad = st.bodyAad(v.claim.key, opened.from.bytes, opened.id);
  assert.equal(st.fromUtf8(await st.openTo(device, aad, sealed)), v.claim.plaintext);
  assert.equal(await st.openTo(holder, aad, sealed), undefined);
  // Copied into a frame of someone else's, it opens for nobody.
  assert.equal(await st.openTo(device, st.bodyAad(v.claim.key, device.publicKey.bytes, opened.id), sealed), undefined);
});

test("the client verifies a Rust description and pins the thing's key", { skip }, async () => {
  const transport = {
    subscribe: async () => new st.Channel(),
    query: async () => new st.Channel(),
    watchLiveliness: async () => new st.Channel(),
    close() {},
  };
  const d = frameOf("description");
  const client = await st.Client.connect({ transport, freshnessMs: Math.abs(Date.now() - tsOf(d)) + 60_000 });
  const description = await client.openDescription(v.description.key, d);
  assert.equal(description.id, v.thing);
  await assert.rejects(client.openDescription("safething/v1/garden-02/description", d), st.UntrustedError);
  const pinned = await st.Client.connect({ transport, trust: { [v.thing]: v.holder.public }, freshnessMs: 1e12 });
  await assert.rejects(pinned.openDescription(v.description.key, d), /expected/);
  // A publication is no description, even signed by the thing on its key.
  await assert.rejects(client.openDescription(v.plain.key, frameOf("plain")), st.UntrustedError);
  client.close();
  pinned.close();
});

test("TypeScript signs, seals and wraps for Rust", { skip }, async () => {
  const me = await st.Identity.fromSecret(Uint8Array.from(v.ts_identity.secret));
  const sealer = new st.Sealer(me);
  const device = st.PublicKey.parse(v.device.public);
  const holder = st.PublicKey.parse(v.holder.public);
  const boot = { type: "epoch", epoch: unhex(v.boot) };
  out.identity = { public: me.publicKey.toString() };
  const key = `safething/v1/${v.thing}/actions/open_valve`;
  const id = sealer.nextId();
  const invoke = { op: "invoke", request: st.hex(id), input: { psi: 60 } };
  out.envelope = { key, body: invoke, frame: st.hex(await sealer.frame(key, { kind: st.Kind.Request, binding: boot, id }, invoke)) };
  const unicodeBody = { note: 'Grüße "quoted" \\ 🌱 \n', n: 1.5 };
  const eventKey = `safething/v1/${v.thing}/events/very_dry_alarm`;
  out.unicode = { key: eventKey, body: unicodeBody, frame: st.hex(await sealer.frame(eventKey, { kind: st.Kind.Publication, binding: { type: "none" } }, unicodeBody)) };
  const claimKey = `safething/v1/${v.thing}/admin`;
  const plaintext = JSON.stringify({ op: "claim", token: "fedcba9876543210" });
  const claim = await sealer.frameText(claimKey, { kind: st.Kind.Request, binding: boot, protection: { to: device } }, plaintext);
  out.claim = { key: claimKey, plaintext, frame: st.hex(claim) };
  const fresh = await st.SymmetricKey.generate();
  const wrapped = await st.wrap(me, v.thing, fresh, [holder]);
  const aad = st.bodyAad(eventKey, me.publicKey.bytes, sealer.nextId());
  out.wrapped = { key: wrapped, aad: st.hex(aad), sealed: await fresh.seal(aad, st.utf8("wrapped by TypeScript")) };
});

test("write the TypeScript vectors", { skip }, () => {
  for (const name of ["identity", "envelope", "unicode", "sealed_write", "claim", "wrapped"]) {
    assert.ok(out[name] !== undefined, `vector ${name} was made`);
  }
  writeFileSync(join(dir, "ts.json"), JSON.stringify(out, null, 2));
});

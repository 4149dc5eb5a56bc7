// The known-answer vectors of protocol v2 (`tests/vectors/protocol-v2.json`, `docs/protocol.md`
// §8) checked by the TypeScript runtime: frames read and written byte for byte, signing inputs,
// signatures, associated data, sealing, sealing to a thing, key wrapping, and the malformed
// inputs every reader refuses. Runs on the checked-in compiled runtime (typescript/dist).
//
//   cargo test --test ts_interop protocol_vectors_typescript
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import * as st from "../../typescript/dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const v = JSON.parse(readFileSync(process.env.SAFETHING_VECTOR_FILE ?? join(here, "../vectors/protocol-v2.json"), "utf8"));
const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const identity = (who) => st.Identity.fromSecret(unhex(v.identities[who].seed));

function bindingOf(b) {
  switch (b.type) {
    case "epoch":
      return { type: "epoch", epoch: unhex(b.epoch) };
    case "request":
      return { type: "request", id: unhex(b.request_id), requester: unhex(b.requester) };
    default:
      return { type: "none" };
  }
}

function plainBinding(b) {
  switch (b.type) {
    case "epoch":
      return { type: "epoch", epoch: st.hex(b.epoch) };
    case "request":
      return { type: "request", request_id: st.hex(b.id), requester: st.hex(b.requester) };
    default:
      return { type: "none" };
  }
}

test("identities: public keys, printed keys and X25519 forms", async () => {
  for (const who of Object.keys(v.identities)) {
    const i = v.identities[who];
    const id = await identity(who);
    assert.equal(st.hex(id.publicKey.bytes), i.public, who);
    assert.equal(id.publicKey.toString(), i.printed, who);
    assert.equal(st.hex(id.publicKey.x25519()), i.x25519_public, who);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-512", unhex(i.seed)));
    // The first half of SHA-512(seed), as stored; X25519 clamps it where it is used.
    assert.equal(st.hex(hash.slice(0, 32)), i.x25519_secret, who);
    const pkcs8 = st.concat(unhex("302e020100300506032b656e04220420"), unhex(i.x25519_secret));
    const secret = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, true, ["deriveBits"]);
    assert.equal(st.hex(st.fromBase64url((await crypto.subtle.exportKey("jwk", secret)).x)), i.x25519_public, who);
  }
});

test("frames: every vector decodes to its fields, re-encodes and re-signs to its exact bytes, and verifies", async () => {
  const byKey = new Map();
  for (const who of Object.keys(v.identities)) byKey.set(v.identities[who].public, await identity(who));
  assert.ok(v.frames.length >= 9);
  for (const f of v.frames) {
    const bytes = unhex(f.frame);
    const frame = st.decode(bytes);
    const h = frame.header;
    assert.equal(h.kind, f.kind, f.name);
    assert.equal(h.sealed, f.sealed, f.name);
    assert.equal(st.hex(h.sender), f.sender, f.name);
    assert.equal(st.hex(h.id), f.id, f.name);
    assert.equal(h.ts, BigInt(f.ts), f.name);
    assert.deepEqual(plainBinding(h.binding), f.binding, f.name);
    assert.equal(st.fromUtf8(frame.body), f.body, f.name);
    assert.equal(frame.signature !== undefined, f.signed, f.name);

    const header = { kind: f.kind, sealed: f.sealed, sender: unhex(f.sender), id: unhex(f.id), ts: BigInt(f.ts), binding: bindingOf(f.binding) };
    const unsigned = st.encodeUnsigned(header, st.utf8(f.body), f.signed);
    assert.equal(st.hex(unsigned), st.hex(frame.signedPart), f.name);
    if (!f.signed) {
      assert.equal(st.hex(unsigned), f.frame, f.name);
      await assert.rejects(new st.Verifier().open(f.key, bytes, { now: f.ts }), /not signed/, f.name);
      continue;
    }
    const input = st.signingInput(f.key, unsigned);
    assert.equal(st.hex(input), f.signing_input, f.name);
    const signer = byKey.get(f.sender);
    const signature = await signer.sign(input);
    assert.equal(st.hex(unsigned) + st.hex(signature), f.frame, `${f.name}: Ed25519 signatures are deterministic`);
    if (!f.sealed) {
      // The sealer writes the same bytes from the same fields.
      const sealer = new st.Sealer(signer);
      const written = await sealer.frameText(f.key, { kind: f.kind, binding: bindingOf(f.binding), id: unhex(f.id), ts: f.ts }, f.body);
      assert.equal(st.hex(written), f.frame, f.name);
    }
    const opened = await new st.Verifier().open(f.key, bytes, { now: f.ts });
    assert.equal(st.hex(opened.from.bytes), f.sender, f.name);
    await assert.rejects(new st.Verifier().open(`${f.key}/x`, bytes, { now: f.ts }), /bad signature/, f.name);
    await assert.rejects(new st.Verifier().open(f.key, bytes, { now: f.ts + 120_001 }), /stale/, f.name);
  }
});

test("aead: associated data and a body sealed with the group key under a fixed nonce", async () => {
  const a = v.aead;
  const aad = st.bodyAad(a.key, unhex(a.sender), unhex(a.id));
  assert.equal(st.hex(aad), a.aad);
  const key = await st.SymmetricKey.fromSecret(a.group_key.kid, unhex(a.group_key.secret));
  const sealed = await key.seal(aad, st.utf8(a.plaintext), unhex(a.nonce));
  assert.deepEqual(sealed, a.sealed);
  assert.equal(st.fromUtf8(await key.open(aad, a.sealed)), a.plaintext);
  const other = st.bodyAad(a.key, unhex(a.sender), unhex("a0"));
  assert.equal(await key.open(other, a.sealed), undefined);
  // The sealed frame of the vectors carries exactly this body.
  const frame = v.frames.find((f) => f.sealed && f.id === a.id);
  assert.deepEqual(JSON.parse(frame.body), { sealed: a.sealed });
});

test("seal_to: a claim sealed to the thing with a fixed ephemeral secret", async () => {
  const s = v.seal_to;
  assert.equal(st.hex(st.hkdfInfo([st.utf8("to"), unhex(s.epk), unhex(s.to)])), s.hkdf_info);
  assert.equal(st.hex(await st.hkdf(unhex(s.shared), [st.utf8("to"), unhex(s.epk), unhex(s.to)])), s.key);
  assert.equal(s.hkdf_salt, st.hex(st.utf8(st.LABEL)));
  const aad = st.bodyAad(s.key_expr, unhex(s.sender), unhex(s.id));
  assert.equal(st.hex(aad), s.aad);
  const to = st.PublicKey.fromBytes(unhex(s.to));
  const sealed = await st.sealTo(to, aad, st.utf8(s.plaintext), unhex(s.ephemeral_secret), unhex(s.nonce));
  assert.deepEqual(sealed, s.sealed);
  assert.equal(st.fromUtf8(await st.openTo(await identity("device"), aad, s.sealed)), s.plaintext);
  assert.equal(await st.openTo(await identity("client"), aad, s.sealed), undefined);
});

test("wrap: the group key wrapped for a holder", async () => {
  const w = v.wrap;
  assert.equal(st.hex(st.wrapAad(w.kid)), w.aad);
  const info = [st.utf8("wrap"), st.utf8(w.thing), st.utf8(w.kid), unhex(w.holder)];
  assert.equal(st.hex(st.hkdfInfo(info)), w.hkdf_info);
  assert.equal(st.hex(await st.hkdf(unhex(w.shared), info)), w.wrapping_key);
  const device = await identity("device");
  const holder = await identity("client");
  const key = await st.SymmetricKey.fromSecret(w.kid, unhex(w.key_secret));
  const wrapped = await st.wrap(device, w.thing, key, [holder.publicKey], unhex(w.nonce));
  assert.deepEqual(wrapped.holders[holder.publicKey.toString()], w.wrapped);
  const unwrapped = await st.unwrap(holder, device.publicKey, w.thing, wrapped);
  assert.equal(st.hex(await unwrapped.secret()), w.key_secret);
  assert.equal(await st.unwrap(device, device.publicKey, w.thing, wrapped), undefined);
});

test("batch: each frame of a batch decodes to its proof, its path leads to the signed root, and it verifies alone", async () => {
  const b = v.batch;
  const device = await identity("device");
  assert.equal(st.hex(st.rootMessage(b.size, unhex(b.root))), b.root_message);
  assert.equal(st.hex(await device.sign(unhex(b.root_message))), b.signature, "Ed25519 signatures are deterministic");
  assert.ok(b.frames.length === b.size && b.size >= 3);
  const warm = new st.Verifier();
  for (const f of b.frames) {
    const bytes = unhex(f.frame);
    const frame = st.decode(bytes);
    assert.equal(st.fromUtf8(frame.body), f.body, f.name);
    assert.deepEqual({ size: frame.batch.size, index: frame.batch.index }, { size: b.size, index: f.index }, f.name);
    assert.equal(st.hex(frame.batch.path), f.path.join(""), f.name);
    assert.equal(st.hex(frame.signature), b.signature, f.name);
    const input = st.signingInput(f.key, frame.signedPart);
    assert.equal(st.hex(input), f.signing_input, f.name);
    assert.equal(st.hex(await st.leafHash(input)), f.leaf, f.name);
    assert.equal(st.hex(await st.rootFromPath(unhex(f.leaf), frame.batch)), b.root, f.name);
    // Alone (no root cached), then with the root cached.
    const opened = await new st.Verifier().open(f.key, bytes, { now: f.ts });
    assert.equal(st.hex(opened.from.bytes), f.sender, f.name);
    await warm.open(f.key, bytes, { now: f.ts });
    await assert.rejects(new st.Verifier().open(`${f.key}/x`, bytes, { now: f.ts }), /bad signature/, f.name);
    await assert.rejects(warm.open(`${f.key}/x`, bytes, { now: f.ts }), /bad signature/, f.name);
  }
  assert.equal(warm.cachedRoots, 1);
  // A frame moved to another position (the proof of another frame), or given a forged path,
  // is refused, with its batch's root cached or not.
  const [a, c] = [unhex(b.frames[0].frame), unhex(b.frames[1].frame)];
  const proofAt = (bytes) => st.decode(bytes).signedPart.length;
  const moved = st.concat(a.subarray(0, proofAt(a)), c.subarray(proofAt(c)));
  const forged = st.copy(a);
  forged[proofAt(a) + 4] ^= 1;
  for (const bad of [moved, forged]) {
    await assert.rejects(warm.open(b.frames[0].key, bad, { now: b.frames[0].ts }), /bad signature/);
    await assert.rejects(new st.Verifier().open(b.frames[0].key, bad, { now: b.frames[0].ts }), /bad signature/);
  }
});

test("malformed: every reader refuses these, naming an unsupported version as such", () => {
  assert.ok(v.malformed.length >= 10);
  for (const m of v.malformed) {
    assert.throws(
      () => st.decode(unhex(m.frame)),
      (e) => e instanceof st.FrameError && e.code === m.error && (m.version === undefined || e.version === m.version),
      `${m.frame} (${m.why ?? m.error})`,
    );
  }
});

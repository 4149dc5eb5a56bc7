// The known-answer vectors of sessions (`tests/vectors/sessions.json`, `docs/protocol.md` §10)
// checked by the TypeScript runtime: the hello written byte for byte, the welcome verified and
// its keys derived, the sealed frames written and opened (in their direction only), the
// unknown-session answer verified. Runs on the checked-in compiled runtime (typescript/dist).
//
//   cargo test --test ts_interop session_vectors_typescript
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import * as st from "../../typescript/dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const v = JSON.parse(readFileSync(join(here, "../vectors/sessions.json"), "utf8"));
const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const h = v.handshake;
const s = st.session;

test("hello: the client's ephemeral key and signature, byte for byte", async () => {
  const client = await st.Identity.fromSecret(unhex(v.identities.client.seed));
  const device = await st.Identity.fromSecret(unhex(v.identities.device.seed));
  const eph = await s.ephemeral(unhex(h.client_ephemeral_secret));
  assert.equal(st.hex(eph.pub), h.client_ephemeral_public);
  const hello = await s.hello(client, device.publicKey, h.key, BigInt(h.ts), eph.pub);
  assert.equal(st.hex(hello), h.hello);
  assert.equal(st.hex(st.signingInput(h.key, hello.subarray(0, 109))), h.hello_signing_input);
});

test("welcome: verified with the thing's key over the transcript, keys derived", async () => {
  const device = await st.Identity.fromSecret(unhex(v.identities.device.seed));
  const client = await st.Identity.fromSecret(unhex(v.identities.client.seed));
  const eph = await s.ephemeral(unhex(h.client_ephemeral_secret));
  const keys = await s.acceptWelcome(device.publicKey, h.key, unhex(h.hello), eph.priv, unhex(h.welcome));
  assert.equal(st.hex(keys.sid), h.sid);
  assert.equal(st.hex(keys.boot), h.boot);
  assert.equal(keys.lifetimeMs, h.lifetime_ms);
  assert.equal(keys.maxMessages, h.max_messages);
  assert.equal(st.hex(keys.transcript), h.transcript);
  assert.equal(st.hex(st.hkdfInfo([st.utf8("session c2d"), keys.transcript])), h.info_c2d);
  assert.equal(st.hex(keys.c2d), h.c2d);
  assert.equal(st.hex(keys.d2c), h.d2c);
  // Signed by another key, over another key expression, or after another hello: refused.
  await assert.rejects(s.acceptWelcome(client.publicKey, h.key, unhex(h.hello), eph.priv, unhex(h.welcome)));
  await assert.rejects(s.acceptWelcome(device.publicKey, "safething/v1/garden-02/session", unhex(h.hello), eph.priv, unhex(h.welcome)));
  const other = unhex(h.hello);
  other[80] ^= 1;
  await assert.rejects(s.acceptWelcome(device.publicKey, h.key, other, eph.priv, unhex(h.welcome)));
});

test("sealed frames: written byte for byte, opened in their direction only", async () => {
  const c2d = await s.aesKey(unhex(h.c2d));
  const d2c = await s.aesKey(unhex(h.d2c));
  for (const f of v.sealed) {
    const [right, wrong] = f.direction === "c2d" ? [c2d, d2c] : [d2c, c2d];
    const frame = await s.sealFrame(right, f.key, unhex(h.sid), BigInt(f.ctr), unhex(f.plain));
    assert.equal(st.hex(frame), f.frame, f.name);
    assert.equal(st.hex(frame.subarray(0, 29)), f.header, f.name);
    assert.equal(st.hex(s.sealedAad(f.key, frame.subarray(0, 29))), f.aad, f.name);
    const opened = await s.openFrame(right, f.key, unhex(f.frame));
    assert.equal(st.hex(opened.plain), f.plain, f.name);
    assert.equal(opened.ctr, BigInt(f.ctr));
    assert.equal(await s.openFrame(wrong, f.key, unhex(f.frame)), undefined, `${f.name}: reflected`);
    assert.equal(await s.openFrame(right, "safething/v1/garden-01/attributes/other", unhex(f.frame)), undefined, `${f.name}: moved`);
  }
});

test("a client session opens the reply and the unknown-session answer, and refuses replays", async () => {
  const device = await st.Identity.fromSecret(unhex(v.identities.device.seed));
  const client = await st.Identity.fromSecret(unhex(v.identities.client.seed));
  const eph = await s.ephemeral(unhex(h.client_ephemeral_secret));
  const keys = await s.acceptWelcome(device.publicKey, h.key, unhex(h.hello), eph.priv, unhex(h.welcome));
  const session = await s.ClientSession.create(device.publicKey, keys, Date.now());
  const reply = v.sealed.find((f) => f.direction === "d2c");
  const answer = await session.open(reply.key, unhex(reply.frame));
  assert.equal(answer.type, "frame");
  assert.equal(st.hex(answer.plain), reply.plain);
  const inner = st.decode(answer.plain);
  assert.equal(inner.header.kind, st.Kind.Reply);
  assert.equal(inner.signature, undefined);
  await assert.rejects(session.open(reply.key, unhex(reply.frame)), /replayed/);
  const unknown = await session.open(v.unknown.key, unhex(v.unknown.frame));
  assert.deepEqual(unknown, { type: "unknown", ctr: BigInt(v.unknown.ctr) });
  const forged = unhex(v.unknown.frame);
  forged[30] ^= 1;
  await assert.rejects(session.open(v.unknown.key, forged));
  assert.ok(s.isSessionFrame(unhex(v.refused)));
  // The first request of the session is the vector's, byte for byte.
  const request = v.sealed.find((f) => f.direction === "c2d");
  const sealed = await session.seal(request.key, unhex(request.plain));
  assert.equal(st.hex(sealed.frame), request.frame);
  assert.equal(sealed.ctr, 1n);
  void client;
});

// Attacks on a client's session, with frames made under the vectors' keys (what a relay that
// recorded, reordered or re-addressed traffic could send; only the device holds these keys).
async function vectorSession() {
  const device = await st.Identity.fromSecret(unhex(v.identities.device.seed));
  const eph = await s.ephemeral(unhex(h.client_ephemeral_secret));
  const keys = await s.acceptWelcome(device.publicKey, h.key, unhex(h.hello), eph.priv, unhex(h.welcome));
  const session = await s.ClientSession.create(device.publicKey, keys, Date.now());
  return { device, session, d2c: await s.aesKey(unhex(h.d2c)), c2d: await s.aesKey(unhex(h.c2d)) };
}

const replyOf = () => v.sealed.find((f) => f.direction === "d2c");

test("attack_replayed_session_counter: each counter once, none behind the window", async () => {
  const { session, d2c } = await vectorSession();
  const r = replyOf();
  const sealed = (ctr) => s.sealFrame(d2c, r.key, unhex(h.sid), ctr, unhex(r.plain));
  assert.equal((await session.open(r.key, await sealed(200n))).type, "frame");
  // Reordered within the window: accepted once.
  assert.equal((await session.open(r.key, await sealed(150n))).type, "frame");
  await assert.rejects(session.open(r.key, await sealed(150n)), /replayed/);
  await assert.rejects(session.open(r.key, await sealed(200n)), /replayed/);
  // Behind the window (128), and counter 0 (never sent): refused.
  await assert.rejects(session.open(r.key, await sealed(72n)), /replayed/);
  await assert.rejects(session.open(r.key, await sealed(0n)), /replayed/);
  assert.equal((await session.open(r.key, await sealed(73n))).type, "frame");
});

test("attack_reflected_session_frame: the client's own request sent back as a reply is refused", async () => {
  const { session } = await vectorSession();
  const request = v.sealed.find((f) => f.direction === "c2d");
  await assert.rejects(session.open(request.key, unhex(request.frame)), /does not decrypt/);
});

test("attack_session_frame_moved: another key, another session id, a flipped byte", async () => {
  const { session, d2c } = await vectorSession();
  const r = replyOf();
  await assert.rejects(session.open("safething/v1/garden-01/attributes/other", unhex(r.frame)), /does not decrypt/);
  const otherSid = unhex(h.sid);
  otherSid[0] ^= 1;
  const elsewhere = await s.sealFrame(d2c, r.key, otherSid, 5n, unhex(r.plain));
  await assert.rejects(session.open(r.key, elsewhere), /does not decrypt/);
  const frame = unhex(r.frame);
  for (const at of [4, 10, 25, frame.length - 1]) {
    const flipped = unhex(r.frame);
    flipped[at] ^= 1;
    await assert.rejects(session.open(r.key, flipped), undefined, `byte ${at}`);
  }
  // The genuine frame is still accepted after all the forgeries (none took its counter).
  assert.equal((await session.open(r.key, frame)).type, "frame");
});

test("attack_forged_unknown_session_answer: signed by another key, or about another session", async () => {
  const { session } = await vectorSession();
  const client = await st.Identity.fromSecret(unhex(v.identities.client.seed));
  const genuine = unhex(v.unknown.frame);
  const signedPart = genuine.subarray(0, genuine.length - 64);
  const bySomeoneElse = st.concat(signedPart, await client.sign(st.signingInput(v.unknown.key, signedPart)));
  await assert.rejects(session.open(v.unknown.key, bySomeoneElse), /bad signature/);
  await assert.rejects(session.open("safething/v1/garden-02/session", genuine), /bad signature/);
  await assert.rejects(session.open(v.unknown.key, genuine.subarray(0, genuine.length - 1)), /malformed/);
  const device = await st.Identity.fromSecret(unhex(v.identities.device.seed));
  const otherSid = st.concat(signedPart.subarray(0, 5), new Uint8Array(16).fill(7), signedPart.subarray(21));
  const aboutAnother = st.concat(otherSid, await device.sign(st.signingInput(v.unknown.key, otherSid)));
  await assert.rejects(session.open(v.unknown.key, aboutAnother), /another session/);
});

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

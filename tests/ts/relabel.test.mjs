// The TypeScript half of `attack_relabelled_key_typescript` (tests/ts_interop.rs): a lying
// gateway or relay hands the TypeScript client genuine frames signed by another thing's key
// (on that thing's key expression, or re-signed for the key asked), or a genuine reply of the
// thing bound to another request, labelled as the answer it waits for. The client verifies
// replies with the key it pinned for the thing it asked and with the binding to its own request,
// never with what the relay labels, so it takes none of them; the genuine reply it takes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import * as st from "../../typescript/dist/index.js";

const dir = process.env.SAFETHING_VECTORS;
const skip = dir === undefined ? "SAFETHING_VECTORS is not set: run `cargo test --test ts_interop attack_relabelled`" : false;
const v = dir === undefined ? undefined : JSON.parse(readFileSync(join(dir, "relabel.json"), "utf8"));
const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

/** A relay that answers every query with `samples`, whatever was asked. */
function lyingRelay() {
  const relay = {
    samples: [],
    asked: [],
    transport: {
      subscribe: async () => new st.Channel(),
      query: async (key, frame) => {
        relay.asked.push({ key, frame });
        const ch = new st.Channel();
        for (const s of relay.samples) ch.push({ key: s.key, frame: unhex(s.frame) });
        ch.end();
        return ch;
      },
      watchLiveliness: async () => new st.Channel(),
      close() {},
    },
  };
  return relay;
}

async function connectedThing(relay) {
  const identity = await st.Identity.fromSecret(Uint8Array.from(v.ts_identity.secret));
  const client = await st.Client.connect({ transport: relay.transport, identity, requestTimeoutMs: 200 });
  relay.samples = [v.description];
  const thing = await client.thing(v.thing);
  // The request id the Rust side bound its replies to.
  client.sealer.nextId = () => unhex(v.request_id);
  return { client, thing };
}

test("attack: a reply signed by another thing's key, relabelled as the thing's, is refused", { skip }, async () => {
  const relay = lyingRelay();
  const { client, thing } = await connectedThing(relay);
  assert.equal(thing.thingKey.toString(), v.thing_key);
  for (const name of ["other_on_its_key", "other_resigned", "other_relabelled", "unbound"]) {
    relay.samples = [v[name]];
    await assert.rejects(thing.request(v.key, { op: "read" }), (e) => e.kind === "untrusted", name);
  }
  // All of them at once, then the genuine reply: the client keeps waiting for the genuine one.
  relay.samples = [v.other_on_its_key, v.other_resigned, v.other_relabelled, v.unbound, v.genuine];
  const reply = await thing.request(v.key, { op: "read" });
  assert.equal(reply.value, 42.5);
  // What the client sent names the thing's boot epoch and was asked on the key it verifies with.
  const asked = relay.asked.at(-1);
  assert.equal(asked.key, v.key);
  const sent = st.decode(asked.frame);
  assert.equal(sent.header.kind, st.Kind.Request);
  assert.equal(st.hex(sent.header.binding.epoch), v.boot);
  client.close();
});

test("attack: another thing's description labelled as the thing's is refused in discovery and connection", { skip }, async () => {
  const relay = lyingRelay();
  const identity = await st.Identity.fromSecret(Uint8Array.from(v.ts_identity.secret));
  const client = await st.Client.connect({ transport: relay.transport, identity, requestTimeoutMs: 200, discoveryTimeoutMs: 200 });
  relay.samples = [v.other_description_relabelled];
  assert.deepEqual(await client.discover(), []);
  await assert.rejects(client.thing(v.thing), (e) => e.kind === "untrusted");
  relay.samples = [v.other_description_relabelled, v.description];
  const found = await client.discover();
  assert.deepEqual(found.map((t) => [t.id, t.key.toString()]), [[v.thing, v.thing_key]]);
  client.close();
});

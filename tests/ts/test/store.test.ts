// Reading from stores when the device is gone (`docs/store.md`): every stored frame is verified
// against the key pinned for the thing — signature over the key the client computes, batch path,
// kind, sender — without the freshness window; frames that fail are dropped, so a lying store
// does not spoil an honest one, and a store cannot introduce a thing.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as st from "../../../typescript/sdk/index.js";
import { FakeDevice, FakeStore, Hub, unplug } from "./memory.js";

const definition: st.Definition = {
  thing: { name: "GardeningDevice", version: "1.0.0" },
  attributes: {
    moisture_level: { type: "number", minimum: 0, maximum: 100, history: 10, access: "group" },
    valve_state: { type: "string", enum: ["open", "closed"], access: "all" },
  },
};

const ID = "garden-01";
const valve = st.keys.attribute(ID, "valve_state");
const moisture = st.keys.attribute(ID, "moisture_level");

async function setup() {
  const hub = new Hub();
  const store = new FakeStore(hub);
  const owner = await st.Identity.generate();
  const device = new FakeDevice(hub, await st.Identity.generate(), { id: ID, definition, owner });
  await device.start();
  await device.announce();
  const client = await st.Client.connect({ transport: hub.transport(), identity: owner, requestTimeoutMs: 2000, discoveryTimeoutMs: 100 });
  return { hub, store, owner, device, client };
}

const isUntrusted = (e: unknown) => e instanceof st.UntrustedError;

test("a gone device is read from the store, verified, saying where the value came from and how old it is", async () => {
  const { hub, store, owner, device, client } = await setup();
  const garden = await client.thing(ID);
  await device.set("valve_state", "open");
  for (const v of [40, 41, 42]) await device.set("moisture_level", v);
  const live = await garden.readWithSource<string>("valve_state");
  assert.deepEqual([live.value, live.seq, live.source], ["open", 1, "device"]);
  const stranger = await st.Client.connect({ transport: hub.transport(), requestTimeoutMs: 2000 });
  const asStranger = await stranger.thing(ID);

  unplug(device);
  await assert.rejects(garden.read("valve_state"), st.OfflineError);
  const stored = await garden.readWithSource<string>("valve_state");
  assert.deepEqual([stored.value, stored.seq, stored.source], ["open", 1, "store"]);
  // The device stamps the value when it sets it and the publication when it sends it: the
  // same moment, give or take a millisecond.
  assert.ok(Math.abs(stored.timestamp - live.timestamp) <= 1000, `${stored.timestamp} vs ${live.timestamp}`);
  assert.ok(stored.ageMs >= 0 && stored.ageMs < 60_000, `${stored.ageMs}`);
  // Sealed for the group: the owner holds the key and opens it.
  const sealed = await garden.readWithSource<number>("moisture_level");
  assert.deepEqual([sealed.value, sealed.seq, sealed.source], [42, 3, "store"]);
  const history = await garden.historyWithSource<number>("moisture_level");
  assert.equal(history.source, "store");
  assert.deepEqual(
    history.history.map((e) => [e.value, e.seq]),
    [
      [40, 1],
      [41, 2],
      [42, 3],
    ],
  );
  // A stranger reads what all may read, never what is sealed for the group.
  assert.equal((await asStranger.readWithSource("valve_state")).source, "store");
  await assert.rejects(asStranger.readWithSource("moisture_level"), isUntrusted);

  // A new client that pinned the key connects through the stored description; one that did not
  // is not introduced to the thing by a store.
  const pinned = await st.Client.connect({ transport: hub.transport(), identity: owner, trust: { [ID]: device.me.publicKey }, requestTimeoutMs: 2000 });
  const offline = await pinned.thingOrStored(ID);
  assert.equal(offline.description.revision, device.revision);
  assert.equal((await offline.readWithSource("moisture_level")).value, 42);
  const fresh = await st.Client.connect({ transport: hub.transport(), identity: owner, requestTimeoutMs: 2000 });
  await assert.rejects(fresh.thingOrStored(ID), st.UnknownThingError);
  assert.equal(await fresh.storedThing(ID), undefined);
  // Nothing kept: the device's silence is the answer.
  store.kept.clear();
  await assert.rejects(garden.readWithSource("valve_state"), st.OfflineError);
  await assert.rejects(garden.historyWithSource("moisture_level"), st.OfflineError);
  for (const c of [client, stranger, pinned, fresh]) c.close();
});

test("a stored value of long ago is taken (no freshness window) and reported as old", async () => {
  const { store, device, client } = await setup();
  const garden = await client.thing(ID);
  unplug(device);
  const fiveMinutes = 5 * 60_000;
  store.keep(valve, await device.sealer.frame(valve, { kind: st.Kind.Publication, binding: { type: "none" }, ts: Date.now() - fiveMinutes }, { value: "closed", seq: 9, epoch: 1 }));
  const r = await garden.readWithSource("valve_state");
  assert.deepEqual([r.value, r.seq, r.source], ["closed", 9, "store"]);
  assert.ok(r.ageMs >= fiveMinutes && r.ageMs < fiveMinutes + 60_000, `${r.ageMs}`);
  client.close();
});

test("attack_forged_frame_in_store: a flipped byte, another thing's frame, another key's frame, another signer's frame are refused", async () => {
  const { hub, store, device, client } = await setup();
  const garden = await client.thing(ID);
  await device.set("valve_state", "open");
  await device.set("moisture_level", 40);
  const other = new FakeDevice(hub, await st.Identity.generate(), { id: "garden-02", definition });
  await other.start();
  await other.set("valve_state", "closed");
  const impostor = new st.Sealer(await st.Identity.generate());
  unplug(device);
  unplug(other);
  const genuine = store.kept.get(valve)?.at(-1);
  assert.ok(genuine !== undefined);
  assert.equal((await garden.readWithSource("valve_state")).value, "open");

  const flip = (bytes: st.Bytes, at: number) => {
    const b = st.copy(bytes);
    b[at] = (b[at] ?? 0) ^ 1;
    return b;
  };
  const flipped = flip(genuine, genuine.length - 70); // a body byte
  const forgeries: [string, st.Bytes][] = [
    ["a flipped body byte", flipped],
    ["a flipped signature byte", flip(genuine, genuine.length - 1)],
    ["a frame of another thing", store.kept.get(st.keys.attribute("garden-02", "valve_state"))?.at(-1) ?? new Uint8Array()],
    ["a frame of another key of this thing", await device.sealer.frame(st.keys.attribute(ID, "nope"), { kind: st.Kind.Publication, binding: { type: "none" } }, { value: "closed", seq: 2, epoch: 1 })],
    ["a frame signed by someone else", await impostor.frame(valve, { kind: st.Kind.Publication, binding: { type: "none" } }, { value: "closed", seq: 2, epoch: 1 })],
    ["a description, not a publication", await device.sealer.frame(valve, { kind: st.Kind.Description, binding: { type: "none" } }, { value: "closed", seq: 2, epoch: 1 })],
    ["not a frame", st.utf8("{\"value\":\"closed\"}")],
  ];
  for (const [what, forged] of forgeries) {
    store.lie = () => [forged];
    await assert.rejects(garden.readWithSource("valve_state"), isUntrusted, what);
    await assert.rejects(garden.historyWithSource("moisture_level"), isUntrusted, what);
  }
  // Among genuine frames, a forged one is dropped and the genuine value stands.
  store.lie = (_key, frames) => [...frames, flipped];
  assert.equal((await garden.readWithSource("valve_state")).value, "open");
  // A stored description signed by another key than the one pinned is refused.
  const d = st.keys.description(ID);
  const forgedDescription = await impostor.frame(d, { kind: st.Kind.Description, binding: { type: "none" } }, { ...(await device.description()), thing_key: impostor.identity.publicKey.toString() });
  store.lie = (key, frames) => (key === d ? [forgedDescription] : frames);
  await assert.rejects(client.storedThing(ID), isUntrusted);
  client.close();
});

test("one lying store and one honest store: the honest value, the honest description", async () => {
  const { hub, store, device, owner } = await setup();
  const liar = new FakeStore(hub);
  await device.set("valve_state", "open");
  unplug(device);
  const impostor = new st.Sealer(await st.Identity.generate());
  const d = st.keys.description(ID);
  const newer = { kind: st.Kind.Publication, binding: { type: "none" as const }, ts: Date.now() + 1000 };
  const lies = [
    await impostor.frame(valve, newer, { value: "closed", seq: 99, epoch: 1 }),
    await device.sealer.frame(st.keys.attribute("garden-02", "valve_state"), newer, { value: "closed", seq: 98, epoch: 1 }),
    await impostor.frame(d, { kind: st.Kind.Description, binding: { type: "none" } }, { ...(await device.description()), revision: 99, thing_key: impostor.identity.publicKey.toString() }),
  ];
  liar.lie = () => lies;
  assert.ok(store.kept.has(d) && store.kept.has(valve));
  const client = await st.Client.connect({ transport: hub.transport(), identity: owner, trust: { [ID]: device.me.publicKey }, requestTimeoutMs: 2000 });
  const garden = await client.thingOrStored(ID);
  assert.equal(garden.description.revision, device.revision);
  const r = await garden.readWithSource("valve_state");
  assert.deepEqual([r.value, r.seq, r.source], ["open", 1, "store"]);
  // The liar alone: refused, not believed.
  store.kept.clear();
  await assert.rejects(garden.readWithSource("valve_state"), isUntrusted);
  await assert.rejects(client.storedThing(ID), isUntrusted);
  client.close();
});

test("attack_altered_batch_path_in_store: a batched frame the Rust runtime signed is read from a store; one flipped bit of its path is refused", async () => {
  // The known-answer batch of tests/vectors/protocol-v2.json: three frames under one root
  // signature, the second an update of `moisture_level` (41.5, seq 8) of `garden-01`.
  const vectors = JSON.parse(readFileSync(new URL("../../../../../vectors/protocol-v2.json", import.meta.url), "utf8")) as {
    identities: { device: { seed: string } };
    batch: { frames: { key: string; frame: string }[] };
  };
  const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
  const entry = vectors.batch.frames.find((f) => f.key === moisture);
  assert.ok(entry !== undefined);
  const batched = unhex(entry.frame);
  assert.ok(st.decode(batched).batch !== undefined);
  const hub = new Hub();
  const store = new FakeStore(hub);
  const deviceId = await st.Identity.fromSecret(unhex(vectors.identities.device.seed));
  const device = new FakeDevice(hub, deviceId, { id: ID, definition });
  await device.start();
  await device.announce();
  unplug(device);
  store.keep(moisture, batched);
  const client = await st.Client.connect({ transport: hub.transport(), trust: { [ID]: deviceId.publicKey }, requestTimeoutMs: 2000 });
  const garden = await client.storedThing(ID);
  assert.ok(garden !== undefined);
  const r = await garden.readWithSource<number>("moisture_level");
  assert.deepEqual([r.value, r.seq, r.source], [41.5, 8, "store"]);
  const altered = st.copy(batched);
  const at = st.decode(batched).signedPart.length + 4; // in the path (as tests/ts/vectors.test.mjs alters it)
  altered[at] = (altered[at] ?? 0) ^ 1;
  store.kept.set(moisture, [altered]);
  await assert.rejects(garden.readWithSource("moisture_level"), isUntrusted);
  client.close();
});

test("a transport that cannot ask stores (an older gateway refusing the key): the device's error stands", async () => {
  const { hub, device, owner } = await setup();
  await device.set("valve_state", "open");
  const inner = hub.transport();
  const transport: st.Transport = {
    ...inner,
    query: (key, payload, timeoutMs) => (key.startsWith(`${st.keys.STORE_ROOT}/`) ? Promise.reject(new st.TransportError("`safething/store/v1/…`: only keys under `safething/v1/` are relayed", "invalid_key")) : inner.query(key, payload, timeoutMs)),
  };
  const client = await st.Client.connect({ transport, identity: owner, trust: { [ID]: device.me.publicKey }, requestTimeoutMs: 2000 });
  const garden = await client.thing(ID);
  unplug(device);
  await assert.rejects(garden.readWithSource("valve_state"), st.OfflineError);
  await assert.rejects(client.thingOrStored(ID), st.UnknownThingError);
  client.close();
});

test("a history longer than the device keeps comes from the stores, each entry saying so", async () => {
  const { device, client } = await setup();
  const garden = await client.thing(ID);
  for (let v = 1; v <= 15; v++) await device.set("moisture_level", v);
  const { history, source } = await garden.historyWithSource<number>("moisture_level");
  assert.equal(source, "device");
  assert.deepEqual(
    history.map((e) => [e.value, e.source]),
    Array.from({ length: 15 }, (_, i) => [i + 1, i < 5 ? "store" : "device"]),
  );
});

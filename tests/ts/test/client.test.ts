// The client against a fake device on an in-memory network: discovery, reads, watches that
// start with the current value and drop stale messages, sealed writes, events, actions followed
// by the driver, access prechecks, key refresh, claims.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as st from "../../../typescript/sdk/index.js";
import { FakeDevice, Hub } from "./memory.js";

const definition: st.Definition = {
  thing: { name: "GardeningDevice", version: "1.0.0" },
  types: { Reading: { type: "object", required: ["level"], properties: { level: { type: "number", minimum: 0, maximum: 100 } } } },
  attributes: {
    moisture_level: { type: "number", minimum: 0, maximum: 100, history: 10, access: "group" },
    valve_state: { type: "string", enum: ["open", "closed"], access: "all" },
    target_level: { type: "number", minimum: 0, maximum: 100, writable: true, access: "owner" },
  },
  events: { very_dry_alarm: { data: { ref: "Reading" }, access: "all" } },
  actions: {
    open_valve: { input: { type: "object", required: ["psi"], properties: { psi: { type: "integer", minimum: 0, maximum: 120 } } }, output: { type: "string" }, access: "owner", timeout: "2s" },
  },
};

async function setup(options: { member?: boolean } = {}) {
  const hub = new Hub();
  const owner = await st.Identity.generate();
  const member = await st.Identity.generate();
  const device = new FakeDevice(hub, await st.Identity.generate(), { id: "garden-01", definition, owner, members: options.member === false ? [] : [member] });
  await device.start();
  const client = await st.Client.connect({ transport: hub.transport(), identity: owner, requestTimeoutMs: 500, discoveryTimeoutMs: 100 });
  return { hub, owner, member, device, client };
}

test("discover and describe verify descriptions", async () => {
  const { client, device } = await setup();
  const found = await client.discover();
  assert.equal(found.length, 1);
  assert.equal(found[0]?.id, "garden-01");
  assert.ok(found[0]?.key.equals(device.me.publicKey));
  assert.ok(client.isOnline("garden-01"));
  await assert.rejects(client.thing("nope-1"), st.UnknownThingError);
  client.close();
});

test("reads and history decrypt group payloads; values are checked against the schema", async () => {
  const { client, device } = await setup();
  const garden = await client.thing("garden-01");
  await assert.rejects(garden.read("moisture_level"), st.NoValueError);
  await device.set("moisture_level", 42);
  const r = await garden.read<number>("moisture_level");
  assert.equal(r.value, 42);
  assert.equal(r.seq, 1);
  await device.set("moisture_level", 420);
  await assert.rejects(garden.read("moisture_level"), (e: unknown) => e instanceof st.InvalidPayloadError && e.keyword === "maximum");
  await assert.rejects(garden.read("nope"), st.UnknownAffordanceError);
  client.close();
});

test("watches start with the current value, follow changes through the filter, and drop stale ones", async () => {
  const { client, device } = await setup();
  await device.set("moisture_level", 3);
  const garden = await client.thing("garden-01");
  const watch = await garden.watch<number>("moisture_level", (f) => f.lt(10));
  assert.deepEqual((await watch.next())?.value, 3);
  await device.set("moisture_level", 50); // filtered out
  await device.set("moisture_level", 4);
  const next = await watch.next();
  assert.equal(next?.value, 4);
  assert.equal(next?.seq, 3, "the gap shows the filtered change");
  // A replayed (stale) update is dropped; the next fresh one arrives.
  const key = st.keys.attribute("garden-01", "moisture_level");
  device.hub.publish(key, await device.seal(key, { value: 1, seq: 2, epoch: device.epoch }, "group"));
  await device.set("moisture_level", 5);
  assert.equal((await watch.next())?.value, 5);
  watch.close();
  assert.equal(await watch.next(), undefined);
  await assert.rejects(garden.watch("valve_state", st.Filter.parse("lt 5")), st.InvalidFilterError);
  client.close();
});

test("writes are sealed with the owner key; access is prechecked", async () => {
  const { client, device, member, hub } = await setup();
  const garden = await client.thing("garden-01");
  const w = await garden.write<number>("target_level", 55);
  assert.equal(w.value, 55);
  const write = device.received.find((r) => r.key.endsWith("target_level"));
  assert.deepEqual(write?.body, { op: "write", value: 55 });
  await assert.rejects(garden.write("target_level", 555), st.InvalidPayloadError);
  await assert.rejects(garden.write("valve_state", "open"), st.RejectedError);
  const memberClient = await st.Client.connect({ transport: hub.transport(), identity: member, requestTimeoutMs: 500 });
  const asMember = await memberClient.thing("garden-01");
  await assert.rejects(asMember.write("target_level", 1), (e: unknown) => e instanceof st.AccessDeniedError && e.rule === "owner");
  await device.set("moisture_level", 7);
  assert.equal((await asMember.read("moisture_level")).value, 7, "members hold the group key");
  client.close();
  memberClient.close();
});

test("events are delivered through filters, in order", async () => {
  const { client, device } = await setup();
  const garden = await client.thing("garden-01");
  const events = await garden.subscribe<{ level: number }>("very_dry_alarm", (f) => f.field("level").lt(5));
  await device.emit("very_dry_alarm", { level: 9 }, 1);
  await device.emit("very_dry_alarm", { level: 2 }, 2);
  await device.emit("very_dry_alarm", { level: 1 }, 2); // duplicate seq: dropped
  await device.emit("very_dry_alarm", { level: 3 }, 3);
  assert.deepEqual((await events.next())?.data, { level: 2 });
  assert.deepEqual((await events.next())?.data, { level: 3 });
  events.close();
  client.close();
});

test("actions: the driver follows states to the typed output; failures stay application errors", async () => {
  const { client, device } = await setup();
  const garden = await client.thing("garden-01");
  device.states = (_r, input) => [{ state: "accepted" }, { state: "running" }, { state: "done", output: (input as { psi: number }).psi > 50 ? "open" : "closed" }];
  const handle = await garden.invoke<string>("open_valve", { psi: 60 });
  const seen: string[] = [];
  const states = (async () => {
    for await (const s of handle.states()) seen.push(s.state);
  })();
  assert.equal(await handle.output(), "open");
  await states;
  assert.equal(seen.at(-1), "done");
  assert.equal(handle.timeoutMs, 2000);
  device.states = () => [{ state: "accepted" }, { state: "failed", error: { code: "valve_stuck", message: "stuck" } }];
  const failed = await garden.invoke("open_valve", { psi: 1 });
  await assert.rejects(failed.output(), (e: unknown) => e instanceof st.ActionFailedError && e.error.code === "valve_stuck");
  device.states = () => [{ state: "rejected", problem: { kind: "busy" } }];
  await assert.rejects((await garden.invoke("open_valve", { psi: 1 })).output(), st.RejectedError);
  device.states = () => [{ state: "done", output: 3 }];
  await assert.rejects((await garden.invoke("open_valve", { psi: 1 })).output(), st.InvalidPayloadError);
  await assert.rejects(garden.invoke("open_valve", { psi: 500 }), st.InvalidPayloadError);
  device.states = () => [];
  const silent = await garden.invoke("open_valve", { psi: 1 }, { timeoutMs: 50 });
  await assert.rejects(silent.output(), st.TimedOutError);
  client.close();
});

test("a key the handle does not know makes it refresh the description once", async () => {
  const { client, device } = await setup();
  const garden = await client.thing("garden-01");
  device.group = await st.SymmetricKey.generate(); // rotated
  device.revision += 1;
  await device.set("moisture_level", 12);
  assert.equal((await garden.read("moisture_level")).value, 12);
  assert.equal(garden.description.revision, device.revision);
  client.close();
});

test("owner operations and claims", async () => {
  const { client, device } = await setup();
  const garden = await client.thing("garden-01");
  const before = device.revision;
  const d = await garden.publish();
  assert.equal(d.revision, before + 1);
  await garden.claim("0123456789abcdef");
  const claim = device.received.find((r) => r.key.endsWith("/admin") && (r.body as { op: string }).op === "claim");
  assert.deepEqual(claim?.body, { op: "claim", token: "0123456789abcdef" }, "the device opened the claim sealed to it");
  client.close();
});

test("a restarted device: its new boot epoch is learnt from the signed stale_epoch answer and the request sent again, once", async () => {
  const { client, device } = await setup();
  const garden = await client.thing("garden-01");
  await device.set("moisture_level", 21);
  device.restart();
  assert.equal((await garden.read("moisture_level")).value, 21);
  assert.equal(device.staleRefusals, 1);
  // The next request names the new epoch at once.
  assert.equal((await garden.read("moisture_level")).value, 21);
  assert.equal(device.staleRefusals, 1);
  // An action request is sent again with the same id, for the new epoch.
  device.restart();
  device.states = () => [{ state: "done", output: "open" }];
  const handle = await garden.invoke<string>("open_valve", { psi: 60 });
  assert.equal(await handle.output(), "open");
  assert.equal(device.staleRefusals, 2);
  // A device that restarts after every answer is asked once more, no more.
  device.hub.relay = (sample) => {
    device.restart();
    return sample;
  };
  device.restart();
  await assert.rejects(garden.read("moisture_level"), (e: unknown) => e instanceof st.RejectedError && e.problem.kind === "stale_epoch");
  assert.equal(device.staleRefusals, 4);
  client.close();
});

test("attack_replayed_reply_of_another_request: a relay answering with a genuine reply to an earlier request is refused", async () => {
  const { client, device, hub } = await setup();
  const garden = await client.thing("garden-01");
  await device.set("moisture_level", 30);
  let captured: st.Bytes | undefined;
  hub.relay = (sample) => {
    captured ??= sample.frame;
    return sample;
  };
  assert.equal((await garden.read("moisture_level")).value, 30);
  await device.set("moisture_level", 31);
  const old = captured;
  assert.ok(old !== undefined);
  hub.relay = (sample) => ({ key: sample.key, frame: old });
  await assert.rejects(garden.read("moisture_level"), (e: unknown) => e instanceof st.UntrustedError && /another request/.test(e.message));
  hub.relay = (sample) => sample;
  assert.equal((await garden.read("moisture_level")).value, 31);
  client.close();
});

test("status and cancel replies of an owner action are sealed, bound to their own request, and opened", async () => {
  const { client, device } = await setup();
  const garden = await client.thing("garden-01");
  // The reply stream ends at `running`: the driver asks for the status (sealed with the owner key).
  device.states = () => [{ state: "accepted" }, { state: "running" }];
  device.status = () => ({ state: "done", output: "open" });
  const handle = await garden.invoke<string>("open_valve", { psi: 60 });
  assert.equal(await handle.output(), "open");
  const status = device.received.find((r) => r.key === st.keys.request("garden-01", handle.id));
  assert.deepEqual(status?.body, { op: "status" });
  // Cancel: the device's sealed answer is read (an unreadable one would fail the call).
  device.status = undefined;
  device.states = () => [{ state: "accepted" }];
  const running = await garden.invoke<string>("open_valve", { psi: 60 }, { timeoutMs: 60_000 });
  for await (const s of running.states()) if (s.state === "accepted") break;
  await running.cancel();
  assert.equal(device.requests.get(running.id)?.state && (device.requests.get(running.id)?.state as { state: string }).state, "cancelled");
  await assert.rejects(running.output(), st.CancelledError);
  client.close();
});

// End-to-end: a generated TypeScript client (`safething-gen ts
// examples/things/gardening_device.toml`, compiled with tsc) against a running gateway and a
// running gardening device. `cargo test -p safething-cli --test gateway_e2e` starts both and runs
// this file with:
//
//   SAFETHING_GATEWAY_URL   the gateway's base URL (http://127.0.0.1:PORT)
//   SAFETHING_THING_ID      the unclaimed device's id
//   SAFETHING_CLAIM_TOKEN   the claim token it printed
//   SAFETHING_GENERATED     the compiled output directory (gardening_device.js, safething/)
//
// Without them the test is skipped (the Rust test never leaves them unset).
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { WebSocket } from "ws";

const base = process.env.SAFETHING_GATEWAY_URL;
const id = process.env.SAFETHING_THING_ID;
const token = process.env.SAFETHING_CLAIM_TOKEN;
const generated = process.env.SAFETHING_GENERATED;
const skip = base && id && token && generated ? false : "run by `cargo test -p safething-cli --test gateway_e2e` (needs a gateway and a device)";

test("a generated client claims, publishes and operates the gardening device through the gateway", { skip, timeout: 120_000 }, async (t) => {
  const rt = await import(pathToFileURL(join(generated, "safething/index.js")).href);
  const { GardeningDeviceClient } = await import(pathToFileURL(join(generated, "gardening_device.js")).href);

  // The HTTP side: the list, and a description that verifies here.
  const things = await rt.fetchThings(base);
  const summary = things.find((s) => s.id === id);
  assert.ok(summary, `${id} is listed`);
  assert.equal(summary.name, "GardeningDevice");
  assert.equal(summary.online, true);

  const transport = await rt.GatewayTransport.connect(base, { WebSocket });
  t.after(() => transport.close());
  const client = await rt.Client.connect({ transport, identity: await rt.Identity.generate(), discoveryTimeoutMs: 1500 });
  t.after(() => client.close());
  const sample = await rt.fetchDescription(base, id);
  const described = await client.openDescription(rt.keys.description(id), sample.frame);
  assert.equal(described.id, id);
  assert.equal(described.owner, undefined, "unclaimed");
  assert.match(described.boot, /^[0-9a-f]{32}$/);
  assert.equal(await client.openDescription(summary.key_expression, rt.fromBase64url(summary.frame)).then((d) => d.thing_key), summary.key);

  // A stranger: refused with the rule, before anything is sent.
  const garden = await GardeningDeviceClient.connect(client, id);
  await assert.rejects(garden.openValve({ psi: 60 }), (e) => e.kind === "access_denied" && e.rule === "owner");

  // Claim (sealed to the thing: the gateway sees ciphertext), then publish.
  await rt.thingOf(garden).claim(token);
  const mine = await GardeningDeviceClient.connect(client, id);
  assert.equal(rt.thingOf(mine).description.owner, client.publicKey.toString());
  const published = await rt.thingOf(mine).publish();
  assert.equal(published.state, "published");

  // Reads and a live watch of a group attribute (sealed end to end).
  const valve = await mine.valveState();
  // Reads, writes and actions go in a session with the thing, through the gateway (`docs/protocol.md` §10).
  assert.ok((await rt.thingOf(mine).session()) !== undefined, "a session through the gateway");
  assert.ok(valve.value === "open" || valve.value === "closed");
  // A generated read says where its value came from (the device is online).
  assert.equal(valve.source, "device");
  assert.equal(typeof valve.ts, "number");
  assert.equal((await mine.firmware()).value, "v0.1.0");
  const watch = await mine.watchMoistureLevel();
  const first = await watch.next();
  assert.equal(typeof first.value, "number");

  // Invalid input never leaves; a valid request is followed to `done`.
  await assert.rejects(mine.openValve({ psi: 500 }), (e) => e.kind === "invalid_payload" && e.path === "/psi");
  const handle = await mine.openValve({ psi: 60 });
  const states = [];
  for await (const s of handle.states()) states.push(s.state);
  assert.equal(states.at(-1), "done", states.join(" -> "));
  assert.equal(await handle.output(), "open");
  assert.equal((await mine.valveState()).value, "open");
  // With the valve open the soil gets wetter: the watch sees the next reading live.
  const second = await watch.next();
  assert.ok(second.seq > first.seq, "the watch sees the device's next reading");
  watch.close();
  await mine.writeTargetLevel(55);
  const history = await mine.moistureLevelHistory();
  assert.ok(history.length > 0);
  assert.ok(history.every((e) => e.source === "device" || e.source === "store"), JSON.stringify(history));
  const closed = await mine.closeValve();
  assert.equal(await closed.output(), null);

  // `POST /v2/query` with a request frame signed here (naming the device's boot epoch); the
  // reply verifies here with the thing's key, bound to that request.
  const key = rt.keys.attribute(id, "valve_state");
  const requestId = client.sealer.nextId();
  const epoch = { type: "epoch", epoch: rt.parseBoot(rt.thingOf(mine).description.boot) };
  const request = await client.sealer.frame(key, { kind: rt.Kind.Request, binding: epoch, id: requestId }, { op: "read" });
  const replies = await rt.httpQuery(base, key, request, 5000);
  assert.equal(replies.length, 1);
  const opened = await client.verifier.open(key, replies[0].frame, { from: rt.PublicKey.parse(summary.key) });
  rt.expectBound(opened, rt.Kind.Reply, requestId, client.publicKey);
  assert.ok(["open", "closed"].includes(JSON.parse(rt.fromUtf8(opened.body)).ok.value));
  // The same frame again is a replay: the device refuses it (signed, bound to it).
  const again = await rt.httpQuery(base, key, request, 5000);
  const refusal = await client.verifier.open(key, again[0].frame, { from: rt.PublicKey.parse(summary.key) });
  assert.equal(JSON.parse(rt.fromUtf8(refusal.body)).error.kind, "bad_request");
  // A v1 envelope is refused by the gateway, naming the version.
  await assert.rejects(rt.httpQuery(base, key, rt.utf8('{"v":1}'), 1000), (e) => e.kind === "transport" && e.code === "unsupported_version");

  // Bad requests get the gateway's JSON errors.
  await assert.rejects(rt.httpQuery(base, "elsewhere/x", undefined), (e) => e.kind === "transport" && /safething\/v1/.test(e.message));
  await assert.rejects(rt.fetchDescription(base, "no-such-thing"), (e) => e.kind === "transport");
});

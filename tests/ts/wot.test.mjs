// Standard WoT consumers: an unmodified node-wot application (`@node-wot/core`'s Servient,
// `WoT.consume(td)`, readProperty, writeProperty, observeProperty, invokeAction, subscribeEvent)
// drives a running gardening device through `safething gateway`, with the SAFEthing binding
// (`typescript/node-wot-binding`) as its client factory for `safething://` forms.
// `cargo test -p safething-cli --test wot_consumer` starts the device and the gateway, exports
// the device's TD and runs this file with:
//
//   SAFETHING_GATEWAY_URL   the gateway's base URL (http://127.0.0.1:PORT)
//   SAFETHING_THING_ID      the unclaimed device's id
//   SAFETHING_CLAIM_TOKEN   the claim token it printed
//   SAFETHING_TD            the TD file (`export::thing_description` with the device's key)
//
// Without them the test is skipped (the Rust test never leaves them unset).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { Servient } from "@node-wot/core";
import { WebSocket } from "ws";

import * as rt from "../../typescript/dist/index.js";
import { SafethingClientFactory, UnsupportedFormError, parseHref } from "../../typescript/node-wot-binding/dist/index.js";

const base = process.env.SAFETHING_GATEWAY_URL;
const id = process.env.SAFETHING_THING_ID;
const token = process.env.SAFETHING_CLAIM_TOKEN;
const tdFile = process.env.SAFETHING_TD;
const skip = base && id && token && tdFile ? false : "run by `cargo test -p safething-cli --test wot_consumer` (needs a gateway and a device)";

/** A `ws` WebSocket that records the request frames its consumer sends (to see who signed what, and whether anything left). */
function recordingSocket() {
  const sent = [];
  class Recording extends WebSocket {
    send(data, ...rest) {
      const op = JSON.parse(String(data));
      if (op.op === "query" && typeof op.frame === "string") {
        const frame = rt.decode(rt.fromBase64url(op.frame));
        sent.push({ key: op.key, signer: rt.PublicKey.fromBytes(frame.header.sender)?.toString(), signed: frame.signature !== undefined });
      }
      return super.send(data, ...rest);
    }
  }
  return { WebSocket: Recording, sent };
}

/** Values pushed by listeners, awaited one by one (no sleeps). */
function queue() {
  const items = [];
  const waiters = [];
  return {
    push(item) {
      const w = waiters.shift();
      if (w) w(item);
      else items.push(item);
    },
    next() {
      return items.length > 0 ? Promise.resolve(items.shift()) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** A node-wot servient whose only client factory is SAFEthing's. */
async function consumer(t, options) {
  const socket = recordingSocket();
  const servient = new Servient();
  servient.addClientFactory(new SafethingClientFactory({ gateway: base, WebSocket: socket.WebSocket, ...options }));
  const WoT = await servient.start();
  t.after(() => servient.shutdown());
  return { WoT, sent: socket.sent };
}

const denied = (rule) => (e) => e.kind === "access_denied" && e.rule === rule;

let claimed;
/**
 * Setup with the runtime, once: node-wot has no owner operations, so an owner claims and
 * publishes the device and keeps an admin handle (to grant and revoke).
 */
function owned() {
  claimed ??= (async () => {
    const owner = await rt.Identity.generate();
    const transport = await rt.GatewayTransport.connect(base, { WebSocket });
    const admin = await rt.Client.connect({ transport, identity: owner });
    const device = await admin.thing(id);
    await device.claim(token);
    assert.equal((await device.publish()).state, "published");
    const dir = mkdtempSync(join(tmpdir(), "safething-wot-"));
    const ownerFile = join(dir, "owner.key");
    writeFileSync(ownerFile, owner.toFileText(), { mode: 0o600 });
    const close = () => {
      admin.close();
      transport.close();
      rmSync(dir, { recursive: true, force: true });
    };
    return { owner, ownerFile, device, close, td: JSON.parse(readFileSync(tdFile, "utf8")) };
  })();
  return claimed;
}
after(async () => (await claimed?.catch(() => undefined))?.close());

test("a node-wot consumer reads, writes, observes, invokes and subscribes on a SAFEthing device", { skip, timeout: 120_000 }, async (t) => {
  const { owner, ownerFile, td } = await owned();
  assert.equal(td.base, `safething://${id}/`);

  // The owner's node-wot application, with the identity loaded from its file.
  const mine = await consumer(t, { identityFile: ownerFile });
  const thing = await mine.WoT.consume(td);
  assert.equal(thing.getThingDescription().title, "Gardening device");
  assert.equal(await (await thing.readProperty("firmware")).value(), "v0.1.0");
  assert.equal(await (await thing.readProperty("valve_state")).value(), "closed");
  await thing.writeProperty("target_level", 55);
  assert.equal(await (await thing.readProperty("target_level")).value(), 55);

  // A group attribute, sealed end to end: observed live.
  const levels = queue();
  const observation = await thing.observeProperty("moisture_level", async (output) => levels.push(await output.value()), (e) => levels.push(e));
  const first = await levels.next();
  assert.equal(typeof first, "number", String(first));

  // The wet alarm comes once the valve is open at full pressure.
  const alarms = queue();
  const subscription = await thing.subscribeEvent("very_wet_alarm", async (output) => alarms.push(await output.value()), (e) => alarms.push(e));
  await assert.rejects(thing.invokeAction("open_valve", { psi: 500 }), (e) => e.kind === "invalid_payload" && e.path === "/psi");
  const opened = await thing.invokeAction("open_valve", { psi: 120 });
  assert.equal(await opened.value(), "open");
  const alarm = await alarms.next();
  assert.ok(alarm.level > 90, JSON.stringify(alarm));
  assert.match(alarm.at, /^\d{4}-\d{2}-\d{2}T/);
  let level = await levels.next();
  while (level <= first) level = await levels.next();
  assert.ok(level > first, "the observation sees the soil get wetter");
  await subscription.stop();
  await observation.stop();
  await thing.invokeAction("close_valve");
  assert.equal(await (await thing.readProperty("valve_state")).value(), "closed");

  // Every request left signed by the owner's own key.
  assert.ok(mine.sent.length >= 8, `${mine.sent.length} requests`);
  for (const request of mine.sent) {
    assert.equal(request.signer, owner.publicKey.toString(), request.key);
    assert.ok(request.signed, request.key);
  }

  // A stranger's application: what `all` allows works, the rest is refused with its rule.
  // Its TD was exported without the key (as `safething-gen td` does): the key comes from `trust`.
  const stranger = await rt.Identity.generate();
  const unpinned = structuredClone(td);
  for (const definition of Object.values(unpinned.securityDefinitions)) delete definition["safething:thingKey"];
  const theirs = await consumer(t, { identity: stranger, trust: { [id]: td["safething:publicKey"] } });
  const seen = await theirs.WoT.consume(unpinned);
  assert.equal(await (await seen.readProperty("valve_state")).value(), "closed");
  await assert.rejects(seen.writeProperty("target_level", 10), denied("owner"));
  await assert.rejects(seen.invokeAction("open_valve", { psi: 60 }), denied("owner"));
  await assert.rejects(seen.readProperty("moisture_level"), denied("group"));
  await assert.rejects(seen.observeProperty("moisture_level", () => assert.fail("no value for a stranger")), denied("group"));
  assert.equal(await (await thing.readProperty("target_level")).value(), 55, "the refused write changed nothing");
});

test("attack_revoked_consumer_is_refused_by_the_device: a member removed from the group keeps its old view but the device refuses it", { skip, timeout: 120_000 }, async (t) => {
  const { device, td } = await owned();

  const member = await rt.Identity.generate();
  await device.grant(member.publicKey);
  const theirs = await consumer(t, { identity: member });
  const thing = await theirs.WoT.consume(td);
  assert.equal(typeof (await (await thing.readProperty("moisture_level")).value()), "number");

  // Revoked: the member's application still holds the description that lists it, so nothing
  // stops the request on its side; it is signed, sent, and the device says no.
  await device.revoke(member.publicKey);
  const before = theirs.sent.length;
  await assert.rejects(thing.readProperty("moisture_level"), denied("group"));
  const since = theirs.sent.slice(before);
  assert.ok(
    since.some((r) => r.key === `safething/v1/${id}/attributes/moisture_level` && r.signer === member.publicKey.toString()),
    `the refusal is the device's answer to a request that left: ${JSON.stringify(since)}`,
  );
});

test("attack_impostor_key_in_td_is_refused: answers not signed by the key the TD names are refused", { skip, timeout: 60_000 }, async (t) => {
  const { ownerFile, td } = await owned();
  // The TD names another key: the real device now looks like an impostor to this consumer.
  const other = (await rt.Identity.generate()).publicKey.toString();
  const forged = structuredClone(td);
  for (const definition of Object.values(forged.securityDefinitions)) definition["safething:thingKey"] = other;
  const { WoT } = await consumer(t, { identityFile: ownerFile });
  const thing = await WoT.consume(forged);
  await assert.rejects(thing.readProperty("firmware"), (e) => e.kind === "untrusted" && e.message.includes(other));
  await assert.rejects(thing.invokeAction("close_valve"), (e) => e.kind === "untrusted");

  // The same with the wrong key in the factory's `trust` and none in the TD.
  const unpinned = structuredClone(td);
  for (const definition of Object.values(unpinned.securityDefinitions)) delete definition["safething:thingKey"];
  const trusting = await consumer(t, { identityFile: ownerFile, trust: { [id]: other } });
  const impostor = await trusting.WoT.consume(unpinned);
  await assert.rejects(impostor.readProperty("firmware"), (e) => e.kind === "untrusted");
});

test("the binding refuses forms, options and schemes it does not serve", async () => {
  assert.deepEqual(parseHref("safething://garden-01/attributes/moisture_level"), { thing: "garden-01", kind: "attributes", name: "moisture_level" });
  assert.deepEqual(parseHref("safething://garden-01/events/very%5Fwet"), { thing: "garden-01", kind: "events", name: "very_wet" });
  for (const href of ["http://garden-01/attributes/x", "safething://garden-01/admin", "safething://garden-01/requests/{request_id}", "safething://garden-01/attributes/x/y", "safething://garden-01/attributes/%zz", "safething:///attributes/x"]) {
    assert.throws(() => parseHref(href), (e) => e instanceof UnsupportedFormError && e.kind === "unsupported_form", href);
  }
  assert.throws(() => new SafethingClientFactory({ gateway: "http://127.0.0.1:1" }), TypeError, "no identity, no client");
  const factory = new SafethingClientFactory({ gateway: "http://127.0.0.1:1", identity: await rt.Identity.generate() });
  assert.equal(factory.scheme, "safething");
  const client = factory.getClient();
  assert.equal(client.setSecurity([{ scheme: "basic" }]), false);
  assert.equal(client.setSecurity([{ scheme: "safething:SignedEnvelope", "safething:access": "all" }]), true);
  assert.throws(() => client.setSecurity([{ scheme: "safething:SignedEnvelope", "safething:thingKey": "not a key" }]), (e) => e.kind === "identity");
  // A form on another path fails before anything is sent (nothing listens on port 1).
  await assert.rejects(client.readResource({ href: "safething://garden-01/actions/open_valve" }), (e) => e.kind === "unsupported_form");
  await assert.rejects(client.invokeResource({ href: "safething://garden-01/attributes/firmware" }), (e) => e.kind === "unsupported_form");
  await assert.rejects(client.requestThingDescription("safething://garden-01"), (e) => e.kind === "unsupported_form");
  factory.destroy();
});

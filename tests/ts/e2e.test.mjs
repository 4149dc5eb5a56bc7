// End-to-end: a generated TypeScript client against a running gateway and device.
//
// Prepared for the gateway (docs/gateway.md); skipped unless both commands are given:
//
//   SAFETHING_GATEWAY_CMD='safething gateway --listen 127.0.0.1:{port}' \
//   SAFETHING_DEVICE_CMD='cargo run --example gardening -- ...' \
//   node --test tests/ts/e2e.test.mjs
//
// `{port}` is replaced by a free port. The device must serve GardeningDevice as `garden-01`
// and print its claim token on a line `claim token: <token>` (or set SAFETHING_CLAIM_TOKEN).
// Runs on the checked-in compiled runtime (templates/ts/dist) with the `ws` package.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { test } from "node:test";

import { WebSocket } from "ws";

import * as st from "../../templates/ts/dist/index.js";

const gatewayCmd = process.env.SAFETHING_GATEWAY_CMD;
const deviceCmd = process.env.SAFETHING_DEVICE_CMD;
const skip =
  gatewayCmd && deviceCmd
    ? false
    : "set SAFETHING_GATEWAY_CMD and SAFETHING_DEVICE_CMD to run the end-to-end test against a gateway and a device";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function start(command, onLine) {
  const child = spawn(command, { shell: true, stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = "";
    stream.on("data", (chunk) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      lines.forEach(onLine);
    });
  }
  return child;
}

async function until(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("a client claims, publishes and operates the gardening device through the gateway", { skip, timeout: 120_000 }, async (t) => {
  const port = await freePort();
  let token = process.env.SAFETHING_CLAIM_TOKEN;
  const device = start(deviceCmd, (line) => {
    const m = /claim token:\s*(\S+)/i.exec(line);
    if (m) token = m[1];
  });
  const gateway = start(gatewayCmd.replace("{port}", String(port)), () => {});
  t.after(() => {
    device.kill();
    gateway.kill();
  });
  const base = `http://127.0.0.1:${port}`;
  await until("the gateway", async () => (await st.fetchThings(base).catch(() => undefined)) !== undefined);
  const transport = await st.GatewayTransport.connect(base, { WebSocket });
  t.after(() => transport.close());
  const client = await st.Client.connect({ transport, discoveryTimeoutMs: 1500 });
  await until("the device", async () => (await client.discover()).some((s) => s.id === "garden-01"));
  const garden = await client.thing("garden-01");
  await until("the claim token", () => token);
  await garden.claim(token);
  await garden.publish();
  const valve = await garden.read("valve_state");
  assert.ok(valve.value === "open" || valve.value === "closed");
  const handle = await garden.invoke("open_valve", { psi: 60 });
  assert.equal(await handle.output(), "open");
  const summary = await st.fetchThings(base);
  assert.ok(summary.some((s) => s.id === "garden-01"));
  client.close();
});

// End-to-end in headless Chromium (Debian's, driven by playwright-core): the web console served
// by a gateway operates a gardening device. `cargo test -p safething-cli --test gateway_e2e`
// starts the gateway and an unclaimed device and runs this file with:
//
//   SAFETHING_CONSOLE_URL   the console (the gateway's base URL)
//   SAFETHING_THING_ID      the unclaimed device's id
//   SAFETHING_CLAIM_URI     its `safething:claim?...` URI
//   CHROMIUM                the browser (default /usr/bin/chromium)
//   SAFETHING_SCREENSHOTS   a directory to leave screenshots in (optional)
//   SAFETHING_DEVICE_PID    the device's process, killed at the end: the console then shows
//                           what a store (`safething store`, on the same network) kept of it
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { chromium } from "playwright-core";

const url = process.env.SAFETHING_CONSOLE_URL;
const id = process.env.SAFETHING_THING_ID;
const claimUri = process.env.SAFETHING_CLAIM_URI;
const shots = process.env.SAFETHING_SCREENSHOTS;
const skip = url && id && claimUri ? false : "run by `cargo test -p safething-cli --test gateway_e2e` (needs a gateway and a device)";

test("the console claims, publishes and operates the gardening device", { skip, timeout: 120_000 }, async (t) => {
  const profile = mkdtempSync(join(tmpdir(), "safething-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1100, height: 1600 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("dialog", (d) => d.accept());
  const shot = async (name) => {
    if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };

  await page.goto(url);
  // The browser's own identity, shown as its public key.
  await page.waitForFunction(() => /^st[a-z2-7]{52}$/.test(document.querySelector("#my-key")?.textContent ?? ""));
  const myKey = await page.textContent("#my-key");

  // The thing is listed with its state and presence; open it.
  const item = page.locator(`[data-thing-id="${id}"]`);
  await item.waitFor({ timeout: 20_000 });
  assert.match(await item.textContent(), /online/);
  assert.match(await item.textContent(), /registered/);
  await item.click();
  await page.waitForSelector("#thing-heading");
  const valve = page.locator('[data-attribute="valve_state"] output.value');
  await page.waitForFunction(() => ["open", "closed"].includes(document.querySelector('[data-attribute="valve_state"] output.value')?.textContent ?? ""));
  // A stranger may not read the group's moisture level: the rule is shown.
  await page.waitForFunction(() => /Access denied \(rule: group\)/.test(document.querySelector('[data-attribute="moisture_level"]')?.textContent ?? ""));
  await shot("1-stranger");

  // Claim with the device's URI (its key is checked against the thing's), then publish.
  await page.fill("#claim-token", claimUri);
  await page.click("#claim");
  await page.waitForSelector('.meta[data-role="owner"]', { timeout: 20_000 });
  await page.click("#publish");
  await page.waitForSelector('.meta[data-state="published"]', { timeout: 20_000 });

  // The owner now reads the group's moisture level, with its history chart.
  const moisture = page.locator('[data-attribute="moisture_level"] output.value');
  await page.waitForFunction(() => document.querySelector('[data-attribute="moisture_level"] output.value')?.dataset.seq !== undefined, null, { timeout: 20_000 });
  const seq = Number(await moisture.getAttribute("data-seq"));
  await page.waitForSelector('[data-attribute="moisture_level"] svg.chart path.chart-line');

  // The generated form checks the input before sending: 500 psi is refused at the field.
  const form = page.locator('form[data-action="open_valve"]');
  await form.locator('input[name="psi"]').fill("500");
  await form.locator('button[type="submit"]').click();
  await page.waitForSelector('form[data-action="open_valve"] input[name="psi"][aria-invalid="true"]');
  assert.match(await form.locator(".field-error").first().textContent(), /120/);
  assert.equal(await form.locator("li.request").count(), 0, "nothing was sent");

  // 60 psi: the request runs to `done`, and the watched valve state turns `open` live.
  await form.locator('input[name="psi"]').fill("60");
  await form.locator('button[type="submit"]').click();
  await page.waitForSelector('form[data-action="open_valve"] li.request[data-request-state="done"]', { timeout: 30_000 });
  assert.match(await form.locator("li.request").first().textContent(), /done.*open/);
  await page.waitForFunction(() => document.querySelector('[data-attribute="valve_state"] output.value')?.textContent === "open", null, { timeout: 20_000 });
  assert.equal(await valve.textContent(), "open");
  // With the valve open the soil gets wetter: the moisture watch updates live.
  await page.waitForFunction((s) => Number(document.querySelector('[data-attribute="moisture_level"] output.value')?.dataset.seq) > s, seq, { timeout: 20_000 });
  await shot("2-owner");

  // Another identity is a stranger again: the device's rule is shown, nothing runs.
  await page.click("#new-identity");
  await page.waitForFunction((k) => /^st/.test(document.querySelector("#my-key")?.textContent ?? "") && document.querySelector("#my-key").textContent !== k, myKey);
  await page.locator(`[data-thing-id="${id}"]`).click();
  await page.waitForSelector("#thing-heading");
  const form2 = page.locator('form[data-action="close_valve"]');
  await form2.locator('button[type="submit"]').click();
  await page.waitForFunction(() => /Access denied \(rule: owner\)/.test(document.querySelector("#thing-alert")?.textContent ?? ""), null, { timeout: 20_000 });
  await shot("3-stranger-again");

  // The device dies: the console shows what the store kept, verified against the thing's key
  // and marked as such.
  const pid = Number(process.env.SAFETHING_DEVICE_PID);
  if (pid > 0) {
    process.kill(pid, "SIGKILL");
    const storedValve = '[data-attribute="valve_state"] .source[data-source="store"]';
    await page.waitForSelector(storedValve, { timeout: 30_000 });
    assert.equal(await valve.textContent(), "open");
    assert.match(await page.textContent(storedValve), /^from store, \d+ (s|min) old$/);
    await page.waitForSelector('.meta [data-badge="offline"]');
    await shot("4-from-store");
    // After a reload the device answers no discovery: the console lists it from the store's copy
    // of its description (signed by the key this browser pinned) and opens it from there.
    await page.reload();
    const listed = page.locator(`[data-thing-id="${id}"]`);
    await listed.waitFor({ timeout: 20_000 });
    assert.match(await listed.textContent(), /offline/);
    assert.match(await listed.textContent(), /from store/);
    await listed.click();
    await page.waitForSelector(storedValve, { timeout: 30_000 });
    assert.equal(await valve.textContent(), "open");
    // What a stranger may not read stays refused with its rule, device or store.
    await page.waitForFunction(() => /Access denied \(rule: group\)/.test(document.querySelector('[data-attribute="moisture_level"]')?.textContent ?? ""));
    await shot("5-reloaded-from-store");
  }

  assert.deepEqual(problems, [], "no script errors");
});

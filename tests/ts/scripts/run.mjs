// `npm test`: compiles the unit tests (and the runtime they import) with tsc, then runs them
// with node's test runner. Extra arguments are passed to `node --test`.
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = (args) => {
  const r = spawnSync(process.execPath, args, { cwd: here, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
rmSync(join(here, "build"), { recursive: true, force: true });
run([join(here, "node_modules/typescript/bin/tsc"), "-p", here]);
const dir = join(here, "build/tests/ts/test");
const files = readdirSync(dir).filter((f) => f.endsWith(".test.js")).sort().map((f) => join(dir, f));
run(["--test", ...process.argv.slice(2), ...files]);

// The TypeScript half of `differential_malformed_frames` (tests/ts_interop.rs): decodes every
// frame of SAFETHING_VECTORS/frames.json (lowercase hex) with the TypeScript frame reader and
// writes what it read (or why it refused) to SAFETHING_VECTORS/decoded.json, in the form the
// Rust half writes for its own reader, so both can be compared field by field.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import * as st from "../../typescript/dist/index.js";

const dir = process.env.SAFETHING_VECTORS;
if (dir === undefined) {
  console.error("SAFETHING_VECTORS is not set: run `cargo test --test ts_interop differential`");
  process.exit(2);
}
const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (b) => Number.parseInt(b, 16));

function binding(b) {
  switch (b.type) {
    case "epoch":
      return `epoch:${st.hex(b.epoch)}`;
    case "request":
      return `request:${st.hex(b.id)}:${st.hex(b.requester)}`;
    default:
      return "none";
  }
}

const frames = JSON.parse(readFileSync(join(dir, "frames.json"), "utf8"));
const decoded = frames.map((hex) => {
  try {
    const f = st.decode(unhex(hex));
    const h = f.header;
    return {
      ok: {
        kind: h.kind,
        sealed: h.sealed,
        sender: st.hex(h.sender),
        id: st.hex(h.id),
        ts: h.ts.toString(),
        binding: binding(h.binding),
        body: st.hex(f.body),
        signed_len: f.signedPart.length,
        signature: f.signature === undefined ? null : st.hex(f.signature),
        batch: f.batch === undefined ? null : `${f.batch.size}:${f.batch.index}:${st.hex(f.batch.path)}`,
      },
    };
  } catch (e) {
    if (!(e instanceof st.FrameError)) return { error: `threw something else: ${String(e)}` };
    return { error: e.code === "unsupported_version" ? `unsupported_version:${e.version}` : "malformed" };
  }
});
writeFileSync(join(dir, "decoded.json"), JSON.stringify(decoded));

/**
 * The SAFEthing TypeScript runtime: identities, frames and messages (protocol v2), sealed bodies, filters, schema
 * checks, the gateway transport and the client. Generated clients import it as
 * `./safething/index.js`; consoles load the compiled `dist/index.js` without a build step.
 *
 * @module
 */
export * from "./bytes.js";
export * from "./client.js";
export * from "./crypto.js";
export * from "./frame.js";
export * from "./message.js";
export * from "./errors.js";
export * from "./filter.js";
export * from "./identity.js";
export * as keys from "./keys.js";
export * from "./schema.js";
export * as session from "./session.js";
export * from "./transport.js";
export * from "./wire.js";
export * from "./typed.js";

/**
 * A node-wot protocol binding for the `safething` URI scheme: standard WoT consumers
 * (`WoT.consume(td)`, `readProperty`, `writeProperty`, `observeProperty`, `invokeAction`,
 * `subscribeEvent`) drive SAFEthing devices through `safething gateway`, with the consumer's own
 * identity. It is a thin layer over the SAFEthing TypeScript runtime (`typescript/dist`): every
 * request is signed by the consumer, every answer is verified against the thing's key, payloads
 * of `group` and `owner` affordances are sealed end to end, and the device decides access.
 *
 * ```js
 * import { Servient } from "@node-wot/core";
 * import { WebSocket } from "ws";
 * import { SafethingClientFactory } from "@safething/binding-safething";
 *
 * const servient = new Servient();
 * servient.addClientFactory(new SafethingClientFactory({ gateway: "http://127.0.0.1:8080", identityFile: "me.key", WebSocket }));
 * const WoT = await servient.start();
 * const garden = await WoT.consume(td); // a TD from `safething-gen td`
 * console.log(await (await garden.readProperty("valve_state")).value());
 * ```
 *
 * Form URIs (`docs/wot.md`, "Forms"): `safething://<thing-id>/attributes/<name>`,
 * `.../events/<name>`, `.../actions/<name>`.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";

import type { Content, Form, ProtocolClient, ProtocolClientFactory, SecurityScheme } from "@node-wot/core";
import type { Subscription } from "rxjs/Subscription";

import {
  Client,
  GatewayTransport,
  Identity,
  PublicKey,
  type RemoteThing,
  type Stream,
  UntrustedError,
  type WebSocketConstructor,
  fromUtf8,
  utf8,
} from "../../dist/index.js";

/** The URI scheme of SAFEthing forms. */
export const SCHEME = "safething";

/** The TD security scheme of SAFEthing's signed frames (`docs/wot.md`, "Security"). */
export const SIGNED_ENVELOPE_SCHEME = "safething:SignedEnvelope";

/** The term of a security definition that carries the thing's public key. */
export const THING_KEY_TERM = "safething:thingKey";

/** The media type of every payload. */
export const CONTENT_TYPE = "application/json";

/** Options of {@link SafethingClientFactory}. */
export interface SafethingClientFactoryOptions {
  /** The gateway's base URL (`http://127.0.0.1:8080`) or its WebSocket URL (`ws://…/v2/ws`). */
  gateway: string;
  /** The consumer's identity (an Ed25519 key pair); or give {@link identityFile}. */
  identity?: Identity;
  /** A SAFEthing identity file (`safething-identity-v1`, as `safething --identity` uses) to load the identity from. */
  identityFile?: string;
  /** The WebSocket implementation (default: the platform's; Node.js before 22 needs the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  /** Thing keys to trust by thing id, in addition to those the TDs' security definitions carry. */
  trust?: { [thingId: string]: string };
  /** How long reads, writes and descriptions wait for the device, in milliseconds (default 5000). */
  requestTimeoutMs?: number;
}

/** A form this binding cannot serve (another scheme, another path, an op it does not map). */
export class UnsupportedFormError extends Error {
  /** The discriminant, like the runtime's errors. */
  readonly kind = "unsupported_form";
  constructor(readonly href: string, why: string) {
    super(`cannot use form \`${href}\`: ${why}`);
    this.name = "UnsupportedFormError";
  }
}

/** What a form names: a thing and one of its affordances. */
export interface Target {
  /** The thing id. */
  thing: string;
  /** Which part of the thing's key space. */
  kind: "attributes" | "events" | "actions";
  /** The affordance's name. */
  name: string;
}

const HREF = /^safething:\/\/([^/?#]+)\/(attributes|events|actions)\/([^/?#]+)$/;

/** Reads a form's `href`: `safething://<thing-id>/<attributes|events|actions>/<name>`. */
export function parseHref(href: string): Target {
  const m = HREF.exec(href);
  const [thing, kind, name] = [m?.[1], m?.[2], m?.[3]];
  if (thing === undefined || name === undefined || (kind !== "attributes" && kind !== "events" && kind !== "actions")) {
    throw new UnsupportedFormError(href, "expected safething://<thing-id>/<attributes|events|actions>/<name>");
  }
  try {
    return { thing: decodeURIComponent(thing), kind, name: decodeURIComponent(name) };
  } catch {
    throw new UnsupportedFormError(href, "malformed percent-encoding");
  }
}

/** A JSON payload as node-wot's `Content` (same shape: its media type, its body as a stream). */
class JsonContent {
  readonly type = CONTENT_TYPE;
  readonly body: NodeJS.ReadableStream;
  readonly #bytes: Buffer;

  constructor(value: unknown) {
    this.#bytes = Buffer.from(utf8(JSON.stringify(value ?? null)));
    this.body = Readable.from([this.#bytes]);
  }

  /** The whole body. */
  toBuffer(): Promise<Buffer> {
    return Promise.resolve(this.#bytes);
  }
}

function content(value: unknown): Content {
  return new JsonContent(value);
}

/** The JSON value of a request's content (`null` when there is none). */
async function valueOf(href: string, body: Content | undefined): Promise<unknown> {
  if (body === undefined) return null;
  const bytes = await body.toBuffer();
  if (bytes.length === 0) return null;
  const type = (body.type ?? CONTENT_TYPE).split(";")[0]?.trim();
  if (type !== CONTENT_TYPE) throw new UnsupportedFormError(href, `content type \`${body.type}\`; SAFEthing payloads are ${CONTENT_TYPE}`);
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch {
    throw new UnsupportedFormError(href, "the payload is not JSON");
  }
}

/** The network side every client of one factory shares: one gateway connection, one runtime client, one handle per thing. */
class Connection {
  readonly #options: SafethingClientFactoryOptions;
  #client: Promise<Client> | undefined;
  #transport: GatewayTransport | undefined;
  readonly #things = new Map<string, Promise<RemoteThing>>();

  constructor(options: SafethingClientFactoryOptions) {
    this.#options = options;
  }

  client(): Promise<Client> {
    this.#client ??= this.#connect().catch((e: unknown) => {
      this.#client = undefined;
      throw e;
    });
    return this.#client;
  }

  async #connect(): Promise<Client> {
    const o = this.#options;
    const identity = o.identity ?? (o.identityFile === undefined ? undefined : await Identity.fromFileText(await readFile(o.identityFile, "utf8")));
    if (identity === undefined) throw new TypeError("SafethingClientFactory needs `identity` or `identityFile`: the consumer signs every request");
    const transport = await GatewayTransport.connect(o.gateway, o.WebSocket === undefined ? {} : { WebSocket: o.WebSocket });
    this.#transport = transport;
    const trust = o.trust ?? {};
    return Client.connect(o.requestTimeoutMs === undefined ? { transport, identity, trust } : { transport, identity, trust, requestTimeoutMs: o.requestTimeoutMs });
  }

  /** The handle of `id`, its description verified by the thing's key (trusted on first use unless the options pinned it). */
  thing(id: string): Promise<RemoteThing> {
    let thing = this.#things.get(id);
    if (thing === undefined) {
      thing = this.client().then((client) => client.thing(id));
      this.#things.set(id, thing);
      thing.catch(() => this.#things.delete(id));
    }
    return thing;
  }

  close(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#things.clear();
    void client?.then((c) => c.close(), () => undefined);
    this.#transport?.close();
    this.#transport = undefined;
  }
}

/** A running observation or event subscription. */
interface Running {
  stream: Stream<unknown> | undefined;
  stopped: boolean;
}

/** node-wot's `ProtocolClient` for `safething://` forms, over one shared gateway connection. */
export class SafethingClient implements ProtocolClient {
  readonly #connection: Connection;
  readonly #running = new Map<string, Set<Running>>();
  /** The key the TD's security definitions name: every answer on this client's forms must be signed with it. */
  #thingKey: PublicKey | undefined;

  /** @internal Made by {@link SafethingClientFactory.getClient}. */
  constructor(connection: Connection) {
    this.#connection = connection;
  }

  async #target(form: Form, kind: Target["kind"][]): Promise<{ target: Target; thing: RemoteThing }> {
    const target = parseHref(form.href);
    if (!kind.includes(target.kind)) throw new UnsupportedFormError(form.href, `this operation needs a form on ${kind.join(" or ")}`);
    const thing = await this.#connection.thing(target.thing);
    if (this.#thingKey !== undefined && !this.#thingKey.equals(thing.thingKey)) {
      throw new UntrustedError(`thing \`${target.thing}\` has key ${thing.thingKey.toString()}, its TD says ${this.#thingKey.toString()}`);
    }
    return { target, thing };
  }

  /** `readproperty`: the attribute's current value, verified (and decrypted) here. */
  async readResource(form: Form): Promise<Content> {
    const { target, thing } = await this.#target(form, ["attributes"]);
    return content((await thing.read(target.name)).value);
  }

  /** `writeproperty`: a write signed by this consumer; the device checks access and the value. */
  async writeResource(form: Form, body: Content): Promise<void> {
    const { target, thing } = await this.#target(form, ["attributes"]);
    await thing.write(target.name, await valueOf(form.href, body));
  }

  /** `invokeaction`: requests the action and waits for its final state; its output, or the error. */
  async invokeResource(form: Form, body?: Content): Promise<Content> {
    const { target, thing } = await this.#target(form, ["actions"]);
    const handle = await thing.invoke(target.name, await valueOf(form.href, body));
    return content(await handle.output());
  }

  /** `unobserveproperty` / `unsubscribeevent`: ends what {@link subscribeResource} started on this href. */
  unlinkResource(form: Form): Promise<void> {
    for (const run of this.#running.get(form.href) ?? []) {
      run.stopped = true;
      run.stream?.close();
    }
    this.#running.delete(form.href);
    return Promise.resolve();
  }

  /**
   * `observeproperty` (every verified change of the attribute) or `subscribeevent` (every
   * verified notification); resolves once the subscription is declared on the network.
   */
  async subscribeResource(form: Form, next: (content: Content) => void, error?: (error: Error) => void, complete?: () => void): Promise<Subscription> {
    const { target, thing } = await this.#target(form, ["attributes", "events"]);
    const run: Running = { stream: undefined, stopped: false };
    let pull: () => Promise<unknown>;
    if (target.kind === "attributes") {
      const watch = await thing.watch(target.name);
      run.stream = watch;
      pull = async () => (await watch.next())?.value;
    } else {
      const events = await thing.subscribe(target.name);
      run.stream = events;
      pull = async () => {
        const delivery = await events.next();
        return delivery === undefined ? undefined : { data: delivery.data };
      };
    }
    const runs = this.#running.get(form.href) ?? new Set<Running>();
    runs.add(run);
    this.#running.set(form.href, runs);
    void (async () => {
      try {
        for (;;) {
          const item = await pull();
          if (item === undefined || run.stopped) break;
          next(content(target.kind === "attributes" ? item : (item as { data: unknown }).data));
        }
        complete?.();
      } catch (e) {
        if (!run.stopped) error?.(e instanceof Error ? e : new Error(String(e)));
      } finally {
        runs.delete(run);
      }
    })();
    const subscription = {
      get closed() {
        return run.stopped;
      },
      unsubscribe() {
        run.stopped = true;
        run.stream?.close();
      },
    };
    // node-wot keeps this only to end it; the runtime's stream does that without rxjs.
    return subscription as unknown as Subscription;
  }

  /** Not served: a SAFEthing TD comes from `safething-gen td` (the runtime speaks descriptions, not TDs). */
  requestThingDescription(uri: string): Promise<Content> {
    return Promise.reject(new UnsupportedFormError(uri, "fetch the TD with `safething-gen td`; the binding does not serve TDs"));
  }

  /** Nothing to start: the gateway connection opens on first use. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Ends this client's observations and subscriptions. */
  stop(): Promise<void> {
    for (const href of [...this.#running.keys()]) void this.unlinkResource({ href } as Form);
    return Promise.resolve();
  }

  /**
   * Takes the TD's `safething:SignedEnvelope` definitions: their `safething:thingKey` pins the
   * key every answer must be signed with. Credentials are not needed (the factory holds the
   * consumer's identity); returns whether the schemes are SAFEthing's.
   */
  setSecurity(metadata: Array<SecurityScheme>, _credentials?: unknown): boolean {
    let ours = false;
    for (const scheme of metadata) {
      if (scheme.scheme !== SIGNED_ENVELOPE_SCHEME) continue;
      ours = true;
      const key = (scheme as { [THING_KEY_TERM]?: unknown })[THING_KEY_TERM];
      if (typeof key === "string") this.#thingKey = PublicKey.parse(key);
    }
    return ours;
  }
}

/** node-wot's `ProtocolClientFactory` for the `safething` scheme: `servient.addClientFactory(new SafethingClientFactory({ gateway, identity }))`. */
export class SafethingClientFactory implements ProtocolClientFactory {
  /** The URI scheme it serves. */
  readonly scheme = SCHEME;
  readonly #options: SafethingClientFactoryOptions;
  #connection: Connection;

  constructor(options: SafethingClientFactoryOptions) {
    if (options.identity === undefined && options.identityFile === undefined) {
      throw new TypeError("SafethingClientFactory needs `identity` or `identityFile`: the consumer signs every request");
    }
    this.#options = options;
    this.#connection = new Connection(options);
  }

  /** A client over the factory's shared gateway connection. */
  getClient(): ProtocolClient {
    return new SafethingClient(this.#connection);
  }

  /** Nothing to prepare: the connection opens on first use. */
  init(): boolean {
    return true;
  }

  /** Closes the gateway connection; a later client opens a new one. */
  destroy(): boolean {
    this.#connection.close();
    this.#connection = new Connection(this.#options);
    return true;
  }
}

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
import type { Content, Form, ProtocolClient, ProtocolClientFactory, SecurityScheme } from "@node-wot/core";
import type { Subscription } from "rxjs/Subscription";
import { Client, Identity, type RemoteThing, type WebSocketConstructor } from "../../dist/index.js";
/** The URI scheme of SAFEthing forms. */
export declare const SCHEME = "safething";
/** The TD security scheme of SAFEthing's signed frames (`docs/wot.md`, "Security"). */
export declare const SIGNED_ENVELOPE_SCHEME = "safething:SignedEnvelope";
/** The term of a security definition that carries the thing's public key. */
export declare const THING_KEY_TERM = "safething:thingKey";
/** The media type of every payload. */
export declare const CONTENT_TYPE = "application/json";
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
    trust?: {
        [thingId: string]: string;
    };
    /** How long reads, writes and descriptions wait for the device, in milliseconds (default 5000). */
    requestTimeoutMs?: number;
}
/** A form this binding cannot serve (another scheme, another path, an op it does not map). */
export declare class UnsupportedFormError extends Error {
    readonly href: string;
    /** The discriminant, like the runtime's errors. */
    readonly kind = "unsupported_form";
    constructor(href: string, why: string);
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
/** Reads a form's `href`: `safething://<thing-id>/<attributes|events|actions>/<name>`. */
export declare function parseHref(href: string): Target;
/** The network side every client of one factory shares: one gateway connection, one runtime client, one handle per thing. */
declare class Connection {
    #private;
    constructor(options: SafethingClientFactoryOptions);
    client(): Promise<Client>;
    /** The handle of `id`, its description verified by the thing's key (trusted on first use unless the options pinned it). */
    thing(id: string): Promise<RemoteThing>;
    close(): void;
}
/** node-wot's `ProtocolClient` for `safething://` forms, over one shared gateway connection. */
export declare class SafethingClient implements ProtocolClient {
    #private;
    /** @internal Made by {@link SafethingClientFactory.getClient}. */
    constructor(connection: Connection);
    /** `readproperty`: the attribute's current value, verified (and decrypted) here. */
    readResource(form: Form): Promise<Content>;
    /** `writeproperty`: a write signed by this consumer; the device checks access and the value. */
    writeResource(form: Form, body: Content): Promise<void>;
    /** `invokeaction`: requests the action and waits for its final state; its output, or the error. */
    invokeResource(form: Form, body?: Content): Promise<Content>;
    /** `unobserveproperty` / `unsubscribeevent`: ends what {@link subscribeResource} started on this href. */
    unlinkResource(form: Form): Promise<void>;
    /**
     * `observeproperty` (every verified change of the attribute) or `subscribeevent` (every
     * verified notification); resolves once the subscription is declared on the network.
     */
    subscribeResource(form: Form, next: (content: Content) => void, error?: (error: Error) => void, complete?: () => void): Promise<Subscription>;
    /** Not served: a SAFEthing TD comes from `safething-gen td` (the runtime speaks descriptions, not TDs). */
    requestThingDescription(uri: string): Promise<Content>;
    /** Nothing to start: the gateway connection opens on first use. */
    start(): Promise<void>;
    /** Ends this client's observations and subscriptions. */
    stop(): Promise<void>;
    /**
     * Takes the TD's `safething:SignedEnvelope` definitions: their `safething:thingKey` pins the
     * key every answer must be signed with. Credentials are not needed (the factory holds the
     * consumer's identity); returns whether the schemes are SAFEthing's.
     */
    setSecurity(metadata: Array<SecurityScheme>, _credentials?: unknown): boolean;
}
/** node-wot's `ProtocolClientFactory` for the `safething` scheme: `servient.addClientFactory(new SafethingClientFactory({ gateway, identity }))`. */
export declare class SafethingClientFactory implements ProtocolClientFactory {
    #private;
    /** The URI scheme it serves. */
    readonly scheme = "safething";
    constructor(options: SafethingClientFactoryOptions);
    /** A client over the factory's shared gateway connection. */
    getClient(): ProtocolClient;
    /** Nothing to prepare: the connection opens on first use. */
    init(): boolean;
    /** Closes the gateway connection; a later client opens a new one. */
    destroy(): boolean;
}
export {};

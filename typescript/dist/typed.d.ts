/**
 * What generated clients build on: the compatibility check and the names generated code
 * refers to (so a definition's own type names, e.g. `Promise`, never shadow them).
 *
 * @module
 */
import type { AttributeReading, RemoteThing, Source, SourcedEntry } from "./client.js";
import type { Definition, Json } from "./wire.js";
/** A promise (generated code names it through the runtime, never the global directly). */
export type Async<T> = Promise<T>;
/** The part of a semantic version that must match: `1` of `1.4.2`, `0.3` of `0.3.1`. */
export declare function versionKey(version: string): string;
/** Throws {@link IncompatibleError} unless `thing` serves the thing type `expected` (same name, compatible version). */
export declare function checkCompatible(thing: RemoteThing, expected: Definition): void;
/**
 * A definition from its JSON (generated code embeds its definition this way: typed as JSON,
 * a property named `constructor` cannot confuse the type checker).
 */
export declare function definitionFrom(json: Json): Definition;
/**
 * Where a generated client keeps its untyped handle: a symbol, so that no affordance name can
 * reach it (a client's methods are all its affordances'; see {@link thingOf}).
 */
export declare const THING: unique symbol;
/** A generated client: it holds its untyped handle under {@link THING}. */
export interface TypedClient {
    /** The untyped handle. */
    readonly [THING]: RemoteThing;
}
/**
 * The untyped handle of a generated client: the framework's side of it (`id`, `description`,
 * `isOnline()`, owner operations such as `publish()` and `claim()`, untyped access). Generated
 * clients give every instance member to the thing's affordances, so an attribute may be called
 * `id` or `description`: `garden.id()` reads that attribute, `thingOf(garden).id` is the id.
 */
export declare function thingOf(client: TypedClient): RemoteThing;
/** A reading and where it came from: the device, or — when it did not answer — a store. */
export interface SourcedReading<T = Json> extends AttributeReading<T> {
    /** Who answered. */
    source: Source;
    /** How old the value is by this machine's clock, milliseconds. */
    ageMs: number;
}
/**
 * What a generated client's read of an attribute does: the device's value, or when it does not
 * answer, a store's (`RemoteThing.readWithSource`), saying which.
 */
export declare function readSourced<T>(thing: RemoteThing, name: string): Promise<SourcedReading<T>>;
/**
 * What a generated client's history of an attribute does: the device's, preceded by what the
 * stores kept from before it; or the stores' when the device does not answer
 * (`RemoteThing.historyWithSource`).
 */
export declare function historySourced<T>(thing: RemoteThing, name: string): Promise<SourcedEntry<T>[]>;

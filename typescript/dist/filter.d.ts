/**
 * Subscription filters, typed: which attribute changes or events a subscriber wants.
 *
 * A filter tests the value (or a field of it): `any`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, a change
 * band (`step`: only when the number moved by at least `delta` since the last delivery) and a
 * rate limit (`minInterval`), combined with `and` / `or`. Filters are checked against the
 * affordance's schema when subscribing ({@link InvalidFilterError}), then evaluated on the
 * client as values arrive, exactly as the Rust runtime does.
 *
 * ```ts
 * garden.watchMoistureLevel((f) => f.lt(5));
 * garden.onVeryDryAlarm((f) => f.field("level").lt(5).and(f.minInterval(60_000)));
 * ```
 *
 * @module
 */
import type { DataSchema, Json } from "./wire.js";
/** A comparison operator. */
export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
/** A filter as data (the same shape as the Rust runtime's serialized `Filter`). */
export type FilterNode = {
    op: "any";
} | {
    op: "compare";
    field?: string[];
    cmp: CompareOp;
    value: Json;
} | {
    op: "step";
    field?: string[];
    delta: number;
} | {
    op: "min_interval";
    ms: number;
} | {
    op: "and";
    all: FilterNode[];
} | {
    op: "or";
    any: FilterNode[];
};
/** A filter on values of type `T`. Build one with {@link filter} or a builder callback. */
export declare class Filter<T = Json> {
    /** Ties the filter to its value type (never set). */
    readonly _value?: (value: T) => T;
    /** The filter as data. */
    readonly node: FilterNode;
    constructor(node: FilterNode);
    /** Everything passes. */
    static any<T = Json>(): Filter<T>;
    /** An untyped filter from the command-line syntax (`lt 5`, `level gt 90 and min_interval 1s`). */
    static parse(text: string): Filter<Json>;
    /** Both this and `other`. */
    and(other: Filter<T>): Filter<T>;
    /** This or `other`. */
    or(other: Filter<T>): Filter<T>;
    /** The command-line spelling. */
    toString(): string;
}
/** Values that can be ordered (`lt`, `le`, `gt`, `ge`). */
type Ordered<V> = V extends number ? number : V extends string ? V : never;
/** Builds filters on values of type `R`, looking at a part of type `V` (a field, or `R` itself). */
export declare class FilterBuilder<R, V = R> {
    #private;
    constructor(field?: string[]);
    /** Everything passes. */
    any(): Filter<R>;
    /** Equal to `value`. */
    eq(value: V): Filter<R>;
    /** Not equal to `value`. */
    ne(value: V): Filter<R>;
    /** Less than `value`. */
    lt(value: Ordered<V>): Filter<R>;
    /** Less than or equal to `value`. */
    le(value: Ordered<V>): Filter<R>;
    /** Greater than `value`. */
    gt(value: Ordered<V>): Filter<R>;
    /** Greater than or equal to `value`. */
    ge(value: Ordered<V>): Filter<R>;
    /** Only changes of at least `delta` since the last delivered value (numbers only). */
    step(delta: V extends number ? number : never): Filter<R>;
    /** At most one delivery per `ms` milliseconds. */
    minInterval(ms: number): Filter<R>;
    /** Filters on a property of an object value: `f.field("level").lt(5)`. */
    field<K extends keyof NonNullable<V> & string>(name: K): FilterBuilder<R, NonNullable<NonNullable<V>[K]>>;
}
/** A filter builder for values of type `T`. */
export declare function filter<T>(): FilterBuilder<T, T>;
/** What subscribing methods accept: a filter, or a function that builds one. */
export type FilterArg<T> = Filter<T> | ((f: FilterBuilder<T, T>) => Filter<T>);
/** The filter an argument stands for (`any` when absent). */
export declare function toFilter<T>(arg: FilterArg<T> | undefined): Filter<T>;
/** A compiled filter with its memory (last delivered value, last delivery time). */
export declare class FilterState {
    #private;
    private constructor();
    /** Checks `filter` against the schema of the values it will see; throws {@link InvalidFilterError}. */
    static compile<T>(filter: Filter<T> | FilterNode, schema: DataSchema, types?: {
        [name: string]: DataSchema;
    }): FilterState;
    /** Whether `value` should be delivered now; if so, remembers it as delivered. */
    offer(value: unknown, nowMs?: number): boolean;
}
/** Parses the command-line filter syntax (`and` binds tighter than `or`); throws {@link InvalidFilterError}. */
export declare function parseFilter(text: string): FilterNode;
export {};

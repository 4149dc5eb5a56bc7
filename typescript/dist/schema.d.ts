/**
 * Checking JSON values against data schemas: the essentials of the Rust runtime's value checks
 * (type, bounds, `multipleOf`, lengths, `pattern`, `enum`/`const`, `required`, unknown
 * properties, `items` and their counts, `oneOf`, named types by `ref`). Objects are closed:
 * properties the schema does not declare are violations, except in an open map, whose members
 * all match its `additionalProperties`. A tagged union (a `oneOf` of objects told apart by a
 * `const` property, recognized as the Rust IR's `union` module does) checks the one alternative
 * its tag names, so errors are that alternative's, with the Rust messages.
 *
 * @module
 */
import type { DataSchema } from "./wire.js";
/** A value that does not match its schema: where, and which rule. */
export interface Violation {
    /** JSON pointer to the offending part (`""` for the value itself, `/psi`, `/items/2`). */
    path: string;
    /** The violated keyword (`type`, `maximum`, `required`, `properties`, ...). */
    keyword: string;
    /** What is wrong, in words. */
    message: string;
}
/** The JSON type name of a value, for messages (`integer` for whole numbers). */
export declare function jsonTypeName(value: unknown): string;
/** JSON equality (numbers by value, objects regardless of member order). */
export declare function jsonEqual(a: unknown, b: unknown): boolean;
/** A data schema ready to check values (refs resolved against the definition's types). */
export declare class CompiledSchema {
    #private;
    constructor(schema: DataSchema, types?: {
        [name: string]: DataSchema;
    });
    /** A schema that accepts every value. */
    static any(): CompiledSchema;
    /** The first problem found, or `undefined` when the value matches. */
    check(value: unknown): Violation | undefined;
    /** Whether `value` matches. */
    accepts(value: unknown): boolean;
}
/** Follows `ref`s to the schema that says what the value is. */
export declare function resolve(schema: DataSchema, types: {
    [name: string]: DataSchema;
}): DataSchema;
/** The milliseconds of a definition's duration (`500ms`, `30s`, `2m`, `1h`, `1m30s`). */
export declare function parseDuration(text: string): number | undefined;

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

import type { DataSchema, Json } from "./wire.js";

/** How deep values and ref chains may nest before checking stops. */
const MAX_DEPTH = 64;

/** How many `ref` hops are followed to find a union alternative's object schema (as in Rust). */
const MAX_REF_HOPS = 64;

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
export function jsonTypeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "object") return "object";
  return typeof value;
}

/** JSON equality (numbers by value, objects regardless of member order). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

function isObject(v: unknown): v is { [key: string]: unknown } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function pointerToken(name: string): string {
  return name.replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * Orders strings by code point, as Rust orders its `String`s (UTF-8 byte order); JavaScript's
 * default sort compares UTF-16 units, which differs above U+FFFF.
 */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** The tag of a tagged union: its property, and its value in each alternative (`oneOf` order). */
interface Tag {
  name: string;
  values: Json[];
}

/** Whether a keyword is given (`null` reads as absent, as in the Rust IR). */
function given(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** The schema's `const` if it can be a tag: a string, integer or boolean that fits its `type`. */
function tagValue(s: DataSchema): Json | undefined {
  if (given(s.ref) || given(s.oneOf) || !given(s.const)) return undefined;
  const v = s.const;
  const integer = typeof v === "number" && Number.isSafeInteger(v);
  let fits: boolean;
  switch (s.type) {
    case undefined:
      fits = true;
      break;
    case "string":
      fits = typeof v === "string";
      break;
    case "integer":
    case "number":
      fits = integer;
      break;
    case "boolean":
      fits = typeof v === "boolean";
      break;
    default:
      fits = false;
  }
  return fits && (typeof v === "string" || typeof v === "boolean" || integer) ? v : undefined;
}

/** The plain object schema a union alternative stands for, following `ref`s. */
function objectOf(alternative: DataSchema, types: { [name: string]: DataSchema }): DataSchema | undefined {
  let current = alternative;
  for (let i = 0; i < MAX_REF_HOPS; i++) {
    const ref: unknown = current.ref;
    if (typeof ref !== "string") {
      const plain = current.type === "object" && !given(current.oneOf) && !given(current.enum) && !given(current.const);
      return plain ? current : undefined;
    }
    const target = Object.hasOwn(types, ref) ? types[ref] : undefined;
    if (target === undefined) return undefined;
    current = target;
  }
  return undefined;
}

/**
 * The tag of `s` if it is a tagged union: a `oneOf` of objects (inline or `ref`) that all require
 * the same property, whose schema is a `const` string, integer or boolean, with pairwise distinct
 * values; when several qualify, the first in name order. The rule of the Rust IR's `union` module.
 */
function taggedUnion(s: DataSchema, types: { [name: string]: DataSchema }): Tag | undefined {
  const alternatives: unknown = s.oneOf;
  if (!Array.isArray(alternatives) || alternatives.length === 0) return undefined;
  const objects: DataSchema[] = [];
  for (const alternative of alternatives as DataSchema[]) {
    const object = objectOf(alternative, types);
    if (object === undefined) return undefined;
    objects.push(object);
  }
  candidates: for (const name of Object.keys(objects[0]?.properties ?? {}).sort(byCodePoint)) {
    const values: Json[] = [];
    // A set, not pairwise comparisons: a definition from the network may have thousands of them.
    const seen = new Set<string>();
    for (const object of objects) {
      const properties = object.properties ?? {};
      const schema = Object.hasOwn(properties, name) ? properties[name] : undefined;
      const required = (object.required ?? []).includes(name);
      const value = schema !== undefined && required ? tagValue(schema) : undefined;
      if (value === undefined) continue candidates;
      const key = `${typeof value}:${String(value)}`;
      if (seen.has(key)) continue candidates;
      seen.add(key);
      values.push(value);
    }
    return { name, values };
  }
  return undefined;
}

/** A tag value in a message: strings as they are, other values as JSON (as in Rust). */
function tagText(v: Json): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

class Fail {
  constructor(readonly keyword: string, readonly message: string) {}
}

/** A data schema ready to check values (refs resolved against the definition's types). */
export class CompiledSchema {
  readonly #schema: DataSchema;
  readonly #types: { [name: string]: DataSchema };
  readonly #patterns = new Map<string, RegExp | null>();
  /** Named types being checked right now (a cyclic ref constrains nothing, as in Rust). */
  readonly #active = new Set<string>();
  /** Each `oneOf` schema's tag (`null`: not a tagged union), recognized once. */
  readonly #tags = new WeakMap<DataSchema, Tag | null>();

  constructor(schema: DataSchema, types: { [name: string]: DataSchema } = {}) {
    this.#schema = schema;
    this.#types = types;
  }

  /** A schema that accepts every value. */
  static any(): CompiledSchema {
    return new CompiledSchema({});
  }

  /** The first problem found, or `undefined` when the value matches. */
  check(value: unknown): Violation | undefined {
    const path: string[] = [];
    try {
      this.#check(this.#schema, value, path, 0);
      return undefined;
    } catch (e) {
      if (e instanceof Fail) return { path: path.join(""), keyword: e.keyword, message: e.message };
      throw e;
    }
  }

  /** Whether `value` matches. */
  accepts(value: unknown): boolean {
    return this.check(value) === undefined;
  }

  #pattern(source: string): RegExp | null {
    let re = this.#patterns.get(source);
    if (re === undefined) {
      try {
        re = new RegExp(source, "u");
      } catch {
        // An invalid pattern is reported by validation; here it is simply not enforced.
        re = null;
      }
      this.#patterns.set(source, re);
    }
    return re;
  }

  #tag(s: DataSchema): Tag | undefined {
    let tag = this.#tags.get(s);
    if (tag === undefined) {
      tag = taggedUnion(s, this.#types) ?? null;
      this.#tags.set(s, tag);
    }
    return tag ?? undefined;
  }

  #check(s: DataSchema, value: unknown, path: string[], depth: number): void {
    if (depth > MAX_DEPTH) throw new Fail("depth", `nested deeper than ${MAX_DEPTH} levels`);
    if (s.ref !== undefined && !this.#active.has(s.ref)) {
      const target = Object.hasOwn(this.#types, s.ref) ? this.#types[s.ref] : undefined;
      if (target !== undefined) {
        this.#active.add(s.ref);
        try {
          this.#check(target, value, path, depth + 1);
        } finally {
          this.#active.delete(s.ref);
        }
      }
    }
    if (s.type !== undefined) checkType(s.type, value);
    if (s.enum !== undefined && !s.enum.some((v) => jsonEqual(v, value))) {
      throw new Fail("enum", `not one of ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`);
    }
    if (s.const !== undefined && !jsonEqual(s.const, value)) {
      throw new Fail("const", `not the constant ${JSON.stringify(s.const)}`);
    }
    if (typeof value === "number") checkNumber(s, value);
    else if (typeof value === "string") {
      if (s.minLength !== undefined || s.maxLength !== undefined) {
        const len = [...value].length;
        if (s.minLength !== undefined && len < s.minLength) throw new Fail("minLength", `shorter than ${s.minLength} characters`);
        if (s.maxLength !== undefined && len > s.maxLength) throw new Fail("maxLength", `longer than ${s.maxLength} characters`);
      }
      if (s.pattern !== undefined) {
        const re = this.#pattern(s.pattern);
        if (re !== null && !re.test(value)) throw new Fail("pattern", `does not match the pattern \`${s.pattern}\``);
      }
    } else if (Array.isArray(value)) {
      if (s.minItems !== undefined && value.length < s.minItems) throw new Fail("minItems", `fewer than ${s.minItems} items`);
      if (s.maxItems !== undefined && value.length > s.maxItems) throw new Fail("maxItems", `more than ${s.maxItems} items`);
      if (s.items !== undefined) {
        for (let i = 0; i < value.length; i++) {
          path.push(`/${i}`);
          this.#check(s.items, value[i], path, depth + 1);
          path.pop();
        }
      }
    } else if (isObject(value)) {
      const properties = s.properties ?? {};
      const values = s.additionalProperties;
      if (s.type === "object" || Object.keys(properties).length > 0 || values !== undefined) {
        for (const name of s.required ?? []) {
          if (!Object.hasOwn(value, name)) throw new Fail("required", `missing required property \`${name}\``);
        }
        for (const name of Object.keys(value).sort(byCodePoint)) {
          const schema = Object.hasOwn(properties, name) ? properties[name] : values;
          if (schema === undefined) throw new Fail("properties", `unknown property \`${name}\``);
          path.push(`/${pointerToken(name)}`);
          this.#check(schema, value[name], path, depth + 1);
          path.pop();
        }
      }
    }
    const tag = isObject(value) && s.oneOf !== undefined ? this.#tag(s) : undefined;
    if (tag !== undefined && isObject(value)) {
      if (!Object.hasOwn(value, tag.name)) throw new Fail("required", `missing required property \`${tag.name}\``);
      const found = value[tag.name];
      const index = tag.values.findIndex((v) => jsonEqual(v, found));
      const alternative = index < 0 ? undefined : s.oneOf?.[index];
      if (alternative === undefined) {
        path.push(`/${pointerToken(tag.name)}`);
        throw new Fail("oneOf", `expected one of ${tag.values.map(tagText).join(", ")}, found ${JSON.stringify(found)}`);
      }
      // The other alternatives require other tags: this one alone decides.
      this.#check(alternative, value, path, depth + 1);
      return;
    }
    if (s.oneOf !== undefined && s.oneOf.length > 0) {
      const matched = s.oneOf.filter((alt) => {
        try {
          this.#check(alt, value, [], depth + 1);
          return true;
        } catch (e) {
          if (e instanceof Fail) return false;
          throw e;
        }
      }).length;
      if (matched !== 1) {
        throw new Fail("oneOf", matched === 0 ? "matches none of the oneOf alternatives" : `matches ${matched} of the oneOf alternatives, not exactly one`);
      }
    }
  }
}

function checkType(expected: string, value: unknown): void {
  let ok: boolean;
  switch (expected) {
    case "boolean":
      ok = typeof value === "boolean";
      break;
    case "integer":
      ok = typeof value === "number" && Number.isInteger(value);
      break;
    case "number":
      ok = typeof value === "number" && Number.isFinite(value);
      break;
    case "string":
      ok = typeof value === "string";
      break;
    case "object":
      ok = isObject(value);
      break;
    case "array":
      ok = Array.isArray(value);
      break;
    case "null":
      ok = value === null;
      break;
    default:
      ok = true;
  }
  if (!ok) throw new Fail("type", `expected ${expected}, found ${jsonTypeName(value)}`);
}

function checkNumber(s: DataSchema, n: number): void {
  if (s.minimum !== undefined && n < s.minimum) throw new Fail("minimum", `less than the minimum ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined && n <= s.exclusiveMinimum) {
    throw new Fail("exclusiveMinimum", `not greater than the exclusive minimum ${s.exclusiveMinimum}`);
  }
  if (s.maximum !== undefined && n > s.maximum) throw new Fail("maximum", `greater than the maximum ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined && n >= s.exclusiveMaximum) {
    throw new Fail("exclusiveMaximum", `not less than the exclusive maximum ${s.exclusiveMaximum}`);
  }
  if (s.multipleOf !== undefined) {
    const m = s.multipleOf;
    let ok: boolean;
    if (Number.isInteger(n) && Number.isInteger(m)) ok = m !== 0 && n % m === 0;
    else if (m > 0) {
      const q = n / m;
      ok = Math.abs(q - Math.round(q)) <= 1e-9 * Math.max(Math.abs(q), 1);
    } else ok = false;
    if (!ok) throw new Fail("multipleOf", `not a multiple of ${m}`);
  }
}

/** Follows `ref`s to the schema that says what the value is. */
export function resolve(schema: DataSchema, types: { [name: string]: DataSchema }): DataSchema {
  let current = schema;
  for (let i = 0; i < 32 && current.ref !== undefined; i++) {
    const target = types[current.ref];
    if (target === undefined) break;
    current = target;
  }
  return current;
}

/** The milliseconds of a definition's duration (`500ms`, `30s`, `2m`, `1h`, `1m30s`). */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+)(ms|s|m|h)/gy;
  const units: { [unit: string]: number } = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const trimmed = text.trim();
  let total = 0;
  let at = 0;
  let match: RegExpExecArray | null;
  while ((match = re.exec(trimmed)) !== null) {
    total += Number(match[1]) * (units[match[2] ?? ""] ?? 0);
    at = re.lastIndex;
  }
  return at === trimmed.length && at > 0 && total > 0 ? total : undefined;
}


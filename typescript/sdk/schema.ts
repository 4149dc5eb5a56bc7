/**
 * Checking JSON values against data schemas: the essentials of the Rust runtime's value checks
 * (type, bounds, `multipleOf`, lengths, `pattern`, `enum`/`const`, `required`, unknown
 * properties, `items` and their counts, `oneOf`, named types by `ref`). Objects are closed:
 * properties the schema does not declare are violations, except in an open map, whose members
 * all match its `additionalProperties`.
 *
 * @module
 */

import type { DataSchema, Json } from "./wire.js";

/** How deep values and ref chains may nest before checking stops. */
const MAX_DEPTH = 64;

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
        for (const name of Object.keys(value).sort()) {
          const schema = Object.hasOwn(properties, name) ? properties[name] : values;
          if (schema === undefined) throw new Fail("properties", `unknown property \`${name}\``);
          path.push(`/${pointerToken(name)}`);
          this.#check(schema, value[name], path, depth + 1);
          path.pop();
        }
      }
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


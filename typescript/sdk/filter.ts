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

import { InvalidFilterError } from "./errors.js";
import { CompiledSchema, jsonEqual, jsonTypeName, parseDuration, resolve } from "./schema.js";
import type { DataSchema, Json } from "./wire.js";

/** A comparison operator. */
export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";

/** A filter as data (the same shape as the Rust runtime's serialized `Filter`). */
export type FilterNode =
  | { op: "any" }
  | { op: "compare"; field?: string[]; cmp: CompareOp; value: Json }
  | { op: "step"; field?: string[]; delta: number }
  | { op: "min_interval"; ms: number }
  | { op: "and"; all: FilterNode[] }
  | { op: "or"; any: FilterNode[] };

/** A filter on values of type `T`. Build one with {@link filter} or a builder callback. */
export class Filter<T = Json> {
  /** Ties the filter to its value type (never set). */
  declare readonly _value?: (value: T) => T;
  /** The filter as data. */
  readonly node: FilterNode;

  constructor(node: FilterNode) {
    this.node = node;
  }

  /** Everything passes. */
  static any<T = Json>(): Filter<T> {
    return new Filter<T>({ op: "any" });
  }

  /** An untyped filter from the command-line syntax (`lt 5`, `level gt 90 and min_interval 1s`). */
  static parse(text: string): Filter<Json> {
    return new Filter<Json>(parseFilter(text));
  }

  /** Both this and `other`. */
  and(other: Filter<T>): Filter<T> {
    return new Filter<T>(this.node.op === "and" ? { op: "and", all: [...this.node.all, other.node] } : { op: "and", all: [this.node, other.node] });
  }

  /** This or `other`. */
  or(other: Filter<T>): Filter<T> {
    return new Filter<T>(this.node.op === "or" ? { op: "or", any: [...this.node.any, other.node] } : { op: "or", any: [this.node, other.node] });
  }

  /** The command-line spelling. */
  toString(): string {
    return show(this.node);
  }
}

/** Values that can be ordered (`lt`, `le`, `gt`, `ge`). */
type Ordered<V> = V extends number ? number : V extends string ? V : never;

/** Builds filters on values of type `R`, looking at a part of type `V` (a field, or `R` itself). */
export class FilterBuilder<R, V = R> {
  readonly #field: string[];

  constructor(field: string[] = []) {
    this.#field = field;
  }

  #compare(cmp: CompareOp, value: unknown): Filter<R> {
    const node: FilterNode = { op: "compare", cmp, value: value as Json };
    if (this.#field.length > 0) node.field = [...this.#field];
    return new Filter<R>(node);
  }

  /** Everything passes. */
  any(): Filter<R> {
    return new Filter<R>({ op: "any" });
  }

  /** Equal to `value`. */
  eq(value: V): Filter<R> {
    return this.#compare("eq", value);
  }

  /** Not equal to `value`. */
  ne(value: V): Filter<R> {
    return this.#compare("ne", value);
  }

  /** Less than `value`. */
  lt(value: Ordered<V>): Filter<R> {
    return this.#compare("lt", value);
  }

  /** Less than or equal to `value`. */
  le(value: Ordered<V>): Filter<R> {
    return this.#compare("le", value);
  }

  /** Greater than `value`. */
  gt(value: Ordered<V>): Filter<R> {
    return this.#compare("gt", value);
  }

  /** Greater than or equal to `value`. */
  ge(value: Ordered<V>): Filter<R> {
    return this.#compare("ge", value);
  }

  /** Only changes of at least `delta` since the last delivered value (numbers only). */
  step(delta: V extends number ? number : never): Filter<R> {
    const node: FilterNode = { op: "step", delta };
    if (this.#field.length > 0) node.field = [...this.#field];
    return new Filter<R>(node);
  }

  /** At most one delivery per `ms` milliseconds. */
  minInterval(ms: number): Filter<R> {
    return new Filter<R>({ op: "min_interval", ms });
  }

  /** Filters on a property of an object value: `f.field("level").lt(5)`. */
  field<K extends keyof NonNullable<V> & string>(name: K): FilterBuilder<R, NonNullable<NonNullable<V>[K]>> {
    return new FilterBuilder<R, NonNullable<NonNullable<V>[K]>>([...this.#field, name]);
  }
}

/** A filter builder for values of type `T`. */
export function filter<T>(): FilterBuilder<T, T> {
  return new FilterBuilder<T, T>();
}

/** What subscribing methods accept: a filter, or a function that builds one. */
export type FilterArg<T> = Filter<T> | ((f: FilterBuilder<T, T>) => Filter<T>);

/** The filter an argument stands for (`any` when absent). */
export function toFilter<T>(arg: FilterArg<T> | undefined): Filter<T> {
  if (arg === undefined) return Filter.any<T>();
  return typeof arg === "function" ? arg(filter<T>()) : arg;
}

type Node =
  | { op: "any" }
  | { op: "compare"; field: string[]; cmp: CompareOp; value: Json }
  | { op: "step"; field: string[]; delta: number; last: number | undefined }
  | { op: "min_interval"; ms: number; last: number | undefined }
  | { op: "and"; all: Node[] }
  | { op: "or"; any: Node[] };

/** A compiled filter with its memory (last delivered value, last delivery time). */
export class FilterState {
  readonly #node: Node;

  private constructor(node: Node) {
    this.#node = node;
  }

  /** Checks `filter` against the schema of the values it will see; throws {@link InvalidFilterError}. */
  static compile<T>(filter: Filter<T> | FilterNode, schema: DataSchema, types: { [name: string]: DataSchema } = {}): FilterState {
    const node = filter instanceof Filter ? filter.node : filter;
    try {
      return new FilterState(compile(node, schema, types, 0));
    } catch (e) {
      if (e instanceof FilterProblem) throw new InvalidFilterError(e.message);
      throw e;
    }
  }

  /** Whether `value` should be delivered now; if so, remembers it as delivered. */
  offer(value: unknown, nowMs: number = Date.now()): boolean {
    const pass = test(this.#node, value, nowMs);
    if (pass) commit(this.#node, value, nowMs);
    return pass;
  }
}

class FilterProblem extends Error {}

function lookup(value: unknown, field: string[]): unknown {
  let v: unknown = value;
  for (const key of field) {
    if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = (v as { [key: string]: unknown })[key];
  }
  return v;
}

function compare(v: unknown, cmp: CompareOp, constant: Json): boolean {
  let ordering: number | undefined;
  if (typeof v === "number" && typeof constant === "number") ordering = Math.sign(v - constant);
  else if (typeof v === "string" && typeof constant === "string") ordering = v < constant ? -1 : v > constant ? 1 : 0;
  switch (cmp) {
    case "eq":
      return jsonEqual(v, constant);
    case "ne":
      return !jsonEqual(v, constant);
    case "lt":
      return ordering === -1;
    case "le":
      return ordering === -1 || ordering === 0;
    case "gt":
      return ordering === 1;
    case "ge":
      return ordering === 1 || ordering === 0;
  }
}

function test(node: Node, value: unknown, now: number): boolean {
  switch (node.op) {
    case "any":
      return true;
    case "compare": {
      const v = lookup(value, node.field);
      return v !== undefined && compare(v, node.cmp, node.value);
    }
    case "step": {
      const x = lookup(value, node.field);
      if (typeof x !== "number") return false;
      return node.last === undefined || Math.abs(x - node.last) >= node.delta;
    }
    case "min_interval":
      return node.last === undefined || now - node.last >= node.ms;
    case "and":
      return node.all.every((n) => test(n, value, now));
    case "or":
      return node.any.some((n) => test(n, value, now));
  }
}

function commit(node: Node, value: unknown, now: number): void {
  switch (node.op) {
    case "step": {
      const x = lookup(value, node.field);
      if (typeof x === "number") node.last = x;
      break;
    }
    case "min_interval":
      node.last = now;
      break;
    case "and":
      node.all.forEach((n) => commit(n, value, now));
      break;
    case "or":
      node.any.forEach((n) => commit(n, value, now));
      break;
    default:
  }
}

function fieldSchema(schema: DataSchema, field: string[], types: { [name: string]: DataSchema }): DataSchema {
  let current = resolve(schema, types);
  field.forEach((key, i) => {
    const properties = current.properties ?? {};
    const next = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (next === undefined) {
      const at = field.slice(0, i).join(".");
      const known = Object.keys(properties).sort();
      throw new FilterProblem(
        known.length === 0
          ? `\`${at === "" ? "the value" : at}\` has no fields, so it has no \`${key}\``
          : `no field \`${key}\`${at === "" ? "" : ` in \`${at}\``}; fields: ${known.join(", ")}`,
      );
    }
    current = resolve(next, types);
  });
  return current;
}

function compile(filter: FilterNode, schema: DataSchema, types: { [name: string]: DataSchema }, depth: number): Node {
  if (depth > 16) throw new FilterProblem("filter nested too deeply");
  switch (filter.op) {
    case "any":
      return { op: "any" };
    case "compare": {
      const field = filter.field ?? [];
      const target = fieldSchema(schema, field, types);
      const name = field.length === 0 ? "the value" : `\`${field.join(".")}\``;
      const value = filter.value;
      if (filter.cmp !== "eq" && filter.cmp !== "ne") {
        const t = target.type;
        if ((t === "number" || t === "integer") && typeof value === "number") {
          // ordered numbers
        } else if (t === "string" && typeof value === "string") {
          // ordered strings
        } else if (t === "number" || t === "integer" || t === "string") {
          throw new FilterProblem(`${name} is a ${t}, but \`${filter.cmp}\` compares it with ${JSON.stringify(value)}`);
        } else if (t !== undefined) {
          throw new FilterProblem(`${name} is a ${t}, which cannot be ordered; use eq or ne`);
        } else {
          throw new FilterProblem(`${name} has no single type, so it cannot be ordered; use eq or ne`);
        }
      } else {
        const violation = new CompiledSchema(target, types).check(value);
        if (violation !== undefined) {
          throw new FilterProblem(`${name} can never equal ${JSON.stringify(value)}: ${violation.path === "" ? "value" : violation.path}: ${violation.message}`);
        }
      }
      return { op: "compare", field, cmp: filter.cmp, value };
    }
    case "step": {
      const field = filter.field ?? [];
      const target = fieldSchema(schema, field, types);
      if (target.type !== "number" && target.type !== "integer") {
        const name = field.length === 0 ? "the value" : `\`${field.join(".")}\``;
        throw new FilterProblem(`\`step\` needs a number, but ${name} is ${target.type ?? "untyped"}`);
      }
      if (!(Number.isFinite(filter.delta) && filter.delta > 0)) throw new FilterProblem(`\`step\` needs a positive delta, not ${filter.delta}`);
      return { op: "step", field, delta: filter.delta, last: undefined };
    }
    case "min_interval":
      if (!(Number.isFinite(filter.ms) && filter.ms >= 0)) throw new FilterProblem(`\`min_interval\` needs a duration, not ${filter.ms}`);
      return { op: "min_interval", ms: filter.ms, last: undefined };
    case "and":
      return { op: "and", all: filter.all.map((f) => compile(f, schema, types, depth + 1)) };
    case "or":
      return { op: "or", any: filter.any.map((f) => compile(f, schema, types, depth + 1)) };
  }
}

function show(node: FilterNode): string {
  const field = (f: string[] | undefined) => (f === undefined || f.length === 0 ? "" : `${f.join(".")} `);
  switch (node.op) {
    case "any":
      return "any";
    case "compare":
      return `${field(node.field)}${node.cmp} ${JSON.stringify(node.value)}`;
    case "step":
      return `${field(node.field)}step ${node.delta}`;
    case "min_interval":
      return `min_interval ${node.ms}ms`;
    case "and":
      return `(${node.all.map(show).join(" and ")})`;
    case "or":
      return `(${node.any.map(show).join(" or ")})`;
  }
}

const OPS = ["eq", "ne", "lt", "le", "gt", "ge", "step", "min_interval", "any"];

/** Parses the command-line filter syntax (`and` binds tighter than `or`); throws {@link InvalidFilterError}. */
export function parseFilter(text: string): FilterNode {
  const split = (words: string[], sep: string): string[][] => {
    const out: string[][] = [[]];
    for (const w of words) {
      if (w === sep) out.push([]);
      else out[out.length - 1]?.push(w);
    }
    return out;
  };
  const alternatives = split(text.split(/\s+/).filter((w) => w !== ""), "or").map((alternative) => {
    const parts = split(alternative, "and").map(parseClause);
    return parts.length === 1 && parts[0] !== undefined ? parts[0] : ({ op: "and", all: parts } as FilterNode);
  });
  return alternatives.length === 1 && alternatives[0] !== undefined ? alternatives[0] : { op: "or", any: alternatives };
}

function parseClause(words: string[]): FilterNode {
  const first = words[0];
  if (first === undefined) throw new InvalidFilterError("empty filter clause");
  const field = OPS.includes(first) ? [] : first.split(".");
  const rest = OPS.includes(first) ? words : words.slice(1);
  const [op, arg, ...extra] = rest;
  const withField = <N extends FilterNode>(node: N): N => (field.length > 0 ? { ...node, field } : node);
  if (extra.length > 0) throw new InvalidFilterError(`unexpected \`${extra.join(" ")}\``);
  if (op === "any" && arg === undefined && field.length === 0) return { op: "any" };
  if (op === "step" && arg !== undefined) {
    const delta = Number(arg);
    if (Number.isNaN(delta)) throw new InvalidFilterError(`\`${arg}\` is not a number`);
    return withField({ op: "step", delta });
  }
  if (op === "min_interval" && arg !== undefined && field.length === 0) {
    const ms = parseDuration(arg);
    if (ms === undefined) throw new InvalidFilterError(`\`${arg}\` is not a duration; write e.g. "500ms" or "2s"`);
    return { op: "min_interval", ms };
  }
  if (op !== undefined && arg !== undefined && ["eq", "ne", "lt", "le", "gt", "ge"].includes(op)) {
    let value: Json;
    try {
      value = JSON.parse(arg) as Json;
    } catch {
      value = arg;
    }
    return withField({ op: "compare", cmp: op as CompareOp, value });
  }
  throw new InvalidFilterError(`cannot read \`${words.join(" ")}\`: expected e.g. \`lt 5\`, \`level gt 90\`, \`step 2\`, \`min_interval 1s\``);
}


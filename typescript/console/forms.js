// Forms generated from data schemas: one field per property (numbers, text, choices, switches;
// JSON for what has no simpler field), read back into a value that the runtime's schema check
// then validates. Violations are shown at the field they concern.

import { resolve } from "/sdk/index.js";

let counter = 0;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

/** A short description of a schema's constraints, for a field's hint. */
export function describeSchema(s) {
  const parts = [];
  if (s.type) parts.push(s.type);
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) parts.push(`${lo}–${hi}`);
  else if (lo !== undefined) parts.push(`≥ ${lo}`);
  else if (hi !== undefined) parts.push(`≤ ${hi}`);
  if (s.unit) parts.push(s.unit);
  if (s.minLength !== undefined || s.maxLength !== undefined) parts.push(`length ${s.minLength ?? 0}–${s.maxLength ?? "∞"}`);
  if (s.format) parts.push(s.format);
  return parts.join(", ");
}

/**
 * A field for a value of `schema` at JSON pointer `path`. Returns `{ element, read, fields }`:
 * `read()` gives the value (`undefined` when left empty), `fields` maps paths to the inputs.
 */
function field(schema, types, { name, path, required, fields }) {
  const s = resolve(schema, types);
  const id = `f${++counter}`;
  const hint = describeSchema(s);
  const errorId = `${id}-error`;
  const label = h("label", { for: id }, name ?? "value", required ? h("span", { class: "required", "aria-hidden": "true", text: " *" }) : undefined, hint ? h("span", { class: "hint", text: ` (${hint})` }) : undefined);
  const error = h("span", { class: "field-error", id: errorId, "aria-live": "polite" });
  const described = { "aria-describedby": errorId, name: name ?? "value", id, required: required || undefined };

  if (s.type === "object" && s.properties !== undefined) {
    const set = h("fieldset", { class: "object" }, h("legend", { text: name ?? "input" }));
    const readers = [];
    for (const [prop, propSchema] of Object.entries(s.properties)) {
      const child = field(propSchema, types, { name: prop, path: `${path}/${prop}`, required: (s.required ?? []).includes(prop), fields });
      set.append(child.element);
      readers.push([prop, child.read]);
    }
    fields.set(path, { input: set, error: h("span") });
    return {
      element: set,
      read: () => {
        const out = {};
        for (const [prop, read] of readers) {
          const v = read();
          if (v !== undefined) out[prop] = v;
        }
        return out;
      },
    };
  }

  let input;
  let read;
  if (Array.isArray(s.enum)) {
    input = h("select", described, required ? undefined : h("option", { value: "", text: "—" }));
    s.enum.forEach((v, i) => input.append(h("option", { value: String(i), text: typeof v === "string" ? v : JSON.stringify(v) })));
    if (s.default !== undefined) {
      const i = s.enum.findIndex((v) => JSON.stringify(v) === JSON.stringify(s.default));
      if (i >= 0) input.value = String(i);
    }
    read = () => (input.value === "" ? undefined : s.enum[Number(input.value)]);
  } else if (s.type === "integer" || s.type === "number") {
    input = h("input", { ...described, type: "number", inputmode: s.type === "integer" ? "numeric" : "decimal", step: s.type === "integer" ? "1" : "any", min: s.minimum, max: s.maximum, placeholder: s.default });
    read = () => {
      if (input.value.trim() === "") return undefined;
      const n = Number(input.value);
      return Number.isNaN(n) ? input.value : n;
    };
  } else if (s.type === "boolean") {
    input = h("input", { ...described, type: "checkbox", checked: s.default === true });
    read = () => input.checked;
  } else if (s.type === "string") {
    input = h("input", { ...described, type: "text", placeholder: s.default ?? s.format, autocomplete: "off" });
    read = () => (input.value === "" && !required ? undefined : input.value);
  } else if (s.type === "null") {
    return { element: h("span"), read: () => null };
  } else {
    input = h("textarea", { ...described, rows: 2, placeholder: "JSON" });
    read = () => {
      if (input.value.trim() === "") return undefined;
      try {
        return JSON.parse(input.value);
      } catch {
        throw { path, keyword: "json", message: "not valid JSON" };
      }
    };
  }
  fields.set(path, { input, error });
  const wrap = h("div", { class: "field" }, label, input, error);
  return { element: wrap, read };
}

/**
 * A form's fields for an input `schema` (or none for actions without input). Returns
 * `{ element, read, show, clear }`: `read()` returns the value or throws a violation
 * `{ path, keyword, message }`; `show(violation)` marks the field it concerns.
 */
export function inputFields(schema, types) {
  const fields = new Map();
  if (schema === undefined || schema === null) {
    return { element: h("span"), read: () => null, show: () => false, clear: () => {} };
  }
  const root = field(schema, types ?? {}, { name: undefined, path: "", required: true, fields });
  const clear = () => {
    for (const { input, error } of fields.values()) {
      input.removeAttribute("aria-invalid");
      error.textContent = "";
    }
  };
  const show = (violation) => {
    // The deepest field that contains the violation's path.
    let path = violation.path ?? "";
    for (;;) {
      const f = fields.get(path);
      if (f !== undefined && f.input.tagName !== "FIELDSET") {
        f.input.setAttribute("aria-invalid", "true");
        f.error.textContent = violation.message;
        f.input.focus?.();
        return true;
      }
      if (path === "") return false;
      path = path.slice(0, path.lastIndexOf("/"));
    }
  };
  return { element: root.element, read: root.read, show, clear };
}

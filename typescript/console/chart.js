// A small line chart of an attribute's history, as inline SVG built with the DOM (no styles
// inline: the console's Content-Security-Policy allows only its own stylesheet).

const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function fmt(n) {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/**
 * A line chart of `points` ({ value, ts }), oldest first. `schema` bounds the y axis when it
 * has `minimum`/`maximum`; otherwise the values do.
 */
export function historyChart(points, { label, schema = {}, width = 320, height = 96 } = {}) {
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-label": `${label}: ${points.length} values${points.length ? `, latest ${fmt(points[points.length - 1].value)}` : ""}`,
  });
  const numbers = points.filter((p) => typeof p.value === "number");
  if (numbers.length === 0) {
    const t = el("text", { x: 8, y: height / 2, class: "chart-empty" });
    t.textContent = "no values yet";
    svg.append(t);
    return svg;
  }
  const values = numbers.map((p) => p.value);
  let lo = typeof schema.minimum === "number" ? schema.minimum : Math.min(...values);
  let hi = typeof schema.maximum === "number" ? schema.maximum : Math.max(...values);
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const pad = { left: 30, right: 6, top: 6, bottom: 14 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const x = (i) => pad.left + (numbers.length === 1 ? w : (i / (numbers.length - 1)) * w);
  const y = (v) => pad.top + h - ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * h;
  svg.append(el("line", { x1: pad.left, y1: pad.top + h, x2: pad.left + w, y2: pad.top + h, class: "chart-axis" }));
  svg.append(el("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: pad.top + h, class: "chart-axis" }));
  for (const [v, yy] of [
    [hi, pad.top + 4],
    [lo, pad.top + h],
  ]) {
    const t = el("text", { x: pad.left - 4, y: yy, class: "chart-label", "text-anchor": "end" });
    t.textContent = fmt(v);
    svg.append(t);
  }
  const d = numbers.map((p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  svg.append(el("path", { d, class: "chart-line" }));
  const last = numbers[numbers.length - 1];
  svg.append(el("circle", { cx: x(numbers.length - 1), cy: y(last.value), r: 3, class: "chart-dot" }));
  const caption = el("text", { x: pad.left + w, y: height - 2, class: "chart-label", "text-anchor": "end" });
  caption.textContent = `${numbers.length} values`;
  svg.append(caption);
  return svg;
}

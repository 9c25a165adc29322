/* evo-lacer report: the figure kit -- SVG charts with axes and ticks, bars, a heatmap, a legend.
   Hand-written, inline, no library; `figures.drawn` counts what was drawn. */
"use strict";

const figures = { drawn: 0 };
const NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v; else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  if (parent) parent.appendChild(node);
  return node;
}
function sv(tag, attrs, parent) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v; else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  if (parent) parent.appendChild(node);
  return node;
}
const isNum = (v) => typeof v === "number" && isFinite(v);
function fmt(v, digits) {
  if (!isNum(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits || 4)));
}
function fmtInt(v) { return isNum(v) ? Math.round(v).toLocaleString("en-US") : "–"; }
function median(xs) {
  const s = xs.filter(isNum).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function niceTicks(lo, hi, n) {
  if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
  const raw = (hi - lo) / (n || 5), mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}
function logTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of (Math.log10(hi / lo) < 2.5 ? [1, 2, 5] : [1])) {
      const t = m * Math.pow(10, e);
      if (t >= lo * 0.999 && t <= hi * 1.001) out.push(t);
    }
  }
  return out;
}
function extent(values, pad) {
  const v = values.filter(isNum);
  if (!v.length) return [0, 1];
  let lo = Math.min(...v), hi = Math.max(...v);
  if (lo === hi) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
  const p = (hi - lo) * (pad === undefined ? 0.06 : pad);
  return [lo - p, hi + p];
}
function chart(parent, o) {
  const w = o.w || 640, h = o.h || 300, m = { l: 58, r: 14, t: o.title ? 24 : 10, b: 40 + (o.band ? 22 : 0) };
  const svg = sv("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img",
                          "aria-label": o.title || o.yLabel || "chart" }, parent);
  figures.drawn += 1;
  const iw = w - m.l - m.r, ih = h - m.t - m.b;
  const xlog = !!o.xLog, [x0, x1] = o.x, [y0, y1] = o.y;
  const lx = (v) => Math.log10(Math.max(v, 1e-12));
  const x = xlog ? (v) => m.l + (lx(v) - lx(x0)) / (lx(x1) - lx(x0)) * iw : (v) => m.l + (v - x0) / (x1 - x0) * iw;
  const y = (v) => m.t + ih - (v - y0) / (y1 - y0) * ih;
  if (o.title) sv("text", { x: m.l, y: 15, class: "title", text: o.title }, svg);
  const grid = sv("g", { class: "grid" }, svg), axis = sv("g", { class: "axis" }, svg);
  let xt = o.xTicks || (xlog ? logTicks(x0, x1) : niceTicks(x0, x1, Math.max(2, Math.round(iw / 90))));
  if (o.xInteger) xt = xt.filter((t) => Number.isInteger(t));
  for (const t of xt) {
    const px = x(t);
    if (px < m.l - 0.5 || px > m.l + iw + 0.5) continue;
    sv("line", { x1: px, x2: px, y1: m.t, y2: m.t + ih }, grid);
    sv("text", { x: px, y: h - m.b + 15 + (o.band ? 22 : 0), "text-anchor": "middle",
                 text: o.xFormat ? o.xFormat(t) : fmt(t, 3) }, axis);
  }
  for (const t of niceTicks(y0, y1, Math.max(2, Math.round(ih / 45)))) {
    if (t < y0 || t > y1) continue;
    sv("line", { x1: m.l, x2: m.l + iw, y1: y(t), y2: y(t) }, grid);
    sv("text", { x: m.l - 6, y: y(t) + 4, "text-anchor": "end", text: fmt(t, 3) }, axis);
  }
  sv("line", { x1: m.l, x2: m.l + iw, y1: m.t + ih, y2: m.t + ih }, axis);
  sv("line", { x1: m.l, x2: m.l, y1: m.t, y2: m.t + ih }, axis);
  if (o.xLabel) sv("text", { x: m.l + iw / 2, y: h - 4, "text-anchor": "middle", text: o.xLabel }, svg);
  if (o.yLabel) sv("text", { x: 12, y: m.t + ih / 2, "text-anchor": "middle",
                             transform: `rotate(-90 12 ${m.t + ih / 2})`, text: o.yLabel }, svg);
  const bandY = m.t + ih + 20;
  if (o.band) sv("text", { x: m.l - 6, y: bandY + 4, "text-anchor": "end", text: o.band }, axis);
  return { svg, x, y, bandY, m, iw, ih, plot: sv("g", {}, svg) };
}
function legend(parent, items) {
  const box = el("div", { class: "legend" }, parent);
  for (const [label, color, shape] of items) {
    const s = el("span", {}, box);
    const sw = el("i", { class: "sw" }, s);
    if (shape === "line") { sw.style.height = "3px"; sw.style.borderRadius = "0"; sw.style.width = "16px"; }
    if (shape === "ring") { sw.style.border = `2px solid ${color}`; sw.style.background = "transparent"; }
    else sw.style.background = color;
    s.appendChild(document.createTextNode(label));
  }
  return box;
}
function bars(parent, o) {
  const items = o.items.filter((it) => isNum(it[1]));
  if (!items.length) return null;
  const rowH = 20, w = o.w || 300, h = 34 + items.length * rowH, lw = o.labelW || 110;
  const svg = sv("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": o.title }, parent);
  figures.drawn += 1;
  sv("text", { x: 0, y: 14, class: "title", text: o.title }, svg);
  const hi = Math.max(o.max || 0, ...items.map((it) => it[1]), ...items.map((it) => it[4]).filter(isNum), 1e-12);
  const span = w - lw - 60;
  items.forEach(([label, v, color, tip, mark], k) => {
    const y = 24 + k * rowH;
    sv("text", { x: lw - 6, y: y + 13, "text-anchor": "end", text: label.length > 18 ? label.slice(0, 17) + "…" : label }, svg);
    const r = sv("rect", { x: lw, y: y + 3, width: Math.max(1, Math.max(0, v) / hi * span), height: rowH - 7,
                           fill: color || "#0072b2", rx: 2 }, svg);
    if (tip) sv("title", { text: tip }, r);
    if (isNum(mark)) sv("line", { x1: lw + Math.max(0, mark) / hi * span, x2: lw + Math.max(0, mark) / hi * span, y1: y + 1,
                                  y2: y + rowH - 2, stroke: "#222", "stroke-width": 1.5 }, svg);
    sv("text", { x: lw + Math.max(1, Math.max(0, v) / hi * span) + 4, y: y + 13, text: o.format ? o.format(v) : fmt(v, 3) }, svg);
  });
  return svg;
}
function heatmap(parent, pairs) {
  const names = [...new Set(pairs.flatMap((p) => p[0]))], n = names.length, cell = 34, lw = 80;
  const w = lw + n * cell + 10, h = 40 + n * cell + 60;
  const svg = sv("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "redundancy" }, parent);
  figures.drawn += 1;
  sv("text", { x: 0, y: 14, class: "title", text: "redundancy between branches" }, svg);
  const v = new Map(pairs.map(([[a, b], x]) => [a + "~" + b, x]));
  names.forEach((a, i) => {
    sv("text", { x: lw - 6, y: 30 + i * cell + cell / 2 + 4, "text-anchor": "end", text: a }, svg);
    sv("text", { x: lw + i * cell + cell / 2, y: 30 + n * cell + 14, "text-anchor": "end",
                 transform: `rotate(-40 ${lw + i * cell + cell / 2} ${30 + n * cell + 14})`, text: a }, svg);
    names.forEach((b, j) => {
      const x = i === j ? null : v.get(a + "~" + b) !== undefined ? v.get(a + "~" + b) : v.get(b + "~" + a);
      const shade = isNum(x) ? Math.round(255 - Math.min(1, Math.max(0, x)) * 200) : 245;
      const r = sv("rect", { x: lw + j * cell, y: 30 + i * cell, width: cell - 2, height: cell - 2,
                             fill: isNum(x) ? `rgb(255,${shade},${Math.round(shade * 0.9)})` : "#f3f4f6" }, svg);
      sv("title", { text: isNum(x) ? `${a} ~ ${b}: ${fmt(x, 3)}` : a }, r);
      if (isNum(x)) sv("text", { x: lw + j * cell + cell / 2 - 1, y: 30 + i * cell + cell / 2 + 3, "text-anchor": "middle",
                                  "font-size": 9.5, text: x.toFixed(2) }, svg);
    });
  });
}
function pareto(points) {
  const sorted = points.slice().sort((a, b) => a[0] - b[0] || b[1] - a[1]), front = [];
  let best = -Infinity;
  for (const p of sorted) if (p[1] > best) { front.push(p); best = p[1]; }
  return front;
}

/* evo-lacer report: the page -- the runs' data drawn with the figure kit of plot.js (inline; no network). */

const LIVE = /*__EVO_LACER_LIVE__*/false;
const ORIGINS = [
  ["seed", "seed tree", "#000000"],
  ["initial", "initial sample", "#9a9a9a"],
  ["initial:llm", "initial LLM design", "#cc79a7"],
  ["edit:random", "edit, random filler", "#0072b2"],
  ["edit:llm", "edit, LLM filler", "#e69f00"],
  ["design:llm", "whole LLM design", "#d55e00"],
  ["promote", "promoted to full fidelity", "#009e73"],
];
const SAMPLE_COLOR = "#56b4e9";
const OTHER_COLOR = "#7a4f9a";
const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#9a9a9a",
                 "#7a4f9a", "#8c564b"];
const FAIL_COLOR = "#b3261e";
const state = { data: /*__EVO_LACER_DATA__*/null, run: 0, sel: null, live: "", width: 1000 };

/* ---------- small helpers ---------- */
function originLabel(o) {
  const hit = ORIGINS.find((x) => x[0] === o);
  if (hit) return hit[1];
  return o.startsWith("sample:") ? "flat sample (" + o.slice(7) + ")" : o;
}
function originColor(o) {
  const hit = ORIGINS.find((x) => x[0] === o);
  if (hit) return hit[2];
  return o.startsWith("sample:") ? SAMPLE_COLOR : OTHER_COLOR;
}
/* ---------- a chart: axes, scales, a band below the axis for candidates without fitness ---------- */
function marker(g, c, px, py, r) {
  const attrs = { "data-c": c.i };
  if (c.status === "rejected") {
    return sv("path", { ...attrs, d: `M${px - 4},${py - 3}L${px + 4},${py - 3}L${px},${py + 4}Z`,
                        fill: "none", stroke: "#777", "stroke-width": 1.3 }, g);
  }
  if (c.status !== "ok") {
    return sv("path", { ...attrs, d: `M${px - 4},${py - 4}L${px + 4},${py + 4}M${px - 4},${py + 4}L${px + 4},${py - 4}`,
                        stroke: FAIL_COLOR, "stroke-width": 2 }, g);
  }
  const col = originColor(c.origin), hollow = c.cached || c.fell_back;
  return sv("circle", { ...attrs, cx: px, cy: py, r: r || 4.2, fill: hollow ? "#fff" : col, stroke: hollow ? col : "#fff",
                        "stroke-width": hollow ? 1.8 : 0.8, "stroke-dasharray": c.fell_back ? "2 1.5" : null }, g);
}

/* ---------- the tooltip (hover) and the selection (click) ---------- */
function currentRun() { return state.data.runs[state.run]; }
function tipHtml(c) {
  const run = currentRun(), box = document.createElement("div");
  const head = el("div", {}, box);
  el("b", { text: `candidate ${c.id}` }, head);
  head.appendChild(document.createTextNode(` · ${originLabel(c.origin)} · generation ${c.gen} · ${c.status}` +
                                           (c.id === run.best ? " · best" : "")));
  const lines = [];
  if (isNum(c.fit)) lines.push(`fitness ${fmt(c.fit, 5)}` + (isNum(c.parent_fit) ? ` (parent ${fmt(c.parent_fit, 4)})` : "") +
                                (c.fid ? ` · fidelity ${c.fid}` : ""));
  lines.push(`parameters ${fmtInt(c.params)} · latency ${fmt(c.lat, 3)} ms · ${fmt(c.sec, 3)} s` +
             (c.cached ? " · answered from the cache" : ""));
  if (c.parents.length) lines.push(`parents ${c.parents.join(", ")}`);
  if (c.fell_back) lines.push("the LLM gave no usable answer, so this design was drawn at random" +
                             (c.llm_error ? ": " + c.llm_error : ""));
  if (c.differs !== null && c.differs !== undefined) lines.push(`LLM answer differs from a random choice: ${c.differs ? "yes" : "no"}`);
  for (const l of lines) el("div", { text: l }, box);
  if (c.edit) el("pre", { text: c.edit }, box);
  if (c.err) el("div", { class: "err", text: c.err.slice(0, 300) }, box);
  el("pre", { text: c.tree }, box);
  const metrics = Object.entries(c.metrics).slice(0, 8).map(([k, v]) => `${k} ${fmt(v, 4)}`).join(" · ");
  if (metrics) el("div", { class: "note", text: metrics }, box);
  return box;
}
function setupTip() {
  const tip = document.getElementById("tip");
  document.addEventListener("mouseover", (e) => {
    const t = e.target.closest ? e.target.closest("[data-c]") : null;
    if (!t || !state.data) return;
    const c = currentRun().cands[Number(t.getAttribute("data-c"))];
    if (!c) return;
    tip.replaceChildren(tipHtml(c));
    tip.hidden = false;
  });
  document.addEventListener("mousemove", (e) => {
    if (tip.hidden) return;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(4, e.clientX + 16 + w > innerWidth ? e.clientX - w - 16 : e.clientX + 16) + "px";
    tip.style.top = Math.max(4, Math.min(innerHeight - h - 4, e.clientY + 12)) + "px";
  });
  document.addEventListener("mouseout", (e) => {
    if (e.target.closest && e.target.closest("[data-c]")) tip.hidden = true;
  });
  document.addEventListener("click", (e) => {
    const t = e.target.closest ? e.target.closest("[data-c]") : null;
    if (!t) return;
    state.sel = currentRun().cands[Number(t.getAttribute("data-c"))].id;
    renderSelection();
  });
}

/* ---------- sections ---------- */
function section(id, title, note) {
  const s = el("section", { id }, document.getElementById("app"));
  el("h2", { text: title }, s);
  if (note) el("p", { class: "note", text: note }, s);
  return s;
}
function runsTable(parent) {
  const runs = state.data.runs;
  const table = el("table", {}, parent);
  const head = el("tr", {}, el("thead", {}, table));
  for (const h of ["run", "strategy", "candidates", "evaluations", "failed", "rejected", "best fitness", "LLM calls", "created"])
    el("th", { text: h }, head);
  const body = el("tbody", {}, table);
  runs.forEach((r, i) => {
    const tr = el("tr", { class: "pick" + (i === state.run ? " current" : ""), title: "show this run below" }, body);
    const best = r.cands.find((c) => c.id === r.best);
    const cells = [r.name, r.strategy, r.cands.length, r.cands.filter((c) => c.evaluated).length,
                   r.cands.filter((c) => c.status === "failed" || c.status === "timed_out").length,
                   r.cands.filter((c) => c.status === "rejected").length, best ? fmt(best.fit, 5) : "–", r.llm.length, r.created];
    cells.forEach((v, k) => el("td", { class: k >= 2 && k <= 7 ? "num" : "", text: String(v) }, tr));
    tr.addEventListener("click", () => { state.run = i; state.sel = null; render(); });
  });
}
function fitnessPanels(run) {
  const fids = run.fidelities.length ? run.fidelities : [""];
  return fids.map((f) => ({ fid: f, cands: run.cands.filter((c) => c.status === "ok" ? (!f || c.fid === f) :
                                                          (!f || c.fid === f || (!fids.includes(c.fid) && f === fids[fids.length - 1]))) }));
}
function candidatesSection(run) {
  const s = section("candidates", "Every candidate",
    "Fitness of each candidate in the order it was recorded, coloured by how it was made; the line is the best so far. " +
    "Below the axis: × failed or timed out, ▽ rejected by the gate (no evaluation spent). Hover for the tree and its feedback; click to select it below.");
  const present = [...new Set(run.cands.map((c) => c.origin))];
  const keys = [...present.map((o) => [originLabel(o), originColor(o)]), ["best so far", "#222", "line"]];
  if (run.cands.some((c) => c.cached)) keys.push(["answered from the cache", "#777", "ring"]);
  if (run.cands.some((c) => c.fell_back)) keys.push(["LLM failed, drawn at random (dashed ring)", "#777", "ring"]);
  if (run.cands.some((c) => c.status === "failed" || c.status === "timed_out")) keys.push(["failed / timed out (×)", FAIL_COLOR]);
  if (run.cands.some((c) => c.status === "rejected")) keys.push(["rejected by the gate (▽)", "#777", "ring"]);
  legend(s, keys);
  const panels = fitnessPanels(run);
  for (const p of panels) {
    const ok = p.cands.filter((c) => c.status === "ok");
    const fails = p.cands.filter((c) => c.status !== "ok");
    const ch = chart(s, { w: state.width, h: 300,
      x: [-0.5, Math.max(1.5, run.cands.length - 0.5)], y: extent(ok.map((c) => c.fit)),
      xLabel: "candidate, in the order recorded", xInteger: true, yLabel: "fitness" + (p.fid ? ` (${p.fid})` : ""),
      title: panels.length > 1 ? `fidelity ${p.fid}` : "", band: fails.length ? "no fitness" : "" });
    let best = -Infinity, path = "";
    for (const c of run.cands) {
      if (c.status === "ok" && (!p.fid || c.fid === p.fid) && c.fit > best) {
        path += (path ? `H${ch.x(c.i)}V${ch.y(c.fit)}` : `M${ch.x(c.i)},${ch.y(c.fit)}`);
        best = c.fit;
      }
    }
    if (path) sv("path", { d: path + `H${ch.x(run.cands.length - 0.5)}`, fill: "none", stroke: "#222", "stroke-width": 1.6 }, ch.plot);
    for (const c of ok) marker(ch.plot, c, ch.x(c.i), ch.y(c.fit), c.id === run.best ? 6 : 4.2);
    for (const c of fails) marker(ch.plot, c, ch.x(c.i), ch.bandY);
    const b = ok.find((c) => c.id === run.best);
    if (b) sv("circle", { cx: ch.x(b.i), cy: ch.y(b.fit), r: 9, fill: "none", stroke: "#222", "stroke-width": 1.2 }, ch.plot);
  }
}
function byId(run) { const m = new Map(); for (const c of run.cands) m.set(c.id, c); return m; }
function ancestry(run, id) {
  const ids = byId(run), seen = new Set(), stack = [id];
  while (stack.length) {
    const c = ids.get(stack.pop());
    if (!c || seen.has(c.id)) continue;
    seen.add(c.id);
    for (const p of c.parents) stack.push(p);
  }
  return seen;
}
function lineageSection(run) {
  const s = section("lineage", "Lineage",
    "Parents → children, by generation (x) and fitness (y); the edit that made each child is on its edge (hover an edge). " +
    "The ancestry of the selected candidate (the best unless you click another) is drawn thick, its edits written on it.");
  const host = el("div", { id: "lineage-host" }, s);
  renderLineage(run, host);
}
function renderLineage(run, host) {
  host.replaceChildren();
  const sel = state.sel !== null ? state.sel : run.best;
  const anc = sel === null ? new Set() : ancestry(run, sel);
  const ids = byId(run), last = fitnessPanels(run).slice(-1)[0];
  const onPanel = new Set(last.cands.map((c) => c.id));
  const ok = run.cands.filter((c) => c.status === "ok" && onPanel.has(c.id));
  const gens = [...new Set(run.cands.map((c) => c.gen))].sort((a, b) => a - b);
  const slot = new Map();
  for (const g of gens) {
    const members = run.cands.filter((c) => c.gen === g);
    members.forEach((c, k) => slot.set(c.id, g + (members.length > 1 ? (k + 0.5) / members.length * 0.7 - 0.35 : 0)));
  }
  const ch = chart(host, { w: state.width, h: 380,
    x: [gens[0] - 0.6, gens[gens.length - 1] + 0.6], y: extent(ok.map((c) => c.fit)), xTicks: gens,
    xFormat: (t) => String(t), xLabel: "generation", yLabel: "fitness" + (last.fid ? ` (${last.fid})` : ""),
    band: run.cands.some((c) => c.status !== "ok" || !onPanel.has(c.id)) ? "no fitness" : "" });
  const pos = (c) => [ch.x(slot.get(c.id)), c.status === "ok" && onPanel.has(c.id) ? ch.y(c.fit) : ch.bandY];
  const edges = sv("g", {}, ch.plot), strong = sv("g", {}, ch.plot), labels = sv("g", {}, ch.plot);
  for (const c of run.cands) {
    for (const pid of c.parents) {
      const p = ids.get(pid);
      if (!p) continue;
      const [x1, y1] = pos(p), [x2, y2] = pos(c), on = anc.has(c.id) && anc.has(p.id);
      const line = sv("path", { d: `M${x1},${y1}C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`, fill: "none",
                                stroke: on ? "#b3261e" : "#8894a8", "stroke-width": on ? 2.4 : 0.9,
                                "stroke-opacity": on ? 0.9 : 0.45 }, on ? strong : edges);
      sv("title", { text: `${p.id} → ${c.id}\n${c.edit || c.tr}` }, line);
      if (on || run.cands.length <= 40) {
        sv("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 3, "text-anchor": "middle", "font-size": on ? 10.5 : 9,
                     fill: on ? "#b3261e" : "#6b7385", text: (c.edit || c.tr).split("\n").map((l) => l.split(" ")[0]).join("+") }, labels);
      }
    }
  }
  for (const c of run.cands) {
    const [px, py] = pos(c);
    const mk = marker(ch.plot, c, px, py, c.id === sel ? 6.5 : anc.has(c.id) ? 5 : 3.6);
    if (c.id === sel) mk.setAttribute("stroke", "#222"), mk.setAttribute("stroke-width", 2);
  }
  if (sel !== null) ancestryTable(run, anc, host, sel);
}
function ancestryTable(run, anc, host, sel) {
  const chain = run.cands.filter((c) => anc.has(c.id)).sort((a, b) => a.i - b.i);
  el("h3", { text: `How candidate ${sel} was made (${chain.length} ancestors and itself)` }, host);
  const wrap = el("div", { class: "scroll" }, host), table = el("table", {}, wrap);
  const head = el("tr", {}, el("thead", {}, table));
  for (const h of ["candidate", "gen", "made by", "parents", "edit", "fitness", "vs parent"]) el("th", { text: h }, head);
  const body = el("tbody", {}, table);
  for (const c of chain) {
    const tr = el("tr", { "data-c": c.i }, body);
    const delta = isNum(c.fit) && isNum(c.parent_fit) ? c.fit - c.parent_fit : NaN;
    [c.id, c.gen, originLabel(c.origin), c.parents.join(", ") || "–"].forEach((v) => el("td", { text: String(v) }, tr));
    el("pre", { text: c.edit || (c.parents.length ? c.tr : "(a new design)") }, el("td", {}, tr));
    el("td", { class: "num", text: c.status === "ok" ? fmt(c.fit, 5) : c.status }, tr);
    el("td", { class: "num", text: isNum(delta) ? (delta >= 0 ? "+" : "") + fmt(delta, 3) : "–" }, tr);
  }
}
function tradeoffSection(run) {
  const s = section("tradeoff", "Fitness against size and speed",
    "Each evaluated candidate by its parameter count and its forward latency (the gate's measure on a batch of 8); " +
    "the line is the Pareto front (no other candidate is both smaller/faster and fitter), its members ringed.");
  const row = el("div", { class: "row" }, s), last = fitnessPanels(run).slice(-1)[0];
  const ok = last.cands.filter((c) => c.status === "ok");
  for (const [key, label] of [["params", "parameters"], ["lat", "latency (ms)"]]) {
    const pts = ok.filter((c) => isNum(c[key]) && c[key] > 0);
    if (!pts.length) { el("p", { class: "note", text: `No ${label} recorded for this run.` }, row); continue; }
    const xs = pts.map((c) => c[key]), lo = Math.min(...xs), hi = Math.max(...xs), log = hi / lo > 20;
    const ch = chart(row, { w: 520, h: 300, x: log ? [lo / 1.4, hi * 1.4] : extent(xs), xLog: log, y: extent(pts.map((c) => c.fit)),
                            xLabel: label + (log ? " (log scale)" : ""), yLabel: "fitness" + (last.fid ? ` (${last.fid})` : ""),
                            xFormat: key === "params" ? (t) => (t >= 1000 ? fmt(t / 1000, 3) + "k" : fmt(t, 3)) : null });
    const front = pareto(pts.map((c) => [c[key], c.fit, c]));
    const d = front.map((p, k) => (k ? `H${ch.x(p[0])}V${ch.y(p[1])}` : `M${ch.x(p[0])},${ch.y(p[1])}`)).join("");
    sv("path", { d: d + `H${ch.m.l + ch.iw}`, fill: "none", stroke: "#222", "stroke-width": 1.4,
                 "stroke-dasharray": "4 3" }, ch.plot);
    for (const c of pts) marker(ch.plot, c, ch.x(c[key]), ch.y(c.fit));
    for (const p of front) sv("circle", { cx: ch.x(p[0]), cy: ch.y(p[1]), r: 7.5, fill: "none", stroke: "#222" }, ch.plot);
  }
}
function armsSection(run) {
  const s = section("arms", "Who made each child: the arms, and the LLM log",
    "A child improved when it beat the median fitness of the population it came from; an LLM arm's answer is screened beside random fills, and its child counts only when the LLM's answer was evaluated (the screen chose it or, with llm_trust=learned, it was taken unscreened). Seconds are proposal time (the LLM's included).");
  if (run.arms.length) {
    const row = el("div", { class: "row" }, s), col = (a) => originColor(a);
    bars(row, { title: "times chosen", items: run.arms.map((a) => [a.arm, a.chosen, col(a.arm)]), format: (v) => fmtInt(v) });
    bars(row, { title: "improvement rate", max: 1, items: run.arms.map((a) => [a.arm, a.rate, col(a.arm),
      `${fmtInt(a.improved)} of ${fmtInt(a.scored)} scored children improved` +
      (a.llm_chosen == null ? "" : `; the screen chose the LLM's answer ${fmtInt(a.llm_chosen)} times`)]),
      format: (v) => Math.round(v * 100) + "%" });
    bars(row, { title: "proposal seconds", items: run.arms.map((a) => [a.arm, a.seconds, col(a.arm)]), format: (v) => fmt(v, 3) + " s" });
  } else {
    el("p", { class: "note", text: "This run has no arms (only the hybrid strategy draws who makes each child)." }, s);
  }
  if (run.check) {
    const c = run.check, iv = Array.isArray(c.interval) ? c.interval : [NaN, NaN];
    el("p", { text: `LLM check before the search (${c.backend}:${c.model}): ${c.correct}/${c.probes} probes right, ` +
      `95% interval ${Math.round(iv[0] * 100)}–${Math.round(iv[1] * 100)}% against chance ${Math.round(c.chance * 100)}% — ${c.verdict}.` }, s);
  }
  for (const line of run.trust || []) el("p", { text: line.replace(/`/g, "") }, s);
  el("h3", { text: `LLM log (${run.llm.length} exchanges)` }, s);
  if (!run.llm.length) { el("p", { class: "note", text: "No LLM exchange was recorded in this run." }, s); return; }
  const wrap = el("div", { class: "scroll" }, s), table = el("table", {}, wrap);
  const head = el("tr", {}, el("thead", {}, table));
  for (const h of ["#", "purpose", "candidate", "seconds", "tokens in / out (cached)", "result", "candidate differs from random", "prompt and answer"])
    el("th", { text: h }, head);
  const body = el("tbody", {}, table);
  run.llm.forEach((x, k) => {
    const tr = el("tr", {}, body);
    el("td", { class: "num", text: String(k + 1) }, tr);
    el("td", { text: x.purpose }, tr);
    el("td", { class: "num", text: x.cand === null || x.cand === undefined ? "–" : String(x.cand) }, tr);
    el("td", { class: "num", text: fmt(x.sec, 3) }, tr);
    el("td", { class: "num", text: `${fmtInt(x.pt)} / ${fmtInt(x.ct)}` + (isNum(x.cached) ? ` (${fmtInt(x.cached)})` : "") }, tr);
    const res = el("td", {}, tr);
    el("span", { class: "badge" + (x.ok && !x.fallback ? "" : " bad"), text: !x.ok ? "error" : x.fallback ? "fell back" : "valid" }, res);
    if (x.error) res.title = x.error;
    el("td", { text: x.differs === true ? "yes" : x.differs === false ? "no" : "–" }, tr);
    const d = el("details", {}, el("td", {}, tr));
    el("summary", { text: (x.answer || x.error || "").replace(/\s+/g, " ").slice(0, 70) || "(no answer)" }, d);
    el("h3", { text: "prompt" }, d);
    el("pre", { text: x.prompt }, d);
    el("h3", { text: "answer" }, d);
    el("pre", { text: x.answer || x.error }, d);
  });
}
const KNOWN_STATS = [["probe_r2_mean", "probe R² (mean over targets)", 1], ["effective_rank", "effective rank", 0],
                     ["dead_units", "dead units (fraction)", 1]];
function featureSection(run) {
  const s = section("features", "Feature statistics",
    "Of the selected candidate (the best unless you click another), per branch and for the fused vector. " +
    "The black tick is the median over the run's evaluated candidates; redundancy is the similarity of two branches' features.");
  el("div", { id: "features-host" }, s);
  renderFeatures(run);
}
function renderFeatures(run) {
  const host = document.getElementById("features-host");
  host.replaceChildren();
  const sel = state.sel !== null ? state.sel : run.best, c = byId(run).get(sel);
  if (!c || !Object.keys(c.features).length) {
    el("p", { class: "note", text: c ? `Candidate ${c.id} has no feature statistics.` : "No candidate has been evaluated yet." }, host);
    return;
  }
  el("p", { text: `Candidate ${c.id} (${originLabel(c.origin)}, fitness ${fmt(c.fit, 5)}).` }, host);
  const stats = new Map(), pairs = [], probes = [];
  for (const [k, v] of Object.entries(c.features)) {
    const [head, ...rest] = k.split("/"), tail = rest.join("/");
    if (!tail) continue;
    if (head === "redundancy") { if (tail.includes("~")) pairs.push([tail.split("~"), v]); }
    else if (head === "probe_r2") probes.push([tail, v]);
    else { if (!stats.has(tail)) stats.set(tail, []); stats.get(tail).push([head, v]); }
  }
  const med = (key) => median(run.cands.filter((x) => x.status === "ok").map((x) => x.features[key]));
  const row = el("div", { class: "row" }, host);
  const order = [...KNOWN_STATS.map((x) => x[0]).filter((k) => stats.has(k)), ...[...stats.keys()].filter((k) => !KNOWN_STATS.some((x) => x[0] === k))];
  order.slice(0, 6).forEach((stat, k) => {
    const known = KNOWN_STATS.find((x) => x[0] === stat);
    bars(row, { title: known ? known[1] : stat, w: 300, max: known && known[2] ? 1 : 0,
                items: stats.get(stat).map(([b, v]) => [b, v, PALETTE[k % PALETTE.length], `${b}/${stat} = ${fmt(v, 4)}`, med(`${b}/${stat}`)]) });
  });
  if (pairs.length) heatmap(row, pairs);
  if (probes.length) bars(row, { title: "probe R² per target", w: 320, max: 1, labelW: 130,
                                 items: probes.map(([t, v]) => [t, v, "#009e73", `probe_r2/${t} = ${fmt(v, 4)}`, med(`probe_r2/${t}`)]) });
}
function compareSection() {
  const runs = state.data.runs;
  const s = section("compare", "Strategies compared",
    "Best fitness so far against evaluations, per strategy: the line is the median over its runs (seeds), the band spans their minimum to maximum.");
  const strategies = [...new Set(runs.map((r) => r.group))];
  legend(s, strategies.map((st, k) => [`${st} (${runs.filter((r) => r.group === st).length} runs)`, PALETTE[k % PALETTE.length]]));
  const fids = state.data.fidelities.length ? state.data.fidelities : [""];
  for (const f of fids) {
    const curves = runs.map((r) => (f && r.curves[f]) || (!f && Object.values(r.curves)[0]) || []);
    const n = Math.max(2, ...curves.map((c) => c.length));
    const all = curves.flat().filter(isNum);
    if (!all.length) { el("p", { class: "note", text: "No successful evaluation yet." }, s); continue; }
    const ch = chart(s, { w: Math.min(1100, state.width), h: 320, x: [1, n], y: extent(all),
                          xLabel: "evaluations", xInteger: true, yLabel: "best fitness so far" + (f && fids.length > 1 ? ` (${f})` : ""),
                          title: fids.length > 1 ? `fidelity ${f}` : "" });
    strategies.forEach((st, k) => {
      const group = curves.filter((_, i) => runs[i].group === st), color = PALETTE[k % PALETTE.length];
      const lo = [], hi = [], mid = [];
      for (let t = 0; t < n; t++) {
        const vals = group.map((c) => c[t]).filter(isNum);
        if (!vals.length) continue;
        lo.push([t + 1, Math.min(...vals)]); hi.push([t + 1, Math.max(...vals)]); mid.push([t + 1, median(vals)]);
      }
      if (!mid.length) return;
      const step = (pts) => pts.map((p, j) => (j ? `H${ch.x(p[0])}V${ch.y(p[1])}` : `M${ch.x(p[0])},${ch.y(p[1])}`)).join("");
      if (group.length > 1) {
        let d = step(lo);  /* the lower step line forward, then the upper one backward */
        for (let j = hi.length - 1; j >= 0; j--) {
          d += `L${ch.x(hi[j][0])},${ch.y(hi[j][1])}`;
          if (j) d += `L${ch.x(hi[j][0])},${ch.y(hi[j - 1][1])}`;
        }
        sv("path", { d: d + "Z", fill: color, "fill-opacity": 0.16, stroke: "none" }, ch.plot);
      }
      const line = sv("path", { d: step(mid), fill: "none", stroke: color, "stroke-width": 2 }, ch.plot);
      sv("title", { text: `${st}: median of ${group.length} run(s); final ${fmt(mid[mid.length - 1][1], 4)}` }, line);
    });
  }
}

/* ---------- page ---------- */
function renderSelection() {
  const run = currentRun();
  const lineage = document.getElementById("lineage-host");
  if (lineage) renderLineage(run, lineage);
  if (document.getElementById("features-host")) renderFeatures(run);
}
function render() {
  const data = state.data, app = document.getElementById("app");
  figures.drawn = 0;
  /* measured before the page is emptied: no layout mid-build, so a live redraw keeps the scroll */
  state.width = Math.min(1400, Math.max(640, document.body.clientWidth - 90));
  app.replaceChildren();
  if (!data || !data.runs.length) {
    document.getElementById("subtitle").textContent = LIVE ? "Waiting for the first candidate…" : "No run.";
    document.documentElement.setAttribute("data-rendered", "ok");
    return;
  }
  if (state.run >= data.runs.length) state.run = 0;
  const run = currentRun(), sub = document.getElementById("subtitle");
  sub.replaceChildren();
  sub.appendChild(document.createTextNode(`${data.runs.length} run(s) · generated ${data.generated}` +
    ` · showing ${run.name} (${run.strategy}${run.config.seed !== undefined ? ", seed " + run.config.seed : ""}) `));
  if (LIVE) el("span", { class: "badge live", text: state.live || "live" }, sub);
  const top = section("runs", data.runs.length > 1 ? "Runs (click one to show it below)" : "Run", run.task);
  runsTable(top);
  if (run.unreadable.length) el("p", { class: "note", text: `Unreadable records: ${run.unreadable.join("; ")}` }, top);
  if (data.runs.length > 1) compareSection();
  candidatesSection(run);
  lineageSection(run);
  tradeoffSection(run);
  featureSection(run);
  armsSection(run);
  document.documentElement.setAttribute("data-plots", String(figures.drawn));
  document.documentElement.setAttribute("data-candidates", String(run.cands.length));
  document.documentElement.setAttribute("data-render-ms", String(Math.round(performance.now())));
  document.documentElement.setAttribute("data-rendered", "ok");
}
function showError(message) {
  const banner = document.getElementById("error-banner");
  banner.hidden = false;
  banner.textContent = "This page hit an error while drawing: " + message;
  document.documentElement.setAttribute("data-rendered", "error");
}
async function poll() {
  try {
    const resp = await fetch("data.json", { cache: "no-store" });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const data = await resp.json();
    const changed = !state.data || data.version !== state.data.version || data.runs.length !== state.data.runs.length;
    state.live = `live · checked ${new Date().toLocaleTimeString()}`;
    if (changed) { state.data = data; render(); }
    else { const b = document.querySelector(".badge.live"); if (b) b.textContent = state.live; }
  } catch (err) {
    state.live = "server unreachable; showing the last data";
    const b = document.querySelector(".badge.live");
    if (b) { b.textContent = state.live; b.className = "badge bad"; }
  }
}
window.addEventListener("error", (e) => showError(e.message || String(e)));
window.addEventListener("unhandledrejection", (e) => showError(String(e.reason)));
window.addEventListener("DOMContentLoaded", () => {
  setupTip();
  try { render(); } catch (err) { showError(err && err.stack ? err.stack : String(err)); }
  if (LIVE) { poll(); setInterval(poll, 2000); }
});

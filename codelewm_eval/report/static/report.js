// codelewm-eval report: renders the page from the JSON in #report-data. No network.
"use strict";
const DATA = JSON.parse(document.getElementById("report-data").textContent);
const $ = (sel, root = document) => root.querySelector(sel);
const esc = (v) => String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g,
  (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const num = (v, d = 3) => (typeof v === "number" && isFinite(v) ? v.toFixed(d) : (v === null || v === undefined ? "" : esc(v)));
const ci = (c, d = 3) => (Array.isArray(c) && c.length === 2 ? `[${num(c[0], d)}, ${num(c[1], d)}]` : "");

function cite(section, c) {
  const el = $(`#${section} .cite`);
  if (el && c) el.innerHTML = `from <a href="${esc(c.href)}">${esc(c.file)}</a>` + (c.sha256 ? ` (sha256 ${esc(c.sha256)})` : "");
}

function table(columns, rows, opts = {}) {
  // columns: [{key, label, render?}] ; sortable by clicking a header
  const t = document.createElement("table");
  if (opts.id) t.id = opts.id;
  const head = t.createTHead().insertRow();
  columns.forEach((col, i) => {
    const th = document.createElement("th");
    th.textContent = col.label;
    th.dataset.key = col.key;
    th.addEventListener("click", () => sortTable(t, i, columns, rows, opts));
    head.appendChild(th);
  });
  t.createTBody();
  fillBody(t, columns, rows, opts);
  return t;
}

function fillBody(t, columns, rows, opts) {
  const body = t.tBodies[0];
  body.innerHTML = "";
  rows.forEach((row) => {
    const tr = body.insertRow();
    if (opts.rowClass) tr.className = opts.rowClass(row);
    if (opts.onClick) tr.addEventListener("click", () => opts.onClick(row));
    columns.forEach((col) => {
      const td = tr.insertCell();
      td.innerHTML = col.render ? col.render(row) : esc(row[col.key]);
    });
  });
}

function sortTable(t, i, columns, rows, opts) {
  const th = t.tHead.rows[0].cells[i];
  const asc = !th.classList.contains("sorted-asc");
  [...t.tHead.rows[0].cells].forEach((c) => c.classList.remove("sorted-asc", "sorted-desc"));
  th.classList.add(asc ? "sorted-asc" : "sorted-desc");
  const key = columns[i].sortKey || ((r) => r[columns[i].key]);
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const r = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
    return asc ? r : -r;
  });
  if (opts.onSort) opts.onSort(rows); else fillBody(t, columns, rows, opts);
}

function hide(section) { $(`#${section}`).classList.add("empty"); }

function renderVerification() {
  const v = DATA.verification;
  const el = $("#verification");
  if (!v) { el.textContent = "No evidence bundle here."; return; }
  el.textContent = v.ok ? "Evidence verified against its manifest; gate verdicts recomputed from the measurements."
    : "EVIDENCE DOES NOT VERIFY: " + [...v.problems, ...v.inconsistent].join("; ");
}

function renderGates() {
  const g = DATA.gates;
  if (!g || !g.rows.length) return hide("gates");
  cite("gates", g.cite);
  const seeds = [...new Set(g.rows.flatMap((r) => Object.keys(r.per_seed)))].sort();
  const cols = [{key: "name", label: "gate"}, {key: "metric", label: "metric"},
    {key: "status", label: "verdict", render: (r) => `<span class="${esc(r.status)}">${esc(r.status)}</span>`},
    ...seeds.map((s) => ({key: "seed" + s, label: "seed " + s, sortKey: (r) => r.per_seed[s] || "",
      render: (r) => `<span class="${esc(r.per_seed[s])}">${esc(r.per_seed[s] || "")}</span>`})),
    {key: "reasons", label: "why", render: (r) => r.reasons.length ? `<ul class="reasons">${r.reasons.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : ""}];
  $("#gates .body").appendChild(table(cols, g.rows.slice(), {id: "gate-table"}));
}

// Charts are drawn lazily: the tables render first (the page is usable at once), then plotly.js
// loads and each chart is drawn as it comes into view.
const PENDING = [];
let plotlyLoading = null;
function loadPlotly() {
  if (!plotlyLoading) plotlyLoading = new Promise((resolve, reject) => {
    if (window.Plotly) return resolve();
    const s = document.createElement("script");
    s.src = "plotly-basic.min.js";
    s.onload = () => resolve();
    s.onerror = () => reject(new Error("cannot load plotly-basic.min.js"));
    document.head.appendChild(s);
  });
  return plotlyLoading;
}
function addChart(div, traces, layout) {
  div._chart = {traces, layout};
  PENDING.push(div);
}
function drawCharts() {
  const draw = (div) => {
    if (div._drawn) return;
    div._drawn = true;
    Plotly.newPlot(div, div._chart.traces, div._chart.layout, {displayModeBar: false, responsive: true});
  };
  if (!("IntersectionObserver" in window)) return PENDING.forEach(draw);
  const seen = new IntersectionObserver((entries) => entries.forEach((e) => {
    if (e.isIntersecting) { draw(e.target); seen.unobserve(e.target); }
  }), {rootMargin: "400px"});
  PENDING.forEach((div) => seen.observe(div));
}

function renderCalibration() {
  const c = DATA.calibration;
  const roc = DATA.roc;
  const body = $("#calibration .body");
  if ((!c || !c.charts.length) && (!roc || !roc.curves.length)) return hide("calibration");
  if (c) cite("calibration", c.cite);
  const layout = (title, x, y) => ({title: {text: title, font: {size: 13}}, margin: {l: 50, r: 10, t: 40, b: 40},
    xaxis: {title: {text: x}, range: [0, 1]}, yaxis: {title: {text: y}, range: [0, 1]}, hovermode: "closest", showlegend: false});
  const all = (c ? c.charts : []).filter((x) => x.scorer === "p_pass");
  const overall = all.filter((x) => x.benchmark === "all");
  // per-benchmark diagrams too, unless there is only one benchmark (then they repeat "all")
  const shown = new Set(all.map((x) => x.benchmark)).size > 2 ? all : (overall.length ? overall : all);
  shown.forEach((chart, i) => {
    const div = document.createElement("div");
    div.className = "chart reliability";
    div.id = `reliability-${i}`;
    body.appendChild(div);
    const b = chart.bins;
    const text = b.count.map((n, k) => `bin ${k + 1}: ${n} candidates<br>mean predicted ${num(b.mean_p[k])}<br>observed pass rate ${num(b.observed[k])}`);
    addChart(div, [
      {x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#999"}, hoverinfo: "skip"},
      {x: b.mean_p, y: b.observed, mode: "markers+lines", marker: {size: b.count.map((n) => 6 + Math.min(18, Math.sqrt(n))), color: "#2f6fde"},
       text, hovertemplate: "%{text}<extra></extra>", name: "bins"}],
      layout(`reliability · ${chart.benchmark} · ${chart.split} · seed ${chart.seed} · ECE ${num(chart.ece)} ${ci(chart.ece_ci)}`,
        "mean predicted p_pass", "observed pass rate"));
  });
  (roc ? roc.curves : []).forEach((curve, i) => {
    const div = document.createElement("div");
    div.className = "chart roc";
    div.id = `roc-${i}`;
    body.appendChild(div);
    const auc = (c ? c.charts : []).find((x) => x.scorer === "p_pass" && String(x.seed) === String(curve.seed) && x.split === curve.split && x.benchmark === "all");
    addChart(div, [
      {x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#999"}, hoverinfo: "skip"},
      {x: curve.fpr, y: curve.tpr, mode: "lines", line: {color: "#126b2f"}, hovertemplate: "FPR %{x:.3f}<br>TPR %{y:.3f}<extra></extra>"}],
      layout(`ROC · ${curve.split} · seed ${curve.seed} · AUC ${num(curve.auc)}` + (auc ? ` (task-bootstrap CI ${ci(auc.auc_ci)})` : "") + ` · n ${curve.n}`,
        "false positive rate", "true positive rate"));
  });
}

function renderRerank() {
  const r = DATA.rerank;
  if (!r || !r.rows.length) return hide("rerank");
  cite("rerank", r.cite);
  const cols = [{key: "benchmark", label: "benchmark : source"}, {key: "scorer", label: "scorer"}, {key: "seed", label: "seed"},
    {key: "split", label: "split"}, {key: "tasks", label: "tasks"},
    {key: "pass_at_1", label: "top-1", render: (x) => num(x.pass_at_1)},
    {key: "random_expected", label: "random", render: (x) => num(x.random_expected)},
    {key: "oracle", label: "oracle", render: (x) => num(x.oracle)},
    {key: "lift_random", label: "lift vs random [CI]", render: (x) => `${num(x.lift_random)} ${ci(x.lift_random_ci)}`},
    {key: "lift", label: "lift vs first [CI]", render: (x) => x.ordered ? `${num(x.lift)} ${ci(x.lift_ci)}` : "unordered"},
    {key: "saturated", label: "saturated", render: (x) => esc(x.saturated || "")}];
  $("#rerank .body").appendChild(table(cols, r.rows.slice(), {id: "rerank-table"}));
}

function renderSelective() {
  const c = DATA.selective;
  if (!c || !c.rows.length) return hide("selective");
  cite("selective", c.cite);
  const body = $("#selective .body");
  c.rows.filter((r) => r.scorer === "p_pass" || c.rows.every((x) => x.scorer !== "p_pass")).forEach((r, i) => {
    const div = document.createElement("div");
    div.className = "chart selective";
    div.id = `selective-${i}`;
    body.appendChild(div);
    const x = r.points.map((p) => p.coverage);
    const band = (key) => r.points.map((p) => (p[key] ? p[key] : [null, null]));
    const lo = band("kept_share_ci").map((b) => b[0]), hi = band("kept_share_ci").map((b) => b[1]);
    addChart(div, [
      {x, y: r.points.map((p) => p.random_kept_share), mode: "lines", line: {dash: "dot", color: "#999"}, name: "random"},
      {x, y: r.points.map((p) => p.oracle_kept_share), mode: "lines", line: {dash: "dash", color: "#126b2f"}, name: "oracle"},
      {x: [...x, ...x.slice().reverse()], y: [...hi, ...lo.slice().reverse()], fill: "toself", fillcolor: "rgba(47,111,222,0.15)",
       line: {width: 0}, hoverinfo: "skip", name: "95% CI"},
      {x, y: r.points.map((p) => p.kept_share), mode: "markers+lines", marker: {color: "#2f6fde"}, name: r.scorer,
       text: r.points.map((p) => `executed ${p.executed} of ${r.rows}<br>passes kept ${num(p.kept_share)} ${ci(p.kept_share_ci)}<br>pass rate executed ${num(p.pass_rate)} ${ci(p.pass_rate_ci)}`),
       hovertemplate: "%{text}<extra></extra>"}],
      {title: {text: `selective execution · ${r.scorer} · ${r.split} · seed ${r.seed} · ${r.positives} passing of ${r.rows}`, font: {size: 13}},
       margin: {l: 50, r: 10, t: 40, b: 40}, xaxis: {title: {text: "share of candidates executed (top by score)"}, range: [0, 1]},
       yaxis: {title: {text: "share of passing candidates kept"}, range: [0, 1]}, hovermode: "closest", showlegend: true});
  });
}

function renderDecoys() {
  const d = DATA.decoys;
  if (!d || !d.rows.length) return hide("decoys");
  cite("decoys", d.cite);
  const cols = [{key: "category", label: "category"}, {key: "scorer", label: "scorer"}, {key: "seed", label: "seed"},
    {key: "split", label: "split"}, {key: "pairs", label: "pairs"},
    {key: "accuracy", label: "ordered right [CI]", render: (x) => `${num(x.accuracy)} ${ci(x.accuracy_ci)}`},
    {key: "wrong", label: "ordered wrong", sortKey: (x) => Math.round((1 - (x.accuracy || 0)) * (x.scorable || 0)),
     render: (x) => String(Math.round((1 - (x.accuracy || 0)) * (x.scorable || 0)))}];
  $("#decoys .body").appendChild(table(cols, d.rows.slice(), {id: "decoy-table"}));
  if (d.wrong_pairs && d.wrong_pairs.length) {
    const h = document.createElement("h3");
    h.textContent = `pairs ordered wrongly (decoy scored at or above its original): ${d.wrong_pairs.length}` +
      (d.wrong_pairs.length >= 2000 ? " (the first 2000)" : "");
    $("#decoys .body").appendChild(h);
    $("#decoys .body").appendChild(table([{key: "category", label: "category"}, {key: "seed", label: "seed"},
      {key: "task", label: "task"}, {key: "original", label: "original"}, {key: "original_score", label: "p_pass original", render: (w) => num(w.original_score)},
      {key: "decoy", label: "decoy"}, {key: "decoy_score", label: "p_pass decoy", render: (w) => num(w.decoy_score)}],
      d.wrong_pairs.slice(), {id: "wrong-pairs"}));
  }
}

function renderComparisons() {
  const c = DATA.comparisons;
  if (!c || !c.rows.length) return hide("comparisons");
  cite("comparisons", c.cite);
  const body = $("#comparisons .body");
  const lostAnywhere = [...new Set(c.rows.flatMap((x) => x.anchors_lost || []))].sort();
  if (lostAnywhere.length) {
    const h = document.createElement("h3");
    h.textContent = "anchor ladder (anchors lost by any pass)";
    body.appendChild(h);
    const rows = lostAnywhere.map((a) => Object.assign({anchor: a}, ...c.rows.map((x, i) => ({["p" + i]: (x.anchors_lost || []).includes(a) ? "LOST" : "KEPT"}))));
    rows.push(Object.assign({anchor: "anchors kept"}, ...c.rows.map((x, i) => ({["p" + i]: `${x.anchors_kept}/${x.anchors_total}`}))));
    body.appendChild(table([{key: "anchor", label: "anchor"}, ...c.rows.map((x, i) => ({key: "p" + i, label: x.candidate,
      render: (r) => `<span class="${esc(r["p" + i])}">${esc(r["p" + i])}</span>`}))], rows, {id: "anchor-ladder"}));
  }
  c.rows.forEach((comp) => {
    const h = document.createElement("h3");
    h.textContent = `${comp.baseline} → ${comp.candidate}` + (comp.anchors_total ? ` · anchors ${comp.anchors_kept}/${comp.anchors_total} (gate ${comp.anchor_gate})` : "");
    body.appendChild(h);
    body.appendChild(table([{key: "benchmark", label: "benchmark"}, {key: "before", label: "before", render: (r) => `${r.before}/${r.n}`},
      {key: "after", label: "after", render: (r) => `${r.after}/${r.n}`}, {key: "delta", label: "Δ"},
      {key: "mcnemar_p", label: "exact McNemar p", render: (r) => num(r.mcnemar_p, 4)},
      {key: "gained", label: "gained", render: (r) => esc((r.gained || []).join(", "))},
      {key: "lost", label: "lost", render: (r) => `<span class="LOST">${esc((r.lost || []).join(", "))}</span>`}], comp.benchmarks.slice(),
      {id: "compare-table"}));
    if ((comp.anchors_lost || []).length) {
      const p = document.createElement("p");
      p.innerHTML = `anchors lost: <span class="LOST">${esc(comp.anchors_lost.join(", "))}</span>`;
      body.appendChild(p);
    }
  });
}

const CHUNKS = {};
window.codelewmChunk = (n, items) => { CHUNKS[n] = items; };
function loadChunk(n) {
  return new Promise((resolve, reject) => {
    if (CHUNKS[n]) return resolve(CHUNKS[n]);
    const s = document.createElement("script");
    s.src = `data/chunk-${n}.js`;
    s.onload = () => resolve(CHUNKS[n]);
    s.onerror = () => reject(new Error(`cannot load data/chunk-${n}.js`));
    document.body.appendChild(s);
  });
}

function renderTasks() {
  const tasks = DATA.tasks;
  if (!tasks || !tasks.length) return hide("tasks");
  const body = $("#tasks .body");
  const PAGE = 100;
  let page = 0;
  const rows = tasks.slice();
  const cols = [{key: "benchmark", label: "benchmark"}, {key: "task", label: "task"}, {key: "split", label: "split"},
    {key: "candidates", label: "candidates"}, {key: "passed", label: "passed"}];
  const info = document.createElement("p");
  info.className = "cite";
  info.textContent = `${tasks.length} tasks, ${tasks.reduce((a, t) => a + t.candidates, 0)} candidates; click a task for its candidates.`;
  body.appendChild(info);
  const pager = document.createElement("div");
  pager.className = "pager";
  const t = table(cols, rows.slice(0, PAGE), {id: "task-table", rowClass: () => "task", onClick: showTask,
    onSort: (sorted) => { rows.splice(0, rows.length, ...sorted); draw(); }});
  function draw() {
    fillBody(t, cols, rows.slice(page * PAGE, (page + 1) * PAGE), {rowClass: () => "task", onClick: showTask});
    pager.innerHTML = `page ${page + 1} of ${Math.ceil(rows.length / PAGE)} `;
    const prev = document.createElement("button"); prev.textContent = "previous"; prev.disabled = page === 0;
    prev.onclick = () => { page--; draw(); };
    const next = document.createElement("button"); next.textContent = "next"; next.disabled = (page + 1) * PAGE >= rows.length;
    next.onclick = () => { page++; draw(); };
    pager.append(prev, next);
  }
  // the full task list is sorted, then paged (sorting a page alone would mislead)
  t.tHead.rows[0].querySelectorAll("th").forEach((th, i) => {
    th.replaceWith(th.cloneNode(true));
  });
  [...t.tHead.rows[0].cells].forEach((th, i) => th.addEventListener("click", () => {
    const asc = !th.classList.contains("sorted-asc");
    [...t.tHead.rows[0].cells].forEach((c) => c.classList.remove("sorted-asc", "sorted-desc"));
    th.classList.add(asc ? "sorted-asc" : "sorted-desc");
    const key = cols[i].key;
    rows.sort((a, b) => { const x = a[key], y = b[key];
      const r = (typeof x === "number") ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true}); return asc ? r : -r; });
    page = 0; draw();
  }));
  body.append(pager, t);
  draw();
}

async function showTask(task) {
  const drill = $("#drill");
  drill.innerHTML = `<h3>${esc(task.benchmark)} ${esc(task.task)}</h3><p class="cite">loading…</p>`;
  const items = await loadChunk(task.chunk);
  const entry = items.find((x) => x[0] === task.index);
  const cands = entry ? entry[1] : [];
  const seeds = [...new Set(cands.flatMap((c) => Object.keys(c.scores)))].sort();
  const cols = [{key: "id", label: "candidate"}, {key: "passed", label: "label", render: (c) => c.passed ? '<span class="pass">passed</span>' : '<span class="fail">failed</span>'},
    {key: "status", label: "status"}, {key: "decoy", label: "decoy", render: (c) => c.decoy ? "decoy" : ""},
    ...seeds.map((s) => ({key: "s" + s, label: `p_pass seed ${s}`, sortKey: (c) => c.scores[s] ?? -1, render: (c) => num(c.scores[s])})),
    {key: "program", label: "program", render: (c) => `<details><summary>show</summary><pre>${esc(c.program)}</pre></details>`}];
  drill.innerHTML = `<h3>${esc(task.benchmark)} ${esc(task.task)}: ${cands.length} candidates</h3>`;
  drill.appendChild(table(cols, cands.slice(), {id: "candidate-table"}));
}

function renderClaims() {
  const c = DATA.claims;
  if (!c) return hide("claims");
  cite("claims", c.cite);
  const body = $("#claims .body");
  body.appendChild(table([{key: "status", label: "status", render: (x) => `<span class="${esc(String(x.status).replace(" ", "_"))}">${esc(x.status)}</span>`},
    {key: "id", label: "claim"}, {key: "kind", label: "kind"}, {key: "text", label: "wording"},
    {key: "reasons", label: "reasons", render: (x) => (x.reasons || []).map((r) => esc(typeof r === "string" ? r : (r.detail || r.kind || JSON.stringify(r)))).join("<br>")}],
    c.claims.slice(), {id: "claims-table"}));
  const h = document.createElement("h3");
  h.textContent = `audit findings: ${c.findings.length}` + (c.ok ? " (audit OK)" : "");
  body.appendChild(h);
  if (c.findings.length) body.appendChild(table([{key: "file", label: "file"}, {key: "line", label: "line"}, {key: "kind", label: "kind"},
    {key: "detail", label: "finding"}, {key: "text", label: "sentence"}], c.findings.slice(), {id: "findings-table"}));
}

function renderProvenance() {
  const p = DATA.provenance;
  if (!p) return hide("provenance");
  const body = $("#provenance .body");
  body.appendChild(table([{key: "path", label: "file", render: (f) => `<a href="${esc(f.href)}">${esc(f.path)}</a>`},
    {key: "sha256", label: "sha256"}, {key: "bytes", label: "bytes"}], p.files.slice(), {id: "provenance-files"}));
  const h = document.createElement("h3"); h.textContent = "manifests and their parents"; body.appendChild(h);
  const byId = Object.fromEntries(p.nodes.map((n) => [n.id, n]));
  const children = {};
  p.edges.forEach((e) => (children[e.from] = children[e.from] || []).push(e));
  const ul = (id, seen) => {
    const n = byId[id]; if (!n || seen.has(id)) return "";
    seen.add(id);
    const label = n.href ? `<a href="${esc(n.href)}">${esc(n.label)}</a>` : esc(n.label);
    const kids = (children[id] || []).map((e) => ul(e.to, seen)).join("");
    return `<li>${label} <span class="cite">${esc(n.kind)}</span>${kids ? `<ul>${kids}</ul>` : ""}</li>`;
  };
  const div = document.createElement("div");
  div.id = "provenance-graph";
  div.innerHTML = p.nodes.length ? `<ul>${ul(p.nodes[0].id, new Set())}</ul>` : "";
  body.appendChild(div);
}

function renderNav() {
  $("#nav").innerHTML = [...document.querySelectorAll("main section:not(.empty)")]
    .map((s) => `<a href="#${s.id}">${esc($("h2", s).textContent)}</a>`).join("");
}

[renderVerification, renderGates, renderCalibration, renderSelective, renderRerank, renderDecoys, renderComparisons, renderTasks,
 renderClaims, renderProvenance, renderNav].forEach((f) => {
  const began = performance.now();
  try { f(); } catch (e) { console.error(`${f.name}: ${e}`); }
  (window.codelewmTimings = window.codelewmTimings || {})[f.name] = Math.round(performance.now() - began);
});
document.body.dataset.readyAt = String(Math.round(performance.now()));  // ms since navigation began
document.body.dataset.ready = "1";
if (PENDING.length) loadPlotly().then(drawCharts).then(() => {
  document.body.dataset.charts = "1";
  document.body.dataset.chartsAt = String(Math.round(performance.now()));
})
  .catch((e) => console.error(String(e)));

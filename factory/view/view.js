/* factory view: browse and review dialogues from one embedded JSON blob.
 *
 * DATA.S: string table (labels). DATA.D: one row per dialogue:
 *   [id, problem, emotion, end reason, status (0 kept, 1 dropped, 2 not filtered, 3 malformed),
 *    split, persona [name, age, gender, occupation, traits, style, {more}], situation,
 *    initial intensity, turns, verdicts, model]
 *   turn: [role (0 seeker, 1 supporter), text, strategy, intensity, rationale] (trailing empties cut)
 *   verdict: [filter, keep (0/1), reason, score, details]
 * DATA.F: funnel [filter, in, dropped, kept, {reason: n}]. DATA.R: reference strategy shares.
 * Labels are indexes into S; -1 means none. Only the rows on screen are in the DOM. */
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("data").textContent);
  const S = DATA.S, D = DATA.D, N = D.length;
  const STATUS = ["kept", "dropped", "not filtered", "malformed"];
  const ROW = 28;
  const $ = (id) => document.getElementById(id);
  const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const label = (i) => (i >= 0 ? S[i] : "(none)");

  // Per-dialogue facts the list, facets and sorts need, computed once.
  const meta = D.map((d) => {
    const strat = new Map();
    let first = d[8] || 0, last = 0, score = null, dropF = -1, dropR = -1;
    for (const t of d[9]) {
      if (t[0] === 1 && t[2] >= 0) strat.set(t[2], (strat.get(t[2]) || 0) + 1);
      if (t[0] === 0 && t[3]) { if (!first) first = t[3]; last = t[3]; }
    }
    for (const v of d[10]) {
      if (!v[1] && dropF < 0) { dropF = v[0]; dropR = v[2]; }
      if (S[v[0]] === "judge" && v[3] !== null) score = v[3];
    }
    const mix = [...strat.entries()].sort((a, b) => b[1] - a[1]);
    return { n: d[9].length, mix, strat: mix.map((m) => m[0]), drop: first && last ? first - last : null, score, dropF, dropR };
  });

  // Colours: one per strategy, the same everywhere on the page.
  const hue = {};
  const colour = (i) => {
    if (!(i in hue)) hue[i] = `hsl(${(Object.keys(hue).length * 47) % 360} 55% 45%)`;
    return hue[i];
  };
  meta.forEach((m) => m.strat.forEach(colour));

  // Review marks, kept in the browser's storage under this set of dialogues' key.
  const KEY = "esc-view:" + DATA.key;
  let store = null;
  try { store = window.localStorage; store.getItem(KEY); } catch (e) { store = null; }
  let marks = {};
  try { marks = JSON.parse((store && store.getItem(KEY)) || "{}"); } catch (e) { marks = {}; }
  const save = () => {
    if (store) store.setItem(KEY, JSON.stringify(marks));
    $("marks").textContent = Object.keys(marks).length;
  };
  $("reviewer").value = (store && store.getItem("esc-view:reviewer")) || "";
  $("reviewer").addEventListener("input", () => store && store.setItem("esc-view:reviewer", $("reviewer").value));
  if (!store) {
    const b = document.createElement("div");
    b.id = "banner";
    b.textContent = "This browser keeps no storage for this page: export your marks before closing it.";
    document.body.insertBefore(b, document.querySelector("main"));
  }

  // Facets: value lists with counts; values OR within a facet, facets AND with each other.
  const FACETS = [
    ["status", "kept / dropped", (i) => [D[i][4]], (v) => STATUS[v]],
    ["review", "review", (i) => [marks[D[i][0]] ? marks[D[i][0]].d : "unmarked"], (v) => v],
    ["reason", "drop reason", (i) => [meta[i].dropR], label],
    ["filter", "dropped by filter", (i) => [meta[i].dropF], label],
    ["problem", "problem", (i) => [D[i][1]], label],
    ["emotion", "emotion", (i) => [D[i][2]], label],
    ["strategy", "strategy used", (i) => meta[i].strat, label],
    ["end", "end reason", (i) => [D[i][3]], label],
    ["split", "split", (i) => [D[i][5]], label],
  ];
  const chosen = {};
  FACETS.forEach((f) => (chosen[f[0]] = new Set()));
  let query = "", hay = null, order = [], cur = -1, opened = -1, lastBase = [];

  const haystack = () => {
    if (!hay) hay = D.map((d) => [d[0], d[7], d[6] ? d[6][0] : "", ...d[9].map((t) => t[1])].join("\n").toLowerCase());
    return hay;
  };
  const passes = (i, skip) => {
    for (const f of FACETS) {
      const set = chosen[f[0]];
      if (f[0] === skip || !set.size) continue;
      if (!f[2](i).some((v) => set.has(String(v)))) return false;
    }
    return true;
  };

  function applyFilters() {
    const started = performance.now();
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const h = words.length ? haystack() : null;
    const base = [];
    for (let i = 0; i < N; i++) if (!h || words.every((w) => h[i].includes(w))) base.push(i);
    order = base.filter((i) => passes(i, null));
    lastBase = base;
    sortOrder();
    renderFacets(base);
    $("count").textContent = `${order.length.toLocaleString()} of ${N.toLocaleString()} dialogues`;
    cur = Math.min(Math.max(cur, 0), order.length - 1);
    $("spacer").style.height = order.length * ROW + "px";
    renderRows(true);
    if (!$("overview").hidden) renderOverview();
    window.viewApplyMs = performance.now() - started; // for bench/view.py
  }

  function sortOrder() {
    const how = $("sort").value;
    if (!how) return;
    const [what, dir] = how.split("-");
    const key = what === "turns" ? (i) => meta[i].n : what === "drop" ? (i) => meta[i].drop : (i) => meta[i].score;
    const sign = dir === "desc" ? -1 : 1;
    order.sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === null || y === null) return x === y ? a - b : x === null ? 1 : -1;
      return (x - y) * sign || a - b;
    });
  }

  function renderFacets(base) {
    const box = $("facets");
    const open = {};
    box.querySelectorAll("details").forEach((el) => (open[el.dataset.facet] = el.open));
    let html = "";
    for (const f of FACETS) {
      const counts = new Map();
      const all = new Set();
      for (let i = 0; i < N; i++) f[2](i).forEach((v) => all.add(v));
      for (const i of base) if (passes(i, f[0])) f[2](i).forEach((v) => counts.set(v, (counts.get(v) || 0) + 1));
      if (all.size < 2 && !chosen[f[0]].size) continue;
      const values = [...all].sort((a, b) => (counts.get(b) || 0) - (counts.get(a) || 0) || String(f[3](a)).localeCompare(String(f[3](b))));
      html += `<details data-facet="${f[0]}"${open[f[0]] === false ? "" : " open"}><summary>${esc(f[1])}</summary>`;
      for (const v of values) {
        const n = counts.get(v) || 0, name = f[3](v);
        const on = chosen[f[0]].has(String(v)) ? " checked" : "";
        html += `<label class="${n ? "" : "zero"}"><input type="checkbox" data-facet="${f[0]}" data-key="${esc(v)}" value="${esc(name)}"${on}><span class="v" title="${esc(name)}">${esc(name)}</span><span class="n">${n}</span></label>`;
      }
      html += "</details>";
    }
    box.innerHTML = html;
  }

  function mixBar(m) {
    const total = m.mix.reduce((a, b) => a + b[1], 0);
    if (!total) return "";
    const title = m.mix.map(([s, n]) => `${S[s]} ${Math.round((100 * n) / total)}%`).join(", ");
    return `<span class="mix" title="${esc(title)}">${m.mix.map(([s, n]) => `<i style="width:${(100 * n) / total}%;background:${colour(s)}"></i>`).join("")}</span>`;
  }

  function rowHtml(pos) {
    const i = order[pos], d = D[i], m = meta[i], mk = marks[d[0]];
    const sel = pos === cur ? " sel" : "";
    return `<div class="row${sel}" data-pos="${pos}" data-id="${esc(d[0])}" style="top:${pos * ROW}px">` +
      `<span class="mk ${mk ? mk.d : ""}">${mk ? (mk.d === "keep" ? "✓ keep" : "✗ drop") : ""}</span>` +
      `<span><span class="st st${d[4]}">${STATUS[d[4]]}</span></span><span title="${esc(d[0])}">${esc(d[0])}</span>` +
      `<span>${esc(label(d[1]))}</span><span>${esc(label(d[2]))}</span><span>${d[6] ? esc(d[6][0]) : ""}</span>` +
      `<span>${esc(label(d[3]))}</span><span class="num">${m.n}</span><span>${mixBar(m)}</span>` +
      `<span>${m.dropR >= 0 ? esc(S[m.dropR]) : ""}</span></div>`;
  }

  let drawn = "";
  function renderRows(force) {
    const list = $("list");
    const top = Math.max(0, Math.floor(list.scrollTop / ROW) - 8);
    const end = Math.min(order.length, top + Math.ceil(list.clientHeight / ROW) + 16);
    const span = `${top}:${end}:${cur}`;
    if (!force && span === drawn) return;
    drawn = span;
    let html = "";
    for (let p = top; p < end; p++) html += rowHtml(p);
    $("spacer").innerHTML = html;
  }

  function select(pos, follow) {
    if (!order.length) return;
    cur = Math.max(0, Math.min(order.length - 1, pos));
    const list = $("list"), y = cur * ROW;
    if (y < list.scrollTop) list.scrollTop = y;
    else if (y + ROW > list.scrollTop + list.clientHeight) list.scrollTop = y + ROW - list.clientHeight;
    renderRows(true);
    if (follow || !$("dialogue").hidden) openDialogue(cur);
  }

  // -- one dialogue ---------------------------------------------------------------------
  function spark(d) {
    const pts = [];
    if (d[8]) pts.push([0, d[8]]);
    d[9].forEach((t, k) => t[0] === 0 && t[3] && pts.push([k + 1, t[3]]));
    if (pts.length < 2) return "";
    const w = 600, h = 64, n = d[9].length + 1;
    const xy = pts.map(([k, v]) => [(k / n) * (w - 20) + 10, h - 8 - ((v - 1) / 4) * (h - 16)]);
    const path = xy.map((p, k) => (k ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1)).join(" ");
    return `<div class="who">seeker's intensity over the turns (1 to 5; ${pts.map((p) => p[1]).join(" → ")})</div><svg class="spark" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" aria-label="seeker intensity">` +
      [1, 3, 5].map((v) => `<line x1="0" x2="${w}" y1="${h - 8 - ((v - 1) / 4) * (h - 16)}" y2="${h - 8 - ((v - 1) / 4) * (h - 16)}" stroke="#e2e2e0"/>`).join("") +
      `<path d="${path}" fill="none" stroke="#b2362b" stroke-width="2" vector-effect="non-scaling-stroke"/>` +
      xy.map((p, k) => `<circle cx="${p[0]}" cy="${p[1]}" r="3" fill="#b2362b"><title>intensity ${pts[k][1]}</title></circle>`).join("") + "</svg>";
  }

  function openDialogue(pos) {
    const i = order[pos];
    if (i === undefined) return;
    opened = i;
    const d = D[i], mk = marks[d[0]] || {}, pane = $("dialogue");
    pane.hidden = false;
    document.querySelector("main").classList.add("narrow");
    let talk = `<h2>${esc(d[0])} <span class="st st${d[4]}">${STATUS[d[4]]}</span>${d[5] >= 0 ? ` <small>split: ${esc(S[d[5]])}</small>` : ""}</h2>` +
      `<div class="review"><button id="keep" class="keep${mk.d === "keep" ? " on" : ""}">keep (a)</button>` +
      `<button id="drop" class="drop${mk.d === "drop" ? " on" : ""}">drop (d)</button><button id="unmark">unmark (u)</button>` +
      `<input id="note" placeholder="note (n), saved with the mark" value="${esc(mk.note || "")}"></div>`;
    if (d[4] === 3) {
      talk += `<h3>malformed line</h3><div class="raw">${esc(d[7])}</div>`;
    } else {
      talk += spark(d);
      d[9].forEach((t, k) => {
        const chip = t[0] === 1 && t[2] >= 0 ? `<button class="chip" data-turn="${k}" style="background:${colour(t[2])}" title="${t[4] ? "show the counselor's rationale" : "no rationale recorded"}">${esc(S[t[2]])}</button>` : "";
        const level = t[0] === 0 && t[3] ? `<span>intensity ${t[3]}</span>` : "";
        talk += `<div class="bubble s${t[0]}"><div class="who">${t[0] ? "supporter" : "seeker"} ${chip}${level}</div>${esc(t[1])}` +
          (t[4] ? `<div class="why" id="why-${k}" hidden>${esc(t[4])}</div>` : "") + "</div>";
      });
    }
    let side = "";
    if (d[6]) {
      const p = d[6];
      const rows = [["name", p[0]], ["age", p[1] ?? "?"], ["gender", p[2]], ["occupation", p[3]], ["traits", p[4]], ["style", p[5]], ...Object.entries(p[6] || {})];
      side += `<h3>persona</h3><div class="kv">${rows.map(([k, v]) => `<b>${esc(k)}</b><span>${esc(v)}</span>`).join("")}</div>` +
        `<h3>hidden situation</h3><div>${esc(d[7])}</div>` +
        `<div class="kv" style="margin-top:6px"><b>problem</b><span>${esc(label(d[1]))}</span><b>emotion</b><span>${esc(label(d[2]))}</span>` +
        `<b>intensity</b><span>${d[8]} at the start</span><b>end</b><span>${esc(label(d[3]))}</span><b>model</b><span>${esc(label(d[11]))}</span></div>`;
    }
    side += `<h3>verdicts (${d[10].length})</h3>` + (d[10].map((v) =>
      `<div class="verdict${v[1] ? "" : " d"}"><b>${esc(S[v[0]])}</b>: ${v[1] ? "keep" : "drop"}, ${esc(S[v[2]])}` +
      `${v[3] !== null && v[3] !== undefined ? `, score ${esc(v[3])}` : ""}${v[4] ? `<pre>${esc(JSON.stringify(v[4], null, 1))}</pre>` : ""}</div>`).join("") || "<div>none: not filtered</div>");
    pane.innerHTML = `<div class="talk">${talk}</div><div class="side">${side}</div>`;
    pane.querySelector(".talk").scrollTop = 0;
  }

  function closeDialogue() {
    $("dialogue").hidden = true;
    opened = -1;
    document.querySelector("main").classList.remove("narrow");
  }

  function mark(decision) {
    if (opened < 0 && cur >= 0) opened = order[cur];
    if (opened < 0 || D[opened][4] === 3) return; // a malformed line has no id to decide on
    const id = D[opened][0], note = $("note") ? $("note").value : "";
    if (decision) marks[id] = { d: decision, note, t: new Date().toISOString() };
    else delete marks[id];
    save();
    renderFacets(lastBase);
    renderRows(true);
    if (!$("dialogue").hidden) openDialogue(order.indexOf(opened));
  }

  function exportDecisions() {
    const reviewer = $("reviewer").value.trim();
    const decisions = Object.entries(marks).map(([id, m]) => ({ id, decision: m.d, note: m.note || "", reviewer, time: m.t }));
    const body = JSON.stringify({ source: DATA.source, exported_at: new Date().toISOString(), decisions }, null, 1);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([body + "\n"], { type: "application/json" }));
    a.download = `decisions-${(DATA.title || "view").replace(/[^A-Za-z0-9._-]+/g, "-")}.json`;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // -- overview: small charts of what the list selects ------------------------------------
  function bars(rows, total, ref) {
    return `<div class="bars">${rows.map(([name, n, c, r]) => `<span>${esc(name)}</span><span class="bar"><i style="width:${total ? (100 * n) / total : 0}%;background:${c || "#2f5fa8"}"></i>` +
      `${r !== undefined ? `<i class="ref" style="width:${100 * r}%"></i>` : ""}</span><span class="num">${ref ? (100 * n / total).toFixed(1) + "%" : n.toLocaleString()}${r !== undefined ? ` <small>/ ${(100 * r).toFixed(1)}%</small>` : ""}</span>`).join("")}</div>`;
  }

  function renderOverview() {
    const box = $("overview");
    let html = `<div class="card"><h2>Funnel</h2>`;
    if (DATA.F.length) {
      const top = Math.max(...DATA.F.map((f) => f[1]));
      html += `<p class="note">From the ${esc(DATA.kind)}'s report: what entered each filter, and why it dropped what it dropped.</p><div class="bars">` +
        DATA.F.map(([f, entered, dropped, kept, why]) => `<span>${esc(f)}</span><span class="bar" title="${esc(Object.entries(why).map(([r, n]) => r + " " + n).join(", "))}"><i style="width:${(100 * entered) / top}%;background:#e8b4ae"></i><i style="width:${(100 * kept) / top}%;background:#2f7d4f"></i></span><span class="num">${kept}/${entered}</span>`).join("") + "</div>";
    } else {
      const c = [0, 0, 0, 0];
      D.forEach((d) => c[d[4]]++);
      html += `<p class="note">No filter report in a ${esc(DATA.kind)}: the counts of the dialogues' own outcomes.</p>` + bars(STATUS.map((s, k) => [s, c[k]]).filter((r) => r[1]), N);
    }
    html += "</div>";
    const strat = new Map(), ends = new Map(), cells = new Map(), probs = new Map(), emos = new Map();
    let turns = 0;
    for (const i of order) {
      const d = D[i];
      meta[i].mix.forEach(([s, n]) => { strat.set(s, (strat.get(s) || 0) + n); turns += n; });
      ends.set(d[3], (ends.get(d[3]) || 0) + 1);
      if (d[4] === 3) continue;
      probs.set(d[1], (probs.get(d[1]) || 0) + 1);
      emos.set(d[2], (emos.get(d[2]) || 0) + 1);
      cells.set(d[2] + ":" + d[1], (cells.get(d[2] + ":" + d[1]) || 0) + 1);
    }
    const ref = DATA.R;
    const names = new Set([...strat.keys()].map((s) => S[s]).concat(ref ? Object.keys(ref) : []));
    const srows = [...names].map((name) => { const k = S.indexOf(name); return [name, k >= 0 ? strat.get(k) || 0 : 0, k >= 0 ? colour(k) : "#999", ref ? ref[name] || 0 : undefined]; }).sort((a, b) => b[1] - a[1]);
    const scope = `over the ${order.length.toLocaleString()} dialogues the list shows (search and facets apply)`;
    html += `<div class="card"><h2>Strategy shares</h2><p class="note">Supporter turns ${scope}${ref ? `; the dark line is the reference${DATA.Rn ? ` (${esc(DATA.Rn)})` : ""}` : ""}.</p>${bars(srows, turns, true)}</div>`;
    html += `<div class="card"><h2>End reasons</h2><p class="note">Dialogues ${scope}.</p>${bars([...ends].sort((a, b) => b[1] - a[1]).map(([e, n]) => [label(e), n]), order.length)}</div>`;
    const P = [...probs].sort((a, b) => b[1] - a[1]).map((p) => p[0]), E = [...emos].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
    const most = Math.max(1, ...cells.values());
    html += `<div class="card wide"><h2>Emotion × problem</h2><p class="note">Dialogues per cell ${scope}; an empty cell is a gap in coverage.</p><table class="grid"><thead><tr><th></th>${P.map((p) => `<th>${esc(label(p))}</th>`).join("")}</tr></thead><tbody>` +
      E.map((e) => `<tr><th>${esc(label(e))}</th>${P.map((p) => { const n = cells.get(e + ":" + p) || 0; return `<td style="background:${n ? `rgba(47,95,168,${0.12 + (0.88 * n) / most})` : "#f6f6f4"};color:${n / most > 0.55 ? "#fff" : "inherit"}">${n || ""}</td>`; }).join("")}</tr>`).join("") + "</tbody></table></div>";
    box.innerHTML = html;
  }

  function showTab(tab) {
    document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("on", b.dataset.tab === tab));
    const list = tab === "list";
    $("list-pane").hidden = !list;
    $("facets").hidden = false;
    $("overview").hidden = list;
    if (!list) { closeDialogue(); renderOverview(); }
  }

  // -- wiring -----------------------------------------------------------------------------
  $("title").innerHTML = `${esc(DATA.title || "dialogues")} <small>${esc(DATA.kind)}, ${N.toLocaleString()} lines</small>`;
  document.title = `${DATA.title || "dialogues"}: dialogues`;
  let timer = 0;
  $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { query = $("search").value; cur = 0; applyFilters(); }, 120); });
  $("facets").addEventListener("change", (e) => {
    const box = e.target;
    if (!box.dataset || !box.dataset.facet) return;
    const set = chosen[box.dataset.facet];
    box.checked ? set.add(box.dataset.key) : set.delete(box.dataset.key);
    cur = 0;
    applyFilters();
  });
  $("sort").addEventListener("change", () => { cur = 0; applyFilters(); });
  $("clear").addEventListener("click", () => { FACETS.forEach((f) => chosen[f[0]].clear()); $("search").value = query = ""; applyFilters(); });
  $("list").addEventListener("scroll", () => requestAnimationFrame(() => renderRows(false)));
  $("list").addEventListener("click", (e) => { const row = e.target.closest(".row"); if (row) select(+row.dataset.pos, true); });
  $("dialogue").addEventListener("click", (e) => {
    const t = e.target;
    if (t.id === "keep") mark("keep");
    else if (t.id === "drop") mark("drop");
    else if (t.id === "unmark") mark(null);
    else if (t.classList.contains("chip")) { const why = $("why-" + t.dataset.turn); if (why) why.hidden = !why.hidden; }
  });
  $("dialogue").addEventListener("change", (e) => {
    if (e.target.id === "note" && opened >= 0 && marks[D[opened][0]]) { marks[D[opened][0]].note = e.target.value; save(); }
  });
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  $("export").addEventListener("click", exportDecisions);
  document.addEventListener("keydown", (e) => {
    // Keys work after a click on a checkbox or a button; only text fields keep them.
    const t = e.target;
    const typing = t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
      (t.tagName === "INPUT" && !/^(checkbox|radio|button)$/.test(t.type));
    if (e.key === "Escape") { if (typing) e.target.blur(); else closeDialogue(); return; }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = {
      j: () => select(cur + 1, false), k: () => select(cur - 1, false), Enter: () => select(cur, true),
      a: () => mark("keep"), d: () => mark("drop"), u: () => mark(null),
      n: () => { if (!$("dialogue").hidden) $("note").focus(); }, "/": () => $("search").focus(),
    };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  window.addEventListener("resize", () => renderRows(true));

  save();
  applyFilters();
  // Time to first render, for bench/view.py: milliseconds since navigation started.
  window.viewReady = performance.now();
  document.body.dataset.ready = "1";
})();

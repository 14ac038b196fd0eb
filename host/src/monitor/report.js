(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const PALETTE = ["#3563e9", "#e04f5f", "#12805c", "#d97706", "#7c3aed", "#0891b2", "#64748b", "#c026d3"];
  const root = document.getElementById("report");

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function svgEl(parent, tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k of Object.keys(attrs || {})) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(parent, text) { svgEl(parent, "title", {}, text); }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function str(v) { return v === undefined || v === null ? "" : String(v); }
  function arr(v) { return Array.isArray(v) ? v : []; }
  // A table's own entry: a name such as "constructor" finds nothing.
  function own(table, key) { return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined; }
  function fmt(v) {
    v = num(v);
    if (v === null) return "\u2014";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
    return String(parseFloat(v.toPrecision(4)));
  }
  function fmtInt(v) { v = num(v); return v === null ? "\u2014" : Math.round(v).toLocaleString("en-US"); }
  function pct(v) {
    v = num(v);
    if (v === null) return "\u2014";
    const p = v * 100;
    return (p !== 0 && Math.abs(p) < 10 ? p.toFixed(1) : p.toFixed(0)) + "%";
  }
  function fmtP(v) {
    v = num(v);
    if (v === null) return "\u2014";
    return v !== 0 && v < 1e-4 ? v.toExponential(1) : String(parseFloat(v.toPrecision(3)));
  }
  const TIME = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/i;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // An RFC 3339 instant to the minute, for headers and tables.
  function shortTime(s) {
    s = str(s);
    const m = TIME.exec(s);
    if (!m) return s;
    const zone = !m[6] ? "" : /^(z|[+-]00:?00)$/i.test(m[6]) ? " UTC" : " " + m[6];
    return m[1] + "-" + m[2] + "-" + m[3] + " " + m[4] + ":" + m[5] + zone;
  }
  // Axis labels for a set of instants: as short as they can be and still
  // tell the windows apart ("Mar 4", "Mar 4 12:00", "Mar 4 2024").
  function tickLabeller(xs) {
    const ms = xs.map(function (x) { return TIME.exec(x); });
    if (!ms.length || ms.some(function (m) { return !m; })) return function (x) { return clip(x, 14); };
    const oneYear = ms.every(function (m) { return m[1] === ms[0][1]; });
    const midnight = ms.every(function (m) { return m[4] === "00" && m[5] === "00"; });
    return function (x) {
      const m = TIME.exec(x);
      let t = MONTHS[Number(m[2]) - 1] + " " + Number(m[3]);
      if (!midnight) t += " " + m[4] + ":" + m[5];
      if (!oneYear) t += " " + m[1];
      return t;
    };
  }
  function clip(s, n) { s = str(s); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }
  // A y scale over [lo, hi] with round ticks.
  function scaleY(lo, hi, top, bottom, zero) {
    if (zero) { lo = Math.min(0, lo); hi = Math.max(0, hi); }
    if (!(hi > lo)) { const d = Math.abs(hi) > 0 ? Math.abs(hi) * 0.1 : 1; lo -= d; hi += d; if (zero && lo < 0 && hi > 0 && lo + d >= 0) lo = 0; }
    const step = niceStep(hi - lo, 4);
    lo = Math.floor(lo / step + 1e-9) * step;
    hi = Math.ceil(hi / step - 1e-9) * step;
    const ticks = [];
    for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return { ticks: ticks, at: function (v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); } };
  }
  function yAxis(g, ys, left, right, label) {
    for (const t of ys.ticks) {
      const y = ys.at(t);
      svgEl(g, "line", { class: "grid-rule", x1: left, x2: right, y1: y, y2: y });
      svgEl(g, "text", { x: left - 6, y: y + 3.5, "text-anchor": "end" }, label(t));
    }
  }
  function legend(parent, items) {
    const l = add(parent, el("div", "legend"));
    for (const it of items) {
      const s = add(l, el("span"));
      const sw = add(s, el("i", it.line ? "l" : ""));
      sw.style.background = it.color;
      add(s, document.createTextNode(it.label));
    }
    return l;
  }
  function section(id, title, lede) {
    const s = add(root, el("section"));
    s.id = id;
    add(s, el("h2", "", title));
    if (lede) add(s, el("p", "lede", lede));
    return s;
  }
  function empty(parent, text) { return add(parent, el("p", "empty", text)); }

  let data = null;
  try { data = JSON.parse(document.getElementById("report-data").textContent); } catch (e) { data = null; }
  if (!data || typeof data !== "object") { empty(root, "The report's data could not be read."); return; }
  const win = data.window || {};
  const features = arr(data.features);
  const checks = arr(data.checks);
  const alerts = arr(data.alerts);
  const history = arr(data.history);
  const latency = arr(data.latency);

  // ---- drift charts ----
  // Name, what its statistic is called, and whether it decides by p-value.
  const TESTS = {
    ks: ["Kolmogorov\u2013Smirnov", "statistic", true], z: ["z-test", "z", true], chisquare: ["\u03c7\u00b2 test", "\u03c7\u00b2", true],
    wasserstein: ["Wasserstein distance", "distance"], psi: ["Population stability index", "PSI"],
    jensenshannon: ["Jensen\u2013Shannon distance", "distance"],
  };
  function driftCard(parent, d, kind) {
    const fig = add(parent, el("figure", "card" + (d.drifted ? " drifted" : "")));
    const cap = add(fig, el("figcaption"));
    const head = add(cap, el("div", "cap-head"));
    add(head, el("span", "fname", str(d.name)));
    if (d.kind) add(head, el("span", "kind", str(d.kind)));
    add(head, el("span", "badge " + (d.drifted ? "drift" : "nodrift"), d.drifted ? "drift" : "no drift"));
    const t = own(TESTS, d.test) || [str(d.test), "statistic", false];
    add(cap, el("div", "cap-test", t[0]));
    const stats = add(cap, el("div", "cap-stats"));
    add(stats, document.createTextNode(t[1] + " "));
    add(stats, el("b", "", fmt(d.statistic)));
    if (t[2] || (d.p_value !== undefined && d.p_value !== null)) {
      add(stats, document.createTextNode(" \u00b7 p-value "));
      add(stats, el("b", "", fmtP(d.p_value)));
      add(stats, document.createTextNode(" \u00b7 drift below " + fmtP(d.threshold)));
    } else {
      add(stats, document.createTextNode(" \u00b7 drift above " + fmt(d.threshold)));
    }
    barChart(fig, kind + ":" + str(d.name), arr(d.bins), arr(d.reference), arr(d.current));
    return fig;
  }
  function barChart(parent, id, bins, ref, cur) {
    const n = Math.max(bins.length, ref.length, cur.length);
    const W = 380, left = 36, right = 4, top = 8, plotH = 120;
    const labels = [];
    for (let i = 0; i < n; i++) labels.push(i < bins.length ? str(bins[i]) : "");
    const longest = labels.reduce(function (m, s) { return Math.max(m, s.length); }, 0);
    const slot = (W - left - right) / Math.max(1, n);
    const rotate = n > 0 && longest * 6 > slot - 4;
    const maxLen = rotate ? 16 : 40;
    const bottomPad = rotate ? Math.min(maxLen, longest) * 4.4 + 14 : 22;
    const H = top + plotH + bottomPad;
    const s = svgEl(parent, "svg", { class: "chart", "data-chart": id, viewBox: "0 0 " + W + " " + H, role: "img" });
    svgEl(s, "title", {}, id);
    let hi = 0;
    for (const v of ref.concat(cur)) if (num(v) !== null) hi = Math.max(hi, v);
    const ys = scaleY(0, hi > 0 ? hi : 1, top, top + plotH, true);
    yAxis(s, ys, left, W - right, pct);
    const bw = Math.max(1, Math.min(24, slot * 0.36));
    for (let i = 0; i < n; i++) {
      const g = svgEl(s, "g", { class: "bin" });
      const cx = left + slot * (i + 0.5);
      tip(g, labels[i] + "\nreference " + pct(ref[i]) + "\ncurrent " + pct(cur[i]));
      // A transparent column so the tooltip shows over the whole bin.
      svgEl(g, "rect", { x: cx - slot / 2, y: top, width: slot, height: plotH, fill: "transparent" });
      [["reference", ref[i], cx - bw], ["current", cur[i], cx]].forEach(function (b) {
        const v = num(b[1]);
        if (v === null) return;
        const y = ys.at(Math.max(0, v));
        svgEl(g, "rect", { class: "bar", "data-series": b[0], x: b[2], y: y, width: bw, height: Math.max(0, top + plotH - y), rx: 1.5 });
      });
      const ly = top + plotH + 14;
      const text = clip(labels[i], maxLen);
      if (rotate) svgEl(g, "text", { x: cx, y: ly - 4, "text-anchor": "end", transform: "rotate(-40 " + cx + " " + (ly - 4) + ")" }, text);
      else svgEl(g, "text", { x: cx, y: ly, "text-anchor": "middle" }, text);
    }
    svgEl(s, "line", { class: "axis", x1: left, x2: W - right, y1: top + plotH, y2: top + plotH });
    if (n === 0) svgEl(s, "text", { x: W / 2, y: top + plotH / 2, "text-anchor": "middle" }, "no bins");
    return s;
  }

  // ---- time-series charts ----
  function timeOrder(xs) {
    const ts = xs.map(function (x) { return Date.parse(x); });
    if (ts.every(function (t) { return !isNaN(t); })) {
      return xs.map(function (x, i) { return [x, ts[i]]; }).sort(function (a, b) { return a[1] - b[1]; }).map(function (p) { return p[0]; });
    }
    return xs.slice().sort();
  }
  // series: [{label, color, points: Map(x -> value)}]; opts.xs: the
  // instants on the x axis, so charts of one section line up.
  function lineChart(parent, id, series, opts) {
    const set = new Set(opts.xs || []);
    for (const sr of series) for (const x of sr.points.keys()) set.add(x);
    const xs = timeOrder(Array.from(set));
    const W = 560, H = 210, left = 52, right = 14, top = 10, bottom = 34;
    const s = svgEl(parent, "svg", { class: "chart", "data-chart": id, viewBox: "0 0 " + W + " " + H, role: "img" });
    svgEl(s, "title", {}, id);
    const vals = [];
    for (const sr of series) for (const v of sr.points.values()) if (num(v) !== null) vals.push(v);
    const lo = vals.length ? Math.min.apply(null, vals) : 0, hi = vals.length ? Math.max.apply(null, vals) : 1;
    const ys = scaleY(lo, hi, top, H - bottom, !!opts.zero);
    yAxis(s, ys, left, W - right, opts.fmt || fmt);
    const px = function (i) { return xs.length < 2 ? (left + W - right) / 2 : left + i * (W - left - right) / (xs.length - 1); };
    // At most six labels, spread evenly, the first and the last always.
    const label = tickLabeller(xs);
    const count = Math.min(xs.length, 6);
    const shown = new Set();
    for (let j = 0; j < count; j++) shown.add(count < 2 ? 0 : Math.round(j * (xs.length - 1) / (count - 1)));
    for (const i of shown) {
      const anchor = xs.length < 2 ? "middle" : i === 0 ? "start" : i === xs.length - 1 ? "end" : "middle";
      svgEl(s, "text", { x: px(i), y: H - bottom + 16, "text-anchor": anchor }, label(xs[i]));
    }
    svgEl(s, "line", { class: "axis", x1: left, x2: W - right, y1: H - bottom, y2: H - bottom });
    const nowAt = xs.indexOf(str(win.end));
    if (nowAt >= 0) {
      svgEl(s, "line", { class: "now", x1: px(nowAt), x2: px(nowAt), y1: top, y2: H - bottom });
      svgEl(s, "text", { class: "now-label", x: px(nowAt) - 4, y: top + 8, "text-anchor": "end" }, "this window");
    }
    for (const sr of series) {
      let d = "", pen = false;
      const dots = [];
      xs.forEach(function (x, i) {
        const v = sr.points.has(x) ? num(sr.points.get(x)) : null;
        if (v === null) { pen = false; return; }
        d += (pen ? "L" : "M") + px(i).toFixed(1) + " " + ys.at(v).toFixed(1);
        pen = true;
        dots.push([px(i), ys.at(v), x, v]);
      });
      const path = svgEl(s, "path", { class: "line", "data-series": sr.label, d: d || "M0 0", stroke: sr.color });
      tip(path, sr.label);
      if (dots.length <= 90) for (const p of dots) {
        const c = svgEl(s, "circle", { class: "point", cx: p[0], cy: p[1], r: 2.6, fill: sr.color });
        tip(c, sr.label + " \u00b7 " + p[2] + ": " + (opts.fmt || fmt)(p[3]) + (opts.extra ? opts.extra(p[2]) : ""));
      }
    }
    return s;
  }
  function chartCard(parent, title, series, id, opts) {
    const fig = add(parent, el("figure", "card"));
    const cap = add(fig, el("figcaption"));
    add(add(cap, el("div", "cap-head")), el("span", "fname", title));
    legend(cap, series.map(function (sr) { return { label: sr.label, color: sr.color, line: true }; }));
    lineChart(fig, id, series, opts);
    return fig;
  }

  // ---- summary ----
  const drifted = features.filter(function (f) { return f && f.drifted; }).length;
  const failed = checks.filter(function (c) { return c && c.status === "fail"; }).length;
  const errored = checks.filter(function (c) { return c && c.status === "error"; }).length;
  const header = add(root, el("header", "top"));
  add(header, el("div", "eyebrow", "Monitor report"));
  const h1 = add(header, el("h1", "", str(data.model)));
  add(h1, el("span", "ver", "v" + str(data.version)));
  add(header, el("p", "sub", "Window " + shortTime(win.start) + " \u2192 " + shortTime(win.end) + " \u00b7 generated " + shortTime(data.generated_at)));
  const tiles = add(header, el("div", "tiles"));
  function tile(k, v, note, cls) {
    const t = add(tiles, el("div", "tile" + (cls ? " " + cls : "")));
    add(t, el("div", "k", k));
    add(t, el("div", "v", v));
    if (note) add(t, el("div", "n", note));
  }
  tile("Rows", fmtInt(win.rows), "in this window");
  tile("Requests", fmtInt(win.requests));
  tile("Labelled rows", fmtInt(win.labelled_rows), num(win.rows) ? pct((win.labelled_rows || 0) / win.rows) + " of rows" : "");
  tile("Drifted features", drifted + " of " + features.length, "", drifted ? "bad" : features.length ? "good" : "");
  if (data.prediction) tile("Prediction drift", data.prediction.drifted ? "drift" : "none", str(data.prediction.test), data.prediction.drifted ? "bad" : "good");
  tile("Failed checks", failed + " of " + checks.length, errored ? errored + " could not run" : "", failed || errored ? "bad" : checks.length ? "good" : "");
  tile("Alerts", String(alerts.length), "", alerts.length ? "bad" : "");
  const nav = add(header, el("nav"));
  [["checks", "Checks"], ["data-drift", "Data drift"], ["prediction-drift", "Prediction drift"], ["performance", "Performance over time"], ["latency", "Latency"], ["alerts", "Alerts"]].forEach(function (n) {
    const a = add(nav, el("a", "", n[1]));
    a.href = '#' + n[0];
  });

  // ---- checks ----
  const RANK = { fail: 0, error: 1, inconclusive: 2, pass: 3 };
  const sc = section("checks", "Checks", "This window's checks, failures first.");
  if (!checks.length) empty(sc, "no checks ran in this window");
  else {
    const tbl = add(sc, el("table"));
    const hr = add(add(tbl, el("thead")), el("tr"));
    for (const h of ["Check", "Status", "Detail"]) add(hr, el("th", "", h));
    const body = add(tbl, el("tbody"));
    const rows = checks.map(function (c, i) { return [c || {}, i]; }).sort(function (a, b) {
      const ra = own(RANK, a[0].status), rb = own(RANK, b[0].status);
      return (ra === undefined ? 4 : ra) - (rb === undefined ? 4 : rb) || a[1] - b[1];
    });
    for (const r of rows) {
      const c = r[0];
      const tr = add(body, el("tr"));
      add(tr, el("td", "mono", str(c.check)));
      const st = str(c.status);
      add(add(tr, el("td")), el("span", "status " + (own(RANK, st) === undefined ? "other" : st), st || "unknown"));
      add(tr, el("td", "", str(c.detail)));
    }
  }

  // ---- data drift ----
  const sd = section("data-drift", "Data drift", "Share of rows per bin: the reference against this window.");
  if (!features.length) empty(sd, "no input features were compared in this window");
  else {
    legend(sd, [{ label: "reference", color: "var(--ref)" }, { label: "this window", color: "var(--cur)" }]);
    const grid = add(sd, el("div", "grid"));
    for (const f of features) if (f) driftCard(grid, f, "feature");
  }

  // ---- prediction drift ----
  const sp = section("prediction-drift", "Prediction drift", "The model's outputs in this window against its predictions on the holdout set.");
  if (!data.prediction) empty(sp, "no prediction drift was computed for this window");
  else {
    legend(sp, [{ label: "holdout predictions", color: "var(--ref)" }, { label: "this window", color: "var(--cur)" }]);
    driftCard(add(sp, el("div", "grid")), data.prediction, "prediction");
  }

  // ---- performance over time ----
  const sh = section("performance", "Performance over time", "Check metrics of past windows, one chart per source.");
  if (!num(win.labelled_rows)) add(sh, el("p", "note", "no labelled rows in this window: its realised performance is unknown"));
  if (!history.length) empty(sh, "no performance history yet");
  else {
    const groups = new Map();
    for (const p of history) {
      if (!p) continue;
      const name = str(p.series);
      const dot = name.indexOf(".");
      const group = dot > 0 ? name.slice(0, dot) : name;
      const label = dot > 0 ? name.slice(dot + 1) : name;
      if (!groups.has(group)) groups.set(group, new Map());
      const g = groups.get(group);
      if (!g.has(label)) g.set(label, new Map());
      g.get(label).set(str(p.window_end), p.value);
    }
    const TITLES = { performance: "Realised performance", cbpe: "Estimated performance (CBPE)", dle: "Estimated performance (DLE)" };
    const grid = add(sh, el("div", "grid wide"));
    const xs = history.filter(Boolean).map(function (p) { return str(p.window_end); });
    for (const [group, labels] of groups) {
      let k = 0;
      const series = [];
      for (const [label, points] of labels) series.push({ label: label, color: PALETTE[k++ % PALETTE.length], points: points });
      chartCard(grid, own(TITLES, group) || group, series, "history:" + group, { xs: xs });
    }
  }

  // ---- latency ----
  const sl = section("latency", "Latency and errors", "Serving latency and the share of failed requests, per window.");
  if (!latency.length) empty(sl, "no latency recorded");
  else {
    const p50 = new Map(), p99 = new Map(), errs = new Map(), reqs = new Map();
    for (const p of latency) {
      if (!p) continue;
      const x = str(p.window_end);
      p50.set(x, p.p50_ms); p99.set(x, p.p99_ms); errs.set(x, p.error_rate); reqs.set(x, p.requests);
    }
    const extra = function (x) { return " (" + fmtInt(reqs.get(x)) + " requests)"; };
    const grid = add(sl, el("div", "grid wide"));
    chartCard(grid, "Latency (ms)", [
      { label: "p50", color: PALETTE[0], points: p50 },
      { label: "p99", color: PALETTE[3], points: p99 },
    ], "latency:latency-ms", { zero: true, extra: extra });
    chartCard(grid, "Error rate", [{ label: "failed requests", color: PALETTE[1], points: errs }], "latency:error-rate", { zero: true, fmt: pct, extra: extra });
  }

  // ---- alerts ----
  const sa = section("alerts", "Alerts", "");
  if (!alerts.length) empty(sa, "no alerts");
  else {
    const tbl = add(sa, el("table"));
    const hr = add(add(tbl, el("thead")), el("tr"));
    for (const h of ["At", "Check", "Detail", "Action"]) add(hr, el("th", "", h));
    const body = add(tbl, el("tbody"));
    for (const a of alerts) {
      if (!a) continue;
      const tr = add(body, el("tr"));
      const when = add(tr, el("td", "when", shortTime(a.at)));
      when.title = str(a.at);
      add(tr, el("td", "mono", str(a.check)));
      add(tr, el("td", "", str(a.detail)));
      add(tr, el("td", "", str(a.action)));
    }
  }

  add(root, el("footer", "", "sluice monitor report \u00b7 " + str(data.model) + " v" + str(data.version) + " \u00b7 generated " + str(data.generated_at) + " \u00b7 self-contained: this page loads nothing from the network"));
})();

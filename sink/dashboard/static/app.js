// app.js: the cmc-stream live dashboard. Plain ES2020 with no dependencies;
// see the doc comment of the Go package web for what it shows. Event data
// reaches the DOM only through textContent and attributes.
"use strict";

(function () {
  const CLASSES = ["negative", "neutral", "positive"];
  const MODALITIES = ["text", "audio", "vision"];
  const SCHEMA = "cmc.sentiment.v2";
  const EVENT_TYPE = "sentiment"; // the SSE event type of the HTTP sink
  const HISTORY = 60; // windows per stream in the timeline
  const MAX_STREAMS = 64; // streams kept; the least recently updated goes first
  const METRICS_EVERY_MS = 5000;
  const RETRY_MIN_MS = 1000;
  const RETRY_MAX_MS = 30000;
  // The event package allows probabilities to sum this far from 1.
  const PROBS_TOLERANCE = 2e-3;
  // The event package allows similarities this far outside [-1, 1].
  const SIMILARITY_TOLERANCE = 1e-3;
  const SVG = "http://www.w3.org/2000/svg";
  const CHART_DESC = "Class probabilities and fused label of the last windows of the selected stream.";
  const SPARK = 30; // scores per stream in the calls list's sparkline
  const MAX_ALERTS = 20; // alerts kept per stream

  const state = {
    streams: new Map(), // stream id -> {history, last, lastSeq, updated}
    selected: "",
    messages: 0,
    malformed: 0,
    lastProblem: "",
    seenDrops: 0,
    serverDrops: null, // null when /metrics reports no drop metric
    tick: 0,
    sortKey: "updated", // a column of the calls list
    sortDir: "desc",
  };

  function $(id) {
    return document.getElementById(id);
  }

  function isObject(v) {
    return typeof v === "object" && v !== null && !Array.isArray(v);
  }

  // ---- Parsing: every check appends its problem to problems. ----

  function number(obj, key, path, lo, hi, problems) {
    const v = isObject(obj) ? obj[key] : undefined;
    if (typeof v === "number" && Number.isFinite(v) && v >= lo && v <= hi) {
      return v;
    }
    problems.push(path + (v === undefined ? " missing" : " not a number in [" + lo + ", " + hi + "]"));
    return null;
  }

  function label(v, path, problems) {
    if (CLASSES.includes(v)) {
      return v;
    }
    problems.push(path + (v === undefined ? " missing" : " not a known label"));
    return null;
  }

  function probs(obj, path, problems) {
    if (!isObject(obj)) {
      problems.push(path + (obj === undefined ? " missing" : " not an object"));
      return null;
    }
    const p = {};
    let ok = true;
    for (const c of CLASSES) {
      p[c] = number(obj, c, path + "." + c, 0, 1, problems);
      ok = ok && p[c] !== null;
    }
    if (ok && Math.abs(p.negative + p.neutral + p.positive - 1) > PROBS_TOLERANCE) {
      problems.push(path + " do not sum to 1");
    }
    return ok ? p : null;
  }

  function optionalString(v, path, problems) {
    if (v === undefined || typeof v === "string") {
      return v || "";
    }
    problems.push(path + " not a string");
    return "";
  }

  function absentModality() {
    return { present: false, label: null, probs: null, weight: null };
  }

  function modality(mods, name, problems) {
    const path = "modalities." + name;
    const m = mods[name];
    if (!isObject(m)) {
      problems.push(path + " missing");
      return absentModality();
    }
    if (typeof m.present !== "boolean") {
      problems.push(path + ".present not a boolean");
    }
    const weight = number(m, "router_weight", path + ".router_weight", 0, 1, problems);
    if (m.present !== true) {
      return { present: false, label: null, probs: null, weight: weight };
    }
    return {
      present: true,
      label: label(m.label, path + ".label", problems),
      probs: probs(m.probs, path + ".probs", problems),
      weight: weight,
    };
  }

  function similarity(c, problems) {
    const s = isObject(c) ? c.embedding_similarity : undefined;
    const shaped = Array.isArray(s) && s.length === 3 &&
      s.every((row) => Array.isArray(row) && row.length === 3);
    if (!shaped) {
      problems.push("consensus.embedding_similarity " + (s === undefined ? "missing" : "not a 3x3 array"));
      return null;
    }
    const bound = 1 + SIMILARITY_TOLERANCE;
    return s.map((row, i) => row.map((v, j) => {
      if (typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= bound) {
        return v;
      }
      problems.push("consensus.embedding_similarity[" + i + "][" + j + "] not a number in [-1, 1]");
      return null;
    }));
  }

  function windowOf(w, problems) {
    if (!isObject(w)) {
      problems.push("window missing");
      return { kind: null, seq: null, end: null };
    }
    const kind = typeof w.kind === "string" && w.kind !== "" ? w.kind : null;
    if (kind === null) {
      problems.push("window.kind missing");
    }
    const seq = Number.isSafeInteger(w.seq) && w.seq >= 0 ? w.seq : null;
    if (seq === null) {
      problems.push("window.seq not a non-negative integer");
    }
    const end = typeof w.end === "string" ? new Date(w.end) : null;
    if (end === null || Number.isNaN(end.getTime())) {
      problems.push("window.end not a time");
      return { kind: kind, seq: seq, end: null };
    }
    return { kind: kind, seq: seq, end: end };
  }

  // parse turns one SSE message into {ev, problems}. ev is null when the
  // message cannot be attributed to a stream; otherwise unusable fields are
  // null and problems says why.
  function parse(data) {
    let raw;
    try {
      raw = JSON.parse(data);
    } catch (e) {
      return { ev: null, problems: ["message is not JSON"] };
    }
    if (!isObject(raw)) {
      return { ev: null, problems: ["message is not a JSON object"] };
    }
    if (typeof raw.stream_id !== "string" || raw.stream_id === "") {
      return { ev: null, problems: ["stream_id missing or not a string"] };
    }
    const problems = [];
    if (raw.schema !== SCHEMA) {
      problems.push("schema is not " + SCHEMA);
    }
    const mods = isObject(raw.modalities) ? raw.modalities : null;
    if (mods === null) {
      problems.push("modalities missing");
    }
    const m = {};
    for (const name of MODALITIES) {
      m[name] = mods === null ? absentModality() : modality(mods, name, problems);
    }
    const model = isObject(raw.model) && typeof raw.model.name === "string" ? raw.model : null;
    if (model === null) {
      problems.push("model.name missing");
    }
    const lat = raw.latency_ms;
    const ev = {
      // score and conflict are read leniently: a message without them is
      // still shown (the fields above say what is malformed).
      score: typeof raw.score === "number" && raw.score >= -1 && raw.score <= 1 ? raw.score : null,
      conflict: isObject(raw.consensus) && raw.consensus.conflict === true,
      stream: raw.stream_id,
      speaker: optionalString(raw.speaker, "speaker", problems),
      window: windowOf(raw.window, problems),
      label: label(raw.label, "label", problems),
      probs: probs(raw.probs, "probs", problems),
      modalities: m,
      agreement: number(raw.consensus, "agreement", "consensus.agreement", 0, 1, problems),
      similarity: similarity(raw.consensus, problems),
      transcript: optionalString(raw.transcript, "transcript", problems),
      model: model === null ? "" : [model.name, model.version].filter((s) => typeof s === "string" && s).join(" "),
      latency: {
        features: number(lat, "features", "latency_ms.features", 0, Infinity, problems),
        model: number(lat, "model", "latency_ms.model", 0, Infinity, problems),
        endToEnd: number(lat, "end_to_end", "latency_ms.end_to_end", 0, Infinity, problems),
      },
    };
    return { ev: ev, problems: problems };
  }

  // ---- State ----

  function streamOption(id) {
    for (const o of $("stream").options) {
      if (o.value === id) {
        return o;
      }
    }
    return null;
  }

  function evict() {
    let oldest = null;
    for (const [id, s] of state.streams) {
      if (id !== state.selected && (oldest === null || s.updated < state.streams.get(oldest).updated)) {
        oldest = id;
      }
    }
    if (oldest !== null) {
      state.streams.delete(oldest);
      const o = streamOption(oldest);
      if (o !== null) {
        o.remove();
      }
    }
  }

  function addStream(id) {
    const s = { history: [], last: null, lastSeq: new Map(), updated: 0, scores: [], alerts: [], summary: null, speaker: "" };
    state.streams.set(id, s);
    const select = $("stream");
    if (state.selected === "") {
      select.textContent = "";
      select.disabled = false;
      state.selected = id;
    }
    const o = document.createElement("option");
    o.value = id;
    o.textContent = id;
    select.append(o);
    select.value = state.selected;
    return s;
  }

  function accept(ev) {
    const s = state.streams.get(ev.stream) || addStream(ev.stream);
    const w = ev.window;
    let fresh = true;
    if (w.kind !== null && w.seq !== null) {
      const prev = s.lastSeq.get(w.kind);
      if (w.seq === prev) {
        fresh = false; // the same window delivered again
      } else if (w.seq < prev) {
        s.history = []; // a restarted or replayed stream starts afresh
      } else if (prev !== undefined) {
        state.seenDrops += w.seq - prev - 1;
      }
      s.lastSeq.set(w.kind, w.seq);
    }
    if (fresh && ev.probs !== null) {
      s.history.push({ probs: ev.probs, label: ev.label });
      if (s.history.length > HISTORY) {
        s.history.shift();
      }
    }
    if (fresh && ev.score !== null) {
      s.scores.push(ev.score);
      if (s.scores.length > SPARK) {
        s.scores.shift();
      }
    }
    if (ev.speaker !== "") {
      s.speaker = ev.speaker;
    }
    s.last = ev;
    s.updated = ++state.tick;
    if (state.streams.size > MAX_STREAMS) {
      evict();
    }
  }

  // handleRecord takes an alert or a call summary: a JSON object with a
  // stream_id and the fields check accepts; the record is kept on its
  // stream by keep.
  function handleRecord(data, check, keep) {
    state.messages++;
    let raw = null;
    try {
      raw = JSON.parse(data);
    } catch (e) {
      raw = null;
    }
    if (!isObject(raw) || typeof raw.stream_id !== "string" || raw.stream_id === "" || !check(raw)) {
      state.malformed++;
      state.lastProblem = "alert or summary malformed";
      scheduleRender();
      return;
    }
    const s = state.streams.get(raw.stream_id) || addStream(raw.stream_id);
    keep(s, raw);
    s.updated = ++state.tick;
    if (state.streams.size > MAX_STREAMS) {
      evict();
    }
    scheduleRender();
  }

  function isStrings(v) {
    return Array.isArray(v) && v.every((x) => typeof x === "string");
  }

  function handleAlert(data) {
    handleRecord(data, (a) => typeof a.rule === "string" && typeof a.value === "number" && isStrings(a.event_ids),
      (s, a) => {
        s.alerts.push({ rule: a.rule, condition: typeof a.condition === "string" ? a.condition : "", value: a.value,
          speaker: typeof a.speaker === "string" ? a.speaker : "", events: a.event_ids });
        if (s.alerts.length > MAX_ALERTS) {
          s.alerts.shift();
        }
      });
  }

  function handleSummary(data) {
    handleRecord(data, (c) => Array.isArray(c.speakers) && c.speakers.every(isObject) && typeof c.windows === "number",
      (s, c) => {
        s.summary = c;
      });
  }

  function handle(data) {
    state.messages++;
    const r = parse(data);
    if (r.problems.length > 0) {
      state.malformed++;
      state.lastProblem = r.problems[0] + (r.problems.length > 1 ? " (+" + (r.problems.length - 1) + " more)" : "");
    }
    if (r.ev !== null) {
      accept(r.ev);
    }
    scheduleRender();
  }

  // ---- Rendering ----

  function fmt(v, digits) {
    return v === null ? "\u2014" : v.toFixed(digits);
  }

  function setLabel(el, l, absent) {
    const text = absent ? "absent" : (l === null ? "unknown" : l);
    el.textContent = text;
    el.dataset.label = text;
  }

  function setWidth(el, frac) {
    el.style.width = frac === null ? "0" : (100 * Math.min(Math.max(frac, 0), 1)).toFixed(1) + "%";
  }

  // The heat map runs from PALE (0) to BLUE (1) for similar embeddings and
  // to ORANGE (-1) for opposed ones.
  const PALE = [243, 246, 250];
  const BLUE = [24, 86, 166];
  const ORANGE = [176, 78, 22];

  // luminance is the WCAG relative luminance of an sRGB colour.
  function luminance(rgb) {
    const lin = rgb.map((c) => {
      const v = c / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }

  // heatColor maps a cosine in [-1, 1] to a background colour and the text
  // colour, black or white, that contrasts more with it (at least 4.5:1).
  function heatColor(v) {
    const end = v >= 0 ? BLUE : ORANGE;
    const t = Math.min(Math.abs(v), 1);
    const rgb = PALE.map((c, i) => Math.round(c + t * (end[i] - c)));
    const l = luminance(rgb);
    const onWhite = 1.05 / (l + 0.05);
    const onBlack = (l + 0.05) / 0.05;
    return { bg: "rgb(" + rgb.join(", ") + ")", fg: onWhite >= onBlack ? "#fff" : "#000" };
  }

  function renderFused(ev) {
    setLabel($("fused-label"), ev.label, false);
    for (const row of $("fused-probs").children) {
      const p = ev.probs === null ? null : ev.probs[row.dataset.class];
      setWidth(row.querySelector(".fill"), p);
      row.querySelector(".num").textContent = fmt(p, 2);
    }
    $("agreement").textContent = fmt(ev.agreement, 2);
    $("speaker").textContent = ev.speaker;
    const w = ev.window;
    const parts = [];
    if (w.kind !== null) {
      parts.push(w.kind + (w.seq === null ? "" : " #" + w.seq));
    }
    if (w.end !== null) {
      parts.push("ends " + w.end.toLocaleTimeString());
    }
    $("window").textContent = parts.join(", ");
  }

  function renderModalities(ev) {
    for (const name of MODALITIES) {
      const m = ev.modalities[name];
      const li = $("mod-" + name);
      li.dataset.present = String(m.present);
      setLabel($("mod-" + name + "-label"), m.label, !m.present);
      const bar = li.querySelector(".bar");
      setWidth(bar.querySelector(".fill"), m.weight);
      if (m.weight === null) {
        bar.removeAttribute("aria-valuenow");
      } else {
        bar.setAttribute("aria-valuenow", m.weight.toFixed(2));
      }
      $("mod-" + name + "-weight").textContent = fmt(m.weight, 2);
      for (const seg of li.querySelector(".stack").children) {
        setWidth(seg, m.probs === null ? null : m.probs[seg.dataset.class]);
      }
    }
  }

  function renderHeat(ev) {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const td = $("heat-" + i + "-" + j);
        const v = ev.similarity === null ? null : ev.similarity[i][j];
        if (v === null) {
          td.textContent = "n/a";
          td.style.backgroundColor = "";
          td.style.color = "";
          continue;
        }
        const c = heatColor(v);
        td.textContent = v.toFixed(2);
        td.style.backgroundColor = c.bg;
        td.style.color = c.fg;
      }
    }
  }

  function svg(name, attrs) {
    const el = document.createElementNS(SVG, name);
    for (const k in attrs) {
      el.setAttribute(k, attrs[k]);
    }
    return el;
  }

  // renderChart draws the probability lines over a strip of fused labels,
  // in the 640 x 200 user units of the chart's viewBox.
  function renderChart(history) {
    const chart = $("chart");
    for (const el of Array.from(chart.children)) {
      if (el.tagName !== "desc") {
        el.remove();
      }
    }
    const left = 36, right = 632, top = 8, plot = 156, stripY = 176, stripH = 16;
    const step = (right - left) / (HISTORY - 1);
    const x = (i) => left + i * step;
    const y = (p) => top + plot * (1 - p);
    for (const p of [0, 0.5, 1]) {
      chart.append(svg("line", { x1: left, x2: right, y1: y(p), y2: y(p), class: "gridline" }));
      const tick = svg("text", { x: left - 6, y: y(p) + 4, class: "tick" });
      tick.textContent = String(p);
      chart.append(tick);
    }
    const label = svg("text", { x: left - 6, y: stripY + 12, class: "tick" });
    label.textContent = "label";
    chart.append(label);
    history.forEach((h, i) => {
      chart.append(svg("rect", {
        x: x(i) - step / 2 + 0.5, y: stripY, width: step - 1, height: stripH,
        class: "strip", "data-label": h.label === null ? "unknown" : h.label,
      }));
    });
    if (history.length === 0) {
      $("chart-desc").textContent = CHART_DESC;
      return;
    }
    const last = history.length - 1;
    const latest = history[last];
    $("chart-desc").textContent = CHART_DESC + " " + history.length + " windows; the latest is " +
      (latest.label === null ? "unknown" : latest.label) + ": " +
      CLASSES.map((c) => c + " " + latest.probs[c].toFixed(2)).join(", ") + ".";
    for (const c of CLASSES) {
      const points = history.map((h, i) => x(i).toFixed(1) + "," + y(h.probs[c]).toFixed(1));
      chart.append(svg("polyline", { points: points.join(" "), class: "line", "data-class": c }));
      chart.append(svg("circle", { cx: x(last), cy: y(history[last].probs[c]), r: 3.5, class: "dot", "data-class": c }));
    }
  }

  function renderCounters() {
    $("count-messages").textContent = String(state.messages);
    $("count-streams").textContent = String(state.streams.size);
    const server = state.serverDrops !== null;
    $("count-drops").textContent = String(server ? state.serverDrops : state.seenDrops);
    $("drops-source").textContent = server ? "(server)" : "(seen)";
    $("count-malformed").textContent = String(state.malformed);
    $("malformed").dataset.count = String(state.malformed);
    $("malformed-last").textContent = state.lastProblem === "" ? "" : "last malformed: " + state.lastProblem;
  }

  // sortValue is what the calls list sorts a stream by.
  function sortValue(id, s, key) {
    const ev = s.last;
    switch (key) {
      case "stream": return id;
      case "speaker": return s.speaker;
      case "label": return ev === null || ev.label === null ? "" : ev.label;
      case "score": return ev === null || ev.score === null ? -2 : ev.score;
      case "alerts": return s.alerts.length;
      case "conflict": return ev !== null && ev.conflict ? 1 : 0;
    }
    return s.updated;
  }

  function sparkline(scores) {
    const el = svg("svg", { viewBox: "0 0 120 24", role: "img" });
    const desc = svg("desc", {});
    desc.textContent = "score over the last " + scores.length + " windows";
    el.append(desc, svg("line", { x1: 0, x2: 120, y1: 12, y2: 12 }));
    if (scores.length > 0) {
      const step = scores.length > 1 ? 120 / (scores.length - 1) : 0;
      const pts = scores.map((v, i) => (i * step).toFixed(1) + "," + (12 - 11 * v).toFixed(1));
      el.append(svg("polyline", { points: pts.join(" ") }));
    }
    return el;
  }

  // renderCalls draws the list of streams, sorted by the chosen column.
  function renderCalls() {
    const ids = [...state.streams.keys()];
    const dir = state.sortDir === "asc" ? 1 : -1;
    ids.sort((a, b) => {
      const va = sortValue(a, state.streams.get(a), state.sortKey);
      const vb = sortValue(b, state.streams.get(b), state.sortKey);
      return (va < vb ? -1 : va > vb ? 1 : a < b ? -1 : a > b ? 1 : 0) * dir;
    });
    const rows = [];
    for (const id of ids) {
      const s = state.streams.get(id);
      const ev = s.last;
      const tr = document.createElement("tr");
      tr.dataset.stream = id;
      tr.setAttribute("aria-selected", id === state.selected ? "true" : "false");
      const cell = (text, cls) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) {
          td.className = cls;
        }
        tr.append(td);
        return td;
      };
      cell(id, "stream");
      cell(s.speaker === "" ? "\u2014" : s.speaker, "speaker");
      const l = cell("", "label-cell");
      const span = document.createElement("span");
      span.className = "label";
      setLabel(span, ev === null ? null : ev.label, false);
      l.append(span);
      cell(ev === null || ev.score === null ? "\u2014" : (ev.score >= 0 ? "+" : "") + ev.score.toFixed(2), "score");
      cell("", "spark").append(sparkline(s.scores));
      const a = cell(s.alerts.length === 0 ? "0" : s.alerts.length + " (" + s.alerts[s.alerts.length - 1].rule + ")", "alerts");
      a.dataset.count = String(s.alerts.length);
      const c = cell(ev !== null && ev.conflict ? "conflict" : "", "conflict");
      c.dataset.conflict = ev !== null && ev.conflict ? "true" : "false";
      cell(s.summary !== null ? "ended" : "live", "state");
      rows.push(tr);
    }
    $("calls-body").replaceChildren(...rows);
    $("count-calls").textContent = String(ids.length);
    for (const b of document.querySelectorAll("#calls th button")) {
      if (b.dataset.sort === state.sortKey) {
        b.dataset.dir = state.sortDir;
      } else {
        delete b.dataset.dir;
      }
    }
  }

  // renderSummary shows the selected call's alerts and, once it ended, its
  // summary per speaker.
  function renderSummary(id, s) {
    $("summary-stream").textContent = id;
    const items = s.alerts.map((a) => {
      const li = document.createElement("li");
      li.textContent = a.rule + (a.speaker === "" ? "" : " [" + a.speaker + "]") + ": " + a.condition +
        " (value " + Number(a.value.toPrecision(4)) + ", events " + a.events.join(", ") + ")";
      return li;
    });
    $("alert-list").replaceChildren(...items);
    const c = s.summary;
    if (c === null) {
      $("summary-state").textContent = "call in progress; its summary comes when it ends";
      $("summary-speakers").replaceChildren();
      return;
    }
    $("summary-state").textContent = "ended (" + String(c.reason) + "): " + c.windows + " windows";
    const num = (v, d) => (typeof v === "number" ? (v >= 0 && d > 0 ? "+" : "") + v.toFixed(d) : "\u2014");
    const blocks = c.speakers.map((sp) => {
      const div = document.createElement("div");
      const h = document.createElement("h3");
      h.textContent = typeof sp.speaker === "string" && sp.speaker !== "" ? sp.speaker : "(no speaker)";
      const dl = document.createElement("dl");
      const share = isObject(sp.share) ? sp.share : {};
      const rows = [
        ["windows", String(sp.windows)],
        ["labels", CLASSES.map((k) => k + " " + (typeof share[k] === "number" ? Math.round(100 * share[k]) + "%" : "\u2014")).join(", ")],
        ["mean score", num(sp.mean_score, 2)],
        ["trend", sp.trend_per_minute === null ? "\u2014" : num(sp.trend_per_minute, 2) + " / min"],
        ["first third, last third", num(sp.first_third_mean_score, 2) + ", " + num(sp.last_third_mean_score, 2)],
        ["most negative", String(sp.most_negative_event_id) + " (" + num(sp.most_negative_score, 2) + ")"],
        ["conflict windows", String(sp.conflict_windows)],
        ["disagreed most", typeof sp.most_disagreeing_modality === "string" && sp.most_disagreeing_modality !== "" ? sp.most_disagreeing_modality : "none"],
      ];
      for (const [k, v] of rows) {
        const dt = document.createElement("dt");
        dt.textContent = k;
        const dd = document.createElement("dd");
        dd.textContent = v;
        dl.append(dt, dd);
      }
      div.append(h, dl);
      return div;
    });
    $("summary-speakers").replaceChildren(...blocks);
  }

  function render() {
    renderCounters();
    renderPreview();
    renderCalls();
    if (state.streams.has(state.selected)) {
      renderSummary(state.selected, state.streams.get(state.selected));
    }
    const s = state.streams.get(state.selected);
    if (s === undefined || s.last === null) {
      return;
    }
    const ev = s.last;
    renderFused(ev);
    renderModalities(ev);
    renderHeat(ev);
    renderChart(s.history);
    $("transcript").textContent = ev.transcript === "" ? "\u2014" : ev.transcript;
    $("lat-features").textContent = fmt(ev.latency.features, 1);
    $("lat-model").textContent = fmt(ev.latency.model, 1);
    $("lat-end-to-end").textContent = fmt(ev.latency.endToEnd, 1);
    $("model").textContent = ev.model === "" ? "" : "model " + ev.model;
  }

  // ---- Preview: the latest frame of each video stream (feed "preview"). ----

  const PREVIEW_MAX_WIDTH = 1280; // preview.MaxWidth
  const PREVIEW_MAX_CLASSES = 16;
  const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
  const previews = {
    byStream: new Map(), // stream id -> the latest valid message
    latest: "", // the stream of the latest message
    shown: null, // the message on screen
    frames: 0,
  };

  // parsePreview returns the preview message in data, or null after
  // counting it as malformed.
  function parsePreview(data) {
    const problems = [];
    let m = null;
    try {
      m = JSON.parse(data);
    } catch (e) {
      problems.push("preview not JSON");
    }
    if (m !== null) {
      if (!isObject(m) || typeof m.stream !== "string" || m.stream === "") {
        problems.push("preview stream missing");
      }
      number(m, "time_ms", "preview time_ms", 0, Number.MAX_VALUE, problems);
      number(m, "width", "preview width", 1, PREVIEW_MAX_WIDTH, problems);
      number(m, "height", "preview height", 1, 16 * PREVIEW_MAX_WIDTH, problems);
      if (!isObject(m) || typeof m.jpeg !== "string" || m.jpeg === "" || !BASE64.test(m.jpeg)) {
        problems.push("preview jpeg not base64");
      }
      const faces = isObject(m) && Array.isArray(m.faces) ? m.faces : null;
      if (faces === null) {
        problems.push("preview faces not a list");
      } else {
        faces.forEach((f, i) => {
          for (const k of ["x", "y", "w", "h", "score"]) {
            number(f, k, "preview faces[" + i + "]." + k, 0, 1, problems);
          }
          if (!isObject(f) || typeof f.scored !== "boolean") {
            problems.push("preview faces[" + i + "].scored not a boolean");
          }
        });
      }
      const expr = isObject(m) && Array.isArray(m.expression) ? m.expression : null;
      if (expr === null || expr.length > PREVIEW_MAX_CLASSES) {
        problems.push("preview expression not a short list");
      } else {
        expr.forEach((p, i) => {
          if (!isObject(p) || typeof p.label !== "string") {
            problems.push("preview expression[" + i + "].label missing");
          }
          number(p, "p", "preview expression[" + i + "].p", 0, 1, problems);
        });
      }
    }
    if (problems.length > 0) {
      state.malformed++;
      state.lastProblem = problems[0];
      scheduleRender();
      return null;
    }
    return m;
  }

  function handlePreview(data) {
    const m = parsePreview(data);
    if (m === null) {
      return;
    }
    if (!previews.byStream.has(m.stream) && previews.byStream.size >= MAX_STREAMS) {
      previews.byStream.delete(previews.byStream.keys().next().value);
    }
    previews.byStream.delete(m.stream);
    previews.byStream.set(m.stream, m);
    previews.latest = m.stream;
    previews.frames++;
    schedulePreview();
  }

  // renderPreview shows the selected stream's latest frame, or the latest
  // frame of any stream when the selected one has none, with a box per face
  // placed in fractions of the image and the scored face's expression.
  function renderPreview() {
    const m = previews.byStream.get(state.selected) || previews.byStream.get(previews.latest);
    if (m === undefined || m === previews.shown) {
      return;
    }
    previews.shown = m;
    $("preview").hidden = false;
    $("preview-stream").textContent = m.stream;
    const img = $("preview-img");
    img.width = m.width;
    img.height = m.height;
    img.src = "data:image/jpeg;base64," + m.jpeg;
    img.dataset.timeMs = String(m.time_ms);
    const boxes = m.faces.map((f) => {
      const d = document.createElement("div");
      d.className = f.scored ? "face scored" : "face";
      d.style.left = 100 * f.x + "%";
      d.style.top = 100 * f.y + "%";
      d.style.width = 100 * Math.min(f.w, 1 - f.x) + "%";
      d.style.height = 100 * Math.min(f.h, 1 - f.y) + "%";
      Object.assign(d.dataset, { x: String(f.x), y: String(f.y), w: String(f.w), h: String(f.h) });
      d.title = (f.scored ? "scored face" : "face") + ", detector score " + fmt(f.score, 2);
      return d;
    });
    $("preview-boxes").replaceChildren(...boxes);
    $("preview-faces").textContent = String(m.faces.length);
    $("preview-time").textContent = fmt(m.time_ms / 1000, 2);
    $("preview-count").textContent = String(previews.frames);
    const rows = m.expression.map((p) => {
      const div = document.createElement("div");
      div.className = "prob";
      const dt = document.createElement("dt");
      dt.textContent = p.label;
      const dd = document.createElement("dd");
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.className = "fill";
      setWidth(fill, p.p);
      bar.append(fill);
      const num = document.createElement("span");
      num.className = "num";
      num.textContent = fmt(p.p, 2);
      dd.append(bar, num);
      div.append(dt, dd);
      return div;
    });
    $("preview-expr").replaceChildren(...rows);
  }

  let previewPending = false;

  function schedulePreview() {
    if (!previewPending) {
      previewPending = true;
      requestAnimationFrame(() => {
        previewPending = false;
        renderPreview();
      });
    }
  }

  let renderPending = false;

  function scheduleRender() {
    if (!renderPending) {
      renderPending = true;
      requestAnimationFrame(() => {
        renderPending = false;
        render();
      });
    }
  }

  // ---- Feeds ----

  function setConnection(text, stateName) {
    $("connection").textContent = text;
    document.body.dataset.connection = stateName;
  }

  // subscribe opens the SSE feed at path, handing the data of each event
  // type to its listener. EventSource reconnects by itself after a dropped
  // connection; when it gives up (an HTTP error or a wrong content type)
  // the feed is opened again with exponential backoff up to RETRY_MAX_MS.
  // status hears of each change, as a text and a state name.
  function subscribe(path, listeners, status) {
    let retryMS = RETRY_MIN_MS;
    const open = () => {
      status("connecting", "connecting");
      const source = new EventSource(path);
      source.onopen = () => {
        retryMS = RETRY_MIN_MS;
        status("live", "live");
      };
      for (const [type, listener] of Object.entries(listeners)) {
        source.addEventListener(type, (m) => listener(m.data));
      }
      source.onerror = () => {
        if (source.readyState !== EventSource.CLOSED) {
          status("reconnecting", "reconnecting");
          return;
        }
        status("offline, retrying in " + Math.round(retryMS / 1000) + " s", "offline");
        setTimeout(open, retryMS);
        retryMS = Math.min(2 * retryMS, RETRY_MAX_MS);
      };
    };
    open();
  }

  // sample splits one Prometheus text line into its metric name and value,
  // or returns null for comments, blank and unreadable lines.
  function sample(line) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (m === null) {
      return null;
    }
    let i = m[1].length;
    if (line[i] === "{") {
      let quoted = false;
      for (i++; i < line.length && (quoted || line[i] !== "}"); i++) {
        if (line[i] === "\\") {
          i++;
        } else if (line[i] === '"') {
          quoted = !quoted;
        }
      }
      i++;
    }
    const value = Number(line.slice(i).trim().split(/\s+/)[0]);
    return Number.isFinite(value) ? { name: m[1], value: value } : null;
  }

  // DROP_METRICS are the counters the page adds up as the server's drops:
  // media dropped by live sources and the aligner (late and overflowing
  // items included, so cmc_aligner_late_total is not added again) and events
  // the SSE sink could not send to clients disconnected for stalling.
  const DROP_METRICS = ["cmc_drops_total", "cmc_sink_http_sse_dropped_total"];

  // dropsOf sums the samples of DROP_METRICS, or returns null when /metrics
  // has none of them.
  function dropsOf(text) {
    let sum = null;
    for (const line of text.split("\n")) {
      const s = sample(line);
      if (s !== null && DROP_METRICS.includes(s.name)) {
        sum = (sum || 0) + s.value;
      }
    }
    return sum;
  }

  async function pollMetrics() {
    try {
      const r = await fetch("metrics", { cache: "no-store" });
      state.serverDrops = r.ok ? dropsOf(await r.text()) : null;
    } catch (e) {
      state.serverDrops = null;
    }
    scheduleRender();
    setTimeout(pollMetrics, METRICS_EVERY_MS);
  }

  // buildModalities makes one row per modality from the row template, with
  // the ids the renderer (and the tests) use: mod-NAME, mod-NAME-label and
  // mod-NAME-weight.
  function buildModalities() {
    const tmpl = $("mod-row").content.firstElementChild;
    for (const name of MODALITIES) {
      const li = tmpl.cloneNode(true);
      li.id = "mod-" + name;
      li.querySelector(".name").textContent = name;
      li.querySelector(".label").id = "mod-" + name + "-label";
      li.querySelector(".num").id = "mod-" + name + "-weight";
      li.querySelector(".bar").setAttribute("aria-label", name + " router weight");
      $("mods").append(li);
    }
  }

  buildModalities();
  $("stream").addEventListener("change", (e) => {
    state.selected = e.target.value;
    scheduleRender();
  });
  $("calls-body").addEventListener("click", (e) => {
    const tr = e.target.closest("tr");
    if (tr !== null && state.streams.has(tr.dataset.stream)) {
      state.selected = tr.dataset.stream;
      $("stream").value = state.selected;
      scheduleRender();
    }
  });
  for (const b of document.querySelectorAll("#calls th button")) {
    b.addEventListener("click", () => {
      if (state.sortKey === b.dataset.sort) {
        state.sortDir = state.sortDir === "asc" ? "desc" : "asc";
      } else {
        state.sortKey = b.dataset.sort;
        state.sortDir = b.dataset.sort === "stream" || b.dataset.sort === "speaker" || b.dataset.sort === "label" ? "asc" : "desc";
      }
      scheduleRender();
    });
  }
  subscribe("events", { [EVENT_TYPE]: handle, alert: handleAlert, call_summary: handleSummary }, setConnection);
  // Served only when the HTTP sink's preview is on: the card stays hidden
  // until a frame arrives.
  subscribe("preview", { preview: handlePreview }, () => {});
  pollMetrics();
})();

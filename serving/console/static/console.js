// railyard console: one page over the gateway's own API. No framework, no build step.
// Every text that comes from the API (answers, passages, file names, reasons) is set with
// textContent, never parsed as HTML.
"use strict";

// The three outcomes of a select answer (railyard.decision), as a person reads them.
const OUTCOMES = { answer: "answered", unsure: "closest passage (unsure)", none: "not in the handbook" };

const KEY_STORAGE = "railyard-key";
const session = { key: sessionStorage.getItem(KEY_STORAGE), me: null };
const chat = { messages: [], thread: newId(), turns: [] };
const passages = new Map();

// --- helpers -------------------------------------------------------------------------------

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, value);
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const usd = (x) => (x === null || x === undefined ? "–" : "$" + Number(x).toFixed(6));
const ms = (x) => (x === null || x === undefined ? "–" : Math.round(Number(x)).toLocaleString("en-US") + " ms");
const pct = (x) => (x === null || x === undefined ? "–" : Math.round(Number(x) * 100) + " %");
const when = (t) => (t ? new Date(Number(t) * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–");
// Short dollars for chart axes: two significant digits below a dollar ($0.0000052).
const usdShort = (x) => (x === 0 ? "$0" : x >= 1 ? "$" + x.toFixed(2) : "$" + Number(x.toPrecision(2)));
const num = (x) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en-US"));

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function headers(extra) {
  const all = { ...(extra || {}) };
  if (session.key) all.Authorization = "Bearer " + session.key;
  return all;
}

async function api(path, options = {}) {
  const init = { method: options.method || "GET", headers: headers(options.headers) };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) askForKey(body && body.error && body.error.message);
    throw new ApiError(response.status, body);
  }
  return body;
}

function table(columns, rows, options = {}) {
  if (!rows.length) return h("p", { class: "empty" }, options.empty || "Nothing to show yet.");
  const head = h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : "" }, c.label)));
  const body = rows.map((row) => {
    const tr = h("tr", { class: options.onclick ? "clickable" : "" },
      columns.map((c) => h("td", { class: c.num ? "num" : "", "data-col": c.key || c.label },
        c.render ? c.render(row) : row[c.key])));
    if (options.onclick) tr.addEventListener("click", () => options.onclick(row));
    return tr;
  });
  return h("div", { class: "table-wrap" },
    h("table", { class: options.class || "" }, h("thead", {}, head), h("tbody", {}, body)));
}

function badge(text, kind) {
  return h("span", { class: "badge " + (kind || "") }, text);
}

function stat(label, value, attrs) {
  return h("div", { class: "stat", ...(attrs || {}) }, h("div", { class: "label" }, label),
    h("div", { class: "value" }, value));
}

function errorBox(error) {
  const text = error instanceof ApiError && error.status === 403
    ? "This page needs an admin key (railyard keys add --project NAME --admin)."
    : "Could not load: " + error.message;
  return h("div", { class: "notice error" }, text,
    error instanceof ApiError && error.status === 403
      ? h("button", { class: "link", onclick: () => askForKey() }, " Use another key") : null);
}

// A bar chart: one bar per label, stacked by series (each {name, values, cls}).
function barChart(labels, series, options = {}) {
  if (!labels.length) return h("p", { class: "empty" }, options.empty || "No data in this period.");
  const width = 640, height = 220, left = 84, bottom = 40, top = 16;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const max = Math.max(...totals, 1e-12);
  const slot = (width - left - 8) / labels.length;
  const bar = Math.min(48, slot * 0.7);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": options.title || "chart" });
  for (const tick of [0, 0.5, 1]) {
    const v = max * tick;
    chart.append(svg("line", { x1: left, x2: width - 4, y1: y(v), y2: y(v), class: "grid" }));
    chart.append(svg("text", { x: left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" },
      options.format ? options.format(v) : v.toFixed(2)));
  }
  labels.forEach((label, i) => {
    const x = left + slot * i + (slot - bar) / 2;
    let base = 0;
    for (const s of series) {
      const v = s.values[i] || 0;
      if (v > 0) {
        chart.append(svg("rect", { x, width: bar, y: y(base + v), height: y(base) - y(base + v),
          class: "bar " + (s.cls || "") }, svg("title", {}, `${s.name} ${label}: ${options.format ? options.format(v) : v}`)));
      }
      base += v;
    }
    chart.append(svg("text", { x: x + bar / 2, y: height - bottom + 16, class: "axis",
      "text-anchor": "middle" }, label));
  });
  const legend = series.length > 1
    ? h("div", { class: "legend" }, series.map((s) => h("span", {}, h("i", { class: "swatch " + (s.cls || "") }), s.name)))
    : null;
  return h("figure", { class: "chart-box" }, options.title ? h("figcaption", {}, options.title) : null, chart, legend);
}

// --- key and identity ----------------------------------------------------------------------

function askForKey(reason) {
  const dialog = document.getElementById("key-dialog");
  document.getElementById("key-error").textContent = reason && session.key ? reason : "";
  if (!dialog.open) dialog.showModal();
}

async function whoami() {
  try {
    session.me = await api("/v1/me");
  } catch (error) {
    session.me = null;
  }
  const who = document.getElementById("who");
  who.replaceChildren();
  if (!session.me) {
    who.append(h("button", { class: "link", onclick: () => askForKey() }, "Enter API key"));
    return;
  }
  if (!session.me.keys) who.append(badge("no keys: operator on loopback", "muted"));
  else who.append(h("span", {}, "project ", h("b", {}, session.me.project)),
    ...(session.me.admin ? [badge("admin", "admin")] : []),
    h("button", { class: "link", onclick: () => askForKey() }, "change key"));
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    session.key = document.getElementById("key-input").value.trim();
    sessionStorage.setItem(KEY_STORAGE, session.key);
    await whoami();
    if (session.me) {
      document.getElementById("key-dialog").close();
      route();
    } else {
      document.getElementById("key-error").textContent = "That key was not accepted.";
    }
  });
  window.addEventListener("hashchange", route);
  whoami().then(route);
});

// --- pages ---------------------------------------------------------------------------------

const PAGES = { playground, traces, trace, spend, knowledge, experiments };

function route() {
  const [name, arg] = (location.hash.replace(/^#\/?/, "") || "playground").split("/");
  const page = PAGES[name] || playground;
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.page === (name === "trace" ? "traces" : name));
  }
  const main = document.getElementById("main");
  main.replaceChildren();
  main.dataset.page = name;
  page(main, arg ? decodeURIComponent(arg) : undefined);
}

// Playground: streamed answers, citations, badges, rails, feedback, a thread across turns.

function playground(main) {
  const log = h("div", { class: "chat-log", id: "chat-log" });
  const panel = h("aside", { class: "passage-panel", id: "passage" },
    h("h3", {}, "Passage"), h("p", { class: "empty" }, "Select a citation marker [n] under an answer to read the passage it points at."));
  const input = h("textarea", { id: "question", rows: 2, placeholder: "Ask the knowledge base…" });
  const send = h("button", { id: "send", type: "submit" }, "Send");
  const form = h("form", { class: "ask", onsubmit: (e) => { e.preventDefault(); ask(input, send, log, panel); } },
    input, send);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  const reset = h("button", { class: "link", onclick: () => {
    chat.messages = []; chat.turns = []; chat.thread = newId(); route();
  } }, "New thread");
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Playground"),
    h("span", { class: "muted small" }, "thread ", h("code", {}, chat.thread.slice(0, 8)), " · "), reset));
  for (const turn of chat.turns) log.append(turn);
  if (!chat.turns.length) log.append(h("p", { class: "empty", id: "chat-empty" }, "Ask a question about your documents. Answers stream through /v1/chat/completions, as your apps get them."));
  main.append(h("div", { class: "playground" }, h("section", { class: "chat" }, log, form), panel));
  input.focus();
}

async function ask(input, send, log, panel) {
  const question = input.value.trim();
  if (!question) return;
  input.value = "";
  send.disabled = true;
  document.getElementById("chat-empty")?.remove();
  chat.messages.push({ role: "user", content: question });
  const user = h("div", { class: "turn user" }, h("div", { class: "bubble" }, question));
  const text = h("div", { class: "answer-text" });
  const meta = h("div", { class: "meta" }, h("span", { class: "muted small streaming" }, "waiting for the first token…"));
  const answer = h("div", { class: "turn assistant" }, h("div", { class: "bubble" }, text, meta));
  chat.turns.push(user, answer);
  log.append(user, answer);
  answer.scrollIntoView({ block: "end" });
  const started = performance.now();
  let ttft = null, info = null, usage = null, failure = null, content = "";
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", "X-Railyard-Thread-Id": chat.thread }),
      body: JSON.stringify({ model: "railyard", messages: chat.messages, stream: true,
        stream_options: { include_usage: true } }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      if (response.status === 401) askForKey();
      throw new ApiError(response.status, body);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        const data = event.split(/\r?\n/).filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart()).join("\n");
        if (!data || data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) failure = chunk.error;
        if (chunk.railyard) info = chunk.railyard;
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices || []) {
          const delta = choice.delta && choice.delta.content;
          if (delta) {
            if (ttft === null) ttft = performance.now() - started;
            content += delta;
            text.textContent = content;
          }
        }
      }
    }
  } catch (error) {
    failure = error instanceof ApiError ? (error.body && error.body.error) || { message: error.message } : { message: error.message };
  }
  const total = performance.now() - started;
  chat.messages.push({ role: "assistant", content });
  meta.replaceChildren(...answerMeta({ info, usage, failure, ttft, total, panel }));
  send.disabled = false;
  answer.scrollIntoView({ block: "end" });
}

function answerMeta({ info, usage, failure, ttft, total, panel }) {
  const out = [];
  if (failure) {
    const rail = failure.code === "content_blocked" || failure.type === "guardrails_violation";
    out.push(h("div", { class: "notice " + (rail ? "blocked" : "error"), "data-kind": rail ? "blocked" : "error" },
      rail ? "Blocked: " : "Error: ", failure.message || "request failed"));
  }
  if (!info) return out;
  const blockedVerdicts = (info.rails || []).filter((r) => r.decision && r.decision !== "pass" && r.decision !== "allow");
  if (info.route === "blocked" && !failure) {
    const verdict = blockedVerdicts[0];
    out.push(h("div", { class: "notice blocked", "data-kind": "blocked" },
      verdict ? `Blocked by the '${verdict.name}' rail (${verdict.stage || "rail"}): ${verdict.reason || verdict.decision}`
        : "Blocked by a rail."));
  }
  if (info.citations && info.citations.length) {
    out.push(h("div", { class: "citations" }, h("span", { class: "muted small" }, "Sources "),
      info.citations.map((c, i) => h("button", {
        class: "cite", "data-chunk": c.chunk_id, title: c.source,
        onclick: () => showPassage(panel, c, i + 1),
      }, `[${i + 1}]`)),
      h("ol", { class: "sources" }, info.citations.map((c) => h("li", {}, h("code", {}, c.source))))));
  }
  out.push(h("div", { class: "badges" },
    badge(info.route, "route route-" + info.route),
    badge(info.answer_mode, "mode"),
    info.decision ? h("span", { class: "badge decision-" + info.decision, "data-decision": info.decision,
      title: "how sure railyard is that the handbook answers this (calibrated confidence)" },
      `${OUTCOMES[info.decision] || info.decision} · ${Math.round((info.confidence || 0) * 100)}%`) : null,
    info.model_called === false ? badge("no model call", "muted") : null,
    usage ? badge(`${usage.prompt_tokens} in · ${usage.completion_tokens} out tokens`, "tokens") : null,
    badge(usd(info.cost_usd), "cost"),
    h("span", { class: "badge ttft", title: "time to the first token, measured in this browser" },
      "TTFT " + (ttft === null ? "–" : ms(ttft))),
    badge("total " + ms(total), "muted"),
    badge(info.prompt_version, "muted")));
  if (info.rails && info.rails.length) {
    out.push(h("details", { class: "rails" }, h("summary", {}, `Rails (${info.rails.length})`),
      h("ul", {}, info.rails.map((r) => h("li", {}, badge(r.decision, "decision decision-" + r.decision),
        " ", h("b", {}, r.name), r.stage ? ` · ${r.stage}` : "", r.reason ? ` — ${r.reason}` : "",
        r.latency_ms !== undefined ? h("span", { class: "muted" }, ` (${ms(r.latency_ms)})`) : null)))));
  }
  const thanks = h("span", { class: "muted small feedback-status" });
  const vote = (score, button) => async () => {
    try {
      await api("/v1/feedback", { method: "POST", body: { trace_id: info.trace_id, score } });
      thanks.textContent = "Feedback recorded.";
      for (const b of button.parentElement.querySelectorAll("button.vote")) b.disabled = true;
      button.classList.add("chosen");
    } catch (error) {
      thanks.textContent = "Feedback failed: " + error.message;
    }
  };
  const up = h("button", { class: "vote", title: "Good answer (score 1)", "aria-label": "thumbs up" }, "✓ Helpful");
  const down = h("button", { class: "vote", title: "Bad answer (score 0)", "aria-label": "thumbs down" }, "✗ Not helpful");
  up.addEventListener("click", vote(1, up));
  down.addEventListener("click", vote(0, down));
  out.push(h("div", { class: "actions" }, up, down, thanks,
    h("a", { href: "#/trace/" + info.trace_id, class: "trace-link" }, "trace " + info.trace_id.slice(0, 8) + " →")));
  return out;
}

async function showPassage(panel, citation, number) {
  panel.replaceChildren(h("h3", {}, `Passage [${number}]`), h("p", { class: "muted" }, "Loading…"));
  try {
    if (!passages.has(citation.chunk_id)) {
      passages.set(citation.chunk_id, await api("/v1/passages/" + encodeURIComponent(citation.chunk_id)));
    }
    const p = passages.get(citation.chunk_id);
    panel.replaceChildren(h("h3", {}, `Passage [${number}]`),
      h("div", { class: "source" }, "Source file ", h("code", { id: "passage-source" }, p.source)),
      p.heading ? h("div", { class: "muted small" }, p.heading) : null,
      h("div", { class: "muted small" }, `chunk ${p.chunk_id} · position ${p.position} · score ${citation.score === null ? "–" : Number(citation.score).toFixed(3)}`),
      h("blockquote", { id: "passage-text" }, p.text));
  } catch (error) {
    panel.replaceChildren(h("h3", {}, `Passage [${number}]`), errorBox(error));
  }
}

// Traces: a filterable list; a trace page with the span waterfall.

async function traces(main) {
  const form = h("form", { class: "filters", id: "trace-filters" });
  const params = new URLSearchParams(sessionStorage.getItem("railyard-trace-filters") || "since_s=86400");
  const field = (name, label, control) => {
    control.name = name;
    if (params.has(name)) control.value = params.get(name);
    return h("label", {}, label, control);
  };
  const select = (options) => h("select", {}, options.map(([v, t]) => h("option", { value: v }, t)));
  form.append(...[
    field("since_s", "Time", select([["3600", "last hour"], ["86400", "last 24 h"], ["604800", "last 7 days"], ["2592000", "last 30 days"], ["", "all"]])),
    session.me && session.me.admin ? field("project", "Project", h("input", { placeholder: "all" })) : null,
    field("route", "Route", select([["", "all"], ["local", "local"], ["fallback", "fallback"], ["cache", "cache"], ["blocked", "blocked"]])),
    field("outcome", "Outcome", select([["", "all"], ["generated", "generated"], ["selected", "selected"], ["extractive", "extractive"], ["no_context", "no context"], ["refused", "refused"], ["blocked", "blocked by a rail"]])),
    h("button", { type: "submit" }, "Apply")].filter(Boolean));
  const results = h("div", { id: "trace-results" });
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Traces")), form, results);
  const load = async () => {
    const query = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) query.set(k, v);
    sessionStorage.setItem("railyard-trace-filters", query.toString());
    query.set("limit", "200");
    results.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    try {
      const { data } = await api("/v1/traces?" + query);
      results.replaceChildren(h("p", { class: "muted small" }, `${data.length} trace${data.length === 1 ? "" : "s"}, newest first`),
        table([
          { label: "Time", render: (r) => when(r.created) },
          { label: "Project", key: "project" },
          { label: "User", render: (r) => r.user || "–" },
          { label: "Route", render: (r) => badge(r.route, "route route-" + r.route) },
          { label: "Outcome", key: "outcome" },
          { label: "Prompt", render: (r) => r.prompt_version || "–" },
          { label: "Latency", num: true, key: "latency_ms", render: (r) => ms(r.latency_ms) },
          { label: "Cost", num: true, key: "cost_usd", render: (r) => usd(r.cost_usd) },
        ], data, { onclick: (r) => (location.hash = "#/trace/" + r.trace_id), class: "traces",
          empty: "No traces match. Ask something in the Playground, or widen the filters." }));
    } catch (error) {
      results.replaceChildren(errorBox(error));
    }
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
}

async function trace(main, id) {
  main.append(h("div", { class: "page-head" }, h("a", { href: "#/traces" }, "← Traces"), h("h1", {}, "Trace ", h("code", {}, id))));
  let t;
  try {
    t = await api("/v1/traces/" + encodeURIComponent(id));
  } catch (error) {
    main.append(errorBox(error));
    return;
  }
  const g = t.generation || {};
  main.append(h("div", { class: "stats", id: "trace-stats" },
    stat("Route", badge(t.route, "route route-" + t.route), { "data-field": "route" }),
    stat("Outcome", t.outcome, { "data-field": "outcome" }),
    stat("Prompt version", t.prompt_version || "–", { "data-field": "prompt_version" }),
    stat("Latency", ms(t.latency_ms), { "data-field": "latency_ms" }),
    stat("TTFT", ms(g.ttft_ms), { "data-field": "ttft_ms" }),
    stat("Tokens", `${t.usage.prompt_tokens} in · ${t.usage.completion_tokens} out`, { "data-field": "tokens" }),
    stat("Cost", usd(t.cost_usd), { "data-field": "cost_usd" }),
    stat("Model", g.model || "none called", { "data-field": "model" }),
    stat("Project", t.project), stat("User", t.user || "–"), stat("Time", when(t.created))));
  if (t.blocked) {
    main.append(h("div", { class: "notice blocked" }, `Blocked by the '${t.blocked.name}' rail (${t.blocked.stage}): ${t.blocked.reason || t.blocked.action || ""}`));
  }
  main.append(h("h2", {}, "Spans"), waterfall(t));
  main.append(h("h2", {}, "Rails"), table([
    { label: "Rail", key: "name" },
    { label: "Stage", render: (r) => r.stage || "–" },
    { label: "Decision", render: (r) => badge(r.decision, "decision decision-" + r.decision) },
    { label: "Score", num: true, render: (r) => (r.score === undefined || r.score === null ? "–" : Number(r.score).toFixed(3)) },
    { label: "Latency", num: true, render: (r) => ms(r.latency_ms) },
    { label: "Reason", render: (r) => r.reason || "" },
  ], t.rails || [], { empty: "No rail ran on this request (rails off)." }));
  const chunks = (t.retrieval && t.retrieval.chunks) || [];
  main.append(h("h2", {}, "Retrieved chunks", h("span", { class: "muted small" }, ` index version ${t.retrieval ? t.retrieval.index_version ?? "–" : "–"}`)),
    table([
      { label: "#", render: (r) => chunks.indexOf(r) + 1 },
      { label: "Source", render: (r) => h("code", {}, r.source || "–") },
      { label: "Chunk", render: (r) => h("code", { class: "small" }, r.chunk_id) },
      { label: "Score", num: true, render: (r) => (r.score === null || r.score === undefined ? "–" : Number(r.score).toFixed(4)) },
    ], chunks, { empty: "Nothing was retrieved (blocked before retrieval, or no passage passed)." }));
  main.append(h("h2", {}, "Feedback"), table([
    { label: "Time", render: (r) => when(r.created) },
    { label: "Score", num: true, render: (r) => (Number(r.score) >= 0.5 ? "✓ " : "✗ ") + r.score },
    { label: "Comment", render: (r) => r.comment || "" },
  ], t.feedback || [], { class: "feedback", empty: "No feedback on this answer yet." }));
}

function waterfall(t) {
  const spans = (t.spans || []).slice().sort((a, b) => a.start - b.start);
  if (!spans.length) return h("p", { class: "empty" }, "No spans recorded.");
  const t0 = Math.min(t.created, ...spans.map((s) => s.start));
  const t1 = Math.max(t0 + t.latency_ms / 1000, ...spans.map((s) => s.end));
  const span = t1 - t0 || 1e-6;
  return h("div", { class: "waterfall", id: "waterfall" },
    h("div", { class: "wf-row wf-axis" }, h("span", { class: "wf-name" }, ""), h("span", { class: "wf-track" },
      h("span", { class: "wf-tick" }, "0"), h("span", { class: "wf-tick end" }, ms(span * 1000)))),
    spans.map((s) => {
      const bar = h("span", { class: "wf-bar wf-" + s.name, title: `${s.name}: ${ms(s.latency_ms)}` });
      bar.style.left = ((s.start - t0) / span) * 100 + "%";
      bar.style.width = Math.max(0.4, ((s.end - s.start) / span) * 100) + "%";
      return h("div", { class: "wf-row" }, h("span", { class: "wf-name" }, s.name),
        h("span", { class: "wf-track" }, bar), h("span", { class: "wf-ms num" }, ms(s.latency_ms)));
    }));
}

// Spend and quality.

async function spend(main) {
  const days = Number(sessionStorage.getItem("railyard-spend-days") || 7);
  const pick = h("select", { id: "spend-days" }, [1, 7, 30, 90].map((d) => h("option", { value: d, selected: d === days }, `last ${d} day${d === 1 ? "" : "s"}`)));
  pick.addEventListener("change", () => { sessionStorage.setItem("railyard-spend-days", pick.value); route(); });
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Spend & quality"), pick));
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  main.append(body);
  let rows, routes, blocks, feedback, levels;
  try {
    [rows, routes, blocks, feedback, levels] = await Promise.all([
      api(`/v1/spend?days=${days}`), api(`/v1/spend/routes?days=${days}`),
      api(`/v1/rails/blocks?days=${days}`), api("/v1/feedback/summary"),
      api(`/v1/kpis?hours=${days * 24}`),
    ]).then((all) => all.map((r) => r.data));
  } catch (error) {
    body.replaceChildren(errorBox(error));
    return;
  }
  const sum = (list, key) => list.reduce((s, r) => s + Number(r[key] || 0), 0);
  const requests = sum(rows, "requests"), cost = sum(rows, "cost_usd"), fallback = sum(rows, "fallback_requests");
  const group = (list, key) => {
    const out = new Map();
    for (const r of list) {
      const k = r[key] ?? "–";
      const g = out.get(k) || { [key]: k, requests: 0, cost_usd: 0, fallback_requests: 0 };
      g.requests += Number(r.requests); g.cost_usd += Number(r.cost_usd); g.fallback_requests += Number(r.fallback_requests || 0);
      out.set(k, g);
    }
    return [...out.values()].sort((a, b) => b.cost_usd - a.cost_usd);
  };
  const dayLabels = [...new Set(routes.map((r) => r.day))].sort();
  const ROUTES = ["local", "fallback", "cache", "blocked"];
  const perDay = (key) => ROUTES.map((name) => ({ name, cls: "route-" + name,
    values: dayLabels.map((d) => sum(routes.filter((r) => r.day === d && r.route === name), key)) }));
  body.replaceChildren(
    h("h2", {}, "Service levels"),
    h("div", { class: "stats", id: "kpis" }, levels.map(kpi)),
    h("div", { class: "stats", id: "spend-stats" },
      stat("Requests", num(requests), { "data-field": "requests" }),
      stat("Cost", usd(cost), { "data-field": "cost_usd" }),
      stat("Fallback share", requests ? pct(fallback / requests) : "–", { "data-field": "fallback_share" }),
      stat("Rail blocks", num(sum(blocks, "blocks")), { "data-field": "blocks" })),
    h("div", { class: "charts" },
      barChart(dayLabels, perDay("cost_usd"), { title: "Cost per day by route (USD)", format: usdShort }),
      barChart(dayLabels, perDay("requests"), { title: "Requests per day by route", format: (v) => String(Math.round(v)) })),
    h("h2", {}, "By route"), table([
      { label: "Route", render: (r) => badge(r.route, "route route-" + r.route) },
      { label: "Requests", num: true, key: "requests", render: (r) => num(r.requests) },
      { label: "Cost", num: true, key: "cost_usd", render: (r) => usd(r.cost_usd) },
    ], group(routes, "route"), { class: "by-route", empty: "No requests in this period." }),
    h("h2", {}, "By day, project and user"), table([
      { label: "Day", key: "day" }, { label: "Project", key: "project" },
      { label: "User", render: (r) => r.user || "–" },
      { label: "Requests", num: true, key: "requests", render: (r) => num(r.requests) },
      { label: "Fallback", num: true, key: "fallback_requests", render: (r) => num(r.fallback_requests) },
      { label: "Cost", num: true, key: "cost_usd", render: (r) => usd(r.cost_usd) },
    ], rows, { class: "by-caller", empty: "No requests in this period." }),
    h("h2", {}, "Rail blocks"), table([
      { label: "Rail", key: "rail" }, { label: "Stage", key: "stage" },
      { label: "Blocks", num: true, key: "blocks" },
    ], blocks, { class: "blocks", empty: "No request was blocked in this period." }),
    h("h2", {}, "Feedback by prompt version"), table([
      { label: "Prompt version", render: (r) => r.prompt_version || "–" },
      { label: "Scores", num: true, key: "scores" },
      { label: "Mean score", num: true, key: "mean_score", render: (r) => Number(r.mean_score).toFixed(2) },
    ], feedback, { class: "feedback-summary", empty: "No feedback yet: the Playground's Helpful / Not helpful buttons post it." }));
}

// A KPI against its target (GET /v1/kpis; docs/slos.md): green when met, red when missed,
// grey when there is no traffic (or no eval set) to judge it on.
function kpi(k) {
  const shown = k.unit === "seconds" ? ms(k.value === null ? null : k.value * 1000) : pct(k.value);
  const bound = k.unit === "seconds" ? ms(k.bound * 1000) : pct(k.bound);
  const state = k.met === null ? "unknown" : k.met ? "met" : "missed";
  return h("div", { class: `stat kpi kpi-${state}`, "data-kpi": k.name, "data-value": k.value ?? "" },
    h("div", { class: "label" }, k.label),
    h("div", { class: "value" }, shown),
    h("div", { class: "target muted" }, `target ${k.above ? ">" : "<"} ${bound}` + (k.n === null ? "" : ` · ${num(k.n)} requests`)));
}

// Knowledge base (admin).

async function knowledge(main) {
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Knowledge base")));
  let roots, runs, docs;
  try {
    [roots, runs, docs] = await Promise.all([
      api("/v1/admin/ingest/roots"), api("/v1/admin/ingest/runs"), api("/v1/admin/documents"),
    ]);
  } catch (error) {
    main.append(errorBox(error));
    return;
  }
  const result = h("div", { id: "ingest-result" });
  main.append(h("h2", {}, "Ingest roots"), table([
    { label: "Folder", render: (r) => h("code", {}, r.path) },
    { label: "", render: (r) => (r.exists ? h("button", { class: "ingest", onclick: (e) => ingest(e.target, r.path, result) }, "Ingest now") : h("span", { class: "error" }, "missing")) },
  ], roots.data, { empty: "No ingest roots configured (RAILYARD_INGEST_ROOTS or RAILYARD_KNOWLEDGE_BASE)." }), result);
  main.append(h("h2", {}, "Runs"), table([
    { label: "Started", render: (r) => when(r.started_at) },
    { label: "Status", render: (r) => badge(r.status, "status-" + r.status) },
    { label: "Index v", num: true, key: "index_version" },
    { label: "Added", num: true, render: (r) => r.summary.added ?? "–" },
    { label: "Updated", num: true, render: (r) => r.summary.updated ?? "–" },
    { label: "Unchanged", num: true, render: (r) => r.summary.unchanged ?? "–" },
    { label: "Deleted", num: true, render: (r) => r.summary.deleted ?? "–" },
    { label: "Chunks", num: true, render: (r) => r.summary.chunks ?? "–" },
    { label: "Failed", render: (r) => failures(r.summary.failed) },
    { label: "Embedder", render: (r) => h("code", { class: "small" }, r.embedding_model || "–") },
  ], runs.data, { class: "runs", empty: "No ingestion run yet." }));
  main.append(h("h2", {}, `Documents (index version ${docs.index_version})`), table([
    { label: "Source", render: (r) => h("code", {}, r.source) },
    { label: "Root", render: (r) => h("code", { class: "small" }, r.root) },
    { label: "Content hash", render: (r) => h("code", { class: "small", title: r.content_hash }, r.content_hash.slice(0, 12)) },
    { label: "Chunks", num: true, key: "chunks" },
  ], docs.data, { class: "documents", empty: "The index is empty." }));
}

function failures(list) {
  if (!list || !list.length) return "0";
  return h("details", {}, h("summary", {}, `${list.length} skipped`),
    h("ul", {}, list.map((f) => h("li", {}, h("code", {}, f.source), " — ", f.reason))));
}

async function ingest(button, path, result) {
  button.disabled = true;
  result.replaceChildren(h("p", { class: "muted" }, `Ingesting ${path}…`));
  try {
    const summary = await api("/v1/admin/ingest", { method: "POST", body: { paths: [path] } });
    result.replaceChildren(h("div", { class: "notice ok" },
      `Run done: ${summary.added ?? 0} added, ${summary.updated ?? 0} updated, ${summary.unchanged ?? 0} unchanged, ${summary.deleted ?? 0} deleted, ${(summary.failed || []).length} skipped; index version ${summary.index_version ?? "–"}.`));
    setTimeout(route, 1500);
  } catch (error) {
    result.replaceChildren(errorBox(error));
  } finally {
    button.disabled = false;
  }
}

// Experiments (admin): the fallback experiment reports.

const EXPERIMENT_COLUMNS = [
  ["cost/1k req", "cost_per_1k_requests_usd", (v) => "$" + Number(v).toFixed(4)],
  ["p50", "latency_p50_ms", ms], ["p95", "latency_p95_ms", ms], ["TTFT p50", "ttft_p50_ms", ms],
  ["fallback", "fallback_rate", pct], ["escalated", "escalation_rate", pct],
  ["match", "answer_match", pct], ["grounded", "grounded", pct],
  ["false refusals", "false_refusals", pct], ["refused unanswerable", "refusal_on_unanswerable", pct],
  ["errors", "errors", num],
];

async function experiments(main) {
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Fallback experiments")));
  let listing;
  try {
    listing = await api("/v1/admin/experiments");
  } catch (error) {
    main.append(errorBox(error));
    return;
  }
  if (!listing.data.length) {
    main.append(h("p", { class: "empty" }, `No report in ${listing.folder}. Run `,
      h("code", {}, "railyard experiment fallback --corpus FOLDER"), " (RAILYARD_EXPERIMENTS_DIR names the folder)."));
    return;
  }
  for (const [i, entry] of listing.data.entries()) {
    const section = h("section", { class: "experiment", "data-name": entry.name });
    main.append(section);
    section.append(h("h2", {}, entry.name, h("span", { class: "muted small" }, ` ${i === 0 ? "latest · " : ""}${when(entry.modified)}`)));
    if (entry.error) { section.append(h("div", { class: "notice error" }, entry.error)); continue; }
    const r = entry.report;
    section.append(h("p", { class: "muted small" },
      `${r.queries} queries · max_tokens ${r.max_tokens} · extractive ${r.extractive} · ${r.resumed_rows ?? 0} rows resumed from an earlier run`),
      h("p", { class: "small" }, r.fallback));
    const rows = Object.entries(r.policies).map(([name, p]) => ({ name, ...p }));
    section.append(table([{ label: "Policy", render: (p) => h("b", {}, p.name) },
      ...EXPERIMENT_COLUMNS.map(([label, key, fmt]) => ({ label, key, num: true, render: (p) => fmt(p[key]) }))],
    rows, { class: "experiment-table" }));
    if (entry.plot) {
      const img = h("img", { class: "plot", alt: `${entry.name}: cost, latency and quality per policy` });
      section.append(img);
      fetch(`/v1/admin/experiments/${encodeURIComponent(entry.name)}/plot.png`, { headers: headers() })
        .then((res) => (res.ok ? res.blob() : Promise.reject(new Error("HTTP " + res.status))))
        .then((blob) => { img.src = URL.createObjectURL(blob); })
        .catch((error) => img.replaceWith(h("p", { class: "error" }, "Plot unavailable: " + error.message)));
    }
  }
}

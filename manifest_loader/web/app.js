/* manifest-loader web page: plain JavaScript, no framework, no build step, nothing from the network.
 *
 * Every value that comes from the API (experiment and table names, SQL, notes, error text) is data:
 * it reaches the page only through textContent / text nodes / setAttribute, never through anything that parses HTML.
 * The SQL highlighter splits the text into tokens and wraps each in a <span> whose textContent is
 * the token, so a table named "<script>" is shown as those characters and never parsed as HTML.
 */
"use strict";

(function () {
  const POLL_MS = 400;
  const WAREHOUSES = ["redshift", "snowflake"];
  const FINISHED = new Set(["succeeded", "failed", "unchanged", "abandoned"]);
  const DONE_TABLE = new Set(["loaded", "succeeded", "failed", "unchanged", "skipped"]);

  const state = {
    experiments: [],
    warehouse: new Map(),   // experiment name -> chosen target warehouse
    generationRun: new Map(),   // dw-simulator experiment name -> the generation run to load ("" = latest)
    run: null,              // the load being watched: {id, experiment, warehouse, started, tables: Map}
    pollTimer: null,
  };

  // ---------------------------------------------------------------- DOM helpers (text only)

  function $(id) { return document.getElementById(id); }

  /** el("td", {class: "num"}, "12", child) — strings become text nodes; attributes go through setAttribute. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "onclick" || key === "onchange") node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) { node.replaceChildren(); return node; }

  function show(node, visible) { node.hidden = !visible; }

  // ---------------------------------------------------------------- formatting

  const intFormat = new Intl.NumberFormat("en-US");

  function fmtInt(n) { return n === null || n === undefined || n === "" ? "–" : intFormat.format(Number(n)); }

  function fmtBytes(n) {
    if (n === null || n === undefined) return "–";
    let value = Number(n);
    for (const unit of ["B", "KiB", "MiB", "GiB"]) {
      if (value < 1024 || unit === "GiB") return unit === "B" ? `${value.toFixed(0)} B` : `${value.toFixed(1)} ${unit}`;
      value /= 1024;
    }
    return String(n);
  }

  function fmtSeconds(s) {
    if (s === null || s === undefined || Number.isNaN(Number(s))) return "–";
    s = Number(s);
    if (s < 1) return `${s.toFixed(2)} s`;
    if (s < 60) return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60);
    return `${m} min ${Math.round(s - 60 * m)} s`;
  }

  /** Server times are UTC, ISO-like ("2025-11-25T22:11:04.123456" or with a space). */
  function parseTime(text) {
    if (!text) return null;
    // "2025-11-25 22:57:23.123456+00:00" -> "2025-11-25T22:57:23.123+00:00" (Date.parse wants milliseconds)
    let t = String(text).replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
    if (!/[zZ]|[+-]\d\d:?\d\d$/.test(t)) t += "Z";
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }

  function fmtTime(text) {
    const ms = parseTime(text);
    if (ms === null) return text ? String(text) : "–";
    return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
  }

  function runDuration(run) {
    if (run.duration_seconds !== undefined && run.duration_seconds !== null) return Number(run.duration_seconds);
    if (run.seconds !== undefined && run.seconds !== null) return Number(run.seconds);
    const start = parseTime(run.started_at);
    const end = parseTime(run.finished_at);
    return start !== null && end !== null ? (end - start) / 1000 : null;
  }

  function shortId(id) { return id ? String(id).slice(0, 8) : "–"; }

  function statusBadge(status) {
    const s = String(status || "unknown");
    return el("span", {class: `badge badge-${s.replace(/[^a-z]/g, "")}`}, s);
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(message, status, problem) {
      super(message);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function api(method, path, body) {
    const init = {method, headers: {Accept: "application/json, application/problem+json"}};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(`cannot reach the server (${err.message}); is manifest-loader serve still running?`, 0);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!response.ok) {
      const problem = data && typeof data === "object" ? data : {};
      const message = problemMessage(problem) || text || `${response.status} ${response.statusText}`;
      throw new ApiError(message, response.status, problem);
    }
    return data;
  }

  /** The CLI's message from a problem+json body (detail), falling back to title. */
  function problemMessage(problem) {
    if (!problem || typeof problem !== "object") return "";
    if (typeof problem.detail === "string") return problem.detail;
    if (Array.isArray(problem.detail)) {   // FastAPI's own request-validation errors
      return problem.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("\n");
    }
    return problem.message || problem.title || "";
  }

  /** Positioned problems ({file, line, col, path, message} or ready "file:line:col: …" strings). */
  function problemLines(problem) {
    const list = problem.problems || problem.errors || [];
    if (!Array.isArray(list) || list.length === 0) return [];
    return list.map((p) => {
      if (typeof p === "string") return p;
      if (p.text) return String(p.text);
      const where = [p.file, p.line, p.col ?? p.column].filter((x) => x !== undefined && x !== null).join(":");
      return [where, p.path, p.message].filter((x) => x !== undefined && x !== null && x !== "").join(": ");
    });
  }

  function listOf(data, key) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data[key])) return data[key];
    if (data && Array.isArray(data.items)) return data.items;
    return [];
  }

  function pageError(message) {
    const banner = $("page-error");
    banner.textContent = message || "";
    show(banner, Boolean(message));
  }

  // ---------------------------------------------------------------- experiments

  function experimentTarget(exp) {
    if (typeof exp.target_warehouse === "string") return exp.target_warehouse;
    if (exp.target && typeof exp.target === "object" && exp.target.warehouse) return exp.target.warehouse;
    if (typeof exp.target === "string") return exp.target;
    if (typeof exp.warehouse === "string") return exp.warehouse;
    return "redshift";
  }

  function tableName(t) { return typeof t === "string" ? t : (t && t.name) || "?"; }

  async function loadExperiments() {
    const status = $("experiments-status");
    status.textContent = "Loading experiments…";
    try {
      const data = await api("GET", "/api/experiments");
      state.experiments = withSimulator(listOf(data, "experiments"), data && data.simulator);
      renderExperiments();
      fillExploreExperiments();
      const count = state.experiments.length;
      status.textContent = count ? `${count} experiment${count === 1 ? "" : "s"} found.` :
        "No manifests found in the manifests folder.";
    } catch (err) {
      status.textContent = "";
      pageError(`Could not list the experiments: ${err.message}`);
    }
  }

  /** The dw-simulator's experiments beside the manifests; a manifest of the same name is that experiment's. */
  function withSimulator(manifests, simulator) {
    const simulated = simulator ? listOf(simulator, "experiments") : [];
    const byName = new Map(manifests.map((exp) => [String(exp.name), exp]));
    const out = manifests.slice();
    for (const exp of simulated) {
      const same = byName.get(String(exp.name));
      if (same) Object.assign(same, {simulator: true, latest_completed_run: exp.latest_completed_run});
      else out.push(Object.assign({}, exp, {simulator: true}));
    }
    return out;
  }

  /** A simulator experiment's generation runs, as choices: the latest COMPLETED one by default. */
  async function fillGenerationRuns(name, select) {
    try {
      const data = await api("GET", `/api/experiments/${encodeURIComponent(name)}/runs`);
      const runs = listOf(data, "generation_runs");
      for (const run of runs) {
        const rows = Object.values(run.generated || {}).reduce((a, b) => a + Number(b), 0);
        const loads = (run.loads || []).length;
        const label = `run ${run.id} · ${run.status} · ${fmtInt(rows)} rows · ${loads ? `loaded ${loads}×` : "not loaded"}`;
        const option = el("option", {value: String(run.id)}, label);
        option.disabled = run.status !== "COMPLETED";
        select.append(option);
      }
      select.value = state.generationRun.get(name) || "";
    } catch (err) {
      pageError(`Could not list the generation runs of ${name}: ${err.message}`);
    }
  }

  function renderExperiments() {
    const list = $("experiment-list");
    // Re-rendering must not throw a keyboard user back to the top: remember what had focus.
    const active = document.activeElement;
    const card = active && list.contains(active) ? active.closest(".experiment") : null;
    const focusKey = card ? [card.dataset.experiment, active.dataset.role] : null;
    clear(list);
    state.experiments.forEach((exp, index) => list.append(experimentCard(exp, index)));
    if (focusKey) {
      for (const node of list.querySelectorAll("[data-role]")) {
        if (node.dataset.role === focusKey[1] && node.closest(".experiment").dataset.experiment === focusKey[0]) {
          node.focus();
          break;
        }
      }
    }
  }

  function experimentCard(exp, index) {
    const name = String(exp.name || exp.file || `experiment ${index + 1}`);
    if (!state.warehouse.has(name)) state.warehouse.set(name, experimentTarget(exp));
    const headingId = `exp-${index}-name`;
    const problems = problemLines(exp);
    const invalid = problems.length > 0 || exp.valid === false || Boolean(exp.error);

    const card = el("li", {class: "card experiment", "data-experiment": name, "aria-labelledby": headingId});
    card.append(el("h3", {id: headingId, class: "experiment-name"}, name));
    if (exp.manifest_name && exp.manifest_name !== name) {
      card.append(el("p", {class: "muted"}, "loads as ", el("code", {}, exp.manifest_name)));
    }
    if (exp.file || exp.path) card.append(el("p", {class: "file"}, el("code", {}, exp.file || exp.path)));
    if (exp.description) card.append(el("p", {class: "description"}, String(exp.description)));
    const facts = el("dl", {class: "facts"});
    append(facts, [el("dt", {}, "default target"), el("dd", {class: "default-target"}, experimentTarget(exp))]);
    append(facts, [el("dt", {}, "last run"), el("dd", {class: "last-run"}, lastRunText(exp.last_run))]);
    card.append(facts);
    if (exp.simulator) {
      card.classList.add("simulator");
      const runId = `exp-${index}-generation-run`;
      const select = el("select", {id: runId, class: "generation-run", "data-role": "generation-run",
        onchange: (event) => state.generationRun.set(name, event.target.value)},
        el("option", {value: ""}, "latest COMPLETED run"));
      card.append(el("p", {class: "muted simulator-tag"}, "dw-simulator experiment"),
        el("label", {for: runId}, "Generation run"), select);
      fillGenerationRuns(name, select);
    }

    const tables = Array.isArray(exp.tables) ? exp.tables : [];
    if (tables.length) {
      card.append(el("h4", {class: "small-heading"}, `tables (${tables.length})`));
      card.append(el("ul", {class: "chips tables"},
        tables.map((t) => el("li", {class: "chip"}, el("span", {class: "table-name"}, tableName(t)),
          t && t.mode ? el("span", {class: "chip-mode"}, t.mode) : null))));
    }

    if (invalid) {
      card.classList.add("invalid");
      card.append(el("h4", {class: "small-heading error-heading"}, "this manifest is not valid"));
      card.append(problemList(problems.length ? problems : [String(exp.error || "invalid manifest")]));
    }

    // The warehouse switch: a real radio group, so arrow keys move between the two choices.
    const group = el("fieldset", {class: "switch"});
    group.append(el("legend", {}, "Target warehouse"));
    const options = el("div", {class: "segmented"});
    group.append(options);
    for (const wh of WAREHOUSES) {
      const id = `exp-${index}-${wh}`;
      const input = el("input", {type: "radio", id, name: `exp-${index}-warehouse`, value: wh,
        "data-role": `warehouse-${wh}`, onchange: () => {
          state.warehouse.set(name, wh);
          // A simulator experiment keeps the choice (in manifest-loader's tables, not the simulator's).
          if (exp.simulator) {
            api("PUT", `/api/experiments/${encodeURIComponent(name)}/warehouse`, {warehouse: wh})
              .catch((err) => pageError(`Could not save the warehouse of ${name}: ${err.message}`));
          }
          viewPlan(name);
        }});
      input.checked = state.warehouse.get(name) === wh;
      options.append(el("span", {class: "switch-option"}, input, el("label", {for: id}, wh)));
    }
    card.append(group);

    card.append(el("div", {class: "actions"},
      el("button", {type: "button", class: "button-secondary view-plan", "data-role": "plan", onclick: () => viewPlan(name, true)}, "View plan"),
      el("button", {type: "button", class: "load-button", "data-role": "load", onclick: () => startLoad(name),
        "aria-disabled": state.run && !state.run.finished ? "true" : null,
        disabled: invalid}, "Load")));
    return card;
  }

  function lastRunText(run) {
    if (!run) return "never loaded";
    const parts = [statusBadge(run.status), " ", run.warehouse || run.target_warehouse || "", " · ",
      fmtTime(run.started_at)];
    if (run.rows !== undefined && run.rows !== null) parts.push(` · ${fmtInt(run.rows)} rows`);
    return el("span", {}, parts);
  }

  function problemList(lines) {
    return el("ul", {class: "problems"}, lines.map((line) => el("li", {}, el("code", {}, line))));
  }

  // ---------------------------------------------------------------- plan

  let planRequest = 0;

  /** Bring a panel into view unless it already is (smoothly, unless the user asked for less motion). */
  function reveal(node) {
    const box = node.getBoundingClientRect();
    if (box.top >= 0 && box.top < window.innerHeight * 0.75) return;
    const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    node.scrollIntoView({block: "start", behavior: smooth ? "smooth" : "auto"});
  }

  async function viewPlan(name, scroll) {
    const warehouse = state.warehouse.get(name) || "redshift";
    followExperiment(name, warehouse);
    const panel = $("plan-panel");
    const body = clear($("plan-body"));
    const status = $("plan-status");
    show($("welcome"), false);
    show(panel, true);
    if (scroll) reveal(panel);
    $("plan-heading").textContent = `Plan: ${name} → ${warehouse}`;
    status.textContent = `Planning ${name} for ${warehouse}…`;
    panel.setAttribute("aria-busy", "true");
    const request = ++planRequest;
    try {
      const data = await api("GET", `/api/experiments/${encodeURIComponent(name)}/plan?target_warehouse=${
        encodeURIComponent(warehouse)}`);
      if (request !== planRequest) return;   // a newer request (another switch) wins
      const plan = data && data.plan ? data.plan : data;
      renderPlan(body, plan, warehouse);
      status.textContent = `${(plan.steps || []).length} steps for ${warehouse}` +
        (plan.target && plan.target.title ? ` via ${plan.target.title}.` : ".");
    } catch (err) {
      if (request !== planRequest) return;
      status.textContent = "";
      body.append(errorBlock(`Cannot plan ${name} for ${warehouse}`, err));
    } finally {
      if (request === planRequest) panel.removeAttribute("aria-busy");
    }
  }

  function renderPlan(body, plan, warehouse) {
    const target = plan.target || {};
    const facts = el("dl", {class: "facts plan-facts"});
    const add = (k, v) => { if (v !== undefined && v !== null && v !== "") append(facts, [el("dt", {}, k), el("dd", {}, v)]); };
    add("target", `${target.warehouse || warehouse}${target.title ? ` via ${target.title}` : ""}` +
      `${target.dialect ? ` [dialect ${target.dialect}]` : ""}`);
    add("url", target.url ? `${target.url}${target.url_source ? ` (${target.url_source})` : ""}` : "");
    add("schema", target.schema);
    add("stage", plan.stage);
    add("manifest", plan.manifest && plan.manifest.file);
    add("fingerprint", plan.fingerprint ? el("code", {class: "wrap-anywhere"}, plan.fingerprint) : "");
    body.append(facts);

    const tables = plan.tables || [];
    if (tables.length) {
      body.append(el("h3", {}, "Tables, in load order"));
      body.append(el("div", {class: "table-scroll"}, el("table", {class: "data-table plan-tables"},
        el("thead", {}, el("tr", {}, ["table", "mode", "files", "rows", "size"].map((h, i) =>
          el("th", {scope: "col", class: i >= 2 ? "num" : null}, h)))),
        el("tbody", {}, tables.map((t) => el("tr", {},
          el("td", {class: "table-name"}, t.name), el("td", {}, t.mode),
          el("td", {class: "num"}, fmtInt((t.files || []).length)), el("td", {class: "num"}, fmtInt(t.rows)),
          el("td", {class: "num"}, fmtBytes(t.bytes))))))));
    }

    const notes = plan.notes || [];
    if (notes.length) {
      body.append(el("h3", {}, "Emulator notes"));
      body.append(el("ul", {class: "notes"}, notes.map((n) => el("li", {}, n))));
    }

    body.append(el("div", {class: "section-head"}, el("h3", {}, `Steps (${(plan.steps || []).length})`),
      el("div", {class: "actions tight"},
        el("button", {type: "button", class: "button-quiet", "data-role": "expand-sql", onclick: () => setAllSteps(true)},
          "Show all SQL"),
        el("button", {type: "button", class: "button-quiet", onclick: () => setAllSteps(false)}, "Hide all SQL"))));
    let block = null;
    let blockTransactional = null;
    for (const step of plan.steps || []) {
      if (block === null || step.transactional !== blockTransactional) {
        blockTransactional = step.transactional;
        block = el("div", {class: `step-block ${step.transactional ? "transactional" : "autocommit"}`});
        block.append(el("p", {class: "block-label"}, step.transactional
          ? "BEGIN — one transaction: every change below commits together or not at all"
          : "DDL — each statement commits on its own (no transaction can hold it)"));
        body.append(block);
      }
      block.append(stepView(step));
    }
    for (const b of body.querySelectorAll(".step-block.transactional")) b.append(el("p", {class: "block-label"}, "COMMIT"));
  }

  /** One step: a <details> whose summary names it and shows the SQL's first line; notes stay visible. */
  function stepView(step) {
    const sql = String(step.sql || "");
    const firstLine = sql.split("\n").find((line) => line.trim()) || "";
    const summary = el("summary", {class: "step-head"},
      el("span", {class: "step-number"}, `${step.number}.`),
      el("span", {class: "step-action"}, step.action || "sql"),
      step.table ? el("span", {class: "table-name"}, step.table) : null,
      el("code", {class: "step-first-line"}, firstLine.trim()));
    const details = el("details", {class: "step-sql"}, summary);
    if (step.template) details.append(el("p", {class: "template"}, `template ${step.template}`));
    details.append(el("pre", {class: "sql", tabindex: "0", "aria-label": `SQL of step ${step.number}`},
      el("code", {}, highlightSql(sql))));
    const params = step.parameters || [];
    if (params.length) {
      details.append(el("p", {class: "muted params"},
        `${params.length} parameter row${params.length === 1 ? "" : "s"}, e.g. ${JSON.stringify(params[0])}`));
    }
    const article = el("article", {class: "step", "data-step": step.number}, details);
    for (const note of step.notes || []) article.append(el("p", {class: "note"}, el("strong", {}, "note: "), note));
    return article;
  }

  function setAllSteps(open) {
    for (const d of document.querySelectorAll("#plan-body details.step-sql")) d.open = open;
  }

  // ---------------------------------------------------------------- the SQL highlighter

  const KEYWORDS = new Set((
    "add all alter and as asc begin between by case cast check cluster column comment commit constraint copy " +
    "create cross current_timestamp default delete desc distinct diststyle distkey drop else end exists false " +
    "file_format files foreign format from full grant group having if ilike in inner insert into is join key " +
    "left like limit lock match_by_column_name merge not null nulls offset on or order outer over partition " +
    "primary references rename replace returning right rollback schema select set sortkey stage storage_integration " +
    "table temp temporary then to transaction true truncate union unique update using values view when where with"
  ).split(" "));
  const TYPES = new Set((
    "bigint binary boolean bool char character date decimal double float float4 float8 int int2 int4 int8 integer " +
    "json jsonb number numeric precision real smallint string super text time timestamp timestamp_ntz timestamp_tz " +
    "timestamptz varbinary varchar variant"
  ).split(" "));
  // One alternative per token kind; anything else (spaces, punctuation) is plain text.
  const TOKEN = /(--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|('(?:[^'\\]|\\.|'')*'?)|("(?:[^"]|"")*"?)|(\$\{[^}\n]*\}|\*\*\*)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_$]*)/g;

  /** A DocumentFragment of text nodes and <span class="sql-…"> nodes; the input is never parsed as HTML. */
  function highlightSql(sql) {
    const fragment = document.createDocumentFragment();
    let last = 0;
    const span = (cls, text) => el("span", {class: cls}, text);
    for (const m of sql.matchAll(TOKEN)) {
      if (m.index > last) fragment.append(document.createTextNode(sql.slice(last, m.index)));
      const [text, comment, string, quoted, placeholder, number, word] = m;
      if (comment) fragment.append(span("sql-comment", text));
      else if (string) fragment.append(span("sql-string", text));
      else if (quoted) fragment.append(span("sql-ident", text));
      else if (placeholder) fragment.append(span("sql-param", text));
      else if (number) fragment.append(span("sql-number", text));
      else if (word && KEYWORDS.has(word.toLowerCase())) fragment.append(span("sql-keyword", text));
      else if (word && TYPES.has(word.toLowerCase())) fragment.append(span("sql-type", text));
      else fragment.append(document.createTextNode(text));
      last = m.index + text.length;
    }
    if (last < sql.length) fragment.append(document.createTextNode(sql.slice(last)));
    return fragment;
  }

  // ---------------------------------------------------------------- loads and live progress

  async function startLoad(name) {
    const warehouse = state.warehouse.get(name) || "redshift";
    followExperiment(name, warehouse, true);   // its tables and charts are read when the load has finished
    if (state.run && !state.run.finished) {
      setSummary(`Run ${shortId(state.run.id)} is still running; wait for it to finish before starting another.`);
      return;
    }
    pageError("");
    // aria-disabled, not disabled: a disabled button drops the keyboard focus to the page's top.
    for (const b of document.querySelectorAll(".load-button")) b.setAttribute("aria-disabled", "true");
    const panel = $("run-panel");
    show($("welcome"), false);
    show(panel, true);
    delete panel.dataset.status;
    $("run-phase").textContent = "";
    reveal(panel);
    show($("run-error"), false);
    clear($("progress-table").tBodies[0]);
    $("run-heading").textContent = `Load: ${name} → ${warehouse}`;
    setSummary(`Starting the load of ${name} into ${warehouse}…`);
    state.run = {id: null, experiment: name, warehouse, started: performance.now(), tables: new Map(),
      finished: false, announced: ""};
    try {
      await readsSettled();   // the page's own table reads and queries finish first
      const body = {target_warehouse: warehouse};
      if (state.generationRun.get(name)) body.run_id = Number(state.generationRun.get(name));
      const data = await api("POST", `/api/experiments/${encodeURIComponent(name)}/load`, body);
      state.run.id = data.run_id || data.id;
      panel.dataset.runId = state.run.id;
      setSummary(`Run ${shortId(state.run.id)} started: loading ${name} into ${warehouse}.`);
      poll();
    } catch (err) {
      finishRun("failed", err.message, null, err.problem);
    }
  }

  function setSummary(text) {
    const summary = $("run-summary");
    if (summary.textContent !== text) summary.textContent = text;
  }

  async function poll() {
    const run = state.run;
    if (!run || run.finished || !run.id) return;
    try {
      const data = await api("GET", `/api/runs/${encodeURIComponent(run.id)}`);
      updateProgress(run, data);
      const status = data.status;
      if (FINISHED.has(status)) {
        finishRun(status, data.error, data);
        return;
      }
    } catch (err) {
      if (err.status === 404 && performance.now() - run.started < 5000) {
        // The run may not be visible for an instant after the 202; try again.
      } else {
        finishRun("failed", `lost track of run ${shortId(run.id)}: ${err.message}`, null);
        return;
      }
    }
    state.pollTimer = setTimeout(poll, POLL_MS);
  }

  /** Per-table progress from a run: a `tables` list or a `progress` mapping, whatever the API sends. */
  function tableProgress(data) {
    const out = new Map();
    const add = (name, t) => out.set(name, Object.assign({}, out.get(name) || {}, t));
    const progress = data.progress && (data.progress.tables || data.progress);
    if (Array.isArray(progress)) progress.forEach((t) => add(t.table || t.name || t.table_name, t));
    else if (progress && typeof progress === "object") Object.entries(progress).forEach(([k, t]) => add(k, t));
    for (const t of data.tables || []) add(t.table_name || t.table || t.name, t);
    return out;
  }

  function updateProgress(run, data) {
    const now = performance.now();
    const body = $("progress-table").tBodies[0];
    for (const [name, t] of tableProgress(data)) {
      let row = run.tables.get(name);
      if (!row) {
        row = {seenLoading: null, done: null, tr: el("tr", {"data-table": name})};
        row.cells = {
          name: el("td", {class: "table-name"}, name), status: el("td"), rows: el("td", {class: "num"}),
          bar: el("td"), bytes: el("td", {class: "num"}), elapsed: el("td", {class: "num"}),
        };
        row.meter = el("progress", {max: "1", value: "0", "aria-label": `rows loaded into ${name}`});
        row.cells.bar.append(row.meter);
        append(row.tr, Object.values(row.cells));
        body.append(row.tr);
        run.tables.set(name, row);
      }
      const status = t.status || "pending";
      const done = DONE_TABLE.has(status);
      // A table first seen already loaded has no measurable elapsed time here; the run's record gives it.
      if (status !== "pending" && row.seenLoading === null) row.seenLoading = done ? -1 : now;
      if (done && row.done === null) row.done = now;
      row.cells.status.replaceChildren(statusBadge(status));
      row.cells.rows.textContent = fmtInt(t.rows || 0);
      row.cells.bytes.textContent = fmtBytes(t.bytes || 0);
      const expected = Number(t.expected_rows || t.total_rows || 0);
      if (expected > 0) {
        row.meter.max = expected;
        row.meter.value = Math.min(Number(t.rows || 0), expected);
      } else if (row.done !== null) {
        row.meter.max = 1; row.meter.value = 1;
      }
      let seconds = t.seconds ?? t.elapsed ?? t.elapsed_seconds;
      if (seconds === undefined || seconds === null) {
        seconds = row.seenLoading === null || row.seenLoading < 0 ? null : ((row.done ?? now) - row.seenLoading) / 1000;
      }
      row.cells.elapsed.textContent = fmtSeconds(seconds);
    }
    const rows = [...run.tables.values()];
    const loaded = rows.filter((r) => r.done !== null).length;
    const total = Math.max(rows.length, (data.tables_total || 0));
    // Announced through aria-live: changes only when a table finishes, not on every row count.
    const text = `Run ${shortId(run.id)}: ${data.status || "running"} — ${loaded} of ${total || "?"} tables loaded ` +
      `into ${run.warehouse}.`;
    setSummary(text);
    run.progress = data.progress || {};
    let phase = run.progress.phase || "running";
    if (phase === "staging" && run.progress.stage_bytes && run.progress.staged_bytes >= run.progress.stage_bytes) {
      phase = "staged, about to load";
    }
    phaseLine(run, `phase: ${phase}`, (now - run.started) / 1000);
  }

  /** Not announced (it changes on every poll): phase, elapsed time, staged bytes, rows, the last message. */
  function phaseLine(run, phase, seconds, finished) {
    const progress = run.progress || {};
    const parts = [phase, `elapsed ${fmtSeconds(seconds)}`];
    if (progress.stage_bytes) parts.push(`staged ${fmtBytes(progress.staged_bytes || 0)} of ${fmtBytes(progress.stage_bytes)}`);
    if (progress.rows !== undefined) parts.push(`${fmtInt(progress.rows)} rows`);
    const messages = progress.messages || [];
    if (messages.length && !finished) parts.push(String(messages[messages.length - 1]));
    $("run-phase").textContent = parts.join(" · ");
  }

  /** The CLI's output for a failed load: `error: <message>`, or its positioned problems as they are. */
  function errorText(error, problem) {
    const lines = problemLines(problem || {});
    if (lines.length) return lines.join("\n");
    return error ? `error: ${error}` : "error: the load failed (no message recorded)";
  }

  function finishRun(status, error, data, problem) {
    const run = state.run;
    if (!run) return;
    run.finished = true;
    clearTimeout(state.pollTimer);
    for (const b of document.querySelectorAll(".load-button")) b.removeAttribute("aria-disabled");
    const panel = $("run-panel");
    panel.dataset.status = status;
    const serverSeconds = data ? runDuration(data) : null;
    const seconds = serverSeconds === null ? (performance.now() - run.started) / 1000 : serverSeconds;
    const took = fmtSeconds(seconds);
    phaseLine(run, status, seconds, true);
    if (status === "failed" || status === "abandoned") {
      setSummary(`Run ${shortId(run.id)} ${status} after ${took}: ${run.experiment} was not loaded into ${run.warehouse}.`);
      // Whatever the tables showed, the transaction rolled back: say so on each row that had started.
      for (const row of run.tables.values()) {
        if (row.seenLoading !== null) row.cells.status.replaceChildren(statusBadge("rolled back"));
      }
      $("run-error-text").textContent = errorText(error, problem);
      show($("run-error"), true);
    } else if (status === "unchanged") {
      setSummary(`No changes: ${run.warehouse} already holds every file of ${run.experiment} (run ${shortId(run.id)}).`);
    } else {
      const rows = data && data.rows !== undefined ? ` ${fmtInt(data.rows)} rows` : "";
      setSummary(`Run ${shortId(run.id)} succeeded: loaded${rows} of ${run.experiment} into ${run.warehouse} in ${took}.`);
    }
    loadHistory();
    loadExperiments();
    if (run.experiment === explore.experiment) {   // the charts and the tables now hold this run
      if (run.id) explore.chartRunId = run.id;
      refreshCharts();
      if (run.warehouse === explore.warehouse) loadTables();
    }
  }

  // ---------------------------------------------------------------- history and run detail

  async function loadHistory() {
    const status = $("history-status");
    const body = $("history-table").tBodies[0];
    try {
      const runs = listOf(await api("GET", "/api/runs"), "runs");
      clear(body);
      for (const run of runs) body.append(historyRow(run));
      status.textContent = runs.length ? `${runs.length} run${runs.length === 1 ? "" : "s"}, newest first.` :
        "No load runs recorded yet.";
    } catch (err) {
      status.textContent = `Could not read the run history: ${err.message}`;
    }
  }

  function historyRow(run) {
    const id = run.id || run.run_id;
    const cell = (label, content, cls) => el("td", {"data-label": label, class: cls}, content);
    return el("tr", {"data-run-id": id, "data-status": run.status},
      cell("started", fmtTime(run.started_at)),
      cell("experiment", run.manifest_name || run.experiment || run.name),
      cell("target", run.warehouse || run.target_warehouse),
      cell("status", statusBadge(run.status)),
      cell("duration", fmtSeconds(runDuration(run)), "num"),
      cell("rows", fmtInt(run.rows), "num"),
      cell("generation run", run.generation_run_id || run.generation_run || "–"),
      el("td", {class: "row-action"}, el("button", {type: "button", class: "button-quiet detail-button",
        "aria-label": `Details of run ${shortId(id)}`, onclick: () => showRunDetail(id)}, "Details")));
  }

  async function showRunDetail(id) {
    const box = $("run-detail");
    clear(box);
    show(box, true);
    box.append(el("p", {class: "muted", role: "status"}, `Loading run ${shortId(id)}…`));
    try {
      const run = await api("GET", `/api/runs/${encodeURIComponent(id)}`);
      clear(box);
      chartRun(run.id || id);
      const head = el("div", {class: "section-head"},
        el("h3", {}, `Run ${shortId(run.id || id)}`),
        el("button", {type: "button", class: "button-quiet", onclick: () => { show(box, false); }}, "Close"));
      box.append(head);
      const facts = el("dl", {class: "facts"});
      const add = (k, v) => { if (v !== undefined && v !== null && v !== "") append(facts, [el("dt", {}, k), el("dd", {}, v)]); };
      add("run id", el("code", {}, run.id || id));
      add("experiment", run.manifest_name);
      add("manifest", run.manifest_file);
      add("status", statusBadge(run.status));
      add("target", `${run.warehouse || ""}${run.dialect ? ` [dialect ${run.dialect}]` : ""}`);
      add("url", run.target_url);
      add("schema", run.schema_name);
      add("started (UTC)", fmtTime(run.started_at));
      add("finished (UTC)", run.finished_at ? fmtTime(run.finished_at) : "");
      add("duration", fmtSeconds(runDuration(run)));
      add("rows", fmtInt(run.rows));
      add("bytes", fmtBytes(run.bytes));
      add("generation run", run.generation_run_id || "–");
      add("plan fingerprint", run.plan_fingerprint ? el("code", {class: "wrap-anywhere"}, run.plan_fingerprint) : "");
      box.append(facts);
      if (run.error) {
        box.append(el("div", {class: "error-box"}, el("h4", {}, "error"),
          el("pre", {class: "error-text"}, `error: ${run.error}`)));
      }
      let tables = [...tableProgress(run).entries()];
      box.append(el("h4", {}, "Tables"));
      const failed = run.status === "failed" || run.status === "abandoned";
      if (failed) {
        box.append(el("p", {class: "muted"}, "No table was committed: the load rolled back." +
          (tables.length ? " How far each table got before the failure:" : "")));
        tables = tables.map(([name, t]) => [name, Object.assign({}, t,
          {status: t.status === "pending" ? "not started" : "rolled back"})]);
      } else if (!tables.length) {
        box.append(el("p", {class: "muted"}, "No per-table detail recorded."));
      }
      if (tables.length) {
        box.append(el("div", {class: "table-scroll"}, el("table", {class: "data-table run-tables"},
          el("thead", {}, el("tr", {}, ["table", "mode", "status", "files", "rows", "bytes", "seconds"].map((h, i) =>
            el("th", {scope: "col", class: i >= 3 ? "num" : null}, h)))),
          el("tbody", {}, tables.map(([name, t]) => el("tr", {},
            el("td", {class: "table-name"}, name), el("td", {}, t.mode || "–"),
            el("td", {}, statusBadge(t.status)), el("td", {class: "num"}, fmtInt(t.files)),
            el("td", {class: "num"}, fmtInt(t.rows)), el("td", {class: "num"}, fmtBytes(t.bytes)),
            el("td", {class: "num"}, fmtSeconds(t.seconds))))))));
      }
      box.focus();
    } catch (err) {
      clear(box);
      box.append(errorBlock(`Cannot show run ${shortId(id)}`, err));
    }
  }

  // ---------------------------------------------------------------- validation

  async function validate() {
    const result = clear($("validate-result"));
    const text = $("validate-text").value;
    if (!text.trim()) {
      result.append(el("p", {class: "muted"}, "Paste a manifest first."));
      return;
    }
    result.append(el("p", {class: "muted"}, "Validating…"));
    try {
      const data = await api("POST", "/api/validate", {manifest: text});
      clear(result);
      const problems = problemLines(data || {});
      if (problems.length || (data && data.valid === false)) {
        result.append(el("p", {class: "error-heading"}, "The manifest is not valid:"), problemList(problems));
      } else {
        const tables = data && data.tables ? ` (${Array.isArray(data.tables) ? data.tables.length : data.tables} tables)` : "";
        result.append(el("p", {class: "ok"}, `Valid${tables}.`));
      }
    } catch (err) {
      clear(result);
      result.append(errorBlock("The manifest is not valid", err));
    }
  }

  function errorBlock(title, err) {
    const lines = problemLines(err.problem || {});
    const box = el("div", {class: "error-box", role: "alert"}, el("p", {class: "error-heading"}, `${title}:`));
    if (lines.length) box.append(problemList(lines));
    else box.append(el("pre", {class: "error-text"}, `error: ${err.message}`));
    return box;
  }

  // ================================================================ query panel, table previews, charts (issue 19)
  //
  // Three parts that share one selection: the experiment and warehouse chosen in #explore (they follow
  // the card last used: View plan, the warehouse switch, Load). Values from the warehouse are data:
  // they reach the page through text nodes only, decimals as the exact strings the API sends.

  const HISTORY_KEY = "manifest-loader:query-history:v1";
  const HISTORY_KEPT = 15;
  const PREVIEW_ROWS = 20;
  const CHART_RUNS = 20;
  const SVG_NS = "http://www.w3.org/2000/svg";

  const explore = {
    experiment: null,       // the experiment's name (its file stem), what the API takes
    warehouse: "redshift",
    tablesRequest: 0,
    queryRequest: 0,
    chartsRequest: 0,
    chartRunId: null,       // the run whose per-table times are drawn (a run detail opened), else the latest
    reads: new Set(),       // this page's requests that read a warehouse, still running
  };

  /** An API call that reads a warehouse. A load waits for them: the Snowflake emulator serves one at a time. */
  function warehouseRead(method, path, body) {
    const request = api(method, path, body);
    explore.reads.add(request);
    const done = () => explore.reads.delete(request);
    request.then(done, done);
    return request;
  }

  function readsSettled() {
    return Promise.allSettled([...explore.reads]);
  }

  function validExperiments() {
    return state.experiments.filter((exp) => exp.valid !== false && !problemLines(exp).length && !exp.error);
  }

  function experimentByName(name) {
    return state.experiments.find((exp) => String(exp.name) === name) || null;
  }

  /** The experiment list changed: refill the select, keep the selection when it still exists. */
  function fillExploreExperiments() {
    const select = $("explore-experiment");
    const choices = validExperiments();
    const wanted = choices.some((exp) => exp.name === explore.experiment) ? explore.experiment
      : (choices[0] ? String(choices[0].name) : null);
    select.replaceChildren(...choices.map((exp) => el("option", {value: exp.name}, String(exp.name))));
    if (!choices.length) select.append(el("option", {value: ""}, "no valid experiment"));
    const changed = wanted !== explore.experiment;
    explore.experiment = wanted;
    if (wanted) select.value = wanted;
    if (changed && wanted) {
      explore.warehouse = state.warehouse.get(wanted) || experimentTarget(experimentByName(wanted) || {});
      syncExploreWarehouse();
    }
    if (changed) refreshExplore();
  }

  function syncExploreWarehouse() {
    for (const input of document.querySelectorAll('input[name="explore-warehouse"]')) {
      input.checked = input.value === explore.warehouse;
    }
  }

  /** A card was used (plan, switch, load): the query panel, tables and charts follow it (quiet: read nothing now). */
  function followExperiment(name, warehouse, quiet) {
    if (!experimentByName(name) || !validExperiments().some((exp) => exp.name === name)) return;
    if (explore.experiment === name && explore.warehouse === warehouse) return;
    const sameExperiment = explore.experiment === name;
    explore.experiment = name;
    explore.warehouse = warehouse;
    $("explore-experiment").value = name;
    syncExploreWarehouse();
    if (!sameExperiment) explore.chartRunId = null;
    if (!quiet) refreshExplore(sameExperiment);
  }

  function refreshExplore(tablesOnly) {
    loadTables();
    if (!tablesOnly) refreshCharts();
  }

  // ---------------------------------------------------------------- the query panel

  async function runQuery() {
    const sql = $("query-sql").value;
    const status = $("query-status");
    if (!explore.experiment) {
      status.textContent = "Choose an experiment first.";
      return;
    }
    if (!sql.trim()) {
      status.textContent = "Write a statement first.";
      return;
    }
    const request = ++explore.queryRequest;
    const experimentName = explore.experiment;
    const warehouse = explore.warehouse;
    const cap = Number($("query-cap").value);
    const panel = $("query-panel");
    panel.setAttribute("aria-busy", "true");
    panel.dataset.state = "running";
    status.textContent = `Running on ${warehouse}…`;
    const started = performance.now();
    try {
      const data = await warehouseRead("POST", "/api/query",
        {sql, experiment: experimentName, target_warehouse: warehouse, max_rows: cap});
      if (request !== explore.queryRequest) return;
      const seconds = (performance.now() - started) / 1000;
      hideQueryError();
      showTranslation(data.translated_sql, data.notes || []);
      renderResult($("query-result"), data, "query-result-table", "Result of the query");
      const shown = data.rows.length;
      const total = Number(data.row_count);
      const rowsText = `${fmtInt(total)} row${total === 1 ? "" : "s"}`;
      status.textContent = (data.truncated ? `${rowsText}; showing first ${fmtInt(shown)}` : rowsText) +
        ` · ${fmtSeconds(seconds)} · ${warehouse}, schema ${(data.target && data.target.schema) || "?"}`;
      panel.dataset.state = "ok";
      rememberQuery({sql, experiment: experimentName, warehouse, ok: true, rows: total});
    } catch (err) {
      if (request !== explore.queryRequest) return;
      const seconds = (performance.now() - started) / 1000;
      clear($("query-result"));
      const problem = err.problem || {};
      showTranslation(problem.translated_sql || null, problem.notes || []);
      showQueryError(err, sql);
      status.textContent = `The query failed after ${fmtSeconds(seconds)}.`;
      panel.dataset.state = "error";
      rememberQuery({sql, experiment: experimentName, warehouse, ok: false});
    } finally {
      if (request === explore.queryRequest) panel.removeAttribute("aria-busy");
    }
  }

  /** A result as a table: header text exactly as the warehouse named the columns, cells as typed. */
  function renderResult(box, data, id, caption) {
    clear(box);
    const columns = data.columns || [];
    const kinds = data.column_kinds || [];
    if (!columns.length) {
      box.append(el("p", {class: "muted"}, "The statement returned no columns."));
      return;
    }
    const table = el("table", {class: "data-table result-table", id},
      el("caption", {class: "visually-hidden"}, caption),
      el("thead", {}, el("tr", {}, columns.map((name, i) =>
        el("th", {scope: "col", class: kinds[i] === "number" ? "num" : null, "data-kind": kinds[i] || null},
          String(name))))),
      el("tbody", {}, (data.rows || []).map((row) => el("tr", {},
        row.map((value, i) => resultCell(value, kinds[i]))))));
    box.append(table);
    if (!(data.rows || []).length) box.append(el("p", {class: "muted"}, "No rows."));
  }

  /** NULL is a marked cell, an empty string an empty one; numbers (exact decimal strings too) right-aligned. */
  function resultCell(value, kind) {
    if (value === null || value === undefined) {
      return el("td", {class: "null", "data-null": ""}, el("span", {class: "null-mark"}, "NULL"));
    }
    const numeric = kind === "number" || typeof value === "number";
    const cls = numeric ? "num" : null;
    if (value === "") {
      return el("td", {class: "empty", "data-empty": ""}, el("span", {class: "visually-hidden"}, "empty string"));
    }
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return el("td", {class: cls}, text);
  }

  function hideQueryError() {
    const box = $("query-error");
    clear(box);
    show(box, false);
  }

  /** The warehouse's message, and where it points: the line with a caret under the column. */
  function showQueryError(err, sql) {
    const box = clear($("query-error"));
    const problem = err.problem || {};
    box.append(el("p", {class: "error-heading"}, problem.title ? `${problem.title}:` : "The query failed:"));
    box.append(el("pre", {class: "error-text"}, `error: ${err.message}`));
    const position = errorPosition(problem, err.message);
    if (position) {
      const inTranslation = position.in === "translated_sql" && problem.translated_sql;
      const source = inTranslation ? String(problem.translated_sql) : sql;
      const lines = source.split("\n");
      const line = lines[position.line - 1];
      box.dataset.line = position.line;
      box.dataset.column = position.column;
      box.append(el("p", {class: "error-where"},
        `at line ${position.line}, column ${position.column}` +
        (inTranslation ? " of the translated SQL (show it below)" : " of your SQL")));
      if (line !== undefined) {
        box.append(el("pre", {class: "error-excerpt", "aria-hidden": "true"},
          `${line}\n${" ".repeat(Math.max(0, position.column - 1))}^`));
      }
      if (!inTranslation) moveCaret($("query-sql"), lines, position);
    }
    show(box, true);
  }

  /** The structured position the API sends, else one read from the message (sqlglot's and our translator's). */
  function errorPosition(problem, message) {
    const p = problem.position;
    if (p && Number(p.line) > 0) return {line: Number(p.line), column: Math.max(1, Number(p.column) || 1), in: p.in};
    const m = /\bline (\d+), col(?:umn)?:? (\d+)/i.exec(String(message || ""));
    return m ? {line: Number(m[1]), column: Number(m[2]), in: "sql"} : null;
  }

  function moveCaret(textarea, lines, position) {
    let offset = 0;
    for (let i = 0; i < position.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset = Math.min(textarea.value.length, offset + position.column - 1);
    textarea.setSelectionRange(offset, offset);
  }

  /** On the Redshift emulator: what ran, behind a toggle whose label counts what was not emulated. */
  function showTranslation(translated, notes) {
    const box = $("query-translation");
    const toggle = $("query-translation-toggle");
    if (!translated) {
      show(box, false);
      return;
    }
    show(box, true);
    $("query-translation-sql").replaceChildren(highlightSql(String(translated)));
    const label = $("query-translation-notes-count");
    label.classList.toggle("not-emulated", notes.length > 0);
    label.textContent = notes.length
      ? `${notes.length} thing${notes.length === 1 ? "" : "s"} not emulated: ${notes.join("; ")}`
      : "translated to PostgreSQL; everything in it is emulated";
    setTranslationOpen(toggle.getAttribute("aria-expanded") === "true");
  }

  function setTranslationOpen(open) {
    const toggle = $("query-translation-toggle");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toggle.textContent = open ? "Hide the translated SQL" : "Show the translated SQL";
    show($("query-translation-body"), open);
  }

  // ---------------------------------------------------------------- query history (this browser only)

  function readHistory() {
    try {
      const list = JSON.parse(window.localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(list) ? list.filter((h) => h && typeof h.sql === "string") : [];
    } catch (_) {
      return [];   // storage off (private window) or damaged: no history, no error
    }
  }

  function rememberQuery(entry) {
    const list = readHistory().filter((h) => !(h.sql === entry.sql && h.experiment === entry.experiment &&
      h.warehouse === entry.warehouse));
    list.unshift(Object.assign({at: new Date().toISOString()}, entry));
    try {
      window.localStorage.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, HISTORY_KEPT)));
    } catch (_) { /* storage full or off: the history is a convenience */ }
    renderHistory();
  }

  function renderHistory() {
    const list = clear($("query-history"));
    const entries = readHistory();
    show($("query-history-empty"), !entries.length);
    show($("query-history-clear"), entries.length > 0);
    for (const h of entries) {
      const firstLine = h.sql.trim().split("\n")[0];
      const outcome = h.ok ? `${fmtInt(h.rows)} row${h.rows === 1 ? "" : "s"}` : "failed";
      list.append(el("li", {},
        el("button", {type: "button", class: "history-entry", title: h.sql,
          "aria-label": `Put back: ${firstLine} (${h.experiment} on ${h.warehouse}, ${outcome})`,
          onclick: () => recallQuery(h)},
          el("code", {class: "history-sql"}, firstLine),
          el("span", {class: "muted history-meta"}, `${h.experiment} · ${h.warehouse} · ${outcome}`))));
    }
  }

  function recallQuery(h) {
    if (h.experiment && validExperiments().some((exp) => exp.name === h.experiment)) {
      followExperiment(h.experiment, h.warehouse || explore.warehouse);
    }
    const editor = $("query-sql");
    editor.value = h.sql;
    editor.focus();
  }

  // ---------------------------------------------------------------- table previews

  async function loadTables() {
    const list = clear($("tables-list"));
    const status = $("tables-status");
    const name = explore.experiment;
    const warehouse = explore.warehouse;
    show($("table-preview"), false);
    if (!name) {
      status.textContent = "No experiment to show.";
      return;
    }
    const request = ++explore.tablesRequest;
    status.textContent = `Reading the tables of ${name} in ${warehouse}…`;
    try {
      const data = await warehouseRead("GET", `/api/experiments/${encodeURIComponent(name)}/tables?target_warehouse=${
        encodeURIComponent(warehouse)}`);
      if (request !== explore.tablesRequest) return;
      const tables = data.tables || [];
      const loaded = tables.filter((t) => t.loaded);
      status.textContent = loaded.length
        ? `${loaded.length} of ${tables.length} tables loaded in ${warehouse}, schema ${data.target.schema}.`
        : `Nothing loaded yet: press Load on ${name} with ${warehouse} chosen.`;
      for (const t of tables) list.append(tableCard(name, warehouse, t));
    } catch (err) {
      if (request !== explore.tablesRequest) return;
      status.textContent = "";
      list.append(el("li", {}, errorBlock(`Cannot read the tables of ${name} in ${warehouse}`, err)));
    }
  }

  function tableCard(name, warehouse, t) {
    const card = el("li", {class: `table-card${t.loaded ? "" : " not-loaded"}`, "data-table": t.name});
    const headingId = `table-${t.name.replace(/[^A-Za-z0-9_-]/g, "_")}-heading`;
    card.append(el("div", {class: "table-card-head"},
      el("h4", {id: headingId, class: "table-name"}, t.stored_name || t.name),
      el("span", {class: "muted row-count"}, t.loaded ? `${fmtInt(t.row_count)} rows` : "not loaded")));
    if (!t.loaded) return card;
    const columns = t.columns || [];
    card.append(el("details", {class: "columns"},
      el("summary", {}, `${columns.length} column${columns.length === 1 ? "" : "s"}`),
      el("table", {class: "data-table column-table"},
        el("caption", {class: "visually-hidden"}, `Columns of ${t.name}`),
        el("thead", {}, el("tr", {}, el("th", {scope: "col"}, "column"), el("th", {scope: "col"}, "type"),
          el("th", {scope: "col"}, "null"))),
        el("tbody", {}, columns.map((c) => el("tr", {},
          el("td", {class: "table-name"}, c.name), el("td", {class: "column-type"}, el("code", {}, c.type)),
          el("td", {}, c.nullable ? "yes" : "no")))))));
    card.append(el("button", {type: "button", class: "button-secondary preview-button",
      "aria-describedby": headingId, onclick: () => previewTable(name, warehouse, t)}, "First rows"));
    return card;
  }

  async function previewTable(name, warehouse, t) {
    const box = $("table-preview");
    clear(box);
    show(box, true);
    box.dataset.table = t.name;
    box.append(el("p", {class: "muted", role: "status"}, `Reading the first rows of ${t.name}…`));
    try {
      const data = await warehouseRead("GET", `/api/experiments/${encodeURIComponent(name)}/tables/${
        encodeURIComponent(t.name)}/rows?target_warehouse=${encodeURIComponent(warehouse)}&limit=${PREVIEW_ROWS}`);
      clear(box);
      box.append(el("div", {class: "section-head"},
        el("h3", {}, `First rows of ${t.stored_name || t.name}`),
        el("div", {class: "actions tight"},
          el("button", {type: "button", class: "button-quiet", onclick: () => {
            $("query-sql").value = data.sql;
            $("query-sql").focus();
          }}, "Open in the editor"),
          el("button", {type: "button", class: "button-quiet", onclick: () => show(box, false)}, "Close"))));
      box.append(el("p", {class: "muted preview-status"},
        `${fmtInt(data.rows.length)} of ${fmtInt(t.row_count)} rows · ${warehouse}`),
      el("pre", {class: "sql preview-sql"}, el("code", {}, highlightSql(String(data.sql)))));
      const result = el("div", {class: "table-scroll result-scroll"});
      renderResult(result, data, null, `First rows of ${t.name}`);
      box.append(result);
      box.focus();
    } catch (err) {
      clear(box);
      box.append(errorBlock(`Cannot read ${t.name}`, err));
    }
  }

  // ---------------------------------------------------------------- charts (SVG drawn here, nothing fetched)

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** A round upper bound for an axis: 1, 2 or 5 times a power of ten. */
  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  /** Axis ticks: short, the unit is in the chart's title. */
  function fmtCompact(n) {
    if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
    if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
    return `${+n.toFixed(2)}`;
  }

  function fmtRate(n) {
    if (n === null || !Number.isFinite(n)) return "–";
    if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M rows/s`;
    if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k rows/s`;
    return `${n.toFixed(0)} rows/s`;
  }

  /** A chart's caption and its <svg role="img"> labelled by caption and description; null when nothing to draw. */
  function chartFrame(figure, {id, title, description, items, empty}, width, height) {
    clear(figure);
    figure.append(el("figcaption", {id: `${id}-title`}, title));
    if (!items.length) {
      figure.append(el("p", {class: "muted"}, empty));
      return null;
    }
    return svg("svg", {viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "img",
      "aria-labelledby": `${id}-title ${id}-desc`}, svg("desc", {id: `${id}-desc`}, description));
  }

  /** Vertical bars, one mark per item: {key, label, value, text, cls}. Each mark has a <title> for pointers. */
  function columnChart(figure, spec) {
    const {title, items, format} = spec;
    const width = 400, height = 190, left = 48, right = 8, top = 10, bottom = 26;
    const chart = chartFrame(figure, spec, width, height);
    if (!chart) return;
    const max = niceMax(Math.max(...items.map((i) => i.value || 0)));
    const plotW = width - left - right, plotH = height - top - bottom;
    const slot = plotW / items.length;
    const barW = Math.max(2, Math.min(28, slot * 0.7));
    for (const f of [0, 0.5, 1]) {
      const y = top + plotH * (1 - f);
      chart.append(svg("line", {x1: left, x2: width - right, y1: y, y2: y, class: "grid"}),
        svg("text", {x: left - 6, y: y + 4, class: "tick", "text-anchor": "end"}, format(max * f)));
    }
    items.forEach((item, i) => {
      const h = Math.max(item.value > 0 ? 1 : 0, (item.value || 0) / max * plotH);
      const x = left + slot * i + (slot - barW) / 2;
      chart.append(svg("rect", {x: x.toFixed(1), y: (top + plotH - h).toFixed(1), width: barW.toFixed(1),
        height: h.toFixed(1), class: `mark ${item.cls || ""}`, "data-key": item.key},
      svg("title", {}, item.text)));
    });
    const first = items[0].label, last = items[items.length - 1].label;
    chart.append(svg("text", {x: left, y: height - 8, class: "tick"}, first));
    if (items.length > 1) chart.append(svg("text", {x: width - right, y: height - 8, class: "tick", "text-anchor": "end"}, last));
    figure.append(chart, dataTable(`${title}: the numbers`, ["run", "value"], items.map((i) => [i.label, i.text])));
  }

  /** Horizontal bars with their names and values written beside them: one mark per item. */
  function barChart(figure, spec) {
    const {title, items, format} = spec;
    const width = 400, row = 26, left = 110, right = 56, top = 4;
    const chart = chartFrame(figure, spec, width, top * 2 + row * items.length);
    if (!chart) return;
    const max = Math.max(...items.map((i) => i.value || 0)) || 1;
    items.forEach((item, i) => {
      const y = top + row * i;
      const w = Math.max(item.value > 0 ? 1 : 0, (item.value || 0) / max * (width - left - right));
      const label = item.label.length > 18 ? `${item.label.slice(0, 17)}…` : item.label;
      chart.append(
        svg("text", {x: left - 6, y: y + row / 2 + 4, class: "tick", "text-anchor": "end"}, label),
        svg("rect", {x: left, y: y + 4, width: w.toFixed(1), height: row - 8, class: `mark ${item.cls || ""}`,
          "data-key": item.key}, svg("title", {}, item.text)),
        svg("text", {x: left + w + 4, y: y + row / 2 + 4, class: "tick"}, format(item.value)));
    });
    figure.append(chart, dataTable(`${title}: the numbers`, ["table", "seconds"], items.map((i) => [i.label, i.text])));
  }

  /** The chart's numbers as a table, one click away: for screen readers and for copying. */
  function dataTable(summary, headings, rows) {
    return el("details", {class: "chart-data"}, el("summary", {}, "Show the numbers"),
      el("table", {class: "data-table"}, el("caption", {class: "visually-hidden"}, summary),
        el("thead", {}, el("tr", {}, headings.map((h) => el("th", {scope: "col"}, h)))),
        el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))))));
  }

  async function refreshCharts() {
    const status = $("charts-status");
    const exp = explore.experiment ? experimentByName(explore.experiment) : null;
    if (!exp) {
      status.textContent = "No experiment to chart.";
      return;
    }
    const request = ++explore.chartsRequest;
    const manifestName = exp.manifest_name || exp.name;
    try {
      const data = await api("GET", `/api/runs?experiment=${encodeURIComponent(manifestName)}&limit=${CHART_RUNS}`);
      if (request !== explore.chartsRequest) return;
      const runs = listOf(data, "runs").filter((r) => r.status !== "running").reverse();   // oldest first
      status.textContent = runs.length
        ? `The last ${runs.length} finished run${runs.length === 1 ? "" : "s"} of ${manifestName}, oldest first.`
        : `No finished run of ${manifestName} yet.`;
      const mark = (r) => `run-${r.status === "failed" || r.status === "abandoned" ? "failed" : (r.warehouse || "other")}`;
      const label = (r) => fmtTime(r.started_at).slice(5, 16);
      columnChart($("chart-duration"), {
        id: "chart-duration-svg", title: `Load duration of ${manifestName} (seconds)`, format: fmtCompact,
        description: `One bar per run, ${runs.length} runs, height the seconds the load took.`,
        empty: "No runs to draw yet.",
        items: runs.map((r) => ({key: r.id, label: label(r), value: runDuration(r) || 0, cls: mark(r),
          text: `${fmtTime(r.started_at)} ${r.warehouse} ${r.status}: ${fmtSeconds(runDuration(r))}`})),
      });
      columnChart($("chart-throughput"), {
        id: "chart-throughput-svg", title: `Rows loaded per second by ${manifestName}`, format: fmtCompact,
        description: `One bar per run, ${runs.length} runs, height the rows loaded per second.`,
        empty: "No runs to draw yet.",
        items: runs.map((r) => {
          const seconds = runDuration(r);
          const rate = seconds > 0 ? Number(r.rows || 0) / seconds : 0;
          return {key: r.id, label: label(r), value: rate, cls: mark(r),
            text: `${fmtTime(r.started_at)} ${r.warehouse} ${r.status}: ${fmtInt(r.rows)} rows, ${fmtRate(rate)}`};
        }),
      });
      const chosen = runs.find((r) => r.id === explore.chartRunId) || runs[runs.length - 1];
      await drawTableTimes(chosen, request);
    } catch (err) {
      if (request !== explore.chartsRequest) return;
      status.textContent = `Cannot draw the runs: ${err.message}`;
    }
  }

  async function drawTableTimes(run, request) {
    const figure = $("chart-tables");
    if (!run) {
      barChart(figure, {id: "chart-tables-svg", title: "Time per table", items: [], empty: "No run selected.",
        format: fmtSeconds, description: ""});
      return;
    }
    const detail = await api("GET", `/api/runs/${encodeURIComponent(run.id)}`);
    if (request !== undefined && request !== explore.chartsRequest) return;
    const tables = (detail.tables || []).map((t) => ({key: t.table_name, label: t.table_name,
      value: Number(t.seconds || 0), cls: `run-${detail.warehouse || "other"}`,
      text: `${t.table_name}: ${fmtSeconds(t.seconds)}, ${fmtInt(t.rows)} rows (${t.status})`}));
    figure.dataset.runId = detail.id;
    barChart(figure, {id: "chart-tables-svg", items: tables, format: fmtSeconds,
      title: `Time per table, run ${shortId(detail.id)} (${detail.warehouse}, ${fmtTime(detail.started_at)})`,
      description: `One bar per table of run ${shortId(detail.id)}, length the seconds its load took.`,
      empty: "This run recorded no per-table times."});
  }

  /** A run detail was opened: its per-table times are drawn. */
  function chartRun(id) {
    explore.chartRunId = id;
    drawTableTimes({id}).catch(() => { /* the detail shows the error */ });
  }

  function setupExplore() {
    $("explore-experiment").addEventListener("change", (event) => {
      const name = event.target.value;
      followExperiment(name, state.warehouse.get(name) || experimentTarget(experimentByName(name) || {}));
    });
    for (const input of document.querySelectorAll('input[name="explore-warehouse"]')) {
      input.addEventListener("change", () => {
        if (!input.checked) return;
        explore.warehouse = input.value;
        loadTables();
      });
    }
    $("query-run").addEventListener("click", runQuery);
    $("query-sql").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        runQuery();
      }
    });
    $("query-translation-toggle").addEventListener("click", () =>
      setTranslationOpen($("query-translation-toggle").getAttribute("aria-expanded") !== "true"));
    $("query-history-clear").addEventListener("click", () => {
      try { window.localStorage.removeItem(HISTORY_KEY); } catch (_) { /* nothing kept */ }
      renderHistory();
    });
    $("tables-refresh").addEventListener("click", loadTables);
    renderHistory();
  }

  // ---------------------------------------------------------------- start

  document.addEventListener("DOMContentLoaded", () => {
    $("refresh-experiments").addEventListener("click", loadExperiments);
    $("refresh-history").addEventListener("click", loadHistory);
    $("validate-button").addEventListener("click", validate);
    setupExplore();
    loadExperiments();
    loadHistory();
  });
})();

// The experiments table: status, progress, swept hyperparameters and the chosen metric; sortable and filterable.
import { colorOf } from "./palette.js";
import { badge, esc, num, numFormat } from "./format.js";

/** Short header for a hyperparameter path: "optimizer.config.lr" -> "optimizer.lr". */
export function shortPath(path) {
  return path.split(".").filter((p) => p !== "config").join(".");
}

function foldText(exp) {
  const f = exp.fold;
  if (!f) return exp.role === "train" ? "" : exp.role;
  if (exp.role === "refit") return `outer ${f.outer} · refit`;
  if (f.outer != null && f.inner != null) return `outer ${f.outer} · inner ${f.inner}`;
  if (f.outer != null) return `outer ${f.outer}`;
  return `fold ${f.k ?? f.inner ?? ""}`;
}

/**
 * The status badge; a trial an adaptive search stopped for good gets its own badge, "stopped at rung k (epoch e)",
 * and a promoted one that is not done yet says so beside its status.
 */
export function statusCell(exp, shown = exp.status) {
  const d = exp.searchDecision;
  if (!d || exp.status === "done" || shown !== exp.status) return badge(shown);
  if (d.decision === "stopped") {
    const cut = d.cut == null ? "no score made the rung's top" : `the rung's cut was ${num(d.cut)}`;
    return `<span class="badge badge-stopped" data-rung="${esc(d.rung)}" data-epoch="${esc(d.epoch)}" title="score ${esc(num(d.score))}; ${esc(cut)}">${esc(exp.searchStatus())}</span>`;
  }
  return `${badge(exp.status)} <span class="muted small">promoted from rung ${esc(d.rung)}</span>`;
}

// Above this many rows (after the filter) the table is virtualised: only the rows in view plus OVERSCAN on each
// side are in the DOM, between two spacer rows that keep the scrollbar true to every row. Rows are one line
// (white-space: nowrap), so they share one height: ROW_H until the first rendered row is measured.
export const VIRTUAL_ABOVE = 200;
const OVERSCAN = 10;
const ROW_H = 34;

/** Renders the experiments of a RunModel; tells the run view which row the pointer is on. */
export class ExperimentsTable {
  constructor(el, model, { onHover, onFilter, linkOf }) {
    this.el = el;
    this.model = model;
    this.onHover = onHover;
    this.onFilter = onFilter;
    this.linkOf = linkOf;
    this.key = null;
    this.sort = { col: "index", dir: 1 };
    this.query = "";
    this.statusFilter = "all";
    this.highlighted = null;
    this.best = null;              // RunModel.best(): its `ids` get the row class `best` and a ★
    this.rows = [];                // the filtered, sorted experiments of the last render
    this.virtual = false;          // more than VIRTUAL_ABOVE rows: only a window of them is in the DOM
    this.rowH = ROW_H;             // measured on the first virtual render (this.measured)
    this.window = null;            // [first, end) of this.rows in the DOM when virtual
    this.scrollFrame = 0;
    el.innerHTML = `<table class="grid exp-table"><thead></thead><tbody></tbody></table>`;
    this.thead = el.querySelector("thead");
    this.tbody = el.querySelector("tbody");
    this.thead.addEventListener("click", (e) => {
      const th = e.target.closest("th[data-col]");
      if (!th) return;
      const col = th.dataset.col;
      this.sort = { col, dir: this.sort.col === col ? -this.sort.dir : (col.startsWith("hp:") || col === "index" || col === "id" ? 1 : -1) };
      this.render();
    });
    this.tbody.addEventListener("mouseover", (e) => {
      const tr = e.target.closest("tr[data-exp]");
      if (tr) this.onHover(this.model.experiments.get(tr.dataset.exp) || null);
    });
    this.tbody.addEventListener("mouseleave", () => this.onHover(null));
    el.addEventListener("scroll", () => {
      if (!this.virtual || this.scrollFrame) return;
      this.scrollFrame = requestAnimationFrame(() => { this.scrollFrame = 0; this.renderWindow(); });
    }, { passive: true });
  }

  setKey(key) { this.key = key; this.render(); }

  setQuery(query, status) {
    this.query = query.trim().toLowerCase();
    this.statusFilter = status;
    this.render();
    this.onFilter(this.hiddenIds());
  }

  sweepPaths() {
    const fromStart = this.model.started?.sweep_paths;
    if (fromStart && fromStart.length) return fromStart;
    const paths = new Set();
    for (const exp of this.model.list) for (const p of Object.keys(exp.hp)) paths.add(p);
    return [...paths];
  }

  matches(exp) {
    if (this.statusFilter !== "all" && exp.status !== this.statusFilter) return false;
    if (!this.query) return true;
    const text = this.searchText(exp);
    return this.query.split(/\s+/).every((term) => text.includes(term));
  }

  /** What the filter searches in, kept until the model applies another event (a keystroke re-reads it). */
  searchText(exp) {
    if (this.texts?.version !== this.model.applied) this.texts = { version: this.model.applied, byId: new Map() };
    let text = this.texts.byId.get(exp.id);
    if (text === undefined) {
      text = this.rawSearchText(exp);
      this.texts.byId.set(exp.id, text);
    }
    return text;
  }

  rawSearchText(exp) {
    return [exp.id, exp.status, exp.phase, exp.role, foldText(exp), exp.trial != null ? `trial ${exp.trial}` : "",
      exp.searchDecision ? exp.searchStatus() : "",
      // a value as logged, alone, and as its column shows it ("lr=0.001", "lr=1e-3" in a column of exponents)
      ...Object.entries(exp.hp).flatMap(([k, v]) => [JSON.stringify(v), num(v), this.hpFormat(k)(v)].map((t) => `${shortPath(k)}=${t}`))].join(" ").toLowerCase();
  }

  /** The formatter of a hyperparameter's column: from every experiment's value, so filtering keeps the format. */
  hpFormat(path) {
    if (this.hpFormats?.version !== this.model.applied) this.hpFormats = { version: this.model.applied, byPath: new Map() };
    const byPath = this.hpFormats.byPath;
    if (!byPath.has(path)) byPath.set(path, numFormat(this.model.list.map((e) => e.hp[path])));
    return byPath.get(path);
  }

  hiddenIds() {
    return new Set(this.model.list.filter((e) => !this.matches(e)).map((e) => e.id));
  }

  sortValue(exp, col) {
    if (col === "index") return exp.index;
    if (col === "id") return exp.id;
    if (col === "status") return ["failed", "running", "scheduled", "paused", "done"].indexOf(exp.status);
    if (col === "trial") return exp.trial;
    if (col === "progress") return exp.progress();
    if (col === "fold") return foldText(exp);
    if (col === "latest") return exp.latest[this.key];
    if (col === "best") return exp.best[this.key];
    if (col === "best_epoch") return exp.bestEpoch[this.key];
    if (col.startsWith("hp:")) return exp.hp[col.slice(3)];
    return null;
  }

  sorted(rows) {
    const { col, dir } = this.sort;
    return rows.sort((a, b) => {
      const va = this.sortValue(a, col), vb = this.sortValue(b, col);
      if (va == null && vb == null) return a.index - b.index;
      if (va == null) return 1;           // missing values last, whatever the direction
      if (vb == null) return -1;
      if (va < vb) return -dir;
      if (va > vb) return dir;
      return a.index - b.index;
    });
  }

  render() {
    const paths = this.sweepPaths();
    const showFold = this.model.list.some((e) => e.fold || e.role !== "train");
    const showTrial = this.model.list.some((e) => e.trial != null);
    const keyLabel = this.key ? esc(this.key) : "metric";
    const arrow = (col) => (this.sort.col === col ? (this.sort.dir > 0 ? " ▲" : " ▼") : "");
    const th = (col, label, cls = "", title = "") =>
      `<th data-col="${esc(col)}" class="sortable ${cls}"${title ? ` title="${esc(title)}"` : ""}>${label}${arrow(col)}</th>`;
    this.thead.innerHTML = `<tr>${showTrial ? th("trial", "Trial", "num", "the adaptive search's trial number") : ""}${th("id", "Experiment")}${th("status", "Status")}${th("progress", "Progress")}
      ${showFold ? th("fold", "Fold") : ""}
      ${paths.map((p) => th(`hp:${p}`, esc(shortPath(p)), "num hp", p)).join("")}
      ${th("latest", `Latest <span class="muted">${keyLabel}</span>`, "num")}${th("best", `Best <span class="muted">${keyLabel}</span>`, "num")}
      ${th("best_epoch", "Best epoch", "num")}</tr>`;
    const rows = this.sorted(this.model.list.filter((e) => this.matches(e)));
    const key = this.key;
    // one format per column, from every experiment's values (not only the shown ones: filtering keeps the format)
    const all = this.model.list;
    this.cols = { paths, showFold, showTrial, key, hpFmt: new Map(paths.map((p) => [p, this.hpFormat(p)])),
                  scoreFmt: numFormat(all.flatMap((e) => [e.latest[key], e.best[key]]), { trim: false }) };
    this.rows = rows;
    this.virtual = rows.length > VIRTUAL_ABOVE;
    this.el.classList.toggle("virtual", this.virtual);
    this.window = null;
    if (!rows.length) {
      this.tbody.innerHTML = `<tr><td colspan="99" class="muted pad">${this.model.list.length ? "No experiment matches the filter." : "No experiments yet."}</td></tr>`;
    } else if (!this.virtual) {
      this.tbody.innerHTML = rows.map((exp) => this.rowHtml(exp)).join("");
    } else {
      this.renderWindow(true);
    }
  }

  /** Virtual mode: the rows in view (plus OVERSCAN each side) between spacers as tall as the rows left out. */
  renderWindow(force = false) {
    if (!this.virtual) return;
    const rows = this.rows;
    const headH = this.thead.offsetHeight;
    // the box's height once the rows are in (its max-height): before the first window it holds the header alone
    const cap = parseFloat(getComputedStyle(this.el).maxHeight);
    const viewH = Number.isFinite(cap) ? cap : this.el.clientHeight || window.innerHeight;
    // where the box will be scrolled once these rows are in: fewer rows than before (a filter) clamp the scroll
    const scroll = Math.min(this.el.scrollTop, Math.max(0, headH + rows.length * this.rowH - viewH));
    const first = Math.max(0, Math.floor((scroll - headH) / this.rowH) - OVERSCAN);
    const end = Math.min(rows.length, Math.ceil((scroll + viewH - headH) / this.rowH) + OVERSCAN);
    if (!force && this.window && this.window[0] === first && this.window[1] === end) return;
    this.window = [first, end];
    const spacer = (n, cls) => (n > 0 ? `<tr class="spacer ${cls}" aria-hidden="true"><td colspan="99" style="height:${n * this.rowH}px"></td></tr>` : "");
    this.tbody.innerHTML = spacer(first, "spacer-top") + rows.slice(first, end).map((exp) => this.rowHtml(exp)).join("")
      + spacer(rows.length - end, "spacer-bottom");
    // rows are one line each: measure the first one rendered (once) and lay out again if the guess was off
    if (this.measured) return;
    const h = this.tbody.querySelector("tr[data-exp]")?.getBoundingClientRect().height ?? 0;
    if (h <= 0) return;
    this.measured = true;
    if (Math.abs(h - this.rowH) > 0.5) {
      this.rowH = h;
      this.renderWindow(true);
    }
  }

  rowHtml(exp) {
    const { paths, showFold, showTrial, key, hpFmt, scoreFmt } = this.cols;
    const pct = (exp.progress() * 100).toFixed(0);
    const sp = exp.stepProgress;
    const inEpoch = sp && exp.status === "running" && sp.epoch > exp.epoch && sp.num_steps;
    const epochs = inEpoch ? `epoch ${sp.epoch}/${exp.numEpochs ?? "?"} · step ${sp.step}/${sp.num_steps}`
      : exp.numEpochs ? `${exp.epoch}/${exp.numEpochs}` : exp.epoch ? String(exp.epoch) : "–";
    const last = exp.alerts[exp.alerts.length - 1];
    const alerts = exp.numAlerts ? ` <span class="badge alert-${exp.alerts.some((a) => a.action === "stop") ? "stop" : "warn"} alert-badge" title="${esc(last?.message ?? "")}">⚠ ${exp.numAlerts}</span>` : "";
    const phase = exp.phase && exp.phase !== exp.status && exp.status === "running" ? `<span class="muted small">${esc(exp.phase)}</span>` : "";
    const err = exp.error ? ` title="${esc(exp.error)}"` : "";
    const best = this.best?.ids.has(exp.id);
    const cls = [exp.index === this.highlighted ? "hl" : "", best ? "best" : ""].filter(Boolean).join(" ");
    return `<tr data-exp="${esc(exp.id)}" class="${cls}">
        ${showTrial ? `<td class="num trial">${exp.trial ?? ""}</td>` : ""}
        <td><i class="swatch" style="background:${colorOf(exp.index)}"></i><a class="mono" href="${this.linkOf(exp)}">${esc(exp.id)}</a>${best ? ` <span class="best-mark" title="${esc(this.bestTitle())}">★ best</span>` : ""}</td>
        <td${err}>${statusCell(exp, this.model.shownStatus(exp))} ${phase}${alerts}</td>
        <td><div class="progress progress-${exp.status}"><i style="width:${pct}%"></i></div><span class="small muted">${epochs}</span></td>
        ${showFold ? `<td class="small">${esc(foldText(exp))}</td>` : ""}
        ${paths.map((p) => `<td class="num mono">${esc(hpFmt.get(p)(exp.hp[p]))}</td>`).join("")}
        <td class="num mono">${esc(scoreFmt(exp.latest[key]))}</td>
        <td class="num mono strong">${esc(scoreFmt(exp.best[key]))}</td>
        <td class="num">${exp.bestEpoch[key] ?? ""}</td></tr>`;
  }

  bestTitle() {
    const sel = this.model.selection;
    const cv = this.best?.gridPoints.length;
    return `best ${sel.split}/${sel.metric} (${sel.mode === "min" ? "lowest" : "highest"}${cv ? " mean over the folds" : ""}), the grid search's selection`;
  }

  /** Mark the row of `exp` (or none) as highlighted without re-rendering. */
  highlight(exp) {
    this.highlighted = exp ? exp.index : null;
    for (const tr of this.tbody.querySelectorAll("tr.hl")) tr.classList.remove("hl");
    if (exp) this.tbody.querySelector(`tr[data-exp="${CSS.escape(exp.id)}"]`)?.classList.add("hl");
  }
}

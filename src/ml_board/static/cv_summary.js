// Cross-validation summaries: mean and std over folds per grid point, and for nested CV the per-outer-fold choice.
import { esc, numFormat } from "./format.js";
import { shortPath } from "./experiments_table.js";

/** Per grid point, mean ± std of `key` over its folds (RunModel.cvStats), best first within each outer fold. */
export function sortedStats(model, key, mode) {
  const sign = mode === "min" ? 1 : -1;
  return model.cvStats(key)
    .sort((a, b) => (a.outer ?? 0) - (b.outer ?? 0) || (a.mean == null) - (b.mean == null) || sign * (a.mean - b.mean));
}

/** Renders the cross-validation (or nested CV) summary of a RunModel under `el`. */
export function renderCvSummary(el, model, key, paths, best = model.best()) {
  const strategy = model.started?.strategy;
  if (!key || (strategy !== "cross_validation" && strategy !== "nested_cv")) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  const mode = model.modeOf(key);
  const stats = sortedStats(model, key, mode);
  const hpFmt = new Map(paths.map((p) => [p, numFormat(stats.map((s) => s.hp[p]))]));
  const hpCells = (hp) => paths.map((p) => `<td class="num mono">${esc(hpFmt.get(p)(hp[p]))}</td>`).join("");
  const meanFmt = numFormat(stats.map((s) => s.mean), { trim: false });
  const stdFmt = numFormat(stats.map((s) => s.std), { trim: false });
  const hpHead = paths.map((p) => `<th class="num" title="${esc(p)}">${esc(shortPath(p))}</th>`).join("");
  // the best grid point of each outer fold by the selection (RunModel.best), whichever metric is shown
  const bestOf = new Map(best.gridPoints.map((g) => [g.outer, g.gridPointId]));
  let html = `<div class="card-head"><h2>${strategy === "nested_cv" ? "Nested cross-validation" : "Cross-validation"}</h2>
    <span class="muted">${esc(key)} at the last epoch, mean ± sample std (n−1) over the folds that are done (${mode === "min" ? "lower" : "higher"} is better)</span></div>`;
  if (strategy === "nested_cv") html += outerTable(model, key, stats, hpHead, hpCells);
  html += `<table class="grid cv-table"><thead><tr>${strategy === "nested_cv" ? "<th>Outer fold</th>" : ""}<th>Grid point</th>${hpHead}
    <th class="num">Folds done</th><th class="num">Mean</th><th class="num">Std</th></tr></thead><tbody>
    ${stats.map((s) => `<tr class="${bestOf.get(s.outer) === s.gridPointId ? "best" : ""}" data-gp="${esc(s.gridPointId)}">
      ${strategy === "nested_cv" ? `<td>${s.outer ?? ""}</td>` : ""}<td class="mono">${esc(s.gridPointId)}</td>${hpCells(s.hp)}
      <td class="num">${s.done}/${s.folds}</td><td class="num mono strong">${esc(meanFmt(s.mean))}</td>
      <td class="num mono">${s.std == null ? "" : esc(stdFmt(s.std))}</td></tr>`).join("")}</tbody></table>`;
  el.innerHTML = html;
}

function outerTable(model, key, stats, hpHead, hpCells) {
  const name = key.slice(key.indexOf("/") + 1);
  const refits = model.list.filter((e) => e.role === "refit").sort((a, b) => (a.fold?.outer ?? 0) - (b.fold?.outer ?? 0));
  if (!refits.length) return `<p class="muted pad">No outer fold has chosen its grid point yet.</p>`;
  const innerOf = (exp) => stats.find((s) => s.outer === (exp.fold?.outer) && s.gridPointId === exp.gridPointId);
  const innerFmt = numFormat(refits.map((e) => innerOf(e)?.mean), { trim: false });
  const testFmt = numFormat(refits.map((e) => e.latest[`test/${name}`]), { trim: false });
  const rows = refits.map((exp) => {
    const outer = exp.fold?.outer;
    const inner = innerOf(exp);
    return `<tr data-outer="${esc(outer)}"><td>${esc(outer)}</td><td class="mono">${esc(exp.gridPointId)}</td>${hpCells(exp.hp)}
      <td class="num mono">${inner ? esc(innerFmt(inner.mean)) : ""}</td><td class="num mono strong">${esc(testFmt(exp.latest[`test/${name}`]))}</td>
      <td>${esc(exp.status)}</td></tr>`;
  });
  return `<h3>Choice per outer fold</h3><table class="grid outer-table"><thead><tr><th>Outer fold</th><th>Chosen grid point</th>${hpHead}
    <th class="num">Inner mean</th><th class="num">Test ${esc(name)}</th><th>Refit</th></tr></thead><tbody>${rows.join("")}</tbody></table>
    <h3>Inner cross-validation</h3>`;
}

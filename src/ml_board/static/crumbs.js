// The breadcrumb of the top bar: Grid searches / <grid search> / <experiment>. A grid search with a name (its
// labels) is shown by it, with the id as the tooltip; the name arrives with the view's summary.
import { esc } from "./format.js";

const el = () => document.getElementById("crumbs");

/** Draw the crumbs of a route ({gs, exp}); the grid search by id until `nameCrumb` knows its name. */
export function renderCrumbs(r) {
  const items = [`<a href="#/">Grid searches</a>`];
  if (r.gs) items.push(`<a href="#/gs/${encodeURIComponent(r.gs)}" id="crumb-gs" data-gs="${esc(r.gs)}">${esc(r.gs)}</a>`);
  if (r.exp) items.push(`<span id="crumb-exp">${esc(r.exp)}</span>`);
  el().innerHTML = items.join(`<span class="sep">/</span>`);
}

/** Show grid search `gs` by its `name` (or by its id again when the name was removed). */
export function nameCrumb(gs, name) {
  const a = document.getElementById("crumb-gs");
  if (!a || a.dataset.gs !== gs) return;
  a.textContent = name || gs;
  a.title = name ? gs : "";
  a.classList.toggle("named", !!name);
}

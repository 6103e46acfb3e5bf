// The compact legend under a chart's title: which line is which. With few lines every experiment is named; with
// many only the best and the hovered one (a legend of hundreds of names helps nobody and costs a redraw per move).
import { esc } from "./format.js";

export const FULL_LEGEND_MAX = 12;

/** A short line in a split's dash style, as SVG (the same dash array uPlot strokes with). */
export function dashSample(dash, color = "#4a5466") {
  return `<svg class="dash" width="24" height="8" aria-hidden="true"><line x1="1" y1="4" x2="23" y2="4" stroke="${esc(color)}"
    stroke-width="2" stroke-dasharray="${esc(dash.join(" "))}"/></svg>`;
}

/**
 * Draws `entries` ([{id, color, mark: "best" | "focus" | "", values: text}]) and, for a chart of several splits,
 * the dash style of each (`splits`: [{split, dash}]); `more`: how many lines are not named. Redraws only on change.
 */
export class Legend {
  constructor(el) {
    this.el = el;
    this.html = null;
  }

  render(entries, splits = [], more = 0) {
    const items = entries.map((e) => `<span class="lg-item${e.mark ? ` lg-${e.mark}` : ""}" data-exp="${esc(e.id)}">`
      + `<i class="swatch" style="background:${esc(e.color)}"></i>${e.mark === "best" ? `<b class="best-mark" title="best by the grid search's selection">★</b>` : ""}`
      + `<span class="mono">${esc(e.id)}</span>${e.values ? ` <b class="mono">${esc(e.values)}</b>` : ""}</span>`);
    if (more > 0) items.push(`<span class="muted lg-more">+${more} more · hover a line or a row to name it</span>`);
    const key = splits.length > 1 ? splits.map((s) => `<span class="lg-split" data-split="${esc(s.split)}">${dashSample(s.dash)}${esc(s.split)}</span>`).join("") : "";
    const html = `${key ? `<span class="lg-splits">${key}</span>` : ""}${items.join("")}`;
    if (html === this.html) return;
    this.html = html;
    this.el.innerHTML = html;
  }
}

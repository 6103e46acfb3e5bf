// Small text formatters shared by the views: escaping, numbers, times, durations, status badges.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escape a value for use inside HTML text or a quoted attribute. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

// Numbers: one rule for the whole board (docs/design.md, "One number format"). Numbers shown together (a table
// column, a chart axis, the values of one tooltip) share one notation, chosen from their magnitude range:
// exponential with 3 significant digits when any of them is below 1e-3 or at least 1e5 (integers: 1e6), else
// fixed with as many decimals as give the smallest of them 4 significant digits (at most 6). A single value is the
// same rule applied to it alone.
const SIG = 4;
const MAX_DECIMALS = 6;

const trimZeros = (text) => text.replace(/(\.\d*?)0+(?=$|e)/, "$1").replace(/\.(?=$|e)/, "");

/**
 * The formatter of a set of numbers shown together. `trim` drops trailing zeros (hyperparameters, axes: 0.01
 * not 0.010000); without it the decimals line up (score columns). Non-numbers are formatted by `num`.
 */
export function numFormat(values, { trim = true } = {}) {
  let lo = Infinity, hi = 0, ints = true, any = false;
  for (const v of values) {
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    any = true;
    const a = Math.abs(v);
    if (a !== 0 && a < lo) lo = a;
    if (a > hi) hi = a;
    if (!Number.isInteger(v)) ints = false;
  }
  const other = (v) => (v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  if (!any) return other;
  let fmt;
  if (ints && hi < 1e6) fmt = (v) => String(v);
  else if (lo < 1e-3 || hi >= 1e5) fmt = (v) => (v === 0 ? "0" : trim ? trimZeros(v.toExponential(2)) : v.toExponential(2));
  else {
    const decimals = Math.min(MAX_DECIMALS, Math.max(0, SIG - 1 - Math.floor(Math.log10(lo === Infinity ? 1 : lo))));
    fmt = (v) => (trim ? trimZeros(v.toFixed(decimals)) : v.toFixed(decimals));
  }
  return (v) => (typeof v === "number" && Number.isFinite(v) ? fmt(v) : other(v));
}

/** A score or hyperparameter on its own as a short, readable string (the rule of `numFormat` for one value). */
export function num(value) {
  return numFormat([value])(value);
}

/** Tick labels of a uPlot axis: linear ticks get the decimals of their increment, log ticks `numFormat`'s rule. */
export function axisValues(u, splits, axisIdx, space, incr) {
  const finite = splits.filter((v) => v != null && Number.isFinite(v));
  const hi = Math.max(0, ...finite.map(Math.abs));
  const linear = incr != null && Number.isFinite(incr) && incr > 0 && u.scales[u.axes[axisIdx].scale]?.distr !== 3;
  if (!linear || incr < 1e-3 || hi >= 1e5) return splits.map(numFormat(finite));
  const decimals = (String(+incr.toPrecision(6)).split(".")[1] || "").length;
  return splits.map((v) => (v == null ? "" : v.toFixed(decimals)));
}

/** Unix seconds as a local date and time, "2026-11-23 14:05:09". */
export function datetime(ts) {
  if (ts == null) return "";
  const d = new Date(ts * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Seconds as "1h 02m", "3m 05s" or "4.2s". */
export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
  if (m < 60) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** A coloured status pill; the status word is also the CSS class. */
export function badge(status) {
  const s = String(status || "unknown");
  return `<span class="badge badge-${esc(s.replace(/[^a-z_]/gi, ""))}">${esc(s.replace(/_/g, " "))}</span>`;
}

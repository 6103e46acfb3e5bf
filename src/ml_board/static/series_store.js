// What the charts of a large grid search hold of the board's answers (band_charts.js): per score key, the quantile
// band (GET .../series/band), each drawn experiment's downsampled series (GET .../series) and a zoom window's exact
// points, merged with the points the live feed added to the read model after them. No DOM here.
import { getJSON, gsPath } from "./api.js";
import { positiveOnly } from "./chart_grid.js";

export const BAND_QUANTILES = [0.1, 0.5, 0.9];
const MAX_IDS = 200;  // experiments per /series request (the board's limit)
const NO_BAND = { epochs: [], values: [[], [], []], counts: [] };

export class SeriesStore {
  constructor(gs) {
    this.gs = gs;
    this.series = new Map();        // key -> Map(id -> {epochs, values}) as the board sent them
    this.zoomed = new Map();        // key -> {from, to, series: Map(id -> points)}: exact points of a zoom window
    this.bands = new Map();         // key -> the board's band answer
    this.bandAsked = new Map();     // key -> performance.now() of the last band request
    this.requests = 0;              // requests made (tests, bench)
    this.askedPoints = null;        // `points` of the last series request
  }

  /** Of `ids`, those whose series of `key` is not held. */
  missing(key, ids) {
    const held = this.series.get(key);
    return ids.filter((id) => !held || !held.has(id));
  }

  /** Ask for the series of `ids`, at most `points` each; `window` ({from, to, series}): a zoom's exact points. */
  async fetchSeries(key, ids, points, window = null) {
    const held = this.series.get(key) || new Map();
    this.series.set(key, held);
    for (let i = 0; i < ids.length; i += MAX_IDS) {
      const chunk = ids.slice(i, i + MAX_IDS);
      const zoom = window ? `&from_epoch=${window.from}&to_epoch=${window.to}` : "";
      this.requests++;
      this.askedPoints = points;
      const answer = await getJSON(`${gsPath(this.gs)}/series?key=${encodeURIComponent(key)}&points=${points}`
        + `&experiments=${chunk.map(encodeURIComponent).join(",")}${zoom}`);
      for (const [id, s] of Object.entries(answer.series)) (window ? window.series : held).set(id, s);
    }
  }

  async fetchBand(key) {
    this.bandAsked.set(key, performance.now());
    this.requests++;
    const band = await getJSON(`${gsPath(this.gs)}/series/band?key=${encodeURIComponent(key)}&quantiles=${BAND_QUANTILES.join(",")}`);
    this.bands.set(key, band);
  }

  /** A line's points: the board's (or the zoom window's), then what the live feed added after them. */
  linePoints(key, exp) {
    const zoom = this.zoomed.get(key);
    const fetched = (zoom && zoom.series.get(exp.id)) || this.series.get(key)?.get(exp.id) || { epochs: [], values: [] };
    const epochs = fetched.epochs.slice(), values = fetched.values.slice();
    const last = epochs.length ? epochs[epochs.length - 1] : -1;
    const live = exp.series.get(key);
    if (live) {
      for (let e = last + 1; e < live.length; e++) {
        if (live[e] != null && (!zoom || (e >= zoom.from && e <= zoom.to))) { epochs.push(e); values.push(live[e]); }
      }
    }
    return { epochs, values };
  }

  /** uPlot's aligned data: x = every epoch of the band and the lines; lo, hi, median, then one array per line. */
  aligned(key, lines, logY) {
    const band = this.bands.get(key) || NO_BAND;
    const pts = lines.map((e) => this.linePoints(key, e));
    const xsSet = new Set(band.epochs);
    for (const p of pts) for (const e of p.epochs) xsSet.add(e);
    const xs = [...xsSet].sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const column = (epochs, values) => {
      const ys = new Array(xs.length).fill(null);
      for (let i = 0; i < epochs.length; i++) ys[at.get(epochs[i])] = values[i];
      return logY ? positiveOnly(ys).ys : ys;
    };
    const [lo, mid, hi] = band.values;
    return [xs, column(band.epochs, lo), column(band.epochs, hi), column(band.epochs, mid),
      ...pts.map((p) => column(p.epochs, p.values))];
  }
}

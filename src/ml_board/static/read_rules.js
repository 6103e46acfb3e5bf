// The rules of the read model (docs/events.md, "Read model"): the same rules as src/mlgym/events/read_rules.py.
// Pure functions, no DOM: Node imports this module in the parity test (tests/ml_board/test_read_model_parity.py).

export const DIRECTIONS = ["max", "min"];

/** A score as the read model keeps it: a finite number, else null (NaN, infinities, null, strings). */
export function finite(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * The scores of an `evaluation_result` payload: metrics first, then losses, each in logged order, as
 * {key: "<split>/<name>", split, name, kind: "metric" | "loss", value}. A score's split is its own `split`,
 * else the payload's; a score without a split or a name is skipped.
 */
export function scoresOf(payload) {
  const out = [];
  for (const [field, kind] of [["metric_scores", "metric"], ["loss_scores", "loss"]]) {
    const entries = Array.isArray(payload[field]) ? payload[field] : [];
    for (const entry of entries) {
      if (!entry || typeof entry !== "object" || Array.isArray(entry)) continue;
      const name = entry[kind];
      const split = entry.split ?? payload.split;
      if (name == null || split == null) continue;
      out.push({ key: `${split}/${name}`, split: String(split), name: String(name), kind, value: finite(entry.score) });
    }
  }
  return out;
}

/** The direction a `score_directions` map declares for `name`, if a valid one, else null. */
export function declared(directions, name) {
  if (!directions || typeof directions !== "object" || !Object.hasOwn(directions, name)) return null;
  const direction = directions[name];
  return DIRECTIONS.includes(direction) ? direction : null;
}

/** Logs written before `score_directions` existed: a loss is minimised, a metric maximised. */
export function fallbackDirection(kind) {
  return kind === "loss" ? "min" : "max";
}

/** Strict improvement: a tie keeps the first best. */
export function improves(value, best, direction) {
  return best == null || (direction === "min" ? value < best : value > best);
}

/** n, mean and sample standard deviation (ddof=1; null when n < 2), summed left to right like the Python side. */
export function meanStd(values) {
  const n = values.length;
  if (!n) return { n, mean: null, std: null };
  let total = 0;
  for (const v of values) total += v;
  const mean = total / n;
  if (n < 2) return { n, mean, std: null };
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { n, mean, std: Math.sqrt(squares / (n - 1)) };
}

/** A plain JSON object (not null, not an array), else null. */
export function objectOrNull(value) {
  return value && typeof value === "object" && !Array.isArray(value) ? value : null;
}

// Distinct, stable colours for experiments: the n-th experiment seen always gets the same colour.

const GOLDEN_ANGLE = 137.508;

/** The colour of the experiment with index `i` (its order of appearance in the run). */
export function colorOf(i) {
  const hue = (i * GOLDEN_ANGLE + 210) % 360;
  const light = 42 + (i % 3) * 8;
  return `hsl(${hue.toFixed(1)}, 68%, ${light}%)`;
}

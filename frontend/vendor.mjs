// Copies the pinned dist files of the browser libraries into src/ml_board/static/vendor/.
// Run `npm ci && npm run vendor` here; the output is committed so the board works without npm.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "ml_board", "static", "vendor");
const files = [
  ["uplot/dist/uPlot.esm.js", "uPlot.esm.js"],
  ["uplot/dist/uPlot.min.css", "uPlot.min.css"],
  ["uplot/LICENSE", "uPlot.LICENSE"],
  ["socket.io-client/dist/socket.io.esm.min.js", "socket.io.esm.min.js"],
  ["socket.io-client/LICENSE", "socket.io-client.LICENSE"],
];

mkdirSync(out, { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(here, "node_modules", from), join(out, to));
  const digest = createHash("sha256").update(readFileSync(join(out, to))).digest("hex");
  console.log(`${to}  sha256:${digest}`);
}

// Entry point: hash routes to views and shows the state of the live connection.
import { ensureReadAccess } from "./auth.js";
import { LiveFeed } from "./live.js";
import { renderCrumbs } from "./crumbs.js";
import { ListView } from "./list_view.js";
import { RunView } from "./run_view.js";
import { ExperimentView } from "./experiment_view.js";

let live = null;
const viewEl = document.getElementById("view");
const connEl = document.getElementById("conn");
const bannerEl = document.getElementById("banner");
let current = null;

const CONN_TEXT = { connecting: "connecting…", connected: "live", disconnected: "disconnected" };
let wasConnected = false;
function showConnection(state) {
  connEl.className = `conn conn-${state}`;
  connEl.querySelector("span").textContent = CONN_TEXT[state] || state;
  if (state === "connected") {
    wasConnected = true;
    bannerEl.hidden = true;
  } else if (state === "disconnected") {
    bannerEl.hidden = false;
    bannerEl.textContent = wasConnected
      ? "Connection to the board lost — reconnecting; no points will be missed."
      : "Cannot reach the board — retrying…";
  }
}

/** Parse the hash: "#/", "#/gs/<id>", "#/gs/<id>/exp/<exp>". */
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "gs" && parts[1] && parts[2] === "exp" && parts[3]) return { name: "experiment", gs: parts[1], exp: parts[3] };
  if (parts[0] === "gs" && parts[1]) return { name: "run", gs: parts[1] };
  return { name: "list" };
}

function show() {
  if (current) current.unmount();
  const r = route();
  renderCrumbs(r);
  viewEl.innerHTML = "";
  if (r.name === "run") current = new RunView(live, r.gs);
  else if (r.name === "experiment") current = new ExperimentView(live, r.gs, r.exp);
  else current = new ListView(live);
  document.title = r.gs ? `${r.exp || r.gs} · MLboard` : "MLboard";
  current.mount(viewEl);
  window.mlboard.view = current;
}

// A handle for tests and the benchmark: what the page holds (view.stats(), view.points(key)), when it was ready
// (readyAt), and an optional onDraw(lastSeq) callback the benchmark sets to time live updates.
window.mlboard = { live: null, view: null };

async function start() {
  await ensureReadAccess(viewEl); // a board started with --read_token: ask for it once (kept in sessionStorage)
  live = new LiveFeed();
  live.onState(showConnection);
  window.mlboard.live = live;
  window.addEventListener("hashchange", show);
  show();
}
start();

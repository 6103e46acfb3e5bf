// The board's optional read token: asked for once, kept in sessionStorage, sent as `Authorization: Bearer` on every
// REST request and in the Socket.IO auth payload. A board without a read token never asks.
import { esc } from "./format.js";

const KEY = "mlboard.read_token";
let pageToken = ""; // where sessionStorage is disabled, the token lives as long as the page

/** The stored read token, or "" if none. */
export function readToken() {
  try { return sessionStorage.getItem(KEY) || pageToken; } catch (_) { return pageToken; }
}

function storeToken(token) {
  pageToken = token;
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch (_) { /* storage disabled: pageToken only */ }
}

/** `headers` plus `Authorization: Bearer <token>` when a read token is stored. */
export function authHeaders(headers = {}) {
  const token = readToken();
  return token ? { ...headers, Authorization: `Bearer ${token}` } : headers;
}

/** Whether the board lets this page read with the stored token (or without one). */
async function canRead(token) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch("/api/grid_searches", { headers });
  return resp.status !== 401;
}

/**
 * Resolve once the page may read: at once when the board needs no token or the stored one works, else after the
 * user typed one the board accepts (shown as a small form in `el`).
 */
export async function ensureReadAccess(el) {
  try {
    if (await canRead(readToken())) return;
  } catch (_) {
    return; // the board is unreachable: the views say so and retry
  }
  storeToken("");
  await new Promise((resolve) => showForm(el, resolve));
}

function showForm(el, done) {
  el.innerHTML = `<section class="card token-card"><form id="token-form" class="pad">
      <h1>This board needs a read token</h1>
      <p class="muted">Ask whoever started <code>ml_board</code> for its <code>--read_token</code>. It is kept for
        this tab only.</p>
      <label>Read token <input id="token-input" name="token" type="password" autocomplete="current-password" required></label>
      <button type="submit">Open the board</button>
      <p id="token-error" class="error" role="alert" hidden></p></form></section>`;
  const form = el.querySelector("#token-form");
  const input = el.querySelector("#token-input");
  const error = el.querySelector("#token-error");
  input.focus();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    try {
      if (!(await canRead(token))) throw new Error("The board did not accept this token.");
    } catch (err) {
      error.hidden = false;
      error.innerHTML = esc(err.message);
      return;
    }
    storeToken(token);
    done();
  });
}

/** Download `url` with the token (a plain link cannot send the header) and save it as `filename`. */
export async function download(url, filename) {
  const resp = await fetch(url, { headers: authHeaders() });
  if (!resp.ok) throw new Error(`${resp.status} ${resp.statusText}`);
  const href = URL.createObjectURL(await resp.blob());
  const a = Object.assign(document.createElement("a"), { href, download: filename });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

// The ingest token, for editing labels: typed in the edit form, kept in sessionStorage (this tab only) once the
// board accepted it, sent as X-Ingest-Token (Authorization holds the read token).
const INGEST_KEY = "mlboard.ingest_token";
let pageIngestToken = "";

/** The ingest token this tab used last, or "". */
export function ingestToken() {
  try { return sessionStorage.getItem(INGEST_KEY) || pageIngestToken; } catch (_) { return pageIngestToken; }
}

/** Keep `token` as this tab's ingest token ("" forgets it). */
export function storeIngestToken(token) {
  pageIngestToken = token;
  try {
    if (token) sessionStorage.setItem(INGEST_KEY, token);
    else sessionStorage.removeItem(INGEST_KEY);
  } catch (_) { /* storage disabled: pageIngestToken only */ }
}

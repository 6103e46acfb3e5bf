// REST access to the board: JSON requests and the NDJSON event stream used to replay a stored run.
import { authHeaders } from "./auth.js";
import { parseEventLine } from "./event_json.js";

/** An HTTP error carrying the status and the server's `{"error": ...}` message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function failure(resp) {
  let message = `${resp.status} ${resp.statusText}`;
  try {
    const body = await resp.json();
    if (body && body.error) message = body.error;
  } catch (_) { /* not JSON: keep the status line */ }
  return new ApiError(resp.status, message);
}

/** GET `path` and return the parsed JSON; throws ApiError on a non-2xx answer. */
export async function getJSON(path) {
  const resp = await fetch(path, { headers: authHeaders({ Accept: "application/json" }) });
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

/** `method` `path` with `body` (if any) as JSON and `extraHeaders`; returns the parsed answer; throws ApiError on a
 * non-2xx answer. */
export async function sendJSON(method, path, body, extraHeaders = {}) {
  const json = body === undefined ? {} : { "Content-Type": "application/json" };
  const headers = authHeaders({ Accept: "application/json", ...json, ...extraHeaders });
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

export const putJSON = (path, body, extraHeaders = {}) => sendJSON("PUT", path, body, extraHeaders);

export const gsPath = (gs) => `/api/grid_searches/${encodeURIComponent(gs)}`;

/** Start streaming every stored event of `gs` from `fromSeq` as NDJSON; returns the pending response. */
export function openEventStream(gs, fromSeq, signal) {
  const url = `${gsPath(gs)}/events?from_seq=${fromSeq}&format=ndjson`;
  return fetch(url, { headers: authHeaders({ Accept: "application/x-ndjson" }), signal });
}

/**
 * Read an NDJSON response of events (from `openEventStream`), calling `onBatch(events)` once per received chunk,
 * so a large run is applied while it downloads. Resolves when the stream ends.
 */
export async function readEvents(respPromise, onBatch) {
  const resp = await respPromise;
  if (!resp.ok) throw await failure(resp);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const text = rest + decoder.decode(value, { stream: true });
    const cut = text.lastIndexOf("\n");
    if (cut < 0) { rest = text; continue; }
    rest = text.slice(cut + 1);
    onBatch(parseLines(text.slice(0, cut)));
  }
  if (rest.trim()) {
    // A server may omit the final newline; a line that does not parse is a torn write the live feed resends.
    try { onBatch([parseEventLine(rest)]); } catch (_) { /* skipped */ }
  }
}

function parseLines(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (line) out.push(parseEventLine(line));
  }
  return out;
}

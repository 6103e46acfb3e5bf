// The one Socket.IO connection of the page: joins grid-search rooms from a given seq and rejoins after reconnects.
import { io } from "./vendor/socket.io.esm.min.js";
import { readToken } from "./auth.js";

/**
 * A live feed of stored events. `subscribe(gs, nextSeq, onEvents)` joins the room of `gs` from `nextSeq()`;
 * after every (re)connect it joins again from `nextSeq()`, so a dropped connection loses no event, and the
 * subscriber drops what it already has by `seq`.
 */
export class LiveFeed {
  constructor() {
    this.subs = new Map();
    this.stateListeners = new Set();
    this.changeListeners = new Set();
    this.state = "connecting";
    // auth is read again on every (re)connect: the board lets a client join rooms only with its read token
    const auth = (cb) => cb({ token: readToken() || null });
    this.socket = io({ auth, reconnectionDelay: 250, reconnectionDelayMax: 2000, timeout: 5000 });
    this.socket.on("connect", () => {
      this.setState("connected");
      for (const gs of this.subs.keys()) this.join(gs);
    });
    this.socket.on("disconnect", () => this.setState("disconnected"));
    this.socket.on("connect_error", () => this.setState("disconnected"));
    this.socket.on("events", (msg) => {
      const sub = msg && this.subs.get(msg.grid_search_id);
      if (sub && Array.isArray(msg.events)) sub.onEvents(msg.events);
    });
    this.socket.on("grid_searches_changed", (msg) => {
      for (const fn of this.changeListeners) fn(msg || {});
    });
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    for (const fn of this.stateListeners) fn(state);
  }

  /** Call `fn(state)` with "connecting" | "connected" | "disconnected" now and on every change. */
  onState(fn) {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }

  /** Call `fn({grid_search_id})` when the board announces a new grid search or a status change. */
  onGridSearchesChanged(fn) {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  subscribe(gs, nextSeq, onEvents) {
    this.subs.set(gs, { nextSeq, onEvents });
    if (this.socket.connected) this.join(gs);
    return () => this.unsubscribe(gs);
  }

  unsubscribe(gs) {
    if (!this.subs.delete(gs)) return;
    if (this.socket.connected) this.socket.emit("leave", { grid_search_id: gs });
  }

  /** Ask again from the subscriber's next seq (after a gap was seen). */
  rejoin(gs) {
    if (!this.subs.has(gs) || !this.socket.connected) return;
    this.socket.emit("leave", { grid_search_id: gs });
    this.join(gs);
  }

  join(gs) {
    const sub = this.subs.get(gs);
    if (sub) this.socket.emit("join", { grid_search_id: gs, from_seq: sub.nextSeq() });
  }
}

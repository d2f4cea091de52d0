// The transport half of Parley's page client: one socket per tab speaking docs/protocol.md.
// It owns refs and replies, the outbox of unacknowledged posts, reconnecting with backoff,
// liveness pings and `resume`. It knows nothing of the page: the page gives it the cursors to
// resume from and receives frames and state changes (connecting, catching-up, live,
// reconnecting).

const IDLE_BEFORE_PING_MS = 30_000; // section 5, step 9
const PONG_WAIT_MS = 10_000;
const STABLE_MS = 10_000; // a socket up this long resets the backoff
const BACKOFF_CAP_MS = 30_000;
const LOGGED_OUT = new Set([4001, 4003]);

export class Disconnected extends Error {
  constructor() {
    super("The connection closed before the server answered.");
    this.name = "Disconnected";
  }
}

export class Connection {
  // url: the socket's URL, without `resume=1` (added here).
  // cursors(): room id -> the last seq the page shows, sent as `resume` when a socket opens.
  // onFrame(frame): every frame that is not a reply to a request of ours.
  // onResumed(frame): the `resumed` reply, before queued posts are sent again.
  // onState(state): "connecting" | "catching-up" | "live" | "reconnecting".
  // onLoggedOut(code): 4001 or 4003, after which the socket does not reconnect.
  constructor({ url, cursors, onFrame, onResumed, onState, onLoggedOut }) {
    Object.assign(this, { url, cursors, onFrame, onResumed, onState, onLoggedOut });
    this.socket = null;
    this.attempt = 0;
    this.nextRef = 1;
    this.pending = new Map(); // ref -> {resolve, reject}
    this.outbox = new Map(); // client_id -> {frame, resolve, reject}; kept until acked
    this.ready = false; // after `resumed`: sends go out, queued posts have been resent
    this.lastHeard = 0;
    this.pingSent = 0;
    this.timers = {};
  }

  start() {
    this.open();
    this.timers.liveness = setInterval(() => this.checkLiveness(), 5_000);
  }

  open() {
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    const separator = this.url.includes("?") ? "&" : "?";
    const socket = new WebSocket(`${this.url}${separator}resume=1`);
    this.socket = socket;
    socket.addEventListener("open", () => this.opened(socket));
    socket.addEventListener("message", (event) => this.heard(socket, event));
    socket.addEventListener("close", (event) => this.closed(socket, event.code));
  }

  // With ?resume=1 the server holds live entries until our first frame, so `resume` goes out at
  // once (before `hello`) and every missed entry arrives once, in order.
  opened(socket) {
    if (socket !== this.socket) return;
    this.lastHeard = Date.now();
    this.onState("catching-up");
    this.request({ type: "resume", cursors: this.cursors() }, { beforeReady: true })
      .then((reply) => {
        this.ready = true; // before onResumed, which may fetch history
        if (reply.type === "resumed") this.onResumed(reply);
        this.onState("live");
        for (const item of this.outbox.values()) this.transmitPost(item);
        clearTimeout(this.timers.stable);
        this.timers.stable = setTimeout(() => { this.attempt = 0; }, STABLE_MS);
      })
      .catch(() => {}); // the socket closed first: the next one resumes
  }

  heard(socket, event) {
    if (socket !== this.socket) return;
    this.lastHeard = Date.now();
    this.pingSent = 0;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return; // not ours to show; the server never sends anything but JSON
    }
    const waiting = frame.ref !== undefined && this.pending.get(frame.ref);
    if (waiting) {
      this.pending.delete(frame.ref);
      waiting.resolve(frame);
    } else {
      this.onFrame(frame);
    }
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.ready = false;
    clearTimeout(this.timers.stable);
    for (const waiting of this.pending.values()) waiting.reject(new Disconnected());
    this.pending.clear();
    if (LOGGED_OUT.has(code)) {
      clearInterval(this.timers.liveness);
      this.onLoggedOut(code);
      return;
    }
    this.onState("reconnecting");
    // Full jitter, so that after a restart the clients come back spread out, not at once.
    const delay = Math.random() * Math.min(BACKOFF_CAP_MS, 500 * 2 ** this.attempt);
    this.attempt += 1;
    this.timers.reconnect = setTimeout(() => this.open(), delay);
  }

  // A socket that has heard nothing for a while gets a ping; one that does not answer it is
  // dropped, because a dead network can leave a socket "open" for minutes.
  checkLiveness() {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (this.pingSent && now - this.pingSent > PONG_WAIT_MS) {
      this.pingSent = 0;
      socket.close();
      this.closed(socket, 1006);
    } else if (!this.pingSent && now - this.lastHeard > IDLE_BEFORE_PING_MS) {
      this.pingSent = now;
      this.notify({ type: "ping" });
    }
  }

  isOpen() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN);
  }

  // Fire and forget (typing, read marks): dropped while not live.
  notify(frame) {
    if (!this.ready || !this.isOpen()) return false;
    this.socket.send(JSON.stringify({ ...frame, ref: this.nextRef++ }));
    return true;
  }

  // A frame that has a reply: resolves with it (an `error` frame included), rejects with
  // Disconnected when the socket closes first or is not live.
  request(frame, { beforeReady = false } = {}) {
    if (!this.isOpen() || (!this.ready && !beforeReady)) return Promise.reject(new Disconnected());
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.socket.send(JSON.stringify({ ...frame, ref }));
    });
  }

  // Posts a message; it stays in the outbox, and is sent again with the same client_id after
  // every reconnect, until the server acknowledges it (never posted twice). Resolves with the
  // `ack`; rejects with the `error` frame of a refusal that retrying cannot fix.
  // `attachments`: ids of files uploaded for this message (see uploads.js); `replyTo`: the
  // seq of the message it answers.
  post(room, body, { attachments = [], replyTo = null, clientId = crypto.randomUUID() } = {}) {
    return new Promise((resolve, reject) => {
      const frame = { type: "message.send", room, body, client_id: clientId };
      if (attachments.length) frame.attachments = attachments;
      if (replyTo !== null) frame.reply_to = replyTo;
      const item = { frame, resolve, reject };
      this.outbox.set(clientId, item);
      if (this.ready) this.transmitPost(item);
    });
  }

  pendingPosts() {
    return this.outbox.size;
  }

  transmitPost(item) {
    const clientId = item.frame.client_id;
    this.request(item.frame).then(
      (reply) => {
        if (reply.type === "ack") {
          this.outbox.delete(clientId);
          item.resolve(reply);
        } else if (reply.code === "rate_limited") {
          const wait = (reply.details?.retry_after ?? 1) * 1000;
          setTimeout(() => { if (this.ready) this.transmitPost(item); }, wait);
        } else {
          this.outbox.delete(clientId);
          item.reject(reply);
        }
      },
      () => {}, // disconnected: resent after the next resume
    );
  }
}

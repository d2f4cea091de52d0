// The transport half of ParleyClient: one socket speaking docs/protocol.md, the same algorithm
// as the page's chat/static/chat/connection.js. It owns refs and replies, the outbox of posts
// resent with the same client_id until acked, reconnecting with full-jitter backoff, liveness
// pings and sending `resume` first. It knows nothing of rooms: its owner gives it the cursors
// and receives the other frames.

import { Emitter } from "./emitter.js";
import {
  CloseCodes,
  LOGGED_OUT_CODES,
  type AckFrame,
  type ErrorFrame,
  type MessageSendFrame,
  type ReadMarkFrame,
  type ReplyTo,
  type RequestFrame,
  type ResumedFrame,
  type ServerFrame,
  type TypingFrame,
} from "./frames.js";

export type ClientState =
  | "idle"
  | "connecting"
  | "catching-up"
  | "live"
  | "reconnecting"
  | "logged-out"
  | "closed";

export interface ConnectionEvents {
  state: ClientState;
  loggedOut: { code: number };
}

/** A constructor such as the browser's WebSocket or the `ws` package's. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WebSocketConstructor = new (...args: any[]) => unknown;

interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: { data?: unknown; code?: number }) => void): void;
}

const CONNECTING = 0;
const OPEN = 1;
const RETRY_LATER = new Set(["rate_limited", "unavailable", "internal"]);

export interface ConnectionOptions {
  /** Needed where there is no global WebSocket (Node 20), and to send a token. */
  WebSocket?: WebSocketConstructor;
  idleBeforePingMs?: number;
  pongWaitMs?: number;
  /** A socket up this long after `resumed` resets the backoff. */
  stableMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  livenessCheckMs?: number;
  random?: () => number;
  newClientId?: () => string;
}

export interface ConnectOptions {
  /** The socket URL, e.g. wss://chat.example.com/ws/ (resume=1 is added). */
  url: string;
  /** A personal access token, sent as `Authorization: Bearer`: needs an injected WebSocket. */
  token?: string;
  WebSocket?: WebSocketConstructor;
}

/** What the owner of a Connection supplies. */
export interface ConnectionHooks {
  /** Room id to the last seq shown, sent as `resume` when a socket opens. */
  cursors(): Record<string, number>;
  /** The `resumed` reply, before queued posts are sent again. */
  resumed(frame: ResumedFrame): void;
  /** Every frame that is not a reply to a request. */
  frame(frame: ServerFrame): void;
}

/** The socket closed (or was not live) before the server answered. */
export class Disconnected extends Error {
  constructor() {
    super("The connection closed before the server answered.");
    this.name = "Disconnected";
  }
}

/** The server answered a request with an `error` frame. */
export class ProtocolError extends Error {
  readonly code: string;
  constructor(readonly frame: ErrorFrame) {
    super(frame.message);
    this.name = "ProtocolError";
    this.code = frame.code;
  }
}

interface Waiting {
  resolve: (frame: ServerFrame) => void;
  reject: (error: Error) => void;
  /** Set when the frame is a post from the outbox. */
  clientId?: string;
}
interface OutboxItem {
  frame: MessageSendFrame & { client_id: string };
  resolve: (ack: AckFrame) => void;
  reject: (error: Error) => void;
}

export class Connection extends Emitter<ConnectionEvents> {
  state: ClientState = "idle";

  private readonly options: Required<Omit<ConnectionOptions, "WebSocket">> & ConnectionOptions;
  private connectOptions: ConnectOptions | null = null;
  private socket: SocketLike | null = null;
  private ready = false;
  private attempt = 0;
  private nextRef = 1;
  private readonly pending = new Map<number, Waiting>();
  private readonly outbox = new Map<string, OutboxItem>();
  private lastHeard = 0;
  private attemptStarted = 0;
  private pingSent = 0;
  private livenessTimer: ReturnType<typeof setInterval> | undefined;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private firstLive: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(
    private readonly hooks: ConnectionHooks,
    options: ConnectionOptions = {},
  ) {
    super();
    this.options = {
      idleBeforePingMs: 30_000,
      pongWaitMs: 10_000,
      stableMs: 10_000,
      backoffBaseMs: 500,
      backoffCapMs: 30_000,
      livenessCheckMs: 5_000,
      random: Math.random,
      newClientId: () =>
        (globalThis as unknown as { crypto: { randomUUID(): string } }).crypto.randomUUID(),
      ...options,
    };
  }

  /** Opens the socket; resolves once it is live (after the first `resumed`). */
  connect(connectOptions: ConnectOptions): Promise<void> {
    const WebSocket = connectOptions.WebSocket ?? this.options.WebSocket;
    if (connectOptions.token && !WebSocket) {
      throw new Error(
        "A token goes in the Authorization header, which a browser WebSocket cannot send: " +
          "pass {WebSocket} from the ws package, or use the session cookie.",
      );
    }
    // Also while waiting to reconnect (no socket then): that attempt and its timers are replaced.
    this.stopTimers();
    if (this.socket) this.close();
    this.connectOptions = { ...connectOptions, WebSocket };
    this.attempt = 0;
    const live = new Promise<void>((resolve, reject) => {
      this.firstLive = { resolve, reject };
    });
    this.open();
    this.livenessTimer = setInterval(() => this.checkLiveness(), this.options.livenessCheckMs);
    return live;
  }

  /** Closes the socket for good; queued posts stay queued until the next connect(). */
  close(): void {
    this.stopTimers();
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    this.rejectPending();
    this.firstLive?.reject(new Disconnected());
    this.firstLive = null;
    this.setState("closed");
    socket?.close(1000);
  }

  /** Sends a frame that has a reply; resolves with it, rejects with ProtocolError or Disconnected. */
  request<T extends keyof ReplyTo>(frame: Extract<RequestFrame, { type: T }>): Promise<ReplyTo[T]> {
    return this.exchange(frame).then((reply) => {
      if (reply.type === "error") throw new ProtocolError(reply);
      return reply as ReplyTo[T];
    });
  }

  /** Fire and forget (typing, read marks): false when not live. */
  notify(frame: Omit<TypingFrame, "ref"> | Omit<ReadMarkFrame, "ref">): boolean {
    if (!this.ready || !this.isOpen()) return false;
    this.transmit({ ...frame, ref: this.nextRef++ });
    return true;
  }

  /**
   * Posts a message. It stays in the outbox, resent with the same client_id after every
   * reconnect and after rate_limited, until acked (never posted twice). Resolves with the ack;
   * rejects with ProtocolError for a refusal that retrying cannot fix.
   */
  send(
    room: string,
    body: string,
    {
      attachments = [],
      replyTo,
      clientId,
    }: { attachments?: string[]; replyTo?: number; clientId?: string } = {},
  ): Promise<AckFrame> {
    const client_id = clientId ?? this.options.newClientId();
    return new Promise((resolve, reject) => {
      const frame: OutboxItem["frame"] = { type: "message.send", room, body, client_id };
      if (attachments.length) frame.attachments = attachments;
      if (replyTo !== undefined) frame.reply_to = replyTo;
      const item = { frame, resolve, reject };
      this.outbox.set(client_id, item);
      if (this.ready) this.transmitPost(item);
    });
  }

  /** The posts not acked yet. */
  pendingPosts(): MessageSendFrame[] {
    return [...this.outbox.values()].map((item) => item.frame);
  }

  private open(): void {
    const options = this.connectOptions!;
    this.attemptStarted = Date.now();
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    const separator = options.url.includes("?") ? "&" : "?";
    const url = `${options.url}${separator}resume=1`;
    const Constructor = (options.WebSocket ??
      (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket)!;
    const socket = (
      options.token
        ? new Constructor(url, [], { headers: { Authorization: `Bearer ${options.token}` } })
        : new Constructor(url)
    ) as SocketLike;
    this.socket = socket;
    socket.addEventListener("open", () => this.opened(socket));
    socket.addEventListener("message", (event) => this.heard(socket, event.data));
    socket.addEventListener("close", (event) => this.closed(socket, event.code ?? 1006));
    socket.addEventListener("error", () => {}); // a close follows
  }

  // With ?resume=1 the server holds live entries until the first frame, so `resume` goes out
  // at once (before `hello`) and each missed entry arrives once.
  private opened(socket: SocketLike): void {
    if (socket !== this.socket) return;
    this.lastHeard = Date.now();
    this.pingSent = 0;
    this.setState("catching-up");
    this.exchange({ type: "resume", cursors: this.hooks.cursors() }, true)
      .then((reply) => {
        if (socket !== this.socket) return;
        this.ready = true; // before the hook, which may fetch history
        if (reply.type === "resumed") this.hooks.resumed(reply);
        this.setState("live");
        this.firstLive?.resolve();
        this.firstLive = null;
        for (const item of this.outbox.values()) this.transmitPost(item);
        clearTimeout(this.stableTimer);
        this.stableTimer = setTimeout(() => (this.attempt = 0), this.options.stableMs);
      })
      .catch(() => {}); // closed first: the next socket resumes
  }

  private heard(socket: SocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    this.lastHeard = Date.now();
    this.pingSent = 0;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(typeof data === "string" ? data : String(data)) as ServerFrame;
    } catch {
      return; // the server sends nothing but JSON
    }
    if (typeof frame !== "object" || frame === null) return;
    const ref = "ref" in frame ? frame.ref : undefined;
    const waiting = typeof ref === "number" ? this.pending.get(ref) : undefined;
    if (waiting) {
      this.pending.delete(ref as number);
      waiting.resolve(frame);
    } else {
      this.hooks.frame(frame);
    }
  }

  private closed(socket: SocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.ready = false;
    clearTimeout(this.stableTimer);
    if (code === CloseCodes.TOO_BIG) {
      // Never resend the frame that caused 1009. The server answers frames in order and closes
      // at the one too large, so it is the oldest still waiting for its reply (not the last
      // sent: posts sent right after it did nothing wrong).
      const culprit = this.pending.values().next().value?.clientId;
      const item = culprit ? this.outbox.get(culprit) : undefined;
      if (culprit && item) {
        this.outbox.delete(culprit);
        item.reject(new Error("The server refused the frame as too large (1009)."));
      }
    }
    this.rejectPending();
    if (LOGGED_OUT_CODES.has(code)) {
      this.stopTimers();
      this.setState("logged-out");
      this.emit("loggedOut", { code });
      this.firstLive?.reject(new Error(`Not logged in (close code ${code}).`));
      this.firstLive = null;
      return;
    }
    this.setState("reconnecting");
    // Full jitter, so that after a restart the clients come back spread out.
    const { backoffBaseMs, backoffCapMs, random } = this.options;
    const delay = random() * Math.min(backoffCapMs, backoffBaseMs * 2 ** this.attempt);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  // A dead network can leave a socket "open" for minutes: ping when idle, drop when unanswered.
  private checkLiveness(): void {
    const socket = this.socket;
    if (!socket) return;
    const now = Date.now();
    const { pongWaitMs, idleBeforePingMs } = this.options;
    if (socket.readyState === CONNECTING) {
      // A handshake nobody answers (a frozen server, a black-holed route) would hang until the
      // OS gives up, minutes later: it gets as long as a pong.
      if (now - this.attemptStarted > pongWaitMs) this.abandon(socket);
    } else if (socket.readyState !== OPEN) {
      return;
    } else if (this.pingSent && now - this.pingSent > pongWaitMs) {
      this.abandon(socket);
    } else if (!this.pingSent && now - this.lastHeard > idleBeforePingMs) {
      this.pingSent = now;
      this.transmit({ type: "ping", ref: this.nextRef++ });
    }
  }

  private abandon(socket: SocketLike): void {
    this.pingSent = 0;
    socket.close();
    this.closed(socket, CloseCodes.ABNORMAL);
  }

  private exchange(frame: RequestFrame, beforeReady = false): Promise<ServerFrame> {
    if (!this.isOpen() || (!this.ready && !beforeReady)) return Promise.reject(new Disconnected());
    const ref = this.nextRef++;
    const clientId = frame.type === "message.send" ? frame.client_id : undefined;
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject, clientId });
      this.transmit({ ...frame, ref });
    });
  }

  private transmit(frame: { type: string; ref: number }): void {
    this.socket!.send(JSON.stringify(frame));
  }

  private transmitPost(item: OutboxItem): void {
    const clientId = item.frame.client_id;
    this.exchange(item.frame).then(
      (reply) => {
        if (this.outbox.get(clientId) !== item) return; // settled by an earlier copy
        if (reply.type === "ack") {
          this.outbox.delete(clientId);
          item.resolve(reply);
        } else if (reply.type === "error" && RETRY_LATER.has(reply.code)) {
          const wait = (reply.details?.retry_after ?? 1) * 1000;
          setTimeout(() => {
            if (this.ready && this.outbox.get(clientId) === item) this.transmitPost(item);
          }, wait);
        } else {
          this.outbox.delete(clientId);
          item.reject(reply.type === "error" ? new ProtocolError(reply) : new Error("No ack."));
        }
      },
      () => {}, // disconnected: resent after the next resume
    );
  }

  private isOpen(): boolean {
    return Boolean(this.socket && this.socket.readyState === OPEN);
  }

  private rejectPending(): void {
    for (const waiting of this.pending.values()) waiting.reject(new Disconnected());
    this.pending.clear();
  }

  private stopTimers(): void {
    clearInterval(this.livenessTimer);
    clearTimeout(this.stableTimer);
    clearTimeout(this.reconnectTimer);
  }

  private setState(state: ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  }
}

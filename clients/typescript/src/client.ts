// ParleyClient: one socket speaking docs/protocol.md, with the recommended client algorithm of
// section 5: resume first on /ws/?resume=1, refs and replies, the outbox of posts resent with
// the same client_id until acked, reconnect with full-jitter backoff, liveness pings, and a
// per-room store (contiguous cursors, dedupe by seq, edits and deletes, gaps).

import { Emitter } from "./emitter.js";
import {
  LOGGED_OUT_CODES,
  CloseCodes,
  type AckFrame,
  type ErrorFrame,
  type HelloFrame,
  type HistoryFrame,
  type Limits,
  type Message,
  type MessageSendFrame,
  type Person,
  type ReplyTo,
  type RequestFrame,
  type ResumedFrame,
  type ServerFrame,
  type TypingFrame,
  type ReadMarkFrame,
} from "./frames.js";
import { RoomStore, type Change, type Gap, type RoomState } from "./store.js";

export type ClientState =
  | "idle"
  | "connecting"
  | "catching-up"
  | "live"
  | "reconnecting"
  | "logged-out"
  | "closed";

export interface ClientEvents {
  state: ClientState;
  hello: HelloFrame;
  resumed: ResumedFrame;
  /** An entry that is new to the store, or a changed copy of one it holds. */
  message: { room: string; message: Message; change: Change };
  /** A gap was recorded (gap set) or filled (gap null). */
  gap: { room: string; gap: Gap | null };
  room: { room: string; change: "added" | "updated" | "removed" | "reset" };
  /** Every server frame that is not a reply to a request (presence, typing, members...). */
  frame: ServerFrame;
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

const OPEN = 1;

export interface ClientOptions {
  /** Needed where there is no global WebSocket (Node 20), and to send a token. */
  WebSocket?: WebSocketConstructor;
  idleBeforePingMs?: number;
  pongWaitMs?: number;
  /** A socket up this long after `resumed` resets the backoff. */
  stableMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  livenessCheckMs?: number;
  /** Entries per history page when filling gaps and refetching (capped by history_max_page). */
  pageSize?: number;
  /** Pages one fillGap() call may fetch. */
  maxFillPages?: number;
  /** Pages of a room's loaded range refetched after a resume (the newest part). */
  maxRefetchPages?: number;
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

type Reply = ServerFrame;
interface Waiting {
  resolve: (frame: Reply) => void;
  reject: (error: Error) => void;
}
interface OutboxItem {
  frame: MessageSendFrame & { client_id: string };
  resolve: (ack: AckFrame) => void;
  reject: (error: Error) => void;
}

const RETRY_LATER = new Set(["rate_limited", "unavailable", "internal"]);

export class ParleyClient extends Emitter<ClientEvents> {
  readonly store = new RoomStore();
  user: Person | null = null;
  limits: Limits | null = null;
  state: ClientState = "idle";

  private readonly options: Required<Omit<ClientOptions, "WebSocket">> & ClientOptions;
  private connectOptions: ConnectOptions | null = null;
  private socket: SocketLike | null = null;
  private ready = false;
  private attempt = 0;
  private nextRef = 1;
  private readonly pending = new Map<number, Waiting>();
  private readonly outbox = new Map<string, OutboxItem>();
  private lastSent: { clientId?: string } = {};
  private lastHeard = 0;
  private pingSent = 0;
  private livenessTimer: ReturnType<typeof setInterval> | undefined;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private firstLive: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(options: ClientOptions = {}) {
    super();
    this.options = {
      idleBeforePingMs: 30_000,
      pongWaitMs: 10_000,
      stableMs: 10_000,
      backoffBaseMs: 500,
      backoffCapMs: 30_000,
      livenessCheckMs: 5_000,
      pageSize: 200,
      maxFillPages: 10,
      maxRefetchPages: 2,
      random: Math.random,
      newClientId: () => (globalThis as unknown as { crypto: { randomUUID(): string } }).crypto.randomUUID(),
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
    this.connectOptions = { ...connectOptions, WebSocket };
    this.attempt = 0;
    const live = new Promise<void>((resolve, reject) => {
      this.firstLive = { resolve, reject };
    });
    this.open();
    clearInterval(this.livenessTimer);
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
    this.setState("closed");
    socket?.close(1000);
  }

  /** Sends a frame that has a reply; resolves with it, rejects with ProtocolError or Disconnected. */
  request<T extends keyof ReplyTo>(
    frame: Extract<RequestFrame, { type: T }>,
  ): Promise<ReplyTo[T]> {
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
    { attachments = [], clientId }: { attachments?: string[]; clientId?: string } = {},
  ): Promise<AckFrame> {
    const client_id = clientId ?? this.options.newClientId();
    return new Promise((resolve, reject) => {
      const frame: OutboxItem["frame"] = { type: "message.send", room, body, client_id };
      if (attachments.length) frame.attachments = attachments;
      const item = { frame, resolve, reject };
      this.outbox.set(client_id, item);
      if (this.ready) this.transmitPost(item);
    });
  }

  /** The posts not acked yet. */
  pendingPosts(): MessageSendFrame[] {
    return [...this.outbox.values()].map((item) => item.frame);
  }

  messages(room: string): Message[] {
    return this.store.messages(room);
  }

  room(room: string): RoomState | undefined {
    return this.store.get(room);
  }

  /** Loads the newest page of a room (when it is opened, or after cursor_ahead). */
  async loadLatest(room: string, limit?: number): Promise<HistoryFrame> {
    const page = await this.request({ type: "history.fetch", room, limit: this.pageLimit(limit) });
    this.applyPage(room, page.messages);
    return page;
  }

  /** Loads the page before the oldest entry held (scrolling back). */
  async loadOlder(room: string, limit?: number): Promise<HistoryFrame> {
    const oldest = this.store.messages(room)[0]?.seq ?? (this.store.get(room)?.cursor ?? 0) + 1;
    const page = await this.request({
      type: "history.fetch",
      room,
      before: oldest,
      limit: this.pageLimit(limit),
    });
    this.applyPage(room, page.messages);
    return page;
  }

  /**
   * Pages forward through a room's gap with history.fetch, at most maxFillPages pages of
   * pageSize. Resolves true when the gap is closed, false when some of it is left.
   */
  async fillGap(room: string, { maxPages = this.options.maxFillPages } = {}): Promise<boolean> {
    for (let page = 0; page < maxPages; page += 1) {
      const state = this.store.get(room);
      if (!state?.gap) return true;
      const reply = await this.request({
        type: "history.fetch",
        room,
        after: state.cursor,
        limit: this.pageLimit(),
      });
      this.applyPage(room, reply.messages);
      if (!reply.has_more || reply.messages.length === 0) {
        // The server has nothing more after the cursor: whatever was missing is held now.
        if (state.gap) {
          state.gap = null;
          this.emit("gap", { room, gap: null });
        }
        return true;
      }
    }
    return !this.store.get(room)?.gap;
  }

  // The socket

  private open(): void {
    const options = this.connectOptions!;
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
    const loaded = this.loadedRanges();
    this.exchange({ type: "resume", cursors: this.store.cursors() }, true)
      .then((reply) => {
        if (socket !== this.socket) return;
        this.ready = true;
        if (reply.type === "resumed") this.resumed(reply, loaded);
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
      return;
    }
    if (typeof frame !== "object" || frame === null) return;
    const ref = "ref" in frame ? frame.ref : undefined;
    const waiting = typeof ref === "number" ? this.pending.get(ref) : undefined;
    if (waiting) {
      this.pending.delete(ref as number);
      waiting.resolve(frame);
      return;
    }
    this.dispatch(frame);
  }

  private closed(socket: SocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.ready = false;
    clearTimeout(this.stableTimer);
    this.rejectPending();
    if (code === CloseCodes.TOO_BIG && this.lastSent.clientId) {
      // Never resend the frame that caused 1009.
      const item = this.outbox.get(this.lastSent.clientId);
      this.outbox.delete(this.lastSent.clientId);
      item?.reject(new Error("The server refused the frame as too large (1009)."));
    }
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
    const ceiling = Math.min(this.options.backoffCapMs, this.options.backoffBaseMs * 2 ** this.attempt);
    const delay = this.options.random() * ceiling;
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  // A dead network can leave a socket "open" for minutes: ping when idle, drop when unanswered.
  private checkLiveness(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    const now = Date.now();
    if (this.pingSent && now - this.pingSent > this.options.pongWaitMs) {
      this.pingSent = 0;
      socket.close();
      this.closed(socket, CloseCodes.ABNORMAL);
    } else if (!this.pingSent && now - this.lastHeard > this.options.idleBeforePingMs) {
      this.pingSent = now;
      this.transmit({ type: "ping", ref: this.nextRef++ });
    }
  }

  private exchange(frame: RequestFrame, beforeReady = false): Promise<Reply> {
    if (!this.isOpen() || (!this.ready && !beforeReady)) return Promise.reject(new Disconnected());
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.transmit({ ...frame, ref });
    });
  }

  private transmit(frame: { type: string; ref: number; client_id?: string }): void {
    this.lastSent = { clientId: frame.type === "message.send" ? frame.client_id : undefined };
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

  private pageLimit(limit = this.options.pageSize): number {
    return Math.max(1, Math.min(limit, this.limits?.history_max_page ?? 200));
  }

  // Section 5: the store

  private dispatch(frame: ServerFrame): void {
    switch (frame.type) {
      case "hello":
        this.hello(frame);
        break;
      case "message.new":
        this.record(frame.room, frame.message, this.store.put(frame.room, frame.message));
        break;
      case "message.edited":
      case "message.deleted":
        this.record(frame.room, frame.message, this.store.change(frame.room, frame.message));
        break;
      case "room.joined": {
        const known = this.store.get(frame.room.id);
        const start = frame.room.kind === "direct" ? frame.room.last_seq : frame.room.last_seq - 1;
        const state = this.store.ensure(frame.room.id, Math.max(0, start));
        state.info = frame.room;
        this.emit("room", { room: frame.room.id, change: known ? "updated" : "added" });
        break;
      }
      case "room.left":
        this.dropRoom(frame.room);
        break;
    }
    this.emit("frame", frame);
  }

  // The rooms in hello are the rooms the user is in: any other stored room is dropped.
  private hello(frame: HelloFrame): void {
    this.user = frame.user;
    this.limits = frame.limits;
    const listed = new Set(frame.rooms.map((room) => room.id));
    for (const id of this.store.ids()) if (!listed.has(id)) this.dropRoom(id);
    for (const room of frame.rooms) {
      const known = this.store.get(room.id);
      const state = this.store.ensure(room.id, room.last_seq);
      state.info = room;
      state.lastSeq = Math.max(state.lastSeq, room.last_seq);
      this.emit("room", { room: room.id, change: known ? "updated" : "added" });
    }
    this.emit("hello", frame);
  }

  private resumed(frame: ResumedFrame, loaded: Map<string, [number, number]>): void {
    for (const [id, result] of Object.entries(frame.rooms)) {
      const state = this.store.get(id);
      if (!state) continue;
      if (result.error === "room_not_found") {
        this.dropRoom(id);
      } else if (result.error === "cursor_ahead") {
        this.store.reset(id, result.last_seq);
        loaded.delete(id);
        this.emit("room", { room: id, change: "reset" });
        this.loadLatest(id).catch(() => {});
      } else if (result.error === undefined) {
        state.lastSeq = Math.max(state.lastSeq, result.last_seq);
        if (result.gap) {
          state.gap = { after: Math.max(result.gap.after, state.cursor), through: result.gap.through };
          if (state.gap.after >= state.gap.through) state.gap = null;
          else this.emit("gap", { room: id, gap: { ...state.gap } });
        }
      }
    }
    this.emit("resumed", frame);
    // Edits and deletes are not replayed: refetch what is held to pick them up.
    for (const [id, [from, to]] of loaded) {
      if (this.store.get(id)) this.refetch(id, from, to).catch(() => {});
    }
  }

  // The newest part of each room's held range (as it was before resuming), to refetch.
  private loadedRanges(): Map<string, [number, number]> {
    const ranges = new Map<string, [number, number]>();
    const span = this.pageLimit() * this.options.maxRefetchPages;
    for (const id of this.store.ids()) {
      const seqs = this.store.messages(id).map((message) => message.seq);
      if (!seqs.length) continue;
      const to = seqs[seqs.length - 1]!;
      ranges.set(id, [Math.max(seqs[0]!, to - span + 1), to]);
    }
    return ranges;
  }

  private async refetch(room: string, from: number, to: number): Promise<void> {
    let after = from - 1;
    for (let page = 0; page < this.options.maxRefetchPages && after < to; page += 1) {
      const limit = this.pageLimit(Math.min(this.options.pageSize, to - after));
      const reply = await this.request({ type: "history.fetch", room, after, limit });
      this.applyPage(room, reply.messages);
      if (!reply.messages.length || !reply.has_more) break;
      after = reply.messages[reply.messages.length - 1]!.seq;
    }
  }

  private applyPage(room: string, messages: Message[]): void {
    if (!this.store.get(room)) return; // dropped meanwhile
    const hadGap = this.store.get(room)!.gap !== null;
    for (const message of messages) this.record(room, message, this.store.put(room, message));
    if (hadGap && this.store.get(room)?.gap === null) this.emit("gap", { room, gap: null });
  }

  private record(room: string, message: Message, change: Change | null): void {
    if (change) this.emit("message", { room, message, change });
  }

  private dropRoom(id: string): void {
    if (this.store.remove(id)) this.emit("room", { room: id, change: "removed" });
  }
}

// An in-memory Parley server for the unit tests: just enough of docs/protocol.md (hello,
// resume with ?resume=1, send with client_id, history, ping; edits and deletes by change())
// to drive ParleyClient, plus knobs for faults: refusing or never answering handshakes, rate
// limits, lost acks, silence, frames too large.
// Sockets open and frames travel on timers, so tests drive them with vi's fake timers.

import type { Message, Person } from "../src/frames.js";

type Frame = Record<string, unknown> & { type: string };

export class FakeServer {
  static current: FakeServer;
  readonly sockets: FakeSocket[] = [];
  readonly timelines = new Map<string, Message[]>();
  readonly received: Frame[] = [];
  readonly tokens = new Map<string, string>([["parley_alice", "alice"]]);
  readonly clientIds = new Map<string, { room: string; seq: number }>();
  replayMax = 1000;
  historyMaxPage = 200;
  /** A larger text frame closes its socket with 1009, and no later frame is read. */
  frameMaxBytes = 65536;
  /** The next N message.send frames get rate_limited with this retry_after. */
  rateLimits: number[] = [];
  /** Store the next message.send, then drop the socket before the ack. */
  loseNextAck = false;
  /** Do not answer pings. */
  silent = false;
  /** Close the next handshakes with these codes, instead of sending hello. */
  refuseWith: number[] = [];
  /** Never answer the next N handshakes: their sockets stay connecting. */
  hangHandshakes = 0;

  constructor(rooms: string[]) {
    FakeServer.current = this;
    for (const room of rooms) this.timelines.set(room, []);
  }

  get last(): FakeSocket {
    return this.sockets[this.sockets.length - 1]!;
  }

  lastSeq(room: string): number {
    return this.timelines.get(room)!.length;
  }

  /** Appends an entry by someone else and sends it to the sockets that carry the room. */
  post(room: string, body: string, author: Person = { username: "bob", display_name: "Bob" },
       clientId: string | null = null): Message {
    const timeline = this.timelines.get(room)!;
    const message: Message = {
      seq: timeline.length + 1, kind: "text", author, body,
      created_at: "2026-12-03T12:00:00+00:00", edited_at: null, deleted: false,
      client_id: clientId, attachments: [],
    };
    timeline.push(message);
    for (const socket of this.sockets) socket.deliver(room);
    return message;
  }

  /** Changes an entry; sockets that delivered it get message.edited (or .deleted). */
  change(room: string, seq: number, change: Partial<Message>, notify = true): void {
    const timeline = this.timelines.get(room)!;
    timeline[seq - 1] = { ...timeline[seq - 1]!, ...change };
    if (!notify) return;
    const type = change.deleted ? "message.deleted" : "message.edited";
    for (const socket of this.sockets) {
      if ((socket.cursors.get(room) ?? -1) >= seq) socket.push({ type, room, message: timeline[seq - 1] });
    }
  }

  accept(socket: FakeSocket): void {
    const token = socket.headers.Authorization?.replace(/^Bearer /, "");
    socket.user = token ? this.tokens.get(token) ?? null : "alice";
    socket.open();
    const refusal = this.refuseWith.shift();
    if (refusal !== undefined || !socket.user) return socket.drop(refusal ?? 4001);
    const rooms = [...this.timelines.keys()];
    for (const room of rooms) socket.cursors.set(room, this.lastSeq(room));
    socket.push({
      type: "hello", protocol: 1, user: { username: socket.user, display_name: socket.user },
      rooms: rooms.map((id) => ({
        id, name: id, kind: "group", visibility: "public", archived: false,
        last_seq: this.lastSeq(id), role: "member", last_read_seq: 0, unread: 0,
        last_activity_at: "2026-12-03T12:00:00+00:00", last_message: null,
      })),
      limits: { body_max_length: 4000, frame_max_bytes: this.frameMaxBytes,
                history_max_page: this.historyMaxPage, replay_max: this.replayMax,
                attachments_per_message: 10, upload_max_bytes: 10485760 },
    }, true);
  }

  handle(socket: FakeSocket, frame: Frame): void {
    this.received.push(frame);
    const ref = frame.ref ?? null;
    switch (frame.type) {
      case "resume": return this.resume(socket, frame.cursors as Record<string, number>, ref);
      case "ping": if (!this.silent) socket.push({ type: "pong", ref }); return;
      case "message.send": return this.send(socket, frame, ref);
      case "history.fetch": return this.history(socket, frame, ref);
      case "search": return this.search(socket, frame, ref);
      default: socket.push({ type: "error", code: "bad_frame", message: "?", ref });
    }
  }

  /** Every text entry holding the query as a word, newest first; no paging, no excerpts. */
  private search(socket: FakeSocket, frame: Frame, ref: unknown): void {
    const q = String(frame.q ?? "").trim().toLowerCase();
    if (!q) return socket.push({ type: "error", code: "query_empty", message: "empty", ref });
    const results = [];
    for (const [room, timeline] of this.timelines) {
      for (const message of timeline) {
        const start = message.body.toLowerCase().split(/\W+/).includes(q)
          ? message.body.toLowerCase().indexOf(q) : -1;
        if (message.kind !== "text" || message.deleted || start < 0) continue;
        results.push({
          room: { id: room, name: room, kind: "group" }, seq: message.seq,
          author: message.author, created_at: message.created_at, edited_at: message.edited_at,
          body: message.body, excerpt: message.body, matches: [{ start, end: start + q.length }],
        });
      }
    }
    results.reverse();
    socket.push({ type: "search.results", ref, results, next_cursor: null });
  }

  private resume(socket: FakeSocket, cursors: Record<string, number>, ref: unknown): void {
    const rooms: Record<string, unknown> = {};
    for (const [room, cursor] of Object.entries(cursors)) {
      if (!socket.cursors.has(room)) { rooms[room] = { error: "room_not_found" }; continue; }
      const last = this.lastSeq(room);
      if (cursor > last) {
        socket.cursors.set(room, last);
        rooms[room] = { replayed: 0, last_seq: last, error: "cursor_ahead", message: "ahead" };
      } else if (last - cursor > this.replayMax) {
        socket.cursors.set(room, last);
        rooms[room] = { replayed: 0, last_seq: last, gap: { after: cursor, through: last } };
      } else {
        socket.cursors.set(room, cursor);
        socket.deliver(room);
        rooms[room] = { replayed: last - cursor, last_seq: last };
      }
    }
    socket.push({ type: "resumed", ref, rooms });
  }

  private send(socket: FakeSocket, frame: Frame, ref: unknown): void {
    const retryAfter = this.rateLimits.shift();
    if (retryAfter !== undefined) {
      return socket.push({ type: "error", code: "rate_limited", message: "slow down", ref,
                           details: { retry_after: retryAfter } });
    }
    const clientId = frame.client_id as string;
    const first = this.clientIds.get(clientId);
    if (first) return socket.push({ type: "ack", ref, ...first, client_id: clientId });
    const room = frame.room as string;
    if (!this.timelines.has(room)) {
      return socket.push({ type: "error", code: "room_not_found", message: "no", ref });
    }
    const lose = this.loseNextAck;
    this.loseNextAck = false;
    const author = { username: socket.user!, display_name: socket.user! };
    const message = this.post(room, frame.body as string, author, clientId);
    this.clientIds.set(clientId, { room, seq: message.seq });
    if (lose) return socket.drop(1006);
    socket.push({ type: "ack", ref, room, seq: message.seq, client_id: clientId });
  }

  private history(socket: FakeSocket, frame: Frame, ref: unknown): void {
    const room = frame.room as string;
    const timeline = this.timelines.get(room)!;
    const limit = (frame.limit as number | undefined) ?? 50;
    if (limit < 1 || limit > this.historyMaxPage) {
      return socket.push({ type: "error", code: "invalid", message: "limit", ref });
    }
    let page: Message[];
    let hasMore: boolean;
    if (frame.around !== undefined) {
      const around = frame.around as number;
      const older = Math.floor(limit / 2);
      const start = Math.max(0, around - 1 - older);
      const end = Math.min(timeline.length, around - 1 + (limit - older));
      page = timeline.slice(start, end);
      return socket.push({ type: "history", ref, room, messages: page, has_more: start > 0,
                           has_more_after: end < timeline.length });
    }
    if (frame.after !== undefined) {
      const after = frame.after as number;
      page = timeline.slice(after, after + limit);
      hasMore = after + limit < timeline.length;
    } else {
      const before = (frame.before as number | undefined) ?? timeline.length + 1;
      const end = before - 1;
      page = timeline.slice(Math.max(0, end - limit), end);
      hasMore = end - limit > 0;
    }
    socket.push({ type: "history", ref, room, messages: page, has_more: hasMore });
  }
}

export class FakeSocket {
  static readonly OPEN = 1;
  readyState = 0;
  readonly createdAt = Date.now();
  user: string | null = null;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly sent: Frame[] = [];
  readonly cursors = new Map<string, number>();
  private holding: boolean;
  private readonly listeners = new Map<string, ((event: unknown) => void)[]>();
  private readonly server = FakeServer.current;

  constructor(url: string, _protocols?: string[], options?: { headers?: Record<string, string> }) {
    this.url = url;
    this.headers = options?.headers ?? {};
    this.holding = url.includes("resume=1");
    this.server.sockets.push(this);
    if (this.server.hangHandshakes > 0) {
      this.server.hangHandshakes -= 1;
      return;
    }
    setTimeout(() => this.server.accept(this), 0);
  }

  addEventListener(type: string, listener: (event: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(text: string): void {
    if (this.readyState !== 1) throw new Error("sent on a socket that is not open");
    const frame = JSON.parse(text) as Frame;
    this.sent.push(frame);
    const wasHolding = this.holding;
    this.holding = false;
    // The server answers on its next turn, as a real one would.
    setTimeout(() => {
      if (this.readyState !== 1) return;
      if (new TextEncoder().encode(text).length > this.server.frameMaxBytes) return this.drop(1009);
      this.server.handle(this, frame);
      if (wasHolding) for (const room of this.cursors.keys()) this.deliver(room);
    }, 0);
  }

  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.emit("close", { code: 1005 }), 0);
  }

  // The server's side

  open(): void {
    this.readyState = 1;
    this.emit("open", {});
  }

  /** Sends what the socket has not delivered of a room, unless it is holding for resume. */
  deliver(room: string): void {
    if (this.readyState !== 1 || this.holding || !this.cursors.has(room)) return;
    const timeline = this.server.timelines.get(room)!;
    let cursor = this.cursors.get(room)!;
    while (cursor < timeline.length) {
      cursor += 1;
      this.push({ type: "message.new", room, message: timeline[cursor - 1] });
    }
    this.cursors.set(room, cursor);
  }

  push(frame: Frame, force = false): void {
    if (this.readyState !== 1 && !force) return;
    this.emit("message", { data: JSON.stringify(frame) });
  }

  drop(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit("close", { code });
  }

  emit(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

// ParleyClient: the recommended client algorithm of docs/protocol.md section 5 on top of a
// Connection (the socket, refs, outbox, backoff, liveness): a per-room store with contiguous
// cursors, dedupe by seq, edits and deletes, gaps paged with history, cursor_ahead and
// room_not_found, and the held range refetched after each resume.

import {
  Connection,
  type ClientState,
  type ConnectOptions,
  type ConnectionOptions,
} from "./connection.js";
import { Emitter } from "./emitter.js";
import type {
  AckFrame,
  HelloFrame,
  HistoryFrame,
  Limits,
  Message,
  MessageSendFrame,
  Person,
  ReadMarkFrame,
  ReplyTo,
  RequestFrame,
  ResumedFrame,
  SearchResultsFrame,
  ServerFrame,
  TypingFrame,
} from "./frames.js";
import { RoomStore, type Change, type Gap, type RoomState } from "./store.js";

export interface ClientEvents {
  state: ClientState;
  loggedOut: { code: number };
  hello: HelloFrame;
  resumed: ResumedFrame;
  /** An entry that is new to the store, or a changed copy of one it holds. */
  message: { room: string; message: Message; change: Change };
  /** A gap was recorded (gap set) or filled (gap null). */
  gap: { room: string; gap: Gap | null };
  room: { room: string; change: "added" | "updated" | "removed" | "reset" };
  /** Every server frame that is not a reply to a request (presence, typing, members...). */
  frame: ServerFrame;
}

export interface ClientOptions extends ConnectionOptions {
  /** Entries per history page when filling gaps and refetching (capped by history_max_page). */
  pageSize?: number;
  /** Pages one fillGap() call may fetch. */
  maxFillPages?: number;
  /** Pages of a room's held range refetched after a resume (its newest part). */
  maxRefetchPages?: number;
}

type Range = [from: number, to: number];

/** Whether `message` mentions `username`: by name, or by an honoured `@room` (never the
 * author's own message). */
export function mentionsUser(message: Message, username: string): boolean {
  if (message.kind !== "text" || message.deleted || message.author?.username === username) return false;
  return (message.mentions ?? []).includes(username) || Boolean(message.mentions_room);
}

export class ParleyClient extends Emitter<ClientEvents> {
  readonly store = new RoomStore();
  user: Person | null = null;
  limits: Limits | null = null;
  /** Per room, mentions of the user after their read marker: from hello and read.updated, and
   * one more for each new entry that mentions them. */
  readonly unreadMentions = new Map<string, number>();

  private readonly connection: Connection;
  private readonly pageSize: number;
  private readonly maxFillPages: number;
  private readonly maxRefetchPages: number;
  // What the store held when the socket sent `resume`: refetched once `resumed` arrives.
  private heldAtResume = new Map<string, Range>();

  constructor({ pageSize = 200, maxFillPages = 10, maxRefetchPages = 2, ...options }: ClientOptions = {}) {
    super();
    this.pageSize = pageSize;
    this.maxFillPages = maxFillPages;
    this.maxRefetchPages = maxRefetchPages;
    this.connection = new Connection(
      {
        cursors: () => {
          this.heldAtResume = this.heldRanges();
          return this.store.cursors();
        },
        resumed: (frame) => this.resumed(frame),
        frame: (frame) => this.dispatch(frame),
      },
      options,
    );
    this.connection.on("state", (state) => this.emit("state", state));
    this.connection.on("loggedOut", (event) => this.emit("loggedOut", event));
  }

  get state(): ClientState {
    return this.connection.state;
  }

  /** Opens the socket; resolves once it is live (after the first `resumed`). */
  connect(options: ConnectOptions): Promise<void> {
    return this.connection.connect(options);
  }

  /** Closes the socket for good; queued posts stay queued until the next connect(). */
  close(): void {
    this.connection.close();
  }

  /** Sends a frame that has a reply; resolves with it, rejects with ProtocolError or Disconnected. */
  request<T extends keyof ReplyTo>(frame: Extract<RequestFrame, { type: T }>): Promise<ReplyTo[T]> {
    return this.connection.request(frame);
  }

  /** Fire and forget (typing, read marks): false when not live. */
  notify(frame: Omit<TypingFrame, "ref"> | Omit<ReadMarkFrame, "ref">): boolean {
    return this.connection.notify(frame);
  }

  /** Posts a message through the outbox: resent with the same client_id until acked.
   * `replyTo`: the seq of the message it answers. */
  send(
    room: string,
    body: string,
    options: { attachments?: string[]; replyTo?: number; clientId?: string } = {},
  ): Promise<AckFrame> {
    return this.connection.send(room, body, options);
  }

  /** The posts not acked yet (show them as pending). */
  pendingPosts(): MessageSendFrame[] {
    return this.connection.pendingPosts();
  }

  /** A room's held entries, in seq order. */
  messages(room: string): Message[] {
    return this.store.messages(room);
  }

  room(room: string): RoomState | undefined {
    return this.store.get(room);
  }

  /**
   * Searches the text messages of the rooms the user reads, newest first; pass the reply's
   * `next_cursor` as `cursor` for older results. Rejects with ProtocolError (`query_empty`,
   * `query_too_long`, `query_invalid`, `rate_limited` ...). Changes no held state.
   */
  search(
    q: string,
    options: { room?: string; author?: string; cursor?: string; limit?: number } = {},
  ): Promise<SearchResultsFrame> {
    return this.request({ type: "search", q, ...options });
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
   * Loads the page around one entry (jumping to a reply's quote or a link). Entries between it
   * and those held already show in holes(room) until loaded (fillHole).
   */
  async loadAround(room: string, seq: number, limit?: number): Promise<HistoryFrame> {
    const page = await this.request({
      type: "history.fetch",
      room,
      around: seq,
      limit: this.pageLimit(limit),
    });
    this.applyPage(room, page.messages);
    return page;
  }

  /** The seqs missing between held entries of a room (see RoomStore.holes). */
  holes(room: string): Gap[] {
    return this.store.holes(room);
  }

  /** Loads one page into a hole, from its older end; resolves true once it is closed. */
  async fillHole(room: string, hole: Gap): Promise<boolean> {
    const limit = this.pageLimit(Math.min(this.pageSize, hole.through - hole.after));
    const page = await this.request({ type: "history.fetch", room, after: hole.after, limit });
    this.applyPage(room, page.messages);
    return !this.store.holes(room).some((left) => left.after < hole.through && left.through > hole.after);
  }

  /**
   * Pages forward through a room's gap with history.fetch, at most `maxPages` pages of
   * `pageSize`. Resolves true when the gap is closed, false when some of it is left.
   */
  async fillGap(room: string, { maxPages = this.maxFillPages } = {}): Promise<boolean> {
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
        // Nothing more after the cursor: whatever was missing is held now.
        if (state.gap) {
          state.gap = null;
          this.emit("gap", { room, gap: null });
        }
        return true;
      }
    }
    return !this.store.get(room)?.gap;
  }

  private pageLimit(limit = this.pageSize): number {
    return Math.max(1, Math.min(limit, this.limits?.history_max_page ?? 200));
  }

  private dispatch(frame: ServerFrame): void {
    switch (frame.type) {
      case "hello":
        this.hello(frame);
        break;
      case "message.new": {
        const change = this.store.put(frame.room, frame.message);
        if (change === "new" && this.user && mentionsUser(frame.message, this.user.username)) {
          this.unreadMentions.set(frame.room, (this.unreadMentions.get(frame.room) ?? 0) + 1);
        }
        this.record(frame.room, frame.message, change);
        break;
      }
      case "read.updated":
        if (frame.unread_mentions !== undefined) this.unreadMentions.set(frame.room, frame.unread_mentions);
        break;
      case "message.edited":
      case "message.deleted":
        this.record(frame.room, frame.message, this.store.change(frame.room, frame.message));
        break;
      case "reaction.updated": {
        // The whole summary replaces the held entry's; an entry not held gets it with its page.
        const held = this.store.get(frame.room)?.messages.get(frame.seq);
        if (held) {
          const message = { ...held, reactions: frame.reactions };
          this.record(frame.room, message, this.store.change(frame.room, message));
        }
        break;
      }
      case "room.joined": {
        // Delivery starts just before the "joined" line (a new direct conversation has none).
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
      this.unreadMentions.set(room.id, room.unread_mentions ?? 0);
      this.emit("room", { room: room.id, change: known ? "updated" : "added" });
    }
    this.emit("hello", frame);
  }

  private resumed(frame: ResumedFrame): void {
    const held = this.heldAtResume;
    for (const [id, result] of Object.entries(frame.rooms)) {
      const state = this.store.get(id);
      if (!state) continue;
      if (result.error === "room_not_found") {
        this.dropRoom(id);
      } else if (result.error === "cursor_ahead") {
        this.store.reset(id, result.last_seq);
        held.delete(id);
        this.emit("room", { room: id, change: "reset" });
        this.loadLatest(id).catch(() => {});
      } else if (result.error === undefined) {
        state.lastSeq = Math.max(state.lastSeq, result.last_seq);
        if (result.gap && result.gap.through > state.cursor) {
          state.gap = { after: state.cursor, through: result.gap.through };
          this.emit("gap", { room: id, gap: { ...state.gap } });
        }
      }
    }
    this.emit("resumed", frame);
    // Edits and deletes are not replayed: refetch what is held to pick them up.
    for (const [id, [from, to]] of held) {
      if (this.store.get(id)) this.refetch(id, from, to).catch(() => {});
    }
  }

  // The newest part of each room's held range, up to maxRefetchPages pages.
  private heldRanges(): Map<string, Range> {
    const ranges = new Map<string, Range>();
    const span = this.pageLimit() * this.maxRefetchPages;
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
    for (let page = 0; page < this.maxRefetchPages && after < to; page += 1) {
      const limit = this.pageLimit(Math.min(this.pageSize, to - after));
      const reply = await this.request({ type: "history.fetch", room, after, limit });
      this.applyPage(room, reply.messages);
      if (!reply.messages.length || !reply.has_more) break;
      after = reply.messages[reply.messages.length - 1]!.seq;
    }
  }

  private applyPage(room: string, messages: Message[]): void {
    const state = this.store.get(room);
    if (!state) return; // dropped meanwhile
    const hadGap = state.gap !== null;
    for (const message of messages) this.record(room, message, this.store.put(room, message));
    if (hadGap && state.gap === null) this.emit("gap", { room, gap: null });
  }

  private record(room: string, message: Message, change: Change | null): void {
    if (change) this.emit("message", { room, message, change });
  }

  private dropRoom(id: string): void {
    this.unreadMentions.delete(id);
    if (this.store.remove(id)) this.emit("room", { room: id, change: "removed" });
  }
}

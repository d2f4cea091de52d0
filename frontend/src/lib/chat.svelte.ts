// The app's live state, made reactive for Svelte: one ParleyClient (the SDK does the protocol,
// section 5 included) and what the views read from it: the room list with unread counts and
// previews, who is online, who is typing, and the open room's entries.

import {
  ParleyClient,
  mentionsUser,
  type Attachment,
  type ClientState,
  type Gap,
  type HelloRoom,
  type LastMessage,
  type Member,
  type Message,
  type Person,
  type Room,
  type SearchResultsFrame,
  type ServerFrame,
} from "@parley/client";
import { api } from "./api";

/** A room in the sidebar. */
export interface RoomItem {
  id: string;
  name: string;
  kind: Room["kind"];
  visibility: Room["visibility"];
  archived: boolean;
  peer: Person | null;
  unread: number;
  /** Mentions of the user among the unread entries. */
  unreadMentions: number;
  lastReadSeq: number;
  /** The highest seq `unread` accounts for. */
  countedThrough: number;
  lastActivityAt: string;
  lastMessage: LastMessage | null;
}

const PAGE = 50;
const TYPING_EVERY_MS = 3000;

function socketUrl(): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/`;
}

function preview(message: Message): LastMessage {
  const files = message.attachments.length;
  return {
    seq: message.seq,
    author: message.author?.username ?? null,
    author_name: message.author?.display_name ?? null,
    preview: message.deleted ? "" : message.body || (files ? `sent ${files === 1 ? "a file" : `${files} files`}` : ""),
    deleted: message.deleted,
  };
}

export class Chat {
  state = $state<ClientState>("connecting");
  user = $state<Person | null>(null);
  rooms = $state<RoomItem[]>([]);
  /** Username to online, from members lists and presence frames. */
  online = $state<Record<string, boolean>>({});
  /** Room to the people typing there and until when (ms since epoch). */
  typing = $state<Record<string, { person: Person; until: number }[]>>({});
  loggedOut = $state(false);

  /** The open room's entries, its gap and members. */
  openId = $state<string | null>(null);
  messages = $state<Message[]>([]);
  gap = $state<Gap | null>(null);
  hasOlder = $state(false);
  members = $state<Member[]>([]);
  /** The open room's posts not acked yet, shown as "sending". */
  outbox = $state<{ body: string; clientId: string }[]>([]);
  /** Where "New messages" goes in the open room: after this seq (what was read when opened). */
  unreadAfter = $state<number | null>(null);
  /** Seqs missing between the open room's held entries (after a jump to an older one). */
  holes = $state<Gap[]>([]);
  /** The message the next post answers, in the open room. */
  replyingTo = $state<Message | null>(null);
  /** Set when the open room went away (left elsewhere, deleted, access ended). */
  gone = $state<string | null>(null);

  readonly client = new ParleyClient();
  private readonly loaded = new Set<string>();
  private lastTypingSent = 0;
  private filling = false;

  constructor() {
    this.client.on("state", (state) => (this.state = state));
    this.client.on("loggedOut", () => (this.loggedOut = true));
    this.client.on("hello", (hello) => {
      this.user = hello.user;
      this.rooms = hello.rooms.map(roomItem);
      this.sortRooms();
      this.seedPresence(hello.rooms);
    });
    this.client.on("message", ({ room, message, change }) => this.onMessage(room, message, change));
    this.client.on("gap", ({ room, gap }) => {
      if (room === this.openId) {
        this.gap = gap;
        if (gap) void this.fillGap();
      }
    });
    this.client.on("room", ({ room, change }) => this.onRoom(room, change));
    this.client.on("frame", (frame) => this.onFrame(frame));
  }

  start(): Promise<void> {
    return this.client.connect({ url: socketUrl() });
  }

  stop(): void {
    this.client.close();
  }

  room(id: string | null): RoomItem | undefined {
    return this.rooms.find((room) => room.id === id);
  }

  /** Shows a room: its newest page the first time, any gap filled, members, read to the end. */
  async open(id: string): Promise<void> {
    if (this.openId !== id) {
      const item = this.room(id);
      this.unreadAfter = item && item.unread > 0 ? item.lastReadSeq : null;
      this.replyingTo = null;
    }
    this.openId = id;
    this.gone = null;
    this.members = [];
    this.refreshMessages();
    if (!this.client.room(id)) return; // not (yet) one of this user's rooms
    if (!this.loaded.has(id)) {
      // Back to the first unread entry (up to a full page), so "New messages" is in view.
      const unread = this.room(id)?.unread ?? 0;
      const page = await this.client.loadLatest(id, Math.min(200, Math.max(PAGE, unread + 10)));
      this.loaded.add(id);
      if (this.openId !== id) return;
      this.hasOlder = page.has_more;
      this.refreshMessages();
    }
    if (this.client.room(id)?.gap) void this.fillGap();
    this.markRead();
    void this.loadMembers(id);
  }

  close(id: string): void {
    if (this.openId === id) this.openId = null;
  }

  async loadOlder(): Promise<void> {
    const id = this.openId;
    if (!id || !this.hasOlder) return;
    const page = await this.client.loadOlder(id, PAGE);
    if (this.openId !== id) return;
    this.hasOlder = page.has_more;
    this.refreshMessages();
  }

  /** Posts through the SDK's outbox: shown as pending until acked, never posted twice. A
   * reply answers `replyingTo`; if the post is refused, the reply is offered again. */
  send(body: string, attachments: string[] = []): Promise<unknown> {
    const id = this.openId;
    if (!id) return Promise.resolve();
    const target = this.replyingTo;
    this.replyingTo = null;
    const sent = this.client.send(id, body, { attachments, ...(target ? { replyTo: target.seq } : {}) });
    this.refreshMessages();
    return sent
      .catch((failure: unknown) => {
        if (target && !this.replyingTo && this.openId === id) this.replyingTo = target;
        throw failure;
      })
      .finally(() => this.refreshMessages());
  }

  reply(message: Message | null): void {
    this.replyingTo = message;
  }

  /** Makes sure the open room holds the entry with `seq`: the page around it when it is not
   * held yet. False when the room holds no such entry. */
  async reveal(seq: number): Promise<boolean> {
    const id = this.openId;
    if (!id) return false;
    if (!this.client.room(id)?.messages.has(seq)) {
      const page = await this.client.loadAround(id, seq, PAGE);
      if (this.openId !== id) return false;
      if (this.messages[0] === undefined || page.messages[0]!.seq <= this.messages[0].seq) {
        this.hasOlder = page.has_more;
      }
      this.refreshMessages();
    }
    return !!this.client.room(id)?.messages.has(seq);
  }

  /** Loads a page into a hole between held entries. */
  async fillHole(hole: Gap): Promise<void> {
    const id = this.openId;
    if (!id) return;
    await this.client.fillHole(id, hole);
    if (this.openId === id) this.refreshMessages();
  }

  /** Uploads a file to the open room; post its id with the next message. */
  upload(file: File): Promise<Attachment> {
    const form = new FormData();
    form.append("file", file);
    return api<Attachment>(`rooms/${this.openId}/uploads`, { method: "POST", body: form });
  }

  edit(seq: number, body: string): Promise<unknown> {
    return this.client.request({ type: "message.edit", room: this.openId ?? "", seq, body });
  }

  remove(seq: number): Promise<unknown> {
    return this.client.request({ type: "message.delete", room: this.openId ?? "", seq });
  }

  react(seq: number, emoji: string, add: boolean): Promise<unknown> {
    const room = this.openId ?? "";
    return this.client.request({ type: add ? "reaction.add" : "reaction.remove", room, seq, emoji });
  }

  typingNow(): void {
    const id = this.openId;
    if (!id || Date.now() - this.lastTypingSent < TYPING_EVERY_MS) return;
    if (this.client.notify({ type: "typing", room: id })) this.lastTypingSent = Date.now();
  }

  /** Text messages of the user's rooms matching `q`, newest first (nothing here is kept). */
  search(q: string, options: { room?: string; author?: string; cursor?: string } = {}): Promise<SearchResultsFrame> {
    return this.client.search(q, options);
  }

  async openDirect(username: string): Promise<string> {
    const ack = await this.client.request({ type: "direct.open", username });
    return ack.room;
  }

  async join(id: string): Promise<void> {
    await this.client.request({ type: "room.join", room: id });
  }

  async leave(id: string): Promise<void> {
    await this.client.request({ type: "room.leave", room: id });
  }

  /** Moves the read marker to the open room's newest entry while the page is in view. */
  markRead(): void {
    const id = this.openId;
    const item = this.room(id);
    const last = this.messages.at(-1)?.seq;
    if (!id || !item || last === undefined || document.visibilityState !== "visible") return;
    if (item.unread > 0 || (item.lastMessage && item.lastMessage.seq <= last)) {
      item.unread = 0;
      item.unreadMentions = 0;
      this.client.notify({ type: "read.mark", room: id, seq: last });
    }
  }

  typingIn(id: string): Person[] {
    const now = Date.now();
    return (this.typing[id] ?? []).filter((entry) => entry.until > now).map((entry) => entry.person);
  }

  private async fillGap(): Promise<void> {
    const id = this.openId;
    if (!id || this.filling) return;
    this.filling = true;
    try {
      // Forward from the cursor, a page of 200 at a time, until the timeline is whole again.
      while (this.openId === id && this.client.room(id)?.gap) {
        if (await this.client.fillGap(id, { maxPages: 1 })) break;
        this.refreshMessages();
      }
    } catch {
      // The socket dropped mid-fill: the next `resumed` reports the gap again.
    } finally {
      this.filling = false;
      this.refreshMessages();
    }
  }

  private refreshMessages(): void {
    const id = this.openId;
    this.messages = id ? this.client.messages(id) : [];
    this.gap = id ? (this.client.room(id)?.gap ?? null) : null;
    this.holes = id ? this.client.holes(id).filter((hole) => hole.after !== this.gap?.after) : [];
    if (this.replyingTo && id) {
      const target = this.client.room(id)?.messages.get(this.replyingTo.seq);
      if (!target || target.deleted) this.replyingTo = null;
    }
    this.outbox = this.client
      .pendingPosts()
      .filter((post) => post.room === id)
      .map((post) => ({ body: post.body, clientId: post.client_id ?? "" }));
  }

  private onMessage(room: string, message: Message, change: "new" | "updated"): void {
    if (room === this.openId) this.refreshMessages();
    const item = this.room(room);
    if (!item) return;
    if (!item.lastMessage || message.seq >= item.lastMessage.seq) {
      item.lastMessage = preview(message);
      if (change === "new") {
        item.lastActivityAt = message.created_at;
        this.sortRooms();
      }
    }
    if (change !== "new" || message.kind !== "text") return;
    if (message.author) this.stopTyping(room, message.author.username);
    const mine = message.author?.username === this.user?.username;
    const seen = room === this.openId && document.visibilityState === "visible";
    // hello's unread already counts entries up to its last_seq (replayed after a resume).
    if (message.seq <= item.countedThrough) return;
    item.countedThrough = message.seq;
    if (mine || seen) this.markRead();
    else {
      item.unread += 1;
      if (this.user && mentionsUser(message, this.user.username)) item.unreadMentions += 1;
    }
  }

  private onRoom(room: string, change: "added" | "updated" | "removed" | "reset"): void {
    const state = this.client.room(room);
    if (change === "removed") {
      this.rooms = this.rooms.filter((item) => item.id !== room);
      this.loaded.delete(room);
      if (room === this.openId) this.gone = "You are no longer in this room.";
    } else if (change === "added" && state?.info && !this.room(room)) {
      this.rooms = [roomItem(state.info), ...this.rooms];
    } else if (change === "reset") {
      this.loaded.delete(room);
      if (room === this.openId) void this.open(room);
    } else if (change === "updated" && state?.info) {
      const item = this.room(room);
      if (item) {
        item.name = state.info.name;
        item.archived = state.info.archived;
      }
    }
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "presence":
        for (const { user, online } of frame.changes) this.online[user.username] = online;
        break;
      case "typing":
        if (frame.user.username === this.user?.username) break;
        // A new array, not a push: the state proxy only sees assignments through itself.
        this.typing[frame.room] = [
          ...(this.typing[frame.room] ?? []).filter((entry) => entry.person.username !== frame.user.username),
          { person: frame.user, until: Date.now() + frame.expires_in * 1000 },
        ];
        setTimeout(() => this.expireTyping(frame.room), frame.expires_in * 1000 + 50);
        break;
      case "read.updated": {
        const item = this.room(frame.room);
        if (item) {
          item.unread = frame.unread;
          item.unreadMentions = frame.unread_mentions ?? item.unreadMentions;
          item.lastReadSeq = frame.last_read_seq;
        }
        break;
      }
      case "member.joined":
      case "member.left":
        if (frame.room === this.openId) void this.loadMembers(frame.room);
        break;
      case "room.joined":
        // A renamed or reopened room arrives as a timeline line; the list shows the new name.
        break;
    }
  }

  private async loadMembers(id: string): Promise<void> {
    try {
      const reply = await this.client.request({ type: "members.list", room: id });
      for (const member of reply.members) this.online[member.username] = member.online;
      if (this.openId === id) this.members = reply.members;
    } catch {
      // Not a member any more, or the socket dropped: the next open asks again.
    }
  }

  // The other person's presence for each direct conversation in the list.
  private seedPresence(rooms: HelloRoom[]): void {
    for (const room of rooms.filter((room) => room.kind === "direct").slice(0, 50)) {
      this.client
        .request({ type: "members.list", room: room.id })
        .then((reply) => {
          for (const member of reply.members) this.online[member.username] = member.online;
        })
        .catch(() => {});
    }
  }

  private stopTyping(room: string, username: string): void {
    const list = this.typing[room];
    if (list) this.typing[room] = list.filter((entry) => entry.person.username !== username);
  }

  private expireTyping(room: string): void {
    const now = Date.now();
    const list = this.typing[room];
    if (list) this.typing[room] = list.filter((entry) => entry.until > now);
  }

  private sortRooms(): void {
    this.rooms.sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt) || a.name.localeCompare(b.name));
  }
}

function roomItem(room: Room | HelloRoom): RoomItem {
  const state = "unread" in room ? room : null;
  return {
    id: room.id,
    name: room.name,
    kind: room.kind,
    visibility: room.visibility,
    archived: room.archived,
    peer: room.peer ?? null,
    unread: state?.unread ?? 0,
    unreadMentions: state?.unread_mentions ?? 0,
    lastReadSeq: state?.last_read_seq ?? room.last_seq,
    countedThrough: room.last_seq,
    lastActivityAt: state?.last_activity_at ?? new Date().toISOString(),
    lastMessage: state?.last_message ?? null,
  };
}

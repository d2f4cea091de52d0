// The per-room state of docs/protocol.md section 5: entries by seq, the contiguous cursor,
// and a known gap. It does no I/O; ParleyClient feeds it frames and pages.

import type { HelloRoom, Message, Room } from "./frames.js";

/** Entries after `after` up to `through` that the server has and this store does not. */
export interface Gap {
  after: number;
  through: number;
}

export interface RoomState {
  id: string;
  /** What `hello` or `room.joined` said, kept up to date by renamed/archived lines. */
  info: Room | HelloRoom | null;
  /** The resume cursor: every entry from the loaded start up to it is held. */
  cursor: number;
  /** The highest seq the server has reported for the room. */
  lastSeq: number;
  gap: Gap | null;
  messages: Map<number, Message>;
}

export type Change = "new" | "updated";

export class RoomStore {
  private readonly rooms = new Map<string, RoomState>();

  get(id: string): RoomState | undefined {
    return this.rooms.get(id);
  }

  ids(): string[] {
    return [...this.rooms.keys()];
  }

  /** The room's state, created with `cursor` when it has none. */
  ensure(id: string, cursor: number): RoomState {
    let state = this.rooms.get(id);
    if (!state) {
      state = { id, info: null, cursor, lastSeq: cursor, gap: null, messages: new Map() };
      this.rooms.set(id, state);
    }
    return state;
  }

  remove(id: string): boolean {
    return this.rooms.delete(id);
  }

  /** Throws the room's entries away and starts it again at `lastSeq` (cursor_ahead). */
  reset(id: string, lastSeq: number): RoomState {
    const state = this.ensure(id, lastSeq);
    state.messages.clear();
    state.cursor = lastSeq;
    state.lastSeq = lastSeq;
    state.gap = null;
    return state;
  }

  /** Room id to resume cursor, for every room held. */
  cursors(): Record<string, number> {
    const cursors: Record<string, number> = {};
    for (const [id, state] of this.rooms) cursors[id] = state.cursor;
    return cursors;
  }

  /** The held entries of a room in seq order. */
  messages(id: string): Message[] {
    const state = this.rooms.get(id);
    if (!state) return [];
    return [...state.messages.keys()].sort((a, b) => a - b).map((seq) => state.messages.get(seq)!);
  }

  /**
   * The seqs missing between the lowest and highest held entries (after a page loaded around an
   * older entry): every seq up to the room's last exists, so each break in the held seqs is
   * one. Oldest first; a recorded `gap` shows here too once entries past it are held.
   */
  holes(id: string): Gap[] {
    const seqs = this.messages(id).map((message) => message.seq);
    const holes: Gap[] = [];
    for (let index = 1; index < seqs.length; index += 1) {
      const below = seqs[index - 1]!;
      const above = seqs[index]!;
      if (above - below > 1) holes.push({ after: below, through: above - 1 });
    }
    return holes;
  }

  /**
   * Stores an entry from `message.new` or `history`: a seq already held is replaced (the newer
   * copy is at least as current), never added twice. Returns what changed, or null for an
   * identical copy.
   */
  put(id: string, message: Message): Change | null {
    const state = this.ensure(id, message.seq - 1);
    const held = state.messages.get(message.seq);
    if (held && JSON.stringify(held) === JSON.stringify(message)) return null;
    state.messages.set(message.seq, message);
    state.lastSeq = Math.max(state.lastSeq, message.seq);
    this.advance(state);
    if (!held) this.followLine(state, message);
    return held ? "updated" : "new";
  }

  /** Applies `message.edited` or `message.deleted`: only to an entry that is held. */
  change(id: string, message: Message): Change | null {
    const state = this.rooms.get(id);
    if (!state?.messages.has(message.seq)) return null;
    return this.put(id, message);
  }

  private advance(state: RoomState): void {
    while (state.messages.has(state.cursor + 1)) state.cursor += 1;
    if (state.gap && state.cursor >= state.gap.through) state.gap = null;
    else if (state.gap) state.gap.after = Math.max(state.gap.after, state.cursor);
  }

  // Renaming and archiving reach clients only as timeline lines (section 2).
  private followLine(state: RoomState, message: Message): void {
    if (!state.info) return;
    if (message.kind === "renamed") state.info = { ...state.info, name: message.body };
    if (message.kind === "archived") state.info = { ...state.info, archived: true };
    if (message.kind === "unarchived") state.info = { ...state.info, archived: false };
  }
}

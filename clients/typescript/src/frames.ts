// The frames of the Parley WebSocket protocol, version 1 (docs/protocol.md sections 2 to 4).
// Server frames may carry fields and types this file does not know: clients ignore them.

export const PROTOCOL_VERSION = 1;

/** A client-chosen tag copied into the reply: a string of at most 64 characters or an integer. */
export type Ref = string | number;

/** Every person in every frame (author, user, peer, members, presence, typing). */
export interface Person {
  username: string;
  display_name: string;
  /** Their picture's URL (same origin), only when they have one. */
  avatar?: string;
}

export type MessageKind = "text" | "joined" | "left" | "renamed" | "archived" | "unarchived";

export interface Attachment {
  id: string;
  name: string;
  size: number;
  content_type: string;
  kind: "image" | "file";
  width: number | null;
  height: number | null;
  url: string;
  thumbnail_url: string | null;
}

/** One emoji on a message: how many reacted with it, and the first 20 of them, in order. */
export interface Reaction {
  emoji: string;
  count: number;
  users: string[];
}

/** The message a reply answers, as the reply quotes it. */
export interface ReplyQuote {
  seq: number;
  author: Person | null;
  /** Its first line as written (Markdown source: show it as text), at most 120 code points;
   * "" once it was deleted. */
  excerpt: string;
  deleted: boolean;
}

/** A timeline entry, in `message.*` frames and in `history`. */
export interface Message {
  seq: number;
  kind: MessageKind;
  /** null once the account is deleted. */
  author: Person | null;
  body: string;
  /** `body` as sanitized HTML for text messages; "" for system lines and deleted ones (and
   * absent from servers older than formatting: then show `body` as text). */
  body_html?: string;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  client_id: string | null;
  attachments: Attachment[];
  /** Per emoji, in the order first used; [] for system lines and deleted messages (and absent
   * from servers older than reactions). */
  reactions?: Reaction[];
  /** The message this one answers; null for none and for deleted messages (and absent from
   * servers older than replies). */
  reply_to?: ReplyQuote | null;
  /** Usernames mentioned by name, in the order recorded; [] for system lines and deleted
   * messages (and absent from servers older than mentions). */
  mentions?: string[];
  /** The message said an honoured `@room`: every member is mentioned. */
  mentions_room?: boolean;
}

export type RoomKind = "group" | "direct";
export type Visibility = "public" | "invite" | "staff";

/** A room as `room.joined` sends it. */
export interface Room {
  id: string;
  name: string;
  kind: RoomKind;
  visibility: Visibility;
  archived: boolean;
  last_seq: number;
  /** Direct conversations only; null once the other account is deleted. */
  peer?: Person | null;
}

export interface LastMessage {
  seq: number;
  author: string | null;
  author_name: string | null;
  preview: string;
  deleted: boolean;
}

/** A room as `hello` sends it: the fields of `Room` and the caller's own state in it. */
export interface HelloRoom extends Room {
  role: "member" | "admin";
  last_read_seq: number;
  unread: number;
  /** Mentions of you after `last_read_seq` (absent from servers older than mentions). */
  unread_mentions?: number;
  last_activity_at: string;
  last_message: LastMessage | null;
}

export interface Limits {
  body_max_length: number;
  frame_max_bytes: number;
  history_max_page: number;
  replay_max: number;
  attachments_per_message: number;
  upload_max_bytes: number;
  /** The longest `search` query, in characters (absent from servers without search). */
  search_query_max_length?: number;
  /** The largest `search` limit. */
  search_max_page?: number;
}

export interface Member extends Person {
  role: "member" | "admin";
  online: boolean;
}

// Client frames (section 3). `ref` is optional on each; ParleyClient.request() sets it.

interface Refd {
  ref?: Ref;
}

export interface MessageSendFrame extends Refd {
  type: "message.send";
  room: string;
  body: string;
  client_id?: string;
  attachments?: string[];
  /** The seq of the earlier message of the room this one answers. */
  reply_to?: number;
}
export interface MessageEditFrame extends Refd {
  type: "message.edit";
  room: string;
  seq: number;
  body: string;
}
export interface MessageDeleteFrame extends Refd {
  type: "message.delete";
  room: string;
  seq: number;
}
export interface ReactionAddFrame extends Refd {
  type: "reaction.add";
  room: string;
  seq: number;
  emoji: string;
}
export interface ReactionRemoveFrame extends Refd {
  type: "reaction.remove";
  room: string;
  seq: number;
  emoji: string;
}
export interface RoomJoinFrame extends Refd {
  type: "room.join";
  room: string;
}
export interface RoomLeaveFrame extends Refd {
  type: "room.leave";
  room: string;
}
export interface HistoryFetchFrame extends Refd {
  type: "history.fetch";
  room: string;
  before?: number;
  after?: number;
  /** The entry with this seq and about half a page on each side (not with before/after). */
  around?: number;
  limit?: number;
}
export interface SearchFrame extends Refd {
  type: "search";
  /** The words to find: 1 to `search_query_max_length` characters, not only whitespace. */
  q: string;
  room?: string;
  /** A username. */
  author?: string;
  /** The `next_cursor` of the page before. */
  cursor?: string;
  limit?: number;
}
export interface ResumeFrame extends Refd {
  type: "resume";
  cursors: Record<string, number>;
}
export interface DirectOpenFrame extends Refd {
  type: "direct.open";
  username: string;
}
export interface ReadMarkFrame extends Refd {
  type: "read.mark";
  room: string;
  seq: number;
}
export interface MembersListFrame extends Refd {
  type: "members.list";
  room: string;
}
export interface TypingFrame extends Refd {
  type: "typing";
  room: string;
}
export interface PingFrame extends Refd {
  type: "ping";
}

export type ClientFrame =
  | MessageSendFrame
  | MessageEditFrame
  | MessageDeleteFrame
  | ReactionAddFrame
  | ReactionRemoveFrame
  | RoomJoinFrame
  | RoomLeaveFrame
  | HistoryFetchFrame
  | SearchFrame
  | ResumeFrame
  | DirectOpenFrame
  | ReadMarkFrame
  | MembersListFrame
  | TypingFrame
  | PingFrame;

// Server frames (section 4).

export interface HelloFrame {
  type: "hello";
  protocol: number;
  user: Person;
  rooms: HelloRoom[];
  limits: Limits;
}
export interface AckFrame {
  type: "ack";
  ref: Ref | null;
  room: string;
  seq: number;
  /** message.send only. */
  client_id?: string | null;
}
export interface HistoryFrame {
  type: "history";
  ref: Ref | null;
  room: string;
  messages: Message[];
  /** More entries beyond the page: newer ones with `after`, older ones otherwise. */
  has_more: boolean;
  /** Only for a page `around` a seq: newer entries beyond it. */
  has_more_after?: boolean;
}
/** A matched word in a search result's `excerpt`: [start, end) in Unicode code points. */
export interface SearchMatch {
  start: number;
  end: number;
}
export interface SearchResult {
  room: { id: string; name: string; kind: "group" | "direct" };
  seq: number;
  author: Person | null;
  created_at: string;
  edited_at: string | null;
  /** The whole text as written (Markdown source). */
  body: string;
  /** Plain text around the first match, on one line: show it as text, never as HTML. */
  excerpt: string;
  matches: SearchMatch[];
}
export interface SearchResultsFrame {
  type: "search.results";
  ref: Ref | null;
  /** Newest first. */
  results: SearchResult[];
  /** Pass as `cursor` for older results; null on the last page. */
  next_cursor: string | null;
}
export type ResumedRoom =
  | { replayed: number; last_seq: number; gap?: undefined; error?: undefined }
  | { replayed: 0; last_seq: number; gap: { after: number; through: number }; error?: undefined }
  | { replayed: 0; last_seq: number; error: "cursor_ahead"; message?: string; gap?: undefined }
  | { error: "room_not_found"; message?: string; gap?: undefined }
  | { error: "invalid"; message?: string; gap?: undefined };
export interface ResumedFrame {
  type: "resumed";
  ref: Ref | null;
  rooms: Record<string, ResumedRoom>;
}
export interface PongFrame {
  type: "pong";
  ref: Ref | null;
}
export interface ErrorFrame {
  type: "error";
  code: ErrorCode | (string & {});
  message: string;
  ref?: Ref;
  details?: {
    retry_after?: number;
    field?: string;
    max_length?: number;
    max_count?: number;
    ids?: string[];
    known?: string[];
    [key: string]: unknown;
  };
}
export interface MessageNewFrame {
  type: "message.new";
  room: string;
  message: Message;
}
export interface MessageEditedFrame {
  type: "message.edited";
  room: string;
  message: Message;
}
export interface MessageDeletedFrame {
  type: "message.deleted";
  room: string;
  message: Message;
}
/** A message's reactions changed: the whole summary, to replace the entry's `reactions`. */
export interface ReactionUpdatedFrame {
  type: "reaction.updated";
  room: string;
  seq: number;
  reactions: Reaction[];
}
export interface MemberJoinedFrame {
  type: "member.joined";
  room: string;
  user: Person;
}
export interface MemberLeftFrame {
  type: "member.left";
  room: string;
  user: Person;
}
export interface RoomJoinedFrame {
  type: "room.joined";
  room: Room;
}
export interface RoomLeftFrame {
  type: "room.left";
  room: string;
}
export interface MembersFrame {
  type: "members";
  ref: Ref | null;
  room: string;
  members: Member[];
  online_count: number;
}
export interface PresenceFrame {
  type: "presence";
  room: string;
  changes: { user: Person; online: boolean }[];
}
export interface TypingNoticeFrame {
  type: "typing";
  room: string;
  user: Person;
  expires_in: number;
}
export interface ReadUpdatedFrame {
  type: "read.updated";
  room: string;
  last_read_seq: number;
  unread: number;
  /** Absent from servers older than mentions. */
  unread_mentions?: number;
}

export type ServerFrame =
  | HelloFrame
  | AckFrame
  | HistoryFrame
  | SearchResultsFrame
  | ResumedFrame
  | PongFrame
  | ErrorFrame
  | MessageNewFrame
  | MessageEditedFrame
  | MessageDeletedFrame
  | ReactionUpdatedFrame
  | MemberJoinedFrame
  | MemberLeftFrame
  | RoomJoinedFrame
  | RoomLeftFrame
  | MembersFrame
  | PresenceFrame
  | TypingNoticeFrame
  | ReadUpdatedFrame;

/** What the server answers to each client frame (besides `error`). */
export interface ReplyTo {
  "message.send": AckFrame;
  "message.edit": AckFrame;
  "message.delete": AckFrame;
  "reaction.add": AckFrame;
  "reaction.remove": AckFrame;
  "room.join": AckFrame;
  "room.leave": AckFrame;
  "history.fetch": HistoryFrame;
  search: SearchResultsFrame;
  resume: ResumedFrame;
  "direct.open": AckFrame;
  "read.mark": AckFrame;
  "members.list": MembersFrame;
  ping: PongFrame;
}
export type RequestFrame = Extract<ClientFrame, { type: keyof ReplyTo }>;

/** The `code` of an `error` frame (section 6). */
export const ErrorCodes = {
  BAD_FRAME: "bad_frame",
  INVALID: "invalid",
  BODY_EMPTY: "body_empty",
  BODY_TOO_LONG: "body_too_long",
  BODY_INVALID: "body_invalid",
  QUERY_EMPTY: "query_empty",
  QUERY_TOO_LONG: "query_too_long",
  QUERY_INVALID: "query_invalid",
  ROOM_NOT_FOUND: "room_not_found",
  NOT_MEMBER: "not_member",
  USER_NOT_FOUND: "user_not_found",
  ALREADY_MEMBER: "already_member",
  ROOM_ARCHIVED: "room_archived",
  MESSAGE_NOT_FOUND: "message_not_found",
  MESSAGE_DELETED: "message_deleted",
  REPLY_NOT_FOUND: "reply_not_found",
  TOO_MANY_REACTIONS: "too_many_reactions",
  FORBIDDEN: "forbidden",
  RATE_LIMITED: "rate_limited",
  CURSOR_AHEAD: "cursor_ahead",
  UNAVAILABLE: "unavailable",
  INTERNAL: "internal",
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** WebSocket close codes the server uses (section 6, "Close codes"). */
export const CloseCodes = {
  PROTOCOL_ERROR: 1002,
  ABNORMAL: 1006,
  INVALID_UTF8: 1007,
  TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  NOT_LOGGED_IN: 4001,
  ACCESS_ENDED: 4003,
  SLOW_READER: 4008,
  TOO_MANY_SOCKETS: 4009,
  TOO_MANY_HANDSHAKES: 4029,
} as const;
export type CloseCode = (typeof CloseCodes)[keyof typeof CloseCodes];

/** Closes after which reconnecting with the same credentials cannot succeed. */
export const LOGGED_OUT_CODES: ReadonlySet<number> = new Set([
  CloseCodes.NOT_LOGGED_IN,
  CloseCodes.ACCESS_ENDED,
]);

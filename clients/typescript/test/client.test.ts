// ParleyClient against the in-memory server (test/fake-server.ts): section 5 of
// docs/protocol.md, step by step.

import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  ParleyClient,
  ProtocolError,
  excerptParts,
  type ClientOptions,
} from "../src/index.js";
import { FakeServer, FakeSocket } from "./fake-server.js";

const ROOM = "2f9c1e4a-7b3d-4c8e-9a61-5d0b8e7f3a12";
const OTHER = "7d41b0f3-2c8a-4e6b-b1f9-0a3c5e7d9b24";
const URL = "ws://parley.test/ws/";

let server: FakeServer;
let client: ParleyClient;
let ids = 0;

function makeClient(options: ClientOptions = {}): ParleyClient {
  client = new ParleyClient({
    WebSocket: FakeSocket,
    newClientId: () => `cid-${++ids}`,
    ...options,
  });
  return client;
}

async function run(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

async function connect(options: ClientOptions = {}, token?: string): Promise<ParleyClient> {
  makeClient(options);
  const live = client.connect({ url: URL, ...(token ? { token } : {}) });
  await run(1);
  await live;
  return client;
}

beforeEach(() => {
  vi.useFakeTimers();
  server = new FakeServer([ROOM, OTHER]);
  ids = 0;
});

afterEach(() => {
  client?.close();
  vi.useRealTimers();
});

describe("connecting and resuming", () => {
  test("opens with resume=1 and sends resume as its first frame, before hello is read", async () => {
    makeClient();
    const states: string[] = [];
    client.on("state", (state) => states.push(state));
    const live = client.connect({ url: URL });
    await run(1);
    await live;
    const socket = server.last;
    expect(socket.url).toBe(`${URL}?resume=1`);
    expect(socket.sent[0]).toEqual({ type: "resume", cursors: {}, ref: expect.any(Number) });
    expect(states).toEqual(["connecting", "catching-up", "live"]);
    expect(client.user?.username).toBe("alice");
    expect(client.room(ROOM)?.cursor).toBe(0);
  });

  test("a token goes in the Authorization header; a bad token stops with 4001", async () => {
    await connect({}, "parley_alice");
    expect(server.last.headers).toEqual({ Authorization: "Bearer parley_alice" });
    client.close();

    makeClient();
    const loggedOut: number[] = [];
    client.on("loggedOut", ({ code }) => loggedOut.push(code));
    const live = client.connect({ url: URL, token: "parley_wrong" });
    const failed = expect(live).rejects.toThrow(/4001/);
    await run(60_000);
    await failed;
    expect(loggedOut).toEqual([4001]);
    expect(client.state).toBe("logged-out");
    expect(server.sockets).toHaveLength(2); // never retried
  });

  test("after a drop it resumes from the contiguous cursors, and missed entries arrive once", async () => {
    await connect();
    server.post(ROOM, "one");
    server.post(ROOM, "two");
    await run(1);
    expect(client.room(ROOM)?.cursor).toBe(2);

    server.last.drop(1006);
    server.post(ROOM, "three while away");
    const events: number[] = [];
    client.on("message", ({ message }) => events.push(message.seq));
    await run(500);
    expect(server.sockets).toHaveLength(2);
    expect(server.last.sent[0]).toMatchObject({ type: "resume", cursors: { [ROOM]: 2, [OTHER]: 0 } });
    expect(client.messages(ROOM).map((m) => m.body)).toEqual(["one", "two", "three while away"]);
    expect(events).toEqual([3]);
    expect(client.state).toBe("live");
  });

  test("a token without an injected WebSocket is refused: a browser cannot send the header", () => {
    const browserClient = new ParleyClient();
    expect(() => browserClient.connect({ url: URL, token: "parley_alice" })).toThrow(/Authorization/);
  });

  test("backoff: full jitter below min(30 s, 0.5 s * 2^attempt), reset after 10 s up", async () => {
    makeClient({ random: () => 0.999 });
    server.refuseWith = [1006, 1012, 1013, 4008, 4009, 4029, 1011, 1006, 1006];
    void client.connect({ url: URL });
    await run(200_000);
    // Each refused socket closes as it opens, so the time between sockets is the delay.
    const opened = server.sockets.map((socket) => socket.createdAt);
    const delays = opened.slice(1).map((at, index) => at - opened[index]!);
    const ceilings = [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000];
    expect(delays).toHaveLength(ceilings.length);
    delays.forEach((delay, attempt) => {
      expect(delay).toBeLessThanOrEqual(ceilings[attempt]!);
      expect(delay).toBeGreaterThanOrEqual(ceilings[attempt]! * 0.999 - 1);
    });
    expect(client.state).toBe("live");
    // After 10 s up, the next drop waits at most 0.5 s again.
    server.last.drop(1012);
    const before = server.sockets.length;
    await run(500);
    expect(server.sockets.length).toBe(before + 1);
  });

  test("with no randomness the delay is zero: the jitter is full", async () => {
    makeClient({ random: () => 0 });
    server.refuseWith = [1006, 1006, 1006];
    void client.connect({ url: URL });
    await run(10);
    expect(server.sockets).toHaveLength(4);
    expect(client.state).toBe("live");
  });

  test("pings after 30 s idle and reconnects when no pong comes within 10 s", async () => {
    await connect();
    server.silent = true;
    await run(30_000);
    expect(server.received.filter((f) => f.type === "ping")).toHaveLength(0);
    await run(5_000);
    expect(server.received.filter((f) => f.type === "ping")).toHaveLength(1);
    expect(server.sockets).toHaveLength(1);
    await run(9_000);
    expect(server.sockets).toHaveLength(1); // still waiting for the pong
    await run(7_000); // 10 s, plus up to one 5 s check, plus up to 0.5 s of backoff
    expect(server.sockets).toHaveLength(2);
  });

  test("connect() while waiting to reconnect replaces the waiting attempt: one socket, one timer", async () => {
    await connect();
    server.last.drop(1006);
    expect(client.state).toBe("reconnecting");
    const live = client.connect({ url: URL }); // say, a "reconnect now" button
    await run(1);
    await live;
    await run(60_000);
    expect(server.sockets).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(1); // the liveness check, once
  });

  test("a handshake that is never answered is given up after the pong wait, and retried", async () => {
    await connect();
    server.hangHandshakes = 1;
    server.last.drop(1006);
    await run(500);
    expect(server.sockets).toHaveLength(2);
    expect(server.last.readyState).toBe(0); // still connecting
    await run(9_000);
    expect(server.sockets).toHaveLength(2);
    await run(6_500); // 10 s, plus up to one 5 s check, plus up to 1 s of backoff
    expect(server.sockets).toHaveLength(3);
    expect(client.state).toBe("live");
  });
});

describe("the outbox", () => {
  test("a post whose ack was lost is resent with the same client_id and posted once", async () => {
    await connect();
    server.loseNextAck = true;
    const acked = client.send(ROOM, "hello");
    await run(1);
    expect(server.last.readyState).toBe(3);
    expect(client.pendingPosts()).toHaveLength(1);
    await run(1_000);
    const ack = await acked;
    expect(ack).toMatchObject({ type: "ack", room: ROOM, seq: 1, client_id: "cid-1" });
    const sends = server.received.filter((f) => f.type === "message.send");
    expect(sends.map((f) => f.client_id)).toEqual(["cid-1", "cid-1"]);
    expect(server.timelines.get(ROOM)).toHaveLength(1);
    expect(client.messages(ROOM).map((m) => m.body)).toEqual(["hello"]);
    expect(client.pendingPosts()).toHaveLength(0);
  });

  test("posts made while disconnected go out after the resume", async () => {
    await connect();
    server.last.drop(1006);
    const acked = client.send(ROOM, "queued", { clientId: "mine" });
    await run(1_000);
    expect(await acked).toMatchObject({ seq: 1, client_id: "mine" });
    const frames = server.last.sent.map((f) => f.type);
    expect(frames).toEqual(["resume", "message.send"]);
  });

  test("rate_limited waits retry_after and resends the same frame", async () => {
    await connect();
    server.rateLimits = [1.5];
    const acked = client.send(ROOM, "soon", { attachments: ["6f1d1c7e-2b8a-4f0e-9d3c-5a7b9e1f2c3d"] });
    await run(1_000);
    expect(server.received.filter((f) => f.type === "message.send")).toHaveLength(1);
    await run(600);
    const sends = server.received.filter((f) => f.type === "message.send");
    expect(sends).toHaveLength(2);
    const { ref: _first, ...first } = sends[0]!;
    const { ref: _second, ...second } = sends[1]!;
    expect(second).toEqual(first);
    expect(first.attachments).toEqual(["6f1d1c7e-2b8a-4f0e-9d3c-5a7b9e1f2c3d"]);
    expect((await acked).seq).toBe(1);
  });

  test("a refusal that retrying cannot fix rejects the post", async () => {
    await connect();
    const refused = client.send("no-such-room", "hi");
    const failed = expect(refused).rejects.toBeInstanceOf(ProtocolError);
    await run(1);
    await failed;
    expect(client.pendingPosts()).toHaveLength(0);
  });
});

describe("the room store", () => {
  test("deduplicates by seq: a second copy replaces the first, never shows twice", async () => {
    await connect();
    server.post(ROOM, "once");
    await run(1);
    const events: string[] = [];
    client.on("message", ({ change }) => events.push(change));
    // The same entry again (as resume without ?resume=1 would send it), then a newer copy.
    server.last.push({ type: "message.new", room: ROOM, message: server.timelines.get(ROOM)![0] });
    server.change(ROOM, 1, { body: "once, edited", edited_at: "2026-12-03T12:01:00+00:00" }, false);
    server.last.push({ type: "message.new", room: ROOM, message: server.timelines.get(ROOM)![0] });
    expect(client.messages(ROOM).map((m) => m.body)).toEqual(["once, edited"]);
    expect(events).toEqual(["updated"]);
  });

  test("edits and deletes apply to held entries and are ignored otherwise", async () => {
    await connect();
    server.post(ROOM, "typo");
    server.post(ROOM, "gone soon");
    await run(1);
    server.change(ROOM, 1, { body: "fixed", edited_at: "2026-12-03T12:01:00+00:00" });
    server.change(ROOM, 2, { body: "", deleted: true });
    const [first, second] = client.messages(ROOM);
    expect(first).toMatchObject({ body: "fixed", edited_at: "2026-12-03T12:01:00+00:00" });
    expect(second).toMatchObject({ body: "", deleted: true });

    const message = { ...server.timelines.get(ROOM)![0]!, seq: 99 };
    server.last.push({ type: "message.edited", room: ROOM, message });
    expect(client.messages(ROOM)).toHaveLength(2);
  });

  test("reaction.updated replaces a held entry's reactions and is ignored otherwise", async () => {
    await connect();
    server.post(ROOM, "lunch?");
    await run(1);
    const changes: string[] = [];
    client.on("message", (event) => changes.push(event.change));
    const reactions = [{ emoji: "👍", count: 2, users: ["alice", "bob"] }];
    server.last.push({ type: "reaction.updated", room: ROOM, seq: 1, reactions });
    expect(client.messages(ROOM)[0]).toMatchObject({ body: "lunch?", reactions });
    expect(changes).toEqual(["updated"]);

    server.last.push({ type: "reaction.updated", room: ROOM, seq: 99, reactions });
    expect(client.messages(ROOM)).toHaveLength(1);
    expect(changes).toEqual(["updated"]);
  });

  test("unread mentions: counted from hello, each new entry that mentions you, and read.updated", async () => {
    await connect();
    expect(client.unreadMentions.get(ROOM)).toBe(0);
    const mention = (seq: number, extra: object) => ({
      type: "message.new", room: ROOM,
      message: {
        seq, kind: "text", author: { username: "bob", display_name: "Bob" }, body: "hi",
        created_at: "2026-12-03T12:00:00+00:00", edited_at: null, deleted: false,
        client_id: null, attachments: [], mentions: [], ...extra,
      },
    });
    server.last.push(mention(1, { mentions: ["alice"] }));
    server.last.push(mention(1, { mentions: ["alice"] })); // a copy: counted once
    server.last.push(mention(2, { mentions: ["carol"] }));
    server.last.push(mention(3, { mentions_room: true }));
    server.last.push(mention(4, { author: { username: "alice", display_name: "Alice" }, mentions_room: true }));
    expect(client.unreadMentions.get(ROOM)).toBe(2);

    server.last.push({ type: "read.updated", room: ROOM, last_read_seq: 1, unread: 2, unread_mentions: 1 });
    expect(client.unreadMentions.get(ROOM)).toBe(1);
  });

  test("after a resume, the held range is refetched to pick up edits made while away", async () => {
    await connect();
    server.post(ROOM, "before");
    await run(1);
    server.last.drop(1006);
    server.change(ROOM, 1, { body: "", deleted: true }, false);
    await run(1_000);
    expect(client.messages(ROOM)[0]).toMatchObject({ deleted: true, body: "" });
    const fetch = server.received.find((f) => f.type === "history.fetch");
    expect(fetch).toMatchObject({ room: ROOM, after: 0 });
  });

  test("a gap is recorded, then filled page by page within the page bound", async () => {
    await connect({ pageSize: 10 });
    server.replayMax = 5;
    server.post(ROOM, "seen");
    await run(1);
    server.last.drop(1006);
    for (let n = 2; n <= 31; n += 1) server.post(ROOM, `missed ${n}`);
    const gaps: unknown[] = [];
    client.on("gap", (event) => gaps.push(event));
    await run(1_000);
    expect(gaps).toEqual([{ room: ROOM, gap: { after: 1, through: 31 } }]);
    expect(client.room(ROOM)?.cursor).toBe(1);

    server.post(ROOM, "live after the gap");
    await run(1);
    expect(client.room(ROOM)?.cursor).toBe(1); // not contiguous yet
    const filling = client.fillGap(ROOM, { maxPages: 2 });
    await run(1);
    expect(await filling).toBe(false);
    expect(client.room(ROOM)?.cursor).toBe(21);
    expect(client.room(ROOM)?.gap).toEqual({ after: 21, through: 31 });

    const rest = client.fillGap(ROOM);
    await run(1);
    expect(await rest).toBe(true);
    expect(client.room(ROOM)?.cursor).toBe(32);
    expect(client.room(ROOM)?.gap).toBeNull();
    expect(gaps.at(-1)).toEqual({ room: ROOM, gap: null });
    const seqs = client.messages(ROOM).map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    const fetches = server.received.filter((f) => f.type === "history.fetch" && f.after !== 0);
    expect(fetches.every((f) => (f.limit as number) <= 10)).toBe(true);
  });

  test("cursor_ahead throws the room's entries away and loads its newest page", async () => {
    await connect();
    server.post(ROOM, "one");
    server.post(ROOM, "two");
    await run(1);
    server.last.drop(1006);
    server.timelines.set(ROOM, server.timelines.get(ROOM)!.slice(0, 1)); // the server forgot one
    const resets: string[] = [];
    client.on("room", ({ room, change }) => change === "reset" && resets.push(room));
    await run(1_000);
    expect(resets).toEqual([ROOM]);
    expect(client.room(ROOM)?.cursor).toBe(1);
    expect(client.messages(ROOM).map((m) => m.body)).toEqual(["one"]);
  });

  test("room_not_found in resumed drops the room, as does a hello that no longer lists it", async () => {
    await connect();
    expect(client.store.ids().sort()).toEqual([ROOM, OTHER].sort());
    server.last.drop(1006);
    server.timelines.delete(OTHER);
    const removed: string[] = [];
    client.on("room", ({ room, change }) => change === "removed" && removed.push(room));
    await run(1_000);
    expect(removed).toEqual([OTHER]);
    expect(client.store.ids()).toEqual([ROOM]);
    expect(server.last.sent[0]).toMatchObject({ cursors: { [OTHER]: 0 } });
  });

  test("room.joined adds a room just before its joined line; room.left removes it", async () => {
    await connect();
    const room = "4c0d7e52-91f3-4a8b-8f26-3b5e9a1c7d40";
    server.last.push({ type: "room.joined", room: { id: room, name: "new", kind: "group",
      visibility: "public", archived: false, last_seq: 5 } });
    expect(client.room(room)?.cursor).toBe(4);
    server.last.push({ type: "room.left", room });
    expect(client.room(room)).toBeUndefined();
    const direct = "9a4f3c2e-1b0d-4e8f-a7c6-5d4e3f2a1b0c";
    server.last.push({ type: "room.joined", room: { id: direct, name: "Bob", kind: "direct",
      visibility: "invite", archived: false, last_seq: 0,
      peer: { username: "bob", display_name: "Bob" } } });
    expect(client.room(direct)?.cursor).toBe(0);
  });

  test("request() types its reply and rejects an error with ProtocolError", async () => {
    await connect();
    server.post(ROOM, "a");
    const page = client.request({ type: "history.fetch", room: ROOM, limit: 5 });
    const pong = client.request({ type: "ping" });
    await run(1);
    expect((await page).messages.map((m) => m.body)).toEqual(["a"]);
    expect((await pong).type).toBe("pong");
    const bad = client.request({ type: "history.fetch", room: ROOM, limit: 500 });
    const failed = expect(bad).rejects.toMatchObject({ code: "invalid" });
    await run(1);
    await failed;
  });
});

// docs/protocol.md section 6, "Close codes": what the SDK does after each code the server sends.
describe("search", () => {
  test("search() sends the search frame and resolves with search.results", async () => {
    server.post(ROOM, "release notes are up");
    server.post(OTHER, "lunch?");
    server.post(OTHER, "the release is out");
    await connect();

    const asked = client.search("release", { limit: 5 });
    await run(1);
    const reply = await asked;

    expect(server.last.sent.at(-1)).toEqual({
      type: "search", q: "release", limit: 5, ref: expect.any(Number),
    });
    expect(reply.type).toBe("search.results");
    expect(reply.results.map((result) => result.body)).toEqual([
      "the release is out", "release notes are up",
    ]);
    expect(reply.next_cursor).toBeNull();
    // A search holds nothing: the rooms' entries are loaded as before.
    expect(client.messages(ROOM)).toEqual([]);
  });

  test("a refused search rejects with the error's code", async () => {
    await connect();
    const refusal = client.search("   ");
    refusal.catch(() => {});
    await run(1);
    await expect(refusal).rejects.toBeInstanceOf(ProtocolError);
    await expect(refusal).rejects.toMatchObject({ code: "query_empty" });
  });

  test("excerptParts cuts by code points, so emoji before a match do not shift it", () => {
    const parts = excerptParts({
      excerpt: "🎉🎉 party <b>tonight</b>",
      matches: [{ start: 3, end: 8 }, { start: 12, end: 19 }],
    });
    expect(parts).toEqual([
      { text: "🎉🎉 ", match: false },
      { text: "party", match: true },
      { text: " <b>", match: false },
      { text: "tonight", match: true },
      { text: "</b>", match: false },
    ]);
  });

  test("excerptParts ignores ranges past the end or overlapping", () => {
    expect(excerptParts({ excerpt: "abc", matches: [{ start: 1, end: 9 }, { start: 0, end: 2 }] }))
      .toEqual([{ text: "ab", match: true }, { text: "c", match: true }]);
    expect(excerptParts({ excerpt: "abc", matches: [] })).toEqual([{ text: "abc", match: false }]);
  });
});

describe("close codes", () => {
  function loggedOutCodes(): number[] {
    const codes: number[] = [];
    client.on("loggedOut", ({ code }) => codes.push(code));
    return codes;
  }

  test("4001 on a reconnect (the token was revoked meanwhile): loggedOut, and no more attempts", async () => {
    await connect({}, "parley_alice");
    const codes = loggedOutCodes();
    server.tokens.delete("parley_alice");
    server.last.drop(1006);
    await run(120_000);
    expect(codes).toEqual([4001]);
    expect(client.state).toBe("logged-out");
    expect(server.sockets).toHaveLength(2); // the one refused, then none
  });

  test("4003 while connected: loggedOut, no reconnect, and posts wait for the next connect()", async () => {
    await connect();
    const codes = loggedOutCodes();
    server.last.drop(4003);
    const waiting = client.send(ROOM, "after the login ended");
    await run(120_000);
    expect(codes).toEqual([4003]);
    expect(client.state).toBe("logged-out");
    expect(server.sockets).toHaveLength(1);
    expect(client.pendingPosts()).toHaveLength(1);

    // Logged in again: the post goes out once the new socket has resumed.
    const live = client.connect({ url: URL });
    await run(1);
    await live;
    await run(1);
    expect((await waiting).seq).toBe(1);
  });

  // Each of these may close a socket that was live; none ends the login.
  test.each([
    [4008, "the client did not read its frames"],
    [1009, "a frame was too large"],
    [1011, "an internal error"],
    [1012, "a server restart"],
    [1013, "the database was unreachable"],
  ])("%i (%s) while live: reconnects after the backoff delay and resumes", async (code) => {
    await connect({ random: () => 0.999 });
    const codes = loggedOutCodes();
    server.post(ROOM, "seen");
    await run(1);
    server.last.drop(code);
    server.post(ROOM, "missed");
    expect(client.state).toBe("reconnecting");
    await run(490); // the first delay is random() * 500 ms
    expect(server.sockets).toHaveLength(1);
    await run(20);
    expect(server.sockets).toHaveLength(2);
    await run(1);
    expect(server.last.sent[0]).toMatchObject({ type: "resume", cursors: { [ROOM]: 1, [OTHER]: 0 } });
    expect(client.state).toBe("live");
    expect(client.messages(ROOM).map((m) => m.body)).toEqual(["seen", "missed"]);
    expect(codes).toEqual([]);
  });

  // Refused right after the handshake, before hello: back off further on each refusal.
  test.each([
    [4009, "too many sockets"],
    [4029, "too many handshakes"],
    [1013, "the database was unreachable while opening"],
  ])("%i (%s) at the handshake: retries with growing backoff until it is let in", async (code) => {
    makeClient({ random: () => 0.999 });
    const codes = loggedOutCodes();
    server.refuseWith = [code, code, code];
    const live = client.connect({ url: URL });
    await run(10_000);
    await live;
    const opened = server.sockets.map((socket) => socket.createdAt);
    const delays = opened.slice(1).map((at, index) => at - opened[index]!);
    expect(delays).toHaveLength(3);
    [500, 1_000, 2_000].forEach((ceiling, attempt) => {
      expect(delays[attempt]).toBeGreaterThanOrEqual(ceiling * 0.999 - 1);
      expect(delays[attempt]).toBeLessThanOrEqual(ceiling);
    });
    expect(client.state).toBe("live");
    expect(codes).toEqual([]);
  });

  test("1009: the post too large is dropped, not resent; posts sent after it are resent once", async () => {
    server.frameMaxBytes = 1_000;
    await connect();
    const big = client.send(ROOM, "x".repeat(1_000));
    const after = client.send(ROOM, "sent right after");
    const refused = expect(big).rejects.toThrow(/1009/);
    await run(1);
    await refused;
    expect(server.sockets[0]!.readyState).toBe(3);
    expect(client.pendingPosts().map((post) => post.body)).toEqual(["sent right after"]);
    await run(1_000);
    expect((await after).seq).toBe(1);
    const sends = server.received.filter((f) => f.type === "message.send");
    expect(sends.map((f) => f.body)).toEqual(["sent right after"]); // the first copy went unread
    expect(server.timelines.get(ROOM)!.map((m) => m.body)).toEqual(["sent right after"]);
    expect(client.pendingPosts()).toEqual([]);
    expect(client.state).toBe("live");
  });

  test("1009 for a post resent after a reconnect: only that post is dropped", async () => {
    server.frameMaxBytes = 1_000;
    await connect();
    server.last.drop(1006);
    // Queued while away, then sent together after the resume: the big one first.
    const big = client.send(ROOM, "y".repeat(1_000));
    const small = client.send(ROOM, "small");
    const refused = expect(big).rejects.toThrow(/1009/);
    await run(1_000);
    await refused;
    await run(1_000);
    expect((await small).seq).toBe(1);
    expect(server.timelines.get(ROOM)!.map((m) => m.body)).toEqual(["small"]);
  });
});

describe("replies", () => {
  test("send puts replyTo in the frame as reply_to, and leaves it out otherwise", async () => {
    await connect();
    await Promise.all([
      client.send(ROOM, "noon works", { replyTo: 3 }),
      client.send(ROOM, "plain"),
      run(10),
    ]);
    const sends = server.received.filter((f) => f.type === "message.send");
    expect(sends[0]).toMatchObject({ body: "noon works", reply_to: 3 });
    expect(sends[1]).not.toHaveProperty("reply_to");
  });

  test("loadAround holds the page around an older entry and holes() names what lies between", async () => {
    for (let n = 1; n <= 300; n += 1) server.post(ROOM, `m${n}`);
    await connect();
    await Promise.all([client.loadLatest(ROOM, 50), run(10)]);
    expect(client.holes(ROOM)).toEqual([]);

    const [page] = await Promise.all([client.loadAround(ROOM, 40, 20), run(10)]);

    expect(server.received.at(-1)).toMatchObject({ type: "history.fetch", around: 40, limit: 20 });
    expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 30 + i));
    expect(page.has_more).toBe(true);
    expect(page.has_more_after).toBe(true);
    expect(client.room(ROOM)?.cursor).toBe(300);
    expect(client.holes(ROOM)).toEqual([{ after: 49, through: 250 }]);

    let closed = false;
    for (let step = 0; step < 5 && !closed; step += 1) {
      const [done] = await Promise.all([client.fillHole(ROOM, client.holes(ROOM)[0]!), run(10)]);
      closed = done;
    }
    expect(closed).toBe(true);
    expect(client.holes(ROOM)).toEqual([]);
    const seqs = client.messages(ROOM).map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 271 }, (_, i) => 30 + i));
  });

  test("a reply's quote comes with the message as the server sent it", async () => {
    await connect();
    const quote = { seq: 1, author: { username: "bob", display_name: "Bob" }, excerpt: "hi", deleted: false };
    server.post(ROOM, "first");
    const reply = server.post(ROOM, "answer");
    server.change(ROOM, reply.seq, { reply_to: quote }, false);
    await Promise.all([client.loadLatest(ROOM), run(10)]);
    expect(client.messages(ROOM).at(-1)?.reply_to).toEqual(quote);
    expect(client.messages(ROOM)[0]?.reply_to).toBeUndefined();
  });
});

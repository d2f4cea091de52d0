// The page client's transport (chat/static/chat/connection.js) against a scripted socket:
// resume first, the outbox, backoff, close codes and liveness (docs/protocol.md section 5).
// Run with `node --test tests/js/` (make test does).

import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

class ScriptedSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 3;
  static made = [];

  constructor(url) {
    this.url = url;
    this.readyState = ScriptedSocket.CONNECTING;
    this.sent = [];
    this.listeners = {};
    ScriptedSocket.made.push(this);
  }

  addEventListener(type, listener) {
    (this.listeners[type] ??= []).push(listener);
  }

  send(text) {
    assert.equal(this.readyState, ScriptedSocket.OPEN, "sent on a socket that is not open");
    this.sent.push(JSON.parse(text));
  }

  close() {
    this.readyState = ScriptedSocket.CLOSED;
  }

  // What the server does
  accept() {
    this.readyState = ScriptedSocket.OPEN;
    this.emit("open", {});
  }

  receive(frame) {
    this.emit("message", { data: JSON.stringify(frame) });
  }

  drop(code = 1006) {
    this.readyState = ScriptedSocket.CLOSED;
    this.emit("close", { code });
  }

  emit(type, event) {
    for (const listener of this.listeners[type] ?? []) listener(event);
  }

  lastSent(type) {
    return this.sent.filter((frame) => frame.type === type).at(-1);
  }
}

globalThis.WebSocket = ScriptedSocket;
const { Connection, Disconnected } = await import("../../chat/static/chat/connection.js");

const ROOM = "2f9c1e4a-7b3d-4c8e-9a61-5d0b8e7f3a12";
let log;

function connection(overrides = {}) {
  log = { states: [], frames: [], resumed: [], loggedOut: [] };
  const made = new Connection({
    url: "ws://parley.test/ws/",
    cursors: () => ({ [ROOM]: 41 }),
    onFrame: (frame) => log.frames.push(frame),
    onResumed: (frame) => log.resumed.push(frame),
    onState: (state) => log.states.push(state),
    onLoggedOut: (code) => log.loggedOut.push(code),
    ...overrides,
  });
  made.start();
  return made;
}

function socket() {
  return ScriptedSocket.made.at(-1);
}

async function settle() {
  for (let turn = 0; turn < 5; turn += 1) await Promise.resolve();
}

// Accepts the newest socket and answers its resume; returns the socket.
async function goLive(resumed = { [ROOM]: { replayed: 0, last_seq: 41 } }) {
  const live = socket();
  live.accept();
  live.receive({ type: "hello", protocol: 1, rooms: [] });
  live.receive({ type: "resumed", ref: live.lastSent("resume").ref, rooms: resumed });
  await settle();
  return live;
}

beforeEach(() => {
  ScriptedSocket.made = [];
  mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
});

afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
});

test("opens with resume=1 and sends resume as its first frame, live only after resumed", async () => {
  connection();
  const first = socket();
  assert.equal(first.url, "ws://parley.test/ws/?resume=1");
  assert.deepEqual(log.states, ["connecting"]);

  first.accept();
  assert.equal(first.sent.length, 1);
  assert.deepEqual(first.sent[0], { type: "resume", cursors: { [ROOM]: 41 }, ref: first.sent[0].ref });
  assert.deepEqual(log.states, ["connecting", "catching-up"]);

  first.receive({ type: "hello", protocol: 1, rooms: [] });
  first.receive({ type: "message.new", room: ROOM, message: { seq: 42 } });
  await settle();
  assert.deepEqual(log.states, ["connecting", "catching-up"], "not live before resumed");
  const resumed = { type: "resumed", ref: first.sent[0].ref, rooms: { [ROOM]: { replayed: 1, last_seq: 42 } } };
  first.receive(resumed);
  await settle();
  assert.deepEqual(log.states.at(-1), "live");
  assert.deepEqual(log.resumed, [resumed]);
  assert.deepEqual(log.frames.map((frame) => frame.type), ["hello", "message.new"]);
});

test("a message posted offline goes out after resume, and again with the same client_id after a drop", async () => {
  const client = connection();
  const acked = client.post(ROOM, "hello there", { clientId: "c-1" });
  const first = await goLive();
  const sent = first.lastSent("message.send");
  assert.deepEqual({ ...sent, ref: undefined }, { type: "message.send", room: ROOM, body: "hello there", client_id: "c-1", ref: undefined });

  first.drop(1012); // the server restarts before answering
  mock.timers.tick(30_000);
  const second = await goLive();
  const again = second.lastSent("message.send");
  assert.equal(again.client_id, "c-1");
  assert.equal(again.body, "hello there");
  assert.equal(client.pendingPosts(), 1);

  second.receive({ type: "ack", ref: again.ref, room: ROOM, seq: 43, client_id: "c-1" });
  assert.equal((await acked).seq, 43);
  assert.equal(client.pendingPosts(), 0);
  second.drop(1012);
  mock.timers.tick(30_000);
  const third = await goLive();
  assert.equal(third.lastSent("message.send"), undefined, "an acked message is never sent again");
});

test("rate_limited waits retry_after and resends the same frame; other refusals reject", async () => {
  const client = connection();
  const live = await goLive();
  const slow = client.post(ROOM, "one", { clientId: "c-slow" });
  const first = live.lastSent("message.send");
  live.receive({ type: "error", ref: first.ref, code: "rate_limited", message: "Slow down.", details: { retry_after: 2 } });
  await settle();
  mock.timers.tick(1_900);
  assert.equal(live.sent.filter((frame) => frame.type === "message.send").length, 1);
  mock.timers.tick(200);
  const retry = live.lastSent("message.send");
  assert.notEqual(retry.ref, first.ref);
  assert.equal(retry.client_id, "c-slow");
  live.receive({ type: "ack", ref: retry.ref, room: ROOM, seq: 50, client_id: "c-slow" });
  assert.equal((await slow).seq, 50);

  const refused = client.post(ROOM, "x".repeat(5000), { clientId: "c-long" });
  const long = live.lastSent("message.send");
  live.receive({ type: "error", ref: long.ref, code: "invalid", message: "Too long." });
  await assert.rejects(refused, (error) => error.code === "invalid");
  assert.equal(client.pendingPosts(), 0);
});

test("4001 and 4003 send the user to log in and never reconnect", async () => {
  for (const code of [4001, 4003]) {
    ScriptedSocket.made = [];
    connection();
    socket().drop(code);
    mock.timers.tick(120_000);
    assert.deepEqual(log.loggedOut, [code]);
    assert.equal(ScriptedSocket.made.length, 1);
  }
});

test("reconnects with full-jitter backoff, capped at 30 s, reset once a socket stays up", async () => {
  mock.method(Math, "random", () => 0.999);
  connection();
  const waits = [];
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const before = ScriptedSocket.made.length;
    socket().drop(1006);
    let waited = 0;
    while (ScriptedSocket.made.length === before) {
      mock.timers.tick(100);
      waited += 100;
    }
    waits.push(waited);
  }
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  assert.ok(log.states.includes("reconnecting"));

  await goLive();
  mock.timers.tick(10_000); // stable: the next drop starts from the shortest wait again
  const before = ScriptedSocket.made.length;
  socket().drop(1006);
  mock.timers.tick(500);
  assert.equal(ScriptedSocket.made.length, before + 1);
});

test("requests waiting when the socket closes are rejected with Disconnected", async () => {
  const client = connection();
  const live = await goLive();
  const history = client.request({ type: "history.fetch", room: ROOM, before: 10 });
  live.drop(1006);
  await assert.rejects(history, Disconnected);
  await assert.rejects(client.request({ type: "history.fetch", room: ROOM }), Disconnected);
});

test("a quiet socket is pinged after 30 s and dropped when no pong comes within 10 s", async () => {
  connection();
  const live = await goLive();
  mock.timers.tick(25_000);
  assert.equal(live.lastSent("ping"), undefined);
  mock.timers.tick(10_000);
  const ping = live.lastSent("ping");
  assert.ok(ping, "pinged after 30 s of silence");
  live.receive({ type: "pong", ref: ping.ref });
  mock.timers.tick(20_000);
  assert.equal(ScriptedSocket.made.length, 1, "an answered ping keeps the socket");

  mock.timers.tick(15_000); // silent again: a second ping, never answered
  assert.equal(live.sent.filter((frame) => frame.type === "ping").length, 2);
  mock.timers.tick(16_000);
  assert.ok(log.states.at(-1) === "reconnecting" || ScriptedSocket.made.length === 2);
  mock.timers.tick(1_000);
  assert.equal(ScriptedSocket.made.length, 2, "a socket that does not answer is replaced");
});

test("files go out with their message as attachment ids", async () => {
  const client = connection();
  const live = await goLive();
  client.post(ROOM, "", { attachments: ["f-1", "f-2"], clientId: "c-files" });
  assert.deepEqual(live.lastSent("message.send").attachments, ["f-1", "f-2"]);
  client.post(ROOM, "plain", { clientId: "c-plain" });
  assert.equal("attachments" in live.lastSent("message.send"), false);
});

test("a reply goes out with the seq it answers as reply_to", async () => {
  const client = connection();
  const live = await goLive();
  client.post(ROOM, "noon works", { replyTo: 41, clientId: "c-reply" });
  assert.equal(live.lastSent("message.send").reply_to, 41);
  client.post(ROOM, "plain", { clientId: "c-plain-2" });
  assert.equal("reply_to" in live.lastSent("message.send"), false);
  client.post(ROOM, "null is none", { replyTo: null, clientId: "c-null" });
  assert.equal("reply_to" in live.lastSent("message.send"), false);
});

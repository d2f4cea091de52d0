// docs/protocol.md section 5 across a real server restart (test/parley-server.ts): the process
// is ended with SIGTERM (uvicorn closes its sockets with 1012) or SIGKILL (the sockets just
// break) and started again on the same port and database. Clients reconnect by themselves with
// backoff, resume, and their queued posts are stored once.

import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { type ClientOptions, type Message, type ParleyClient } from "../src/index.js";
import {
  HAVE_PARLEY,
  ParleyServer,
  doubled,
  seqRange,
  sleep,
  testClient,
  waitFor,
  within,
  type TestClient,
} from "./parley-server.js";

describe.skipIf(!HAVE_PARLEY)("a real Parley server that restarts", () => {
  let server: ParleyServer;
  let clients: ParleyClient[] = [];

  beforeAll(async () => {
    server = await ParleyServer.start();
  });

  afterEach(async () => {
    for (const client of clients) client.close();
    clients = [];
    if (!server.running) await server.run();
  });

  afterAll(async () => {
    await server?.dispose();
  });

  async function connect(token: string, options: ClientOptions = {}): Promise<TestClient> {
    const connected = await testClient(server, token, options);
    clients.push(connected.client);
    return connected;
  }

  /** The room's whole timeline after `after`, read with history.fetch. */
  async function timelineAfter(reader: ParleyClient, after: number): Promise<Message[]> {
    const { room } = server.fixture;
    const page = await reader.request({ type: "history.fetch", room, after, limit: 200 });
    expect(page.has_more).toBe(false);
    return page.messages;
  }

  test.each(["SIGTERM", "SIGKILL"] as const)(
    "after %s and a restart, A's post queued while the server was down is stored once, and " +
      "what B posted while A was away arrives once, in order",
    async (signal) => {
      const { room } = server.fixture;
      const alice = await connect(server.fixture.alice);
      const bob = await connect(server.fixture.bob);
      await alice.client.loadLatest(room);
      const replayed: number[] = [];
      alice.client.on("resumed", (frame) => {
        const result = frame.rooms[room];
        replayed.push(result && "replayed" in result ? result.replayed : -1);
      });
      const start = bob.client.room(room)!.lastSeq;
      expect(alice.client.room(room)!.cursor).toBe(start);

      await server.stop(signal);
      await waitFor("both to notice", () =>
        alice.client.state !== "live" && bob.client.state !== "live");
      expect(alice.line.closeCodes[0]).toBe(signal === "SIGTERM" ? 1012 : 1006);
      const queued = alice.client.send(room, `alice, queued while the server is down (${signal})`);
      const bobQueued = bob.client.send(room, `bob, queued while the server is down (${signal})`);
      // A keeps trying by itself, against the port where nothing listens now.
      const attempts = alice.line.sockets.length;
      await waitFor("alice to retry", () => alice.line.sockets.length >= attempts + 2);
      expect(alice.client.pendingPosts()).toHaveLength(1);

      // A is away for longer than the outage (its own network is down too): what B posts once
      // the server is back is stored before A returns, so A must get it by resuming.
      alice.line.up = false;
      await server.run();
      await within("bob's queued post to be acked", bobQueued);
      const whileAway: Promise<unknown>[] = [];
      for (let n = 1; n <= 5; n += 1) whileAway.push(bob.client.send(room, `while away ${n}`));
      await within("bob's posts to be acked", Promise.all(whileAway));
      expect(alice.client.state).not.toBe("live");

      // A's network comes back while B goes on posting: replay and live delivery meet.
      alice.line.up = true;
      const meanwhile: Promise<unknown>[] = [];
      for (let n = 1; n <= 5; n += 1) {
        meanwhile.push(bob.client.send(room, `while alice resumes ${n}`));
        await sleep(20);
      }
      await within("bob's posts to be acked", Promise.all(meanwhile));
      const ack = await within("alice's queued post to be acked", queued);
      expect(alice.client.pendingPosts()).toEqual([]);

      const timeline = await timelineAfter(bob.client, start);
      const end = timeline.at(-1)!.seq;
      expect(timeline.map((message) => message.seq)).toEqual(seqRange(start + 1, end));
      const mine = timeline.filter((message) => message.client_id === ack.client_id);
      expect(mine.map((message) => message.seq)).toEqual([ack.seq]);
      expect(timeline.filter((message) => message.body.startsWith("alice, queued"))).toHaveLength(1);
      expect(timeline.filter((message) => message.kind === "text")).toHaveLength(12);

      await waitFor("alice to hold everything", () => alice.client.room(room)!.cursor === end);
      const held = alice.client.messages(room).filter((message) => message.seq > start);
      expect(held.map((message) => message.seq)).toEqual(seqRange(start + 1, end));
      expect(held).toEqual(timeline);
      expect(doubled(alice)).toEqual([]);
      expect(alice.client.room(room)!.gap).toBeNull();
      // One resume, which replayed at least bob's queued post and the five while away.
      expect(replayed).toHaveLength(1);
      expect(replayed[0]).toBeGreaterThanOrEqual(6);
      await waitFor("bob to hold everything", () => bob.client.room(room)!.cursor === end);
      expect(doubled(bob)).toEqual([]);
    },
    60_000,
  );

  test("1012 from a server that restarts: reconnects with growing backoff, then resumes", async () => {
    const { room } = server.fixture;
    // random() = 1: each delay is its ceiling, min(cap, base * 2^attempt).
    const alice = await connect(server.fixture.alice, {
      random: () => 1,
      backoffBaseMs: 50,
      backoffCapMs: 800,
    });
    const bob = await connect(server.fixture.bob);
    const loggedOut: number[] = [];
    alice.client.on("loggedOut", ({ code }) => loggedOut.push(code));

    const before = alice.line.openedAt.length;
    await server.stop("SIGTERM");
    await waitFor("alice to try five times", () => alice.line.openedAt.length >= before + 5);
    expect(alice.line.closeCodes[0]).toBe(1012);
    // Between the attempts: at least the ceilings of attempts 1 to 4 (100, 200, 400, 800 ms),
    // as a timer never fires early.
    const opened = alice.line.openedAt.slice(before);
    const delays = opened.slice(1, 5).map((at, index) => at - opened[index]!);
    delays.forEach((delay, index) => {
      expect(delay).toBeGreaterThanOrEqual(50 * 2 ** (index + 1) - 2);
    });

    await server.run();
    await waitFor("alice to be live again", () => alice.client.state === "live");
    await waitFor("bob to be live again", () => bob.client.state === "live");
    const ack = await within("bob's post to be acked", bob.client.send(room, "after the restart"));
    await waitFor("alice to get it", () => alice.client.room(room)!.cursor === ack.seq);
    expect(loggedOut).toEqual([]);
    expect(doubled(alice)).toEqual([]);
  }, 60_000);

  test("a server that hangs (SIGSTOP): the unanswered ping drops the socket, a handshake that " +
       "is never answered is given up too, and the client resumes once the server runs again", async () => {
    const { room } = server.fixture;
    const liveness = { idleBeforePingMs: 300, pongWaitMs: 500, livenessCheckMs: 50 };
    const alice = await connect(server.fixture.alice, liveness);
    const start = alice.client.room(room)!.cursor;

    server.pause(true);
    try {
      await waitFor("alice to drop the silent socket", () => alice.client.state !== "live");
      // The kernel still accepts connections for the frozen process, so each handshake hangs.
      await waitFor("alice to give up on two handshakes", () => alice.line.sockets.length >= 4, 10_000);
    } finally {
      server.pause(false);
    }
    await waitFor("alice to be live again", () => alice.client.state === "live");
    const bob = await connect(server.fixture.bob);
    const ack = await within("bob's post to be acked", bob.client.send(room, "after the pause"));
    await waitFor("alice to get it", () => alice.client.room(room)!.cursor === ack.seq);
    expect(alice.client.messages(room).map((message) => message.seq)).toEqual([ack.seq]);
    expect(ack.seq).toBe(start + 1);
  }, 60_000);
});

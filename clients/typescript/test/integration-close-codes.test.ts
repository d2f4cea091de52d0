// Close codes from a real Parley server (test/parley-server.ts), per docs/protocol.md section 6:
// a revoked token closes its socket with 4003 and is refused with 4001 afterwards, and neither
// is retried; 1009 drops only the post that was too large. 1012 (a restart) is in
// integration-restart.test.ts; 1013, 4008, 4009 and 4029 are in client.test.ts.

import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { Disconnected, ParleyClient } from "../src/index.js";
import {
  FAST_RECONNECT,
  HAVE_PARLEY,
  Line,
  ParleyServer,
  doubled,
  sleep,
  testClient,
  waitFor,
  type TestClient,
} from "./parley-server.js";

// Long enough for several attempts at FAST_RECONNECT's backoff, were the client to retry.
const RETRY_WINDOW_MS = 1_500;

describe.skipIf(!HAVE_PARLEY)("close codes from a real Parley server", () => {
  let server: ParleyServer;
  let clients: ParleyClient[] = [];

  beforeAll(async () => {
    server = await ParleyServer.start();
  });

  afterEach(() => {
    for (const client of clients) client.close();
    clients = [];
  });

  afterAll(async () => {
    await server?.dispose();
  });

  async function connect(token: string): Promise<TestClient> {
    const connected = await testClient(server, token);
    clients.push(connected.client);
    return connected;
  }

  test("revoking the token: 4003 while connected, then 4001 for it; loggedOut, and no retry", async () => {
    const { room, aliceSpare } = server.fixture;
    const alice = await connect(aliceSpare.token);
    const loggedOut: number[] = [];
    alice.client.on("loggedOut", ({ code }) => loggedOut.push(code));

    const revoked = await server.api(aliceSpare.token, "DELETE", `tokens/${aliceSpare.id}`);
    expect(revoked.status).toBe(200);
    await waitFor("the socket to close", () => alice.line.closeCodes.length > 0);
    expect(alice.line.closeCodes).toEqual([4003]);
    expect(loggedOut).toEqual([4003]);
    expect(alice.client.state).toBe("logged-out");
    // A post made now waits for the next connect() (with a new token); nothing reconnects.
    void alice.client.send(room, "waits for a new login");
    await sleep(RETRY_WINDOW_MS);
    expect(alice.line.sockets).toHaveLength(1);
    expect(alice.client.pendingPosts()).toHaveLength(1);

    // A new client with the revoked token: refused at once, connect() rejects, no retry.
    const line = new Line();
    const again = new ParleyClient({ WebSocket: line.WebSocket, ...FAST_RECONNECT });
    clients.push(again);
    const refusals: number[] = [];
    again.on("loggedOut", ({ code }) => refusals.push(code));
    await expect(again.connect({ url: server.url, token: aliceSpare.token })).rejects.toThrow(/4001/);
    expect(refusals).toEqual([4001]);
    expect(line.closeCodes).toEqual([4001]);
    expect(again.state).toBe("logged-out");
    expect(again.user).toBeNull(); // no hello before 4001
    await sleep(RETRY_WINDOW_MS);
    expect(line.sockets).toHaveLength(1);
  }, 30_000);

  test("1009: the post too large is refused and not resent; a post sent right after it is " +
       "stored once after the reconnect", async () => {
    const { room } = server.fixture;
    const alice = await connect(server.fixture.alice);
    const frameMax = alice.client.limits!.frame_max_bytes;
    const big = alice.client.send(room, "x".repeat(frameMax + 1));
    const small = alice.client.send(room, "small, sent right after the big one");
    const refused = expect(big).rejects.toThrow(/1009/);

    const ack = await small;
    await refused;
    expect(alice.line.closeCodes).toEqual([1009]);
    await waitFor("alice to be live again", () => alice.client.state === "live");
    expect(alice.client.pendingPosts()).toEqual([]);
    await waitFor("alice to get her post", () => alice.client.room(room)!.cursor === ack.seq);
    const page = await alice.client.request({ type: "history.fetch", room, after: ack.seq - 1 });
    expect(page.messages.map((message) => message.body)).toEqual(["small, sent right after the big one"]);
    expect(alice.line.closeCodes).toEqual([1009]); // reconnected once, and stayed up
    expect(doubled(alice)).toEqual([]);
  }, 30_000);

  test("a request in flight when the socket closes rejects with Disconnected", async () => {
    const { room } = server.fixture;
    const alice = await connect(server.fixture.alice);
    const fetching = alice.client.request({ type: "history.fetch", room });
    alice.line.cut();
    await expect(fetching).rejects.toBeInstanceOf(Disconnected);
  });
});

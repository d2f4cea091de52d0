// Two ParleyClients with tokens against a real Parley process (test/parley-server.ts): a message
// each way, then a dropped socket that resumes with nothing lost or doubled.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ProtocolError, excerptParts, type ParleyClient } from "../src/index.js";
import {
  HAVE_PARLEY,
  ParleyServer,
  bodies,
  doubled,
  testClient,
  waitFor,
  type TestClient,
} from "./parley-server.js";

describe.skipIf(!HAVE_PARLEY)("against a real Parley server", () => {
  let server: ParleyServer;
  const clients: ParleyClient[] = [];

  beforeAll(async () => {
    server = await ParleyServer.start();
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await server?.dispose();
  });

  async function connect(token: string): Promise<TestClient> {
    const connected = await testClient(server, token);
    clients.push(connected.client);
    return connected;
  }

  test("a message goes both ways, and a dropped socket resumes with nothing lost or doubled", async () => {
    const { room } = server.fixture;
    const alice = await connect(server.fixture.alice);
    const bob = await connect(server.fixture.bob);
    expect(alice.client.user?.username).toBe("alice");
    expect(alice.client.room(room)?.info?.name).toBe("sdk");

    const ack = await alice.client.send(room, "Hello Bob");
    expect(ack.client_id).toEqual(expect.any(String));
    await waitFor("bob to get alice's message", () => bodies(bob.client, room).includes("Hello Bob"));
    await bob.client.send(room, "Hello Alice");
    await waitFor("alice to get bob's message", () => bodies(alice.client, room).includes("Hello Alice"));

    // Alice's network fails: her socket is cut without a close frame.
    expect(alice.line.sockets).toHaveLength(1);
    alice.line.cut();
    await waitFor("alice to notice", () => alice.client.state !== "live");
    const whileAway = ["one", "two", "three"];
    for (const body of whileAway) await bob.client.send(room, body);
    const queued = alice.client.send(room, "written while away");
    alice.line.up = true;

    await waitFor("alice to be live again", () => alice.client.state === "live");
    const queuedAck = await queued;
    const expected = ["Hello Bob", "Hello Alice", ...whileAway, "written while away"];
    await waitFor("alice to catch up", () => bodies(alice.client, room).length === expected.length);
    await waitFor("bob to catch up", () => bodies(bob.client, room).length === expected.length);
    expect(bodies(alice.client, room)).toEqual(expected);
    expect(bodies(bob.client, room)).toEqual(expected);
    expect(alice.client.messages(room).at(-1)?.seq).toBe(queuedAck.seq);

    for (const connected of [alice, bob]) {
      const state = connected.client.room(room)!;
      expect(state.cursor).toBe(queuedAck.seq);
      expect(state.gap).toBeNull();
      expect(doubled(connected)).toEqual([]);
    }
    expect(alice.client.pendingPosts()).toEqual([]);
  }, 60_000);

  test("search finds a message by its words, with the match marked by offsets", async () => {
    const { room } = server.fixture;
    const alice = await connect(server.fixture.alice);
    const bob = await connect(server.fixture.bob);
    const ack = await alice.client.send(room, "🎉 the **zeppelin** has landed");

    const found = await bob.client.search("Zeppelin", { room });
    expect(found.results).toHaveLength(1);
    const [result] = found.results;
    expect(result).toMatchObject({ seq: ack.seq, room: { id: room, name: "sdk", kind: "group" } });
    expect(excerptParts(result!).filter((part) => part.match)).toEqual([
      { text: "zeppelin", match: true },
    ]);
    await expect(bob.client.search(" ")).rejects.toBeInstanceOf(ProtocolError);
  }, 60_000);
});

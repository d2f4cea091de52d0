// Catching up after time away, against a real Parley server (test/parley-server.ts) that
// replays at most 20 entries per room (PARLEY_REPLAY_MAX): a long absence ends in a `gap` that
// fillGap() pages through, a short one picks up the edits and deletes made meanwhile by
// refetching what is held, a room left meanwhile is dropped, and a server restored from a backup
// answers cursor_ahead (docs/protocol.md section 5, step 4).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { type ClientOptions, type ParleyClient } from "../src/index.js";
import {
  HAVE_PARLEY,
  ParleyServer,
  doubled,
  seqRange,
  testClient,
  waitFor,
  within,
  type TestClient,
} from "./parley-server.js";

const REPLAY_MAX = 20;

describe.skipIf(!HAVE_PARLEY)("catching up from a real Parley server", () => {
  let server: ParleyServer;
  let clients: ParleyClient[] = [];

  beforeAll(async () => {
    server = await ParleyServer.start({ PARLEY_REPLAY_MAX: String(REPLAY_MAX) });
  });

  afterEach(() => {
    for (const client of clients) client.close();
    clients = [];
  });

  afterAll(async () => {
    await server?.dispose();
  });

  async function connect(token: string, options: ClientOptions = {}): Promise<TestClient> {
    const connected = await testClient(server, token, options);
    clients.push(connected.client);
    return connected;
  }

  test("away for more than replay_max entries: a gap is recorded, and fillGap() makes the " +
       "room whole, each entry once", async () => {
    const { room } = server.fixture;
    const alice = await connect(server.fixture.alice, { pageSize: 25 });
    const bob = await connect(server.fixture.bob);
    expect(alice.client.limits?.replay_max).toBe(REPLAY_MAX);
    await bob.client.send(room, "before alice leaves");
    await alice.client.loadLatest(room);
    const start = alice.client.room(room)!.cursor;
    const first = alice.client.messages(room)[0]!.seq;
    const gaps: unknown[] = [];
    alice.client.on("gap", (event) => gaps.push(event));

    alice.line.cut();
    await waitFor("alice to notice", () => alice.client.state !== "live");
    const missed = 3 * REPLAY_MAX;
    await Promise.all(seqRange(1, missed).map((n) => bob.client.send(room, `missed ${n}`)));
    const through = start + missed;

    alice.line.up = true;
    await waitFor("alice to be live again", () => alice.client.state === "live");
    expect(gaps).toEqual([{ room, gap: { after: start, through } }]);
    expect(alice.client.room(room)!.gap).toEqual({ after: start, through });
    expect(alice.client.room(room)!.cursor).toBe(start);

    // Live entries after the gap are held, but the cursor waits for the gap.
    const live = await bob.client.send(room, "live after the gap");
    await waitFor("alice to get the live entry", () =>
      alice.client.messages(room).some((message) => message.seq === live.seq));
    expect(alice.client.room(room)!.cursor).toBe(start);

    // One page of 25 at a time: the first call leaves some of the gap.
    expect(await alice.client.fillGap(room, { maxPages: 1 })).toBe(false);
    expect(alice.client.room(room)!.cursor).toBe(start + 25);
    expect(alice.client.room(room)!.gap).toEqual({ after: start + 25, through });
    expect(await alice.client.fillGap(room)).toBe(true);
    expect(gaps.at(-1)).toEqual({ room, gap: null });

    const state = alice.client.room(room)!;
    expect(state.gap).toBeNull();
    expect(state.cursor).toBe(live.seq);
    const seqs = alice.client.messages(room).map((message) => message.seq);
    expect(seqs).toEqual(seqRange(first, live.seq));
    expect(doubled(alice)).toEqual([]);
    const bodies = alice.client.messages(room).filter((m) => m.seq > start && m.seq <= through);
    expect(bodies.map((message) => message.body)).toEqual(seqRange(1, missed).map((n) => `missed ${n}`));
  }, 60_000);

  test("a short blip: the edit and the delete made meanwhile show after the resume, " +
       "without reloading the room", async () => {
    const { room } = server.fixture;
    const alice = await connect(server.fixture.alice);
    const bob = await connect(server.fixture.bob);
    const acks = [];
    for (let n = 1; n <= 5; n += 1) acks.push(await bob.client.send(room, `held ${n}`));
    await alice.client.loadLatest(room, 10);
    const heldBefore = alice.client.messages(room).map((message) => message.seq);
    expect(heldBefore).toContain(acks[0]!.seq);
    const edited = acks[1]!.seq;
    const deleted = acks[3]!.seq;
    const resets: string[] = [];
    alice.client.on("room", ({ change }) => change === "reset" && resets.push(change));

    alice.line.cut();
    await waitFor("alice to notice", () => alice.client.state !== "live");
    await bob.client.request({ type: "message.edit", room, seq: edited, body: "held 2, edited" });
    await bob.client.request({ type: "message.delete", room, seq: deleted });
    // Posted and edited while away: replayed by resume, already in its current state.
    const later = await bob.client.send(room, "posted while away");
    await bob.client.request({
      type: "message.edit", room, seq: later.seq, body: "posted, then edited",
    });

    alice.line.up = true;
    await waitFor("alice to see the edit and the delete", () => {
      const held = new Map(alice.client.messages(room).map((message) => [message.seq, message]));
      return held.get(edited)?.body === "held 2, edited" && held.get(deleted)?.deleted === true;
    });
    const held = new Map(alice.client.messages(room).map((message) => [message.seq, message]));
    expect(held.get(edited)).toMatchObject({ body: "held 2, edited", edited_at: expect.any(String) });
    expect(held.get(deleted)).toMatchObject({ body: "", deleted: true });
    expect(held.get(later.seq)).toMatchObject({
      body: "posted, then edited", edited_at: expect.any(String),
    });
    expect([...held.keys()]).toEqual([...heldBefore, later.seq]);
    expect(alice.client.room(room)!.cursor).toBe(later.seq);
    expect(resets).toEqual([]);
    expect(doubled(alice)).toEqual([]);
  }, 60_000);

  test("a room left from elsewhere while away is dropped on the resume", async () => {
    const created = await server.api(server.fixture.bob, "POST", "rooms", {
      name: "side",
      visibility: "public",
    });
    expect(created.status).toBe(201);
    const side = ((await created.json()) as { id: string }).id;
    const alice = await connect(server.fixture.alice);
    await alice.client.request({ type: "room.join", room: side });
    await waitFor("alice to hold the room", () => alice.client.messages(side).length > 0);
    const removed: string[] = [];
    alice.client.on("room", ({ room, change }) => change === "removed" && removed.push(room));

    alice.line.cut();
    await waitFor("alice to notice", () => alice.client.state !== "live");
    const left = await server.api(server.fixture.alice, "POST", `rooms/${side}/leave`);
    expect(left.status).toBe(200);
    alice.line.up = true;
    await waitFor("alice to be live again", () => alice.client.state === "live");
    expect(removed).toEqual([side]);
    expect(alice.client.room(side)).toBeUndefined();
    expect(alice.client.room(server.fixture.room)).toBeDefined();
  }, 30_000);

  test("a server restored from a backup: cursor_ahead throws the room's entries away and loads " +
       "the server's newest page", async () => {
    const { room } = server.fixture;
    const backup = mkdtempSync(join(tmpdir(), "parley-sdk-backup-"));
    try {
      await server.stop("SIGTERM");
      server.copyDatabase(backup);
      await server.run();
      const alice = await connect(server.fixture.alice);
      const bob = await connect(server.fixture.bob);
      await alice.client.loadLatest(room);
      const backedUp = alice.client.room(room)!.cursor;
      for (let n = 1; n <= 3; n += 1) await bob.client.send(room, `lost in the restore ${n}`);
      await waitFor("alice to hold them", () => alice.client.room(room)!.cursor === backedUp + 3);
      const resets: string[] = [];
      alice.client.on("room", ({ room: id, change }) => change === "reset" && resets.push(id));

      await server.stop("SIGTERM");
      server.copyDatabase(backup, { restore: true });
      await server.run();
      await waitFor("alice to be reset", () => resets.length > 0);
      expect(resets).toEqual([room]);
      await waitFor("alice to load the newest page", () => alice.client.messages(room).length > 0);
      expect(alice.client.room(room)!.cursor).toBe(backedUp);
      expect(alice.client.messages(room).map((message) => message.seq).at(-1)).toBe(backedUp);
      const stale = alice.client.messages(room).filter((m) => m.body.startsWith("lost in the restore"));
      expect(stale).toEqual([]);

      // The seqs are handed out again; alice shows the new entry, not the one she had.
      await waitFor("bob to be live again", () => bob.client.state === "live");
      const ack = await within("bob's post to be acked", bob.client.send(room, "after the restore"));
      expect(ack.seq).toBe(backedUp + 1);
      await waitFor("alice to get it", () => alice.client.room(room)!.cursor === ack.seq);
      expect(alice.client.messages(room).at(-1)?.body).toBe("after the restore");
    } finally {
      rmSync(backup, { recursive: true, force: true });
    }
  }, 60_000);
});

// Two ParleyClients with tokens against a real Parley process (uvicorn, SQLite, the in-memory
// channel layer): a message each way, then a dropped socket that resumes with nothing lost or
// doubled. Skipped when the repository's .venv is missing (make test creates it).

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { ParleyClient, type Message } from "../src/index.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const PYTHON = join(ROOT, ".venv/bin/python");
const UVICORN = join(ROOT, ".venv/bin/uvicorn");

interface Fixture {
  room: string;
  alice: string;
  bob: string;
}

const SETUP = `
import json
from django.contrib.auth import get_user_model
from accounts.tokens import token_create
from chat.services.rooms import room_create, room_join
User = get_user_model()
alice = User.objects.create_user("alice", password="sdk-test-password")
bob = User.objects.create_user("bob", password="sdk-test-password")
room = room_create(alice, name="sdk")
room_join(bob, room_id=room.public_id)
print(json.dumps({"room": str(room.public_id),
                  "alice": token_create(alice, name="sdk")[1],
                  "bob": token_create(bob, name="sdk")[1]}))
`;

// Remembers every socket made, so that a test can cut one as a network failure would.
const sockets: WebSocket[] = [];
class TrackedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    sockets.push(this);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function serverUp(port: number, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`uvicorn exited with ${server.exitCode}`);
    try {
      await fetch(`http://127.0.0.1:${port}/accounts/login/`);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error("uvicorn did not start");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe.skipIf(!existsSync(UVICORN))("against a real Parley server", () => {
  let directory: string;
  let server: ChildProcess;
  let fixture: Fixture;
  let url: string;
  const clients: ParleyClient[] = [];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "parley-sdk-"));
    const env = {
      ...process.env,
      DEBUG: "1",
      DATABASE_URL: `sqlite:///${join(directory, "db.sqlite3")}`,
      REDIS_URL: "",
    };
    execFileSync(PYTHON, ["manage.py", "migrate", "--noinput"], { cwd: ROOT, env, stdio: "ignore" });
    const output = execFileSync(PYTHON, ["manage.py", "shell", "-c", SETUP], { cwd: ROOT, env });
    fixture = JSON.parse(output.toString().trim().split("\n").at(-1)!) as Fixture;
    const port = await freePort();
    server = spawn(
      UVICORN,
      ["config.asgi:application", "--host", "127.0.0.1", "--port", String(port), "--lifespan", "off",
       "--ws", "chat.realtime.uvicorn_protocol:SharedFrameProtocol", "--log-level", "warning"],
      { cwd: ROOT, env, stdio: "ignore" },
    );
    await serverUp(port, server);
    url = `ws://127.0.0.1:${port}/ws/`;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  async function connect(token: string): Promise<{ client: ParleyClient; seen: Map<number, number> }> {
    const client = new ParleyClient({ WebSocket: TrackedWebSocket, random: () => 0.1 });
    clients.push(client);
    // How many times each seq was announced as new: never more than once.
    const seen = new Map<number, number>();
    client.on("message", ({ message, change }: { message: Message; change: string }) => {
      if (change === "new") seen.set(message.seq, (seen.get(message.seq) ?? 0) + 1);
    });
    await client.connect({ url, token });
    return { client, seen };
  }

  function bodies(client: ParleyClient): string[] {
    return client.messages(fixture.room).filter((m) => m.kind === "text").map((m) => m.body);
  }

  test("a message goes both ways, and a dropped socket resumes with nothing lost or doubled", async () => {
    const alice = await connect(fixture.alice);
    const bob = await connect(fixture.bob);
    expect(alice.client.user?.username).toBe("alice");
    expect(alice.client.room(fixture.room)?.info?.name).toBe("sdk");

    const ack = await alice.client.send(fixture.room, "Hello Bob");
    expect(ack.client_id).toEqual(expect.any(String));
    await waitFor("bob to get alice's message", () => bodies(bob.client).includes("Hello Bob"));
    await bob.client.send(fixture.room, "Hello Alice");
    await waitFor("alice to get bob's message", () => bodies(alice.client).includes("Hello Alice"));

    // Alice's network fails: her socket is cut without a close frame.
    const aliceSocket = sockets[0]!; // alice connected first
    expect(aliceSocket.readyState).toBe(WebSocket.OPEN);
    aliceSocket.terminate();
    await waitFor("alice to notice", () => alice.client.state !== "live");
    const whileAway = ["one", "two", "three"];
    for (const body of whileAway) await bob.client.send(fixture.room, body);
    const queued = alice.client.send(fixture.room, "written while away");

    await waitFor("alice to be live again", () => alice.client.state === "live");
    const queuedAck = await queued;
    const expected = ["Hello Bob", "Hello Alice", ...whileAway, "written while away"];
    await waitFor("alice to catch up", () => bodies(alice.client).length === expected.length);
    await waitFor("bob to catch up", () => bodies(bob.client).length === expected.length);
    expect(bodies(alice.client)).toEqual(expected);
    expect(bodies(bob.client)).toEqual(expected);
    expect(alice.client.messages(fixture.room).at(-1)?.seq).toBe(queuedAck.seq);

    for (const { client, seen } of [alice, bob]) {
      const state = client.room(fixture.room)!;
      expect(state.cursor).toBe(queuedAck.seq);
      expect(state.gap).toBeNull();
      expect([...seen.values()].every((count) => count === 1)).toBe(true);
    }
    expect(alice.client.pendingPosts()).toEqual([]);
    expect(sockets).toHaveLength(3); // alice, bob, and alice again
  }, 60_000);
});

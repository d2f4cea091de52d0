// Real Parley processes for the integration tests: uvicorn on SQLite and the in-memory channel
// layer, stopped (SIGTERM or SIGKILL) and started again on the same port and database, and a
// client side whose network can be cut. Tests are skipped when the repository's .venv is missing
// (make test creates it). test/global-setup.ts migrates the database that each server copies.

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { ParleyClient, type ClientOptions } from "../src/index.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const PYTHON = join(ROOT, ".venv/bin/python");
const UVICORN = join(ROOT, ".venv/bin/uvicorn");

export const HAVE_PARLEY = existsSync(UVICORN);

export interface Fixture {
  room: string;
  alice: string;
  bob: string;
  /** A second token of alice's, for the tests that revoke it. */
  aliceSpare: { token: string; id: number };
}

// alice created the room (so she is its admin) and bob joined it; each has a token.
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
spare, spare_plain = token_create(alice, name="sdk spare")
print(json.dumps({"room": str(room.public_id),
                  "alice": token_create(alice, name="sdk")[1],
                  "bob": token_create(bob, name="sdk")[1],
                  "aliceSpare": {"token": spare_plain, "id": spare.pk}}))
`;

// The tests post faster and reconnect more often than a person: those limits are not under test.
const TEST_ENV = {
  DEBUG: "1",
  REDIS_URL: "",
  PARLEY_WRITE_RATE: "1000",
  PARLEY_WRITE_BURST: "1000",
  PARLEY_HANDSHAKES_PER_MINUTE: "0",
};

const DATABASE = "db.sqlite3";

function databaseEnv(directory: string): NodeJS.ProcessEnv {
  return { ...process.env, ...TEST_ENV, DATABASE_URL: `sqlite:///${join(directory, DATABASE)}` };
}

/** Creates a migrated database in `directory` (run once, by the global setup). */
export function migrate(directory: string): void {
  execFileSync(PYTHON, ["manage.py", "migrate", "--noinput"], {
    cwd: ROOT,
    env: databaseEnv(directory),
    stdio: "ignore",
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The promise, or a clear failure after `timeoutMs` (an ack that never comes fails fast). */
export function within<T>(what: string, promise: Promise<T>, timeoutMs = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One Parley server process, with its own database, that can be stopped and started again. */
export class ParleyServer {
  readonly url: string;
  private process: ChildProcess | null = null;

  private constructor(
    readonly directory: string,
    readonly env: NodeJS.ProcessEnv,
    readonly port: number,
    readonly fixture: Fixture,
  ) {
    this.url = `ws://127.0.0.1:${port}/ws/`;
  }

  /** A copy of the migrated database with the fixture, and a server on a free port. */
  static async start(settings: Record<string, string> = {}): Promise<ParleyServer> {
    const directory = mkdtempSync(join(tmpdir(), "parley-sdk-"));
    // Imported here: test/global-setup.ts imports this module outside the test workers.
    const { inject } = await import("vitest");
    const template = inject("parleyTemplate");
    if (template) {
      // The database and its WAL file, if the migration left one.
      for (const name of readdirSync(template)) {
        copyFileSync(join(template, name), join(directory, name));
      }
    } else {
      migrate(directory);
    }
    const env = { ...databaseEnv(directory), ...settings };
    const output = execFileSync(PYTHON, ["manage.py", "shell", "-c", SETUP], { cwd: ROOT, env });
    const fixture = JSON.parse(output.toString().trim().split("\n").at(-1)!) as Fixture;
    const server = new ParleyServer(directory, env, await freePort(), fixture);
    await server.run();
    return server;
  }

  get running(): boolean {
    const server = this.process;
    return server !== null && server.exitCode === null && server.signalCode === null;
  }

  /** Starts the process again on the same port and database. */
  async run(): Promise<void> {
    const server = spawn(
      UVICORN,
      ["config.asgi:application", "--host", "127.0.0.1", "--port", String(this.port),
       "--lifespan", "off", "--ws", "chat.realtime.uvicorn_protocol:SharedFrameProtocol",
       "--log-level", "warning"],
      { cwd: ROOT, env: this.env, stdio: "ignore" },
    );
    this.process = server;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`uvicorn exited with ${server.exitCode}`);
      try {
        await fetch(`http://127.0.0.1:${this.port}/accounts/login/`);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error("uvicorn did not start");
        await sleep(50);
      }
    }
  }

  /** Freezes the process (SIGSTOP) or lets it run again (SIGCONT): a server that hangs. */
  pause(paused: boolean): void {
    this.process?.kill(paused ? "SIGSTOP" : "SIGCONT");
  }

  /** Ends the process with `signal` and waits until it has exited. */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const server = this.process;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill(signal);
    if (signal === "SIGTERM") server.kill("SIGCONT"); // a paused process would never see it
    await exited;
  }

  /** Copies the database (stop the server first) to `backup`, or from it when `restore`. */
  copyDatabase(backup: string, { restore = false } = {}): void {
    const [from, to] = restore ? [backup, this.directory] : [this.directory, backup];
    // The database file goes with its WAL: remove the target's, then copy all of the source's.
    for (const name of readdirSync(to)) if (name.startsWith(DATABASE)) rmSync(join(to, name));
    for (const name of readdirSync(from)) {
      if (name.startsWith(DATABASE)) copyFileSync(join(from, name), join(to, name));
    }
  }

  /** Stops the server and removes its database. */
  async dispose(): Promise<void> {
    await this.stop("SIGKILL");
    rmSync(this.directory, { recursive: true, force: true });
  }

  /** A REST API call with a token; resolves with the response. */
  api(token: string, method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.port}/api/v1/${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }
}

// Nothing listens on port 1 here: a socket sent there fails as an unreachable server would.
const UNREACHABLE_PORT = "1";

/**
 * One client's network: the WebSocket class it is given records every socket and close code,
 * and while the line is down new sockets fail to connect, as they would on a train in a tunnel.
 */
export class Line {
  up = true;
  readonly sockets: WebSocket[] = [];
  /** When each socket was made (ms), for checking the backoff between attempts. */
  readonly openedAt: number[] = [];
  readonly closeCodes: number[] = [];
  readonly WebSocket: new (address: string | URL, ...rest: unknown[]) => WebSocket;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const line = this;
    this.WebSocket = class extends WebSocket {
      constructor(address: string | URL, ...rest: unknown[]) {
        const target = new URL(address);
        if (!line.up) target.port = UNREACHABLE_PORT;
        super(target, ...(rest as [string[], WebSocket.ClientOptions]));
        line.sockets.push(this);
        line.openedAt.push(Date.now());
        this.on("close", (code) => line.closeCodes.push(code));
      }
    };
  }

  /** Takes the line down and cuts the open socket without a close frame (a network failure). */
  cut(): void {
    this.up = false;
    for (const socket of this.sockets) {
      if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
    }
  }
}

export interface TestClient {
  client: ParleyClient;
  line: Line;
  /** How many times each seq of the fixture's room was new to the store: once, never twice. */
  seen: Map<number, number>;
}

/** Short backoff, so that a restart is noticed and healed within a second or so. */
export const FAST_RECONNECT: ClientOptions = {
  backoffBaseMs: 50,
  backoffCapMs: 400,
  stableMs: 2_000,
};

/** A ParleyClient with a token on its own Line, connected. */
export async function testClient(
  server: ParleyServer,
  token: string,
  options: ClientOptions = {},
): Promise<TestClient> {
  const line = new Line();
  const client = new ParleyClient({ WebSocket: line.WebSocket, ...FAST_RECONNECT, ...options });
  const seen = new Map<number, number>();
  client.on("message", ({ room, message, change }) => {
    if (room === server.fixture.room && change === "new") {
      seen.set(message.seq, (seen.get(message.seq) ?? 0) + 1);
    }
  });
  await client.connect({ url: server.url, token });
  return { client, line, seen };
}

/** from, from + 1, ..., through. */
export function seqRange(from: number, through: number): number[] {
  return Array.from({ length: through - from + 1 }, (_, index) => from + index);
}

/** The seqs that were new to the store more than once. */
export function doubled(test: TestClient): number[] {
  return [...test.seen].filter(([, count]) => count !== 1).map(([seq]) => seq);
}

/** The room's text bodies as the client holds them. */
export function bodies(client: ParleyClient, room: string): string[] {
  return client
    .messages(room)
    .filter((message) => message.kind === "text")
    .map((message) => message.body);
}

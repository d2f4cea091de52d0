// Migrates one SQLite database before the test files run; each real server in
// test/parley-server.ts starts from a copy of it, instead of migrating its own (seconds each).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { HAVE_PARLEY, migrate } from "./parley-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The directory of the migrated database, or "" when there is no .venv. */
    parleyTemplate: string;
  }
}

export default function setup(project: TestProject): () => void {
  if (!HAVE_PARLEY) {
    project.provide("parleyTemplate", "");
    return () => {};
  }
  const directory = mkdtempSync(join(tmpdir(), "parley-sdk-template-"));
  migrate(directory);
  project.provide("parleyTemplate", directory);
  return () => rmSync(directory, { recursive: true, force: true });
}

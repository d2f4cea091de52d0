import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 10_000,
    hookTimeout: 120_000,
    // The files with a real server mostly wait for it: run them side by side, also on 2 cores.
    maxWorkers: 4,
  },
});

// Parley's SvelteKit client: a single-page app, built to static files that Parley serves at
// /app/ from its own origin (so the session cookie, CSRF and the socket need no CORS).
import adapter from "@sveltejs/adapter-static";
import { vitePreprocess } from "@sveltejs/vite-plugin-svelte";

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // Every route is rendered in the browser; Parley answers each /app/ path with index.html.
    adapter: adapter({ fallback: "index.html", strict: false }),
    paths: { base: "/app", relative: false },
    // The SDK from its TypeScript source: no separate build step before the app's.
    alias: { "@parley/client": "../clients/typescript/src/index.ts" },
    output: { bundleStrategy: "single" },
  },
};

export default config;

import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

// `npm run dev` serves the app on :5173 and hands the API, the socket, files and avatars to a
// running Parley (PARLEY_ORIGIN, default http://127.0.0.1:8000), so cookies stay same-origin.
const parley = process.env.PARLEY_ORIGIN ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      "/api": parley,
      "/files": parley,
      "/accounts/avatars": parley,
      "/ws": { target: parley.replace(/^http/, "ws"), ws: true },
    },
  },
});

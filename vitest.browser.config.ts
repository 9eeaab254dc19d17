import { defineConfig } from "vitest/config";

// Browser tests (`npm run test:browser`): headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) against a `wrangler dev` that test-browser/global-setup.ts starts and stops.
export default defineConfig({
  test: {
    include: ["test-browser/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test-browser/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});

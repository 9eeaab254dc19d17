/** Worker entry: the HTTP app, the scheduled handler (outbox retries), and the care-record Durable Object. */
import { app } from "./app";
import { handleTestClock, testClockEnabled } from "./lib/test-clock";
import { deliverBacklog } from "./services/outbox";
import type { Bindings } from "./types";

export { CareRecord } from "./durable-objects/care-record";

export default {
  fetch(req, env, ctx) {
    // Browser tests only (ALLOW_TEST_CLOCK=1 on a loopback host; never in production): see lib/test-clock.ts.
    if (testClockEnabled(env, req)) return handleTestClock(req);
    return app.fetch(req, env, ctx);
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(deliverBacklog(env));
  },
} satisfies ExportedHandler<Bindings>;

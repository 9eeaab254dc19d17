/** Worker entry: the HTTP app, the scheduled handler (outbox retries), and the care-record Durable Object. */
import { app } from "./app";
import { deliverBacklog } from "./services/outbox";
import type { Bindings } from "./types";

export { CareRecord } from "./durable-objects/care-record";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(deliverBacklog(env));
  },
} satisfies ExportedHandler<Bindings>;

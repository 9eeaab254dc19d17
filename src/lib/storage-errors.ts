/**
 * Transient failures of the platform's storage, as D1, KV and Durable Objects report them: a request that
 * met one is answered 503 with Retry-After (retrying it is right), not 500. Whatever else fails stays a 500.
 * The wording follows Cloudflare's docs on D1 errors, KV limits and Durable Object error handling.
 */
const D1_TRANSIENT =
  /D1_ERROR: .*(Network connection lost|reset|overloaded|timed? ?out|transient|Internal error|temporarily unavailable)/i;
const KV_TRANSIENT = /^KV (GET|PUT|DELETE|LIST)[^:]* failed: (429|5\d\d)\b/;

export function isTransientStorageError(err: unknown): boolean {
  let e: unknown = err;
  // drizzle wraps the driver's error ("Failed query: …", cause = the D1 error).
  for (let depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    const flagged = e as Error & { retryable?: unknown; overloaded?: unknown };
    if (flagged.retryable === true || flagged.overloaded === true) return true; // Durable Objects
    if (D1_TRANSIENT.test(e.message) || KV_TRANSIENT.test(e.message)) return true;
  }
  return false;
}

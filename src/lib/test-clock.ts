/**
 * Test-only control of the clock, for the browser tests that run against `wrangler dev` (a heartbeat
 * lapses in minutes; the tests move time instead of waiting). Compiled in, but answered only when the
 * `ALLOW_TEST_CLOCK` var is "1" — wrangler.toml never sets it and no deployment may — and only on a
 * loopback host. Otherwise the request goes on to the app (which answers 404).
 *
 *   POST /__test/clock {"advance": seconds}   moves this isolate's clock forward (it keeps running)
 *   POST /__test/clock {"reset": true}        back to the real time
 * Both answer {"now": unix seconds, "offset": seconds}.
 */
import { now, setClock } from "./clock";

export const TEST_CLOCK_PATH = "/__test/clock";
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

let offsetMs = 0;

export function testClockEnabled(env: { ALLOW_TEST_CLOCK?: string }, req: Request): boolean {
  if (env.ALLOW_TEST_CLOCK !== "1") return false;
  const url = new URL(req.url);
  return url.pathname === TEST_CLOCK_PATH && LOOPBACK.has(url.hostname);
}

export async function handleTestClock(req: Request): Promise<Response> {
  if (req.method !== "POST") return Response.json({ error: "POST only" }, { status: 405 });
  let body: { advance?: unknown; reset?: unknown };
  try {
    body = await req.json();
  } catch {
    return Response.json({ error: "JSON body required" }, { status: 400 });
  }
  if (body.reset === true) {
    offsetMs = 0;
    setClock();
  } else if (typeof body.advance === "number" && Number.isFinite(body.advance) && body.advance >= 0) {
    offsetMs += body.advance * 1000;
    setClock(() => Date.now() + offsetMs);
  } else {
    return Response.json({ error: "send {advance: seconds >= 0} or {reset: true}" }, { status: 400 });
  }
  return Response.json({ now: now(), offset: offsetMs / 1000 });
}

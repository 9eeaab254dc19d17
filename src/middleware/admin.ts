import { createMiddleware } from "hono/factory";
import { bearerToken } from "../lib/bearer";
import { safeEqual, sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import type { AppEnv } from "../types";
import { countFailedCredential } from "./rate-limit";

/**
 * Operators' API: `Authorization: Bearer <ADMIN_API_KEY>`, compared in constant time (both sides are
 * hashed first so that the comparison has a fixed length). With ADMIN_API_KEY unset the API is closed (503).
 * Wrong keys count against the client's CREDENTIALS_LIMITER budget (429 once it is spent).
 */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.env.ADMIN_API_KEY;
  if (!secret) throw new ApiError("admin_disabled");
  const presented = bearerToken(c.req);
  const [given, expected] = [sha256Hex(presented ?? ""), sha256Hex(secret)];
  if (presented === undefined || !safeEqual(given, expected)) {
    await countFailedCredential(c, "admin-key");
    throw new ApiError("admin_key_required", { headers: { "WWW-Authenticate": 'Bearer realm="admin"' } });
  }
  await next();
});

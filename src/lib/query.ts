import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../types";

/**
 * Query strings in the seeds' notations: `id[]=1&id[]=2` is `id=1&id=2`, and `sort[full_name]=asc` is
 * `sort=full_name.asc`. Rewrites the request URL so that route schemas see one notation.
 */
export const normalizeQuery = createMiddleware<AppEnv>(async (c, next) => {
  const url = new URL(c.req.url);
  if (url.search.includes("%5B") || url.search.includes("[")) {
    const out = new URLSearchParams();
    for (const [key, value] of url.searchParams) {
      const m = /^([A-Za-z_]+)\[([A-Za-z_]*)\]$/.exec(key);
      if (!m) out.append(key, value);
      else if (m[2] === "") out.append(m[1] as string, value);
      else if (m[1] === "sort") out.append("sort", `${m[2]}.${value}`);
      else out.append(key, value);
    }
    url.search = out.toString();
    c.req.raw = new Request(url, c.req.raw);
  }
  await next();
});

import { hasControlCharacters } from "./schemas";

/**
 * A post-login `next` target that cannot leave this site (DESIGN.md "Tokens and sessions"): only a path
 * that starts with a single "/" (not "//" or "/\"), without backslashes or control characters (also
 * once percent-decoded), whose resolution against `origin` stays on `origin`. Anything else is "/".
 */
export function safeNext(next: string | undefined | null, origin: string): string {
  if (!next) return "/";
  let decoded = next;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return "/";
  }
  for (const candidate of [next, decoded]) {
    if (!candidate.startsWith("/") || candidate.startsWith("//") || candidate.includes("\\")) return "/";
    if (hasControlCharacters(candidate)) return "/";
  }
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return "/";
  }
  if (url.origin !== origin) return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}

import { hasControlCharacters } from "./schemas";

/** True when `path` is a path of this site as written: one leading "/", no backslash, no control character. */
function isLocalPath(path: string): boolean {
  return (
    path.startsWith("/") && !path.startsWith("//") && !path.includes("\\") && !hasControlCharacters(path)
  );
}

/**
 * A post-login `next` target that cannot leave this site (DESIGN.md "Tokens and sessions"): only a path
 * that starts with a single "/" (not "//" or "/\"), without backslashes or control characters (also
 * once percent-decoded), whose resolution against `origin` stays on `origin`. Anything else is "/".
 *
 * The input is checked, and so is the *result*: URL parsing removes dot segments, so an input that looks
 * like a path (`/.//evil.example`, `/a/..//evil.example`) can normalise to a protocol-relative
 * `//evil.example`, which a browser would follow off-site. The returned value must itself be a local path
 * that resolves to `origin`.
 */
export function safeNext(next: string | undefined | null, origin: string): string {
  if (!next) return "/";
  let decoded = next;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return "/";
  }
  if (!isLocalPath(next) || !isLocalPath(decoded)) return "/";
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return "/";
  }
  if (url.origin !== origin) return "/";
  const result = `${url.pathname}${url.search}${url.hash}`;
  // What the browser will do with the Location header: resolve the result, not the input.
  if (!isLocalPath(result)) return "/";
  try {
    if (new URL(result, origin).origin !== origin) return "/";
  } catch {
    return "/";
  }
  return result;
}

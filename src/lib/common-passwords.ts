/**
 * The password blocklist: the most common passwords that the length policy would otherwise accept
 * (common-passwords.txt, bundled as text, sorted and front-coded). Compared case-insensitively.
 */
import list from "./common-passwords.txt";

let blocked: Set<string> | undefined;

/** Expands the front-coded list: each line = one character (shared prefix length + 48), then the rest. */
export function decodeList(text: string): Set<string> {
  const out = new Set<string>();
  let previous = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const shared = line.charCodeAt(0) - 48;
    previous = previous.slice(0, shared) + line.slice(1);
    out.add(previous);
  }
  return out;
}

export function isCommonPassword(password: string): boolean {
  blocked ??= decodeList(list);
  return blocked.has(password.toLowerCase());
}

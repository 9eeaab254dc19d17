/**
 * The password blocklist: the most common passwords that the length policy would otherwise accept
 * (common-passwords.txt, bundled as text). Compared case-insensitively.
 */
import list from "./common-passwords.txt";

let blocked: Set<string> | undefined;

export function isCommonPassword(password: string): boolean {
  blocked ??= new Set(list.split("\n").filter((line) => line !== "" && !line.startsWith("#")));
  return blocked.has(password.toLowerCase());
}

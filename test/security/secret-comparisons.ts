/**
 * The lint behind test/security/constant-time.test.ts: finds `===` / `!==` comparisons whose operands name
 * something secret-ish (hash, token, secret, key, code, …) in TypeScript source text. Comments are
 * ignored, and so are comparisons with a literal (`err.code === "x"`) and `typeof` tests.
 */
export const SECRETISH = /hash|token|secret|key|code|digest|signature|mac|otp|csrf|nonce|password|auth/i;
const LITERAL = /^(["'`]|-?\d|null$|undefined$|true$|false$)/;

/** Removes comments (keeping line breaks), so that prose never counts as code. */
export function stripComments(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** The operand left of index `i`: an identifier chain, with calls and indexing, and `(…)` groups. */
function leftOperand(s: string, i: number): string {
  let j = i - 1;
  while (j >= 0 && /\s/.test(s[j] as string)) j--;
  const end = j + 1;
  for (;;) {
    const ch = s[j];
    if (ch === ")" || ch === "]") {
      const open = ch === ")" ? "(" : "[";
      let depth = 0;
      for (; j >= 0; j--) {
        if (s[j] === ch) depth++;
        else if (s[j] === open && --depth === 0) break;
      }
      j--;
    } else if (ch !== undefined && /[\w$.?]/.test(ch)) j--;
    else if (ch === "!" && j > 0 && /[\w$)\]]/.test(s[j - 1] as string))
      j--; // non-null assertion
    else break;
  }
  return s.slice(j + 1, end).trim();
}

/** The operand right of index `i`. */
function rightOperand(s: string, i: number): string {
  let j = i;
  while (j < s.length && /\s/.test(s[j] as string)) j++;
  const start = j;
  if (/["'`]/.test(s[j] ?? "")) return s.slice(start, start + 1);
  for (;;) {
    const ch = s[j];
    if (ch === "(" || ch === "[") {
      const close = ch === "(" ? ")" : "]";
      let depth = 0;
      for (; j < s.length; j++) {
        if (s[j] === ch) depth++;
        else if (s[j] === close && --depth === 0) break;
      }
      j++;
    } else if (ch !== undefined && /[\w$.?]/.test(ch)) j++;
    else break;
  }
  return s.slice(start, j).trim();
}

export interface Comparison {
  file: string;
  line: number;
  comparison: string;
}

/** Every `===`/`!==` of `src` whose operands name something secret-ish (literal and typeof tests excepted). */
export function secretComparisons(file: string, source: string): Comparison[] {
  const src = stripComments(source);
  const out: Comparison[] = [];
  for (const m of src.matchAll(/[!=]==/g)) {
    const at = m.index ?? 0;
    const left = leftOperand(src, at);
    const right = rightOperand(src, at + 3);
    if (!left || !right || LITERAL.test(left) || LITERAL.test(right)) continue;
    if (/typeof$/.test(src.slice(0, at - left.length - 1).trimEnd())) continue;
    if (!SECRETISH.test(left) && !SECRETISH.test(right)) continue;
    out.push({ file, line: src.slice(0, at).split("\n").length, comparison: `${left} ${m[0]} ${right}` });
  }
  return out;
}

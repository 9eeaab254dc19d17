import { describe, expect, it } from "vitest";
import { decodeList, isCommonPassword } from "../../src/lib/common-passwords";

describe("common-password list", () => {
  it("decodes the front-coded list", () => {
    expect([...decodeList("# comment\n0abcdefgh\n7i\n3xyzwvut\n")]).toEqual([
      "abcdefgh",
      "abcdefgi",
      "abcxyzwvut",
    ]);
  });

  it("blocks the most common passwords whatever their case, and only those", () => {
    for (const p of ["password", "12345678", "Qwertyuiop", "iloveyou", "PASSWORD1"])
      expect(isCommonPassword(p), p).toBe(true);
    for (const p of ["correct horse battery", "ééééééééé", "x7#pQ2!vLm9"])
      expect(isCommonPassword(p), p).toBe(false);
  });
});

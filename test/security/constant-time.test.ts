/// <reference types="vite/client" />
/**
 * Secrets are compared only through the constant-time helper (`safeEqual` in src/lib/crypto.ts, or
 * `crypto.subtle.timingSafeEqual` itself), never with `===` / `!==` (issue 16, "Tests that a planted bug
 * slips past": replacing the helper with `===` passed every test).
 *
 * Two checks: (1) a lint of src/: every `===`/`!==` whose operands name a hash, token, secret, key, code,
 * digest, signature, MAC, OTP, CSRF value, nonce, password or auth value fails the test, unless it is in
 * the allow-list below with the reason it is no secret; (2) the helper itself, and the doors that compare
 * secrets, reach `crypto.subtle.timingSafeEqual` (spied) with the very values they compare.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { safeEqual, sha256Hex } from "../../src/lib/crypto";
import { hashApiKey } from "../../src/services/clinics";
import { ADMIN_AUTH, call, createClinic, env } from "../helpers";
import { loginForm, ORIGIN } from "../portal/support";
import { setPassword, sso, uploadImage } from "../vsee/support";
import { secretComparisons } from "./secret-comparisons";

/** The sources of src/, bundled as text by Vite at test build time (workerd has no file system). */
const SOURCES = import.meta.glob<string>("../../src/**/*.{ts,tsx}", {
  query: "?raw",
  import: "default",
  eager: true,
});

/**
 * Comparisons that name a secret-ish identifier but compare no secret, each with its reason. Matched by
 * file and by the comparison's text (operands as written), not by line number.
 */
const ALLOWED: { file: string; comparison: string; reason: string }[] = [
  {
    file: "lib/crypto.ts",
    comparison: "kid !== (await keyId(key))",
    reason: "a key id (the public `kid` stored next to the ciphertext) picks the key; it is no secret",
  },
  {
    file: "lib/jwt.ts",
    comparison: "kid === (await hsKid(secret))",
    reason: "the JWT header's `kid` is public: it only picks the secret; jose verifies the signature",
  },
  {
    file: "middleware/auth.ts",
    comparison: "code !== caller.clinicCode",
    reason: "clinic codes (X-AccountCode) are public tenant names",
  },
  {
    file: "middleware/auth.ts",
    comparison: "code !== record.clinicCode",
    reason: "clinic codes (X-AccountCode) are public tenant names",
  },
  {
    file: "middleware/care-auth.ts",
    comparison: "record.clinicCode !== clinicCode",
    reason: "clinic codes (X-AccountCode) are public tenant names",
  },
  {
    file: "middleware/care-auth.ts",
    comparison: "record.clinicCode !== clinic.code",
    reason: "clinic codes (X-AccountCode) are public tenant names",
  },
  {
    file: "routes/vsee/users.handlers.ts",
    comparison: "q.account_code !== scope.clinicCode",
    reason: "clinic codes (the account_code filter) are public tenant names",
  },
  {
    file: "routes/web/assets.ts",
    comparison: 'shown !== items.map((li) => li.dataset.key).join(",")',
    reason: "the page script compares the access log's entry ids (data-key) it shows with the ones it read",
  },
  {
    file: "services/account-sessions.ts",
    comparison: "payload.aud !== clinicCode",
    reason: "the JWT audience is the public clinic code, read after the signature was verified",
  },
  {
    file: "services/registration.ts",
    comparison: "record.clinicCode !== clinicCode",
    reason: "clinic codes (X-AccountCode) are public tenant names",
  },
  {
    file: "services/mfa.ts",
    comparison: "key === env.MFA_ENCRYPTION_KEY",
    reason:
      "which of the server's own keys opened a TOTP seed: both sides are server secrets, neither comes from a request",
  },
  {
    file: "services/sign-in.ts",
    comparison: "failureKey !== key",
    reason: "lockout counter names (the identity as typed, or the account's), not credentials",
  },
];

describe("lint: no secret compared with === or !== in src/", () => {
  it("reads the sources", () => {
    expect(Object.keys(SOURCES).length).toBeGreaterThan(50);
    expect(Object.keys(SOURCES)).toContain("../../src/lib/crypto.ts");
  });

  it("finds none outside the allow-list", () => {
    const found = Object.entries(SOURCES).flatMap(([path, text]) =>
      secretComparisons(path.replace("../../src/", ""), text),
    );
    const unexplained = found.filter(
      (c) => !ALLOWED.some((a) => a.file === c.file && a.comparison === c.comparison),
    );
    expect(unexplained.map((c) => `src/${c.file}:${c.line}: ${c.comparison}`)).toEqual([]);
    for (const a of ALLOWED) expect(a.reason.length, a.comparison).toBeGreaterThan(20);
  });

  it("catches the comparisons a planted bug would write (the lint's own test)", () => {
    const planted = [
      "return (await hashApiKey(presented)) === clinic.apiKeyHash;",
      "if ((await hotp(secret, step)) === code && matched === null) matched = step;",
      "if (secret && (await sign(secret, message)) === presented) return true;",
      "const ok = b64(hash) === b64(phc.hash);",
      "if ((await authCode(env, id)) === code) return true;",
      "if (presented !== env.ADMIN_API_KEY) throw new ApiError('unauthorized');",
      "return row.token_hash === tokenHash;",
      "if (csrf !== expected) return false;",
    ];
    for (const line of planted) expect(secretComparisons("x.ts", line), line).toHaveLength(1);
    for (const line of [
      'if (err.code === "validation_failed") return;',
      'if (typeof token === "string") return;',
      "if (x.byteLength !== y.byteLength) return;",
      "// a comment: token === other",
      "if (status === 401) return;",
    ])
      expect(secretComparisons("x.ts", line), line).toEqual([]);
  });
});

describe("the constant-time helper is used, and is constant-time", () => {
  afterEach(() => vi.restoreAllMocks());

  /** Every pair of texts that reached crypto.subtle.timingSafeEqual while `run` ran. */
  async function compared(run: () => Promise<unknown>): Promise<[string, string][]> {
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    await run();
    const decoder = new TextDecoder();
    const text = (v: unknown) => decoder.decode(ArrayBuffer.isView(v) ? v : new Uint8Array(v as ArrayBuffer));
    const calls = spy.mock.calls.map(([a, b]) => [text(a), text(b)] as [string, string]);
    spy.mockRestore();
    return calls;
  }

  it("safeEqual compares through crypto.subtle.timingSafeEqual", async () => {
    let results: boolean[] = [];
    const calls = await compared(async () => {
      results = [safeEqual("same-secret", "same-secret"), safeEqual("secret-a", "secret-b")];
    });
    expect(results).toEqual([true, false]);
    expect(calls).toContainEqual(["same-secret", "same-secret"]);
    expect(calls).toContainEqual(["secret-a", "secret-b"]);
  });

  /** True when the two texts reached timingSafeEqual together. */
  const pair = (calls: [string, string][], a: string, b = a) => calls.some(([x, y]) => x === a && y === b);

  it("a clinic's API key is checked by its hash in constant time", async () => {
    const clinic = await createClinic();
    const calls = await compared(() => call("GET", "/api_v3/users", { headers: clinic.server }));
    expect(pair(calls, await hashApiKey(clinic.apiKey))).toBe(true);
  });

  it("the admin key is checked in constant time", async () => {
    const calls = await compared(() => call("GET", "/admin/clinics", { headers: ADMIN_AUTH }));
    expect(pair(calls, await sha256Hex(env.ADMIN_API_KEY))).toBe(true);
  });

  it("a password's argon2id hash, the login form's CSRF token and a photo's auth_code are compared in constant time", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const password = await setPassword(user);
    const login = await compared(() =>
      call("POST", "/api_v3/users/login", {
        headers: { "X-AccountCode": clinic.code },
        json: { username: user.username, password },
      }),
    );
    // The derived hash against the stored one (unpadded base64 of 32 bytes), equal for the right password.
    expect(login.some(([a, b]) => a === b && /^[A-Za-z0-9+/]{43}$/.test(a))).toBe(true);

    const form = await loginForm();
    const csrf = await compared(() =>
      call("POST", "/login", {
        headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
        form: { csrf: form.csrf, clinic: clinic.code, username: user.username, password },
      }),
    );
    expect(pair(csrf, form.csrf)).toBe(true);

    const up = await uploadImage(user);
    const url = new URL(((await up.json()) as { data: { url: string } }).data.url);
    const code = url.searchParams.get("auth_code") as string;
    const file = await compared(() => call("GET", url.pathname + url.search));
    expect(pair(file, code)).toBe(true);
  });
});

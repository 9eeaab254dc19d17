/**
 * Keys and secrets at rest: JWT signing secrets and register assertion keys rotate by `kid` (the previous
 * one keeps working during a rotation), codes and file URLs survive a JWT_SECRET rotation, and MFA
 * secrets are encrypted with a key from a secret (never in clear, fresh IV, authenticated) and re-sealed
 * when that key rotates.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/index";
import { base64url, decryptSecret, encryptSecret, keyId } from "../../src/lib/crypto";
import { ecKeyPair, hsKid, peekHeader, signHs256, verifyEs256, verifyHs256 } from "../../src/lib/jwt";
import { account, act, codeFrom, PASSWORD, tenant, totp } from "../accounts/support";
import { call, clock, createClinic, env, json } from "../helpers";
import { ensureDefaultClinic, registerAs } from "../register/support";
import { sso, uploadImage } from "../vsee/support";

type Secrets = Partial<
  Record<
    | "JWT_SECRET"
    | "JWT_SECRET_PREVIOUS"
    | "SIGNING_KEY"
    | "SIGNING_KEY_PREVIOUS"
    | "MFA_ENCRYPTION_KEY"
    | "MFA_ENCRYPTION_KEY_PREVIOUS",
    string | undefined
  >
>;
const original: Secrets = {
  JWT_SECRET: env.JWT_SECRET,
  SIGNING_KEY: env.SIGNING_KEY,
  MFA_ENCRYPTION_KEY: env.MFA_ENCRYPTION_KEY,
};

/** Sets secrets on the worker's env (the same object the app reads); undefined removes one. */
function rotate(secrets: Secrets) {
  const target = env as unknown as Record<string, string | undefined>;
  for (const [name, value] of Object.entries(secrets)) {
    if (value === undefined) delete target[name];
    else target[name] = value;
  }
}

afterEach(() => {
  rotate({
    ...original,
    JWT_SECRET_PREVIOUS: undefined,
    SIGNING_KEY_PREVIOUS: undefined,
    MFA_ENCRYPTION_KEY_PREVIOUS: undefined,
  });
  clock.reset();
});

const NEW_JWT_SECRET = "rotated-jwt-secret-0123456789abcdef0123456789";
const exp = () => Math.floor(Date.now() / 1000) + 60;
const b64 = (v: unknown) => base64url(new TextEncoder().encode(JSON.stringify(v)));

describe("JWT_SECRET (HS256, accounts family)", () => {
  it("the kid names the secret: a token whose kid names another secret is refused", async () => {
    const a = "secret-a-0123456789abcdef0123456789abcdef";
    const b = "secret-b-0123456789abcdef0123456789abcdef";
    const token = await signHs256({ sub: "1", exp: exp() }, a);
    expect(peekHeader(token)?.kid).toBe(await hsKid(a));
    expect(await verifyHs256(token, [b, a])).toMatchObject({ sub: "1" });
    // Same signature key, but the header claims b's kid: only b is tried, and it fails.
    const payload = b64({ sub: "1", exp: exp() });
    const header = b64({ alg: "HS256", typ: "JWT", kid: await hsKid(b) });
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(a),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const sig = base64url(
      new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${header}.${payload}`))),
    );
    expect(await verifyHs256(`${header}.${payload}.${sig}`, [b, a])).toBeNull();
    // A kid that names no configured secret.
    expect(await verifyHs256(token, [b])).toBeNull();
    // No kid at all (correctly signed with a), and a kid that is no string: nothing is tried.
    const signed = async (h: unknown) => {
      const head = b64(h);
      const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${head}.${payload}`));
      return `${head}.${payload}.${base64url(new Uint8Array(mac))}`;
    };
    expect(await verifyHs256(await signed({ alg: "HS256", typ: "JWT" }), [a])).toBeNull();
    expect(await verifyHs256(await signed({ alg: "HS256", kid: [await hsKid(a)] }), [a])).toBeNull();
    expect(await verifyHs256(await signed({ alg: "HS256", kid: await hsKid(a) }), [a])).toMatchObject({
      sub: "1",
    });
  });

  it("rotates: old tokens work while JWT_SECRET_PREVIOUS is set, new ones carry the new kid, then old ones stop", async () => {
    const t = await tenant();
    const a = await account(t);
    const headers = { ...t.headers, ...a.auth };
    rotate({ JWT_SECRET: NEW_JWT_SECRET, JWT_SECRET_PREVIOUS: original.JWT_SECRET });
    expect((await call("GET", `/accounts/${a.uid}`, { headers })).status).toBe(200);
    const fresh = await json<{ accessToken: string }>(
      await act(t, { strategy: "local", email: a.email, password: PASSWORD }),
    );
    expect(peekHeader(fresh.accessToken)?.kid).toBe(await hsKid(NEW_JWT_SECRET));
    rotate({ JWT_SECRET_PREVIOUS: undefined });
    expect((await call("GET", `/accounts/${a.uid}`, { headers })).status).toBe(401);
    const renewed = { ...t.headers, authorization: `Bearer ${fresh.accessToken}` };
    expect((await call("GET", `/accounts/${a.uid}`, { headers: renewed })).status).toBe(200);
  });

  it("codes sent and file URLs handed out before a rotation still work during it", async () => {
    const t = await tenant();
    const a = await account(t);
    const code = await codeFrom(t, a.email as string, "email_verification");
    const clinic = await createClinic();
    const user = await sso(clinic);
    const up = await uploadImage(user);
    const url = new URL((await json<{ data: { url: string } }>(up)).data.url);

    rotate({ JWT_SECRET: NEW_JWT_SECRET, JWT_SECRET_PREVIOUS: original.JWT_SECRET });
    expect((await call("GET", url.pathname + url.search)).status).toBe(200);
    const applied = await act(t, { action: "applyActionCode", code, email: a.email });
    expect(applied.status).toBe(201);
    expect((await json<{ isEmailVerified: boolean }>(applied)).isEmailVerified).toBe(true);
    rotate({ JWT_SECRET_PREVIOUS: undefined });
    expect((await call("GET", url.pathname + url.search)).status).toBe(404);
  });
});

describe("SIGNING_KEY (ES256, register assertions)", () => {
  it("assertions name their key; during a rotation the JWKS publishes both and old assertions verify", async () => {
    await ensureDefaultClinic();
    const clinic = await createClinic();
    const before = await registerAs(clinic, "patients");
    const oldAssertion = before.body.assertion["X-Ionic-Reg-Uidauth"] as string;
    const oldKid = JSON.parse(original.SIGNING_KEY as string).kid as string;
    expect(peekHeader(oldAssertion)?.kid).toBe(oldKid);

    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const next = {
      ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey),
      kid: "rotated-2",
    };
    rotate({ SIGNING_KEY: JSON.stringify(next), SIGNING_KEY_PREVIOUS: original.SIGNING_KEY });
    const { keys } = await json<{ keys: (JsonWebKey & { kid: string })[] }>(
      await call("GET", "/.well-known/jwks.json"),
    );
    expect(keys.map((k) => k.kid)).toEqual(["rotated-2", oldKid]);
    const byKid = (kid: string | undefined) => keys.find((k) => k.kid === kid) as JsonWebKey;
    expect(await verifyEs256(oldAssertion, byKid(peekHeader(oldAssertion)?.kid))).toMatchObject({
      sub: before.body.user.id,
    });
    const after = await registerAs(clinic, "patients");
    const newAssertion = after.body.assertion["X-Ionic-Reg-Uidauth"] as string;
    expect(peekHeader(newAssertion)?.kid).toBe("rotated-2");
    expect(await verifyEs256(newAssertion, byKid("rotated-2"))).toMatchObject({ sub: after.body.user.id });
    expect(after.body.assertion["X-Ionic-Reg-Pubkey"]).not.toBe(before.body.assertion["X-Ionic-Reg-Pubkey"]);
    expect((await ecKeyPair(JSON.stringify(next))).publicJwk).not.toHaveProperty("d");
  });
});

describe("MFA secrets at rest (MFA_ENCRYPTION_KEY)", () => {
  const NEW_KEY = btoa("new-mfa-key-32-bytes-long-012345");

  it("AES-GCM: never in clear, a fresh IV each time, the key named by id, a wrong key or tampering refused", async () => {
    const key = original.MFA_ENCRYPTION_KEY as string;
    const one = await encryptSecret(key, "JBSWY3DPEHPK3PXP");
    const two = await encryptSecret(key, "JBSWY3DPEHPK3PXP");
    expect(one).not.toBe(two);
    expect(one).not.toContain("JBSWY3DPEHPK3PXP");
    expect(one.startsWith(`v2.${await keyId(key)}.`)).toBe(true);
    expect(await decryptSecret([key], one)).toEqual({ plain: "JBSWY3DPEHPK3PXP", key });
    await expect(decryptSecret([NEW_KEY], one)).rejects.toThrow();
    const parts = one.split(".");
    const data = parts[3] as string;
    const tampered = [...parts.slice(0, 3), `${data.slice(0, -2)}${data.endsWith("AA") ? "BB" : "AA"}`].join(
      ".",
    );
    await expect(decryptSecret([key], tampered)).rejects.toThrow();
  });

  it("rotates: secrets under the previous key still work, are sealed again at use and by the cron run", async () => {
    clock.freeze();
    const t = await tenant();
    const users = [await account(t), await account(t)];
    const secrets: string[] = [];
    for (const u of users) {
      const setup = await json<{ secret: string }>(
        await act(t, { action: "setupMFA", enable: true }, u.auth),
      );
      expect(
        (await act(t, { action: "verifyMFASecret", totpToken: await totp(setup.secret) }, u.auth)).status,
      ).toBe(201);
      secrets.push(setup.secret);
    }
    const stored = async (uid: string) =>
      (
        await env.DB.prepare("SELECT mfa_secret FROM users WHERE id = ?")
          .bind(Number(uid))
          .first<{ mfa_secret: string }>()
      )?.mfa_secret as string;
    const oldKid = await keyId(original.MFA_ENCRYPTION_KEY as string);
    for (const u of users) expect((await stored(u.uid)).split(".")[1]).toBe(oldKid);

    rotate({ MFA_ENCRYPTION_KEY: NEW_KEY, MFA_ENCRYPTION_KEY_PREVIOUS: original.MFA_ENCRYPTION_KEY });
    clock.advance(30);
    const [first, second] = users as [(typeof users)[0], (typeof users)[0]];
    const signIn = await act(t, {
      strategy: "local",
      email: first.email,
      password: PASSWORD,
      totpToken: await totp(secrets[0] as string),
    });
    expect(signIn.status).toBe(201);
    expect((await stored(first.uid)).split(".")[1]).toBe(await keyId(NEW_KEY));
    expect((await stored(second.uid)).split(".")[1]).toBe(oldKid);

    const ctx = createExecutionContext();
    await worker.scheduled?.(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await stored(second.uid)).split(".")[1]).toBe(await keyId(NEW_KEY));

    // The previous key can go: both still sign in.
    rotate({ MFA_ENCRYPTION_KEY_PREVIOUS: undefined });
    clock.advance(30);
    for (const [i, u] of users.entries()) {
      const res = await act(t, {
        strategy: "local",
        email: u.email,
        password: PASSWORD,
        totpToken: await totp(secrets[i] as string),
      });
      expect(res.status, u.uid).toBe(201);
    }
    expect(await stored(first.uid)).not.toContain(secrets[0] as string);
  });
});

/**
 * Expiries at their exact boundaries on the injected clock (issue 14, "Restarts and clocks"): an access
 * token, an emailed reset token and a lockout each hold until the last second of their lifetime and end at
 * the next one; nothing depends on the wall clock.
 */
import { afterEach, describe, expect, it } from "vitest";
import { call, callAndSettle, clock, createClinic, env, json, randomIp, uniq } from "../helpers";
import { setPassword, sso } from "../vsee/support";

afterEach(() => clock.reset());

/** A frozen clock at a whole second, so that "+ n seconds" is exact. */
function freezeAtSecond() {
  clock.set(Math.floor(Date.now() / 1000) * 1000);
}

describe("exact expiry boundaries (±1 s, injected clock)", () => {
  it("an access token works at its last second (24 h − 1 s) and is refused at 24 h", async () => {
    const clinic = await createClinic();
    freezeAtSecond();
    const user = await sso(clinic);
    clock.advance(86400 - 1);
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(200);
    clock.advance(1);
    expect((await call("GET", "/api_v3/me", { headers: user.auth })).status).toBe(401);
  });

  it("an emailed reset token signs in at 1 h − 1 s, and a second one sent alike is refused at 1 h", async () => {
    const clinic = await createClinic();
    const headers = { "X-AccountCode": clinic.code };
    const tokenFor = async (email: string) => {
      expect(
        (await callAndSettle("POST", "/api_v3/users/reset_password", { headers, form: { email } })).status,
      ).toBe(200);
      const row = await env.DB.prepare(
        "SELECT body_text FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1",
      )
        .bind(email)
        .first<{ body_text: string }>();
      return /token is ([a-z0-9]{8})/.exec(row?.body_text ?? "")?.[1] as string;
    };
    const early = `${uniq("b")}@example.test`;
    const late = `${uniq("b")}@example.test`;
    await sso(clinic, { email: early });
    await sso(clinic, { email: late });
    freezeAtSecond();
    const [a, b] = [await tokenFor(early), await tokenFor(late)];
    clock.advance(3600 - 1);
    const ok = await call("POST", "/api_v3/users/login", { headers, form: { email: early, email_token: a } });
    expect(ok.status).toBe(200);
    clock.advance(1);
    const expired = await call("POST", "/api_v3/users/login", {
      headers,
      form: { email: late, email_token: b },
    });
    expect(expired.status).toBe(401);
  });

  it("a lockout refuses the right password at its last second and lets it in at the next", async () => {
    const clinic = await createClinic({ settings: { lockoutThreshold: 3, lockoutBaseSeconds: 60 } });
    const username = uniq("edge-");
    const user = await sso(clinic, { username });
    const password = await setPassword(user);
    const headers = { "X-AccountCode": clinic.code };
    freezeAtSecond();
    for (let i = 0; i < 3; i++) {
      await call("POST", "/api_v3/users/login", {
        headers: { ...headers, "cf-connecting-ip": randomIp() },
        form: { username, password: "wrong password!" },
      });
    }
    clock.advance(60 - 1);
    const locked = await call("POST", "/api_v3/users/login", { headers, form: { username, password } });
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toBe("1");
    clock.advance(1);
    const open = await call("POST", "/api_v3/users/login", { headers, form: { username, password } });
    expect(open.status, JSON.stringify(await json(open.clone()))).toBe(200);
  }, 30_000);
});

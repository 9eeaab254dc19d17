/**
 * Expiries at their exact boundaries on the injected clock (issue 14, "Restarts and clocks"): access and
 * refresh tokens, accounts JWTs, emailed reset tokens, emailed and SMS verification codes, invitations, the
 * portal's two-factor step, lockouts and heartbeats each hold until the last second of their lifetime and end
 * at the next one; nothing depends on the wall clock.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  account,
  act,
  codeFrom,
  email,
  mobile,
  PASSWORD,
  signup,
  type Tenant,
  tenant,
  totp,
} from "../accounts/support";
import { ADMIN_AUTH, call, callAndSettle, clock, createClinic, env, json, randomIp, uniq } from "../helpers";
import { loginForm, ORIGIN } from "../portal/support";
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

describe("more expiry boundaries (±1 s, injected clock)", () => {
  it("a refresh token rotates at its last second (30 days − 1 s) and is refused at 30 days", async () => {
    const clinic = await createClinic();
    freezeAtSecond();
    const [early, late] = [await sso(clinic), await sso(clinic)];
    const refresh = (token: string) =>
      call("POST", "/api_v3/tokens/refresh", { json: { refresh_token: token } });
    clock.advance(30 * 86400 - 1);
    expect((await refresh(early.refresh)).status).toBe(200);
    clock.advance(1);
    const expired = await refresh(late.refresh);
    expect(expired.status).toBe(401);
    expect(await json(expired)).toEqual({ code: 401, message: "Invalid or expired refresh token" });
  });

  it("an accounts-family JWT is accepted at 15 min − 1 s and refused at 15 min", async () => {
    const t = await tenant();
    freezeAtSecond();
    const a = await account(t);
    const me = () => call("GET", `/accounts/${a.uid}`, { headers: { ...t.headers, ...a.auth } });
    clock.advance(15 * 60 - 1);
    expect((await me()).status).toBe(200);
    clock.advance(1);
    expect((await me()).status).toBe(401);
  });

  it("an emailed verification code works at 10 min − 1 s, and one sent alike is refused at 10 min", async () => {
    const t = await tenant();
    freezeAtSecond();
    const [early, late] = [await signup(t), await signup(t)];
    const [a, b] = [
      await codeFrom(t, early.email as string, "email_verification"),
      await codeFrom(t, late.email as string, "email_verification"),
    ];
    clock.advance(600 - 1);
    const ok = await act(t, { action: "applyActionCode", code: a, email: early.email });
    expect(ok.status).toBe(201);
    expect(await json(ok)).toMatchObject({ isEmailVerified: true });
    clock.advance(1);
    const expired = await act(t, { action: "applyActionCode", code: b, email: late.email });
    expect(expired.status).toBe(401);
    expect(await json(expired)).toMatchObject({ message: "Invalid or expired code" });
  });

  it("an SMS verification code works at 10 min − 1 s, and one sent alike is refused at 10 min", async () => {
    const t = await tenant();
    freezeAtSecond();
    const [n1, n2] = [mobile(), mobile()];
    await signup(t, { email: email(), mobileNo: n1 });
    await signup(t, { email: email(), mobileNo: n2 });
    const [a, b] = [await codeFrom(t, n1, "sms_verification"), await codeFrom(t, n2, "sms_verification")];
    clock.advance(600 - 1);
    const ok = await act(t, { action: "applyActionCode", code: a, mobileNo: n1 });
    expect(ok.status).toBe(201);
    expect(await json(ok)).toMatchObject({ isMobileNoVerified: true });
    clock.advance(1);
    expect((await act(t, { action: "applyActionCode", code: b, mobileNo: n2 })).status).toBe(401);
  });

  it("an invitation signs up at 30 days − 1 s, and one sent alike is refused at 30 days", async () => {
    const t = await tenant({ signup_mode: "invite_only" });
    const invite = async (address: string) => {
      const joined = await call("POST", "/account-waitlist", {
        headers: t.headers,
        json: { email: address },
      });
      expect(joined.status).toBe(201);
      const list = await call("GET", `/admin/clinics/${t.code}/waitlist`, { headers: ADMIN_AUTH });
      const { data } = await json<{ data: { id: number; email: string }[] }>(list);
      const entry = data.find((e) => e.email === address);
      const approved = await callAndSettle("POST", `/admin/clinics/${t.code}/waitlist/${entry?.id}/approve`, {
        headers: ADMIN_AUTH,
      });
      expect(approved.status).toBe(200);
      return codeFrom(t, address, "invitation");
    };
    const [early, late] = [email(), email()];
    freezeAtSecond();
    const [a, b] = [await invite(early), await invite(late)];
    const signUp = (address: string, invitation: string) =>
      call("POST", "/accounts", {
        headers: t.headers,
        json: { email: address, password: PASSWORD, invitation },
      });
    clock.advance(30 * 86400 - 1);
    expect((await signUp(early, a)).status).toBe(201);
    clock.advance(1);
    const expired = await signUp(late, b);
    expect(expired.status).toBe(400);
    expect(await json(expired)).toMatchObject({ message: "Invitation not found" });
  });

  it("the portal's two-factor step (its signed state) works at 5 min − 1 s and is refused at 5 min", async () => {
    const t: Tenant = await tenant();
    freezeAtSecond();
    const enrolled = async () => {
      const a = await account(t);
      const setup = await json<{ secret: string }>(
        await act(t, { action: "setupMFA", enable: true }, a.auth),
      );
      const verified = await act(t, { action: "verifyMFASecret", totpToken: totp(setup.secret) }, a.auth);
      expect(verified.status).toBe(201);
      return { email: a.email as string, secret: setup.secret };
    };
    // Two users: a code that signs one in retires that user's earlier states, whatever their age.
    const [early, late] = [await enrolled(), await enrolled()];
    // Enrolment used the current step: the sign-ins use later ones.
    clock.advance(30);
    const codePage = async (user: { email: string; secret: string }) => {
      const form = await loginForm();
      const res = await call("POST", "/login", {
        headers: { cookie: `__Host-ce_login=${form.nonce}`, origin: ORIGIN },
        form: { csrf: form.csrf, clinic: t.code, username: user.email, password: PASSWORD },
      });
      expect(res.status).toBe(200);
      const state = /<input type="hidden" name="state" value="([^"]*)"\/>/.exec(await res.text())?.[1];
      return { user, form, state: state as string };
    };
    const submit = (page: Awaited<ReturnType<typeof codePage>>) =>
      call("POST", "/login/code", {
        headers: { cookie: `__Host-ce_login=${page.form.nonce}`, origin: ORIGIN },
        form: { csrf: page.form.csrf, state: page.state, code: totp(page.user.secret), clinic: t.code },
      });
    const [a, b] = [await codePage(early), await codePage(late)];
    clock.advance(300 - 1);
    expect((await submit(a)).status).toBe(303);
    clock.advance(1);
    const expired = await submit(b);
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain("This sign-in has expired or was already used");
  }, 30_000);

  it("a heartbeat keeps a patient online until its last second, and the clinic's default lapses at 300 s", async () => {
    const clinic = await createClinic({ default_heartbeat: 300 });
    freezeAtSecond();
    const [short, byDefault] = [await sso(clinic), await sso(clinic)];
    const beat = (user: typeof short, body: Record<string, number>) =>
      call("POST", "/api_v3/users/alive", { headers: user.auth, json: body });
    expect((await beat(short, { heartbeat: 60 })).status).toBe(200);
    expect(await json(await beat(byDefault, {}))).toMatchObject({ data: { heartbeat: 300 } });
    const online = async () => {
      const res = await call("GET", "/api_v3/users?alive=1", { headers: clinic.server });
      expect(res.status).toBe(200);
      return (await json<{ data: { id: string }[] }>(res)).data.map((u) => u.id).sort();
    };
    clock.advance(60 - 1);
    expect(await online()).toEqual([short.id, byDefault.id].sort());
    clock.advance(1);
    expect(await online()).toEqual([byDefault.id]);
    clock.advance(300 - 60 - 1);
    expect(await online()).toEqual([byDefault.id]);
    clock.advance(1);
    expect(await online()).toEqual([]);
    // A heartbeat at the last second moves the boundary on by a whole heartbeat.
    expect((await beat(short, { heartbeat: 60 })).status).toBe(200);
    clock.advance(60 - 1);
    expect(await online()).toEqual([short.id]);
  });
});

/**
 * No user-written text in mail to an address that is not verified (issue 16, finding 13; SECURITY.md
 * "Messages"). Anyone can sign up, be activated or ask for a code with somebody else's email: a first
 * name such as the payload below must not reach that person in the clinic's name. Every template that
 * takes user text (the greeting's name) is triggered through the worker with that payload.
 */
import { describe, expect, it } from "vitest";
import {
  account,
  act,
  codeFrom,
  email,
  messagesTo,
  type OutboxMessage,
  signup,
  type Tenant,
  tenant,
} from "../accounts/support";
import { callAndSettle, createClinic, uniq } from "../helpers";
import { sso } from "../vsee/support";

const PAYLOAD = "your account is locked, visit https://evil.example";

function expectNoUserText(m: OutboxMessage | undefined, template: string) {
  expect(m, `a ${template} message`).toBeDefined();
  const all = `${m?.subject}\n${m?.body_text}\n${m?.body_html}`;
  expect(all, template).not.toContain("evil.example");
  expect(all, template).not.toContain("account is locked");
  expect(m?.body_text, template).toContain("Hello,");
}

const latest = async (t: Tenant, to: string, template: string) =>
  (await messagesTo(t, to)).filter((m) => m.template === template).at(-1);

describe("user-written names never reach unverified addresses", () => {
  it("accounts family: welcome, email_verification, identity_validation_receipt, human_verification, password_reset, password_change, identity_change", {
    timeout: 60_000,
  }, async () => {
    const t = await tenant();
    const a = await account(t, {
      personalDetails: {
        name: { firstName: PAYLOAD },
        identityImages: ["https://files.example.test/id-front.jpg"],
      },
    });
    const to = a.email as string;
    for (const template of ["welcome", "email_verification", "identity_validation_receipt"])
      expectNoUserText(await latest(t, to, template), template);

    const doctor = await signup(t, {
      personalDetails: { name: { firstName: PAYLOAD }, doc_PRCLicenseNo: 1234567 },
    });
    expectNoUserText(await latest(t, doctor.email as string, "human_verification"), "human_verification");

    expect((await act(t, { action: "sendPasswordResetEmail", email: to }, {}, true)).status).toBe(201);
    expectNoUserText(await latest(t, to, "password_reset"), "password_reset");

    expect(
      (await act(t, { action: "changePassword", password: "another long password" }, a.auth, true)).status,
    ).toBe(201);
    expectNoUserText(await latest(t, to, "password_change"), "password_change");

    const next = email();
    expect(
      (await act(t, { action: "changeIdentity", identityKey: "email", identity: next }, a.auth, true)).status,
    ).toBe(201);
    expectNoUserText(await latest(t, next, "identity_change"), "identity_change");
  });

  it("/api_v3: vsee_password_reset and activation", { timeout: 60_000 }, async () => {
    const clinic = await createClinic();
    const t = { code: clinic.code, headers: { "X-AccountCode": clinic.code } };
    const resetTo = `${uniq("reset")}@example.test`;
    await sso(clinic, { email: resetTo, first_name: PAYLOAD });
    await callAndSettle("POST", "/api_v3/users/reset_password", {
      headers: t.headers,
      form: { email: resetTo },
    });
    expectNoUserText(await latest(t, resetTo, "vsee_password_reset"), "vsee_password_reset");

    const activateTo = `${uniq("act")}@example.test`;
    await callAndSettle("POST", "/api_v3/users/activate", {
      headers: t.headers,
      form: { email: activateTo, first_name: PAYLOAD, last_name: "Smith" },
    });
    expectNoUserText(await latest(t, activateTo, "activation"), "activation");
  });

  it("a verified address is greeted by a plain name, never by a name that reads as a link", {
    timeout: 60_000,
  }, async () => {
    const t = await tenant();
    for (const [firstName, greeting] of [
      ["Ana María", "Hello Ana María,"],
      ["J. R. O'Neil-Smith", "Hello J. R. O'Neil-Smith,"],
      [PAYLOAD, "Hello,"],
      ["evil.example", "Hello,"],
      ["www example com/x", "Hello,"],
    ] as const) {
      const a = await account(t, { personalDetails: { name: { firstName } } });
      const to = a.email as string;
      const code = await codeFrom(t, to, "email_verification");
      expect((await act(t, { action: "applyActionCode", code }, a.auth)).status).toBe(201);
      expect((await act(t, { action: "sendPasswordResetEmail", email: to }, {}, true)).status).toBe(201);
      const reset = await latest(t, to, "password_reset");
      expect(reset?.body_text, firstName).toContain(greeting);
      expect(reset?.body_text, firstName).not.toContain("evil.example");
    }
  });
});

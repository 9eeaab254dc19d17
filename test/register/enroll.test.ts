/** POST /register/enroll: the assertion's enrollment token (X-Ionic-Reg-Stoken) is spent once. */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { CareRecord } from "../../src/durable-objects/care-record";
import { sha256Hex } from "../../src/lib/crypto";
import { careRecord } from "../../src/services/care";
import { call, clock, env, json, type TestClinic } from "../helpers";
import { registerAs, sharedClinic } from "./support";

afterEach(() => clock.reset());

function enroll(clinic: TestClinic, stoken: unknown) {
  return call("POST", "/register/enroll", { headers: { "X-AccountCode": clinic.code }, json: { stoken } });
}

async function enrollment(clinic: TestClinic) {
  const reg = await registerAs(clinic, "patients");
  return { reg, stoken: reg.body.assertion["X-Ionic-Reg-Stoken"] as string };
}

const INVALID = { error: "Invalid, expired or already used enrollment token" };

describe("POST /register/enroll", () => {
  it("spends a token once", async () => {
    const clinic = await sharedClinic();
    const { reg, stoken } = await enrollment(clinic);
    const first = await enroll(clinic, stoken);
    expect(first.status).toBe(200);
    expect(await json(first)).toEqual({ enrolled: true, id: reg.body.user.id });

    const again = await enroll(clinic, stoken);
    expect(again.status).toBe(401);
    expect(await json(again)).toEqual(INVALID);
  });

  it("lets exactly one of many concurrent spends succeed", async () => {
    const clinic = await sharedClinic();
    const { stoken } = await enrollment(clinic);
    const results = await Promise.all(Array.from({ length: 10 }, () => enroll(clinic, stoken)));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(401)]);
  });

  it("records the spend in the clinic's Durable Object, not only in KV", async () => {
    const clinic = await sharedClinic();
    const { stoken } = await enrollment(clinic);
    const hash = await sha256Hex(stoken);
    // Even while the KV entry is still readable (KV is eventually consistent), the spend holds.
    const kvValue = await env.KV.get(`enr:${hash}`);
    expect(kvValue).not.toBeNull();
    expect((await enroll(clinic, stoken)).status).toBe(200);
    await env.KV.put(`enr:${hash}`, kvValue as string);
    expect((await enroll(clinic, stoken)).status).toBe(401);

    const clinicId = JSON.parse(kvValue as string).c as number;
    const spent = await runInDurableObject(careRecord(env, clinicId), (_o: CareRecord, ctx) =>
      ctx.storage.sql.exec("SELECT token_hash FROM spent_enrollments").toArray(),
    );
    expect(spent).toEqual([{ token_hash: hash }]);
  });

  it("refuses a token after its 10 minutes", async () => {
    clock.freeze();
    const clinic = await sharedClinic();
    const { stoken } = await enrollment(clinic);
    clock.advance(600);
    expect((await enroll(clinic, stoken)).status).toBe(401);
  });

  it("accepts a token within its 10 minutes", async () => {
    clock.freeze();
    const clinic = await sharedClinic();
    const { stoken } = await enrollment(clinic);
    clock.advance(599);
    expect((await enroll(clinic, stoken)).status).toBe(200);
  });

  it("refuses a token of another clinic, and malformed or unknown tokens", async () => {
    const clinic = await sharedClinic();
    const other = await sharedClinic();
    const { stoken } = await enrollment(clinic);
    expect((await enroll(other, stoken)).status).toBe(401);
    expect((await enroll(clinic, "0".repeat(64))).status).toBe(401);
    expect((await enroll(clinic, "not a token")).status).toBe(401);
    // Still spendable in its own clinic.
    expect((await enroll(clinic, stoken)).status).toBe(200);
  });

  it("validates the body", async () => {
    const clinic = await sharedClinic();
    const res = await call("POST", "/register/enroll", {
      headers: { "X-AccountCode": clinic.code },
      json: { token: "x" },
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: "Invalid request body",
      errors: [
        { param: "stoken", message: "is required" },
        { param: "token", message: "is not an allowed field" },
      ],
    });
  });
});

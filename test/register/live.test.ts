/** GET /state/live: a WebSocket (Durable Object hibernation API) that receives every new state. */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CareRecord,
  CLOSE_SESSION_ENDED,
  CLOSE_TOKEN_EXPIRED,
} from "../../src/durable-objects/care-record";
import { careRecord } from "../../src/services/care";
import { ADMIN_AUTH, call, clock, env, json, type TestClinic } from "../helpers";
import { connect, registerAs, sharedClinic, state } from "./support";

afterEach(() => clock.reset());

async function clinicWithTeam(): Promise<{
  clinic: TestClinic;
  patient: Awaited<ReturnType<typeof registerAs>>;
}> {
  const clinic = await sharedClinic();
  return { clinic, patient: await registerAs(clinic, "patients") };
}

describe("GET /state/live", () => {
  it("sends the current state at once, then every new state as it is written", async () => {
    const { clinic, patient } = await clinicWithTeam();
    const physician = await registerAs(clinic, "physicians");
    const live = await connect("/state/live", patient.auth);
    expect(live.res.status).toBe(101);
    const [first] = await live.until(1);
    expect(first).toEqual({ type: "state", state: { version: 0 } });

    await state("PUT", patient, { json: { medical_history: "asthma" } });
    await state("PUT", physician, { json: { prescription: "inhaler" } });
    const messages = await live.until(3);
    expect(messages.slice(1)).toEqual([
      { type: "state", state: { medical_history: "asthma", version: 1 } },
      { type: "state", state: { medical_history: "asthma", prescription: "inhaler", version: 2 } },
    ]);
    live.ws.close(1000, "done");
  });

  it("accepts the token as a subprotocol entry (selecting care-state) or a query parameter", async () => {
    const { clinic, patient } = await clinicWithTeam();
    const viaProtocol = await connect("/state/live", {
      "X-AccountCode": clinic.code,
      "Sec-WebSocket-Protocol": `care-state, bearer.${patient.body.token}`,
    });
    expect(viaProtocol.res.status).toBe(101);
    expect(viaProtocol.res.headers.get("sec-websocket-protocol")).toBe("care-state");

    const viaQuery = await connect(`/state/live?token=${patient.body.token}&accountCode=${clinic.code}`);
    expect(viaQuery.res.status).toBe(101);

    await state("PUT", patient, { json: { medical_history: "both see this" } });
    for (const live of [viaProtocol, viaQuery]) {
      const messages = await live.until(2);
      expect(messages[1]?.state).toEqual({ medical_history: "both see this", version: 1 });
      live.ws.close(1000);
    }
  });

  it("refuses no token, a token of another clinic, a user outside the groups and a plain GET", async () => {
    const { clinic, patient } = await clinicWithTeam();
    const other = await sharedClinic();
    const upgrade = { Upgrade: "websocket" };

    const none = await call("GET", `/state/live?accountCode=${clinic.code}`, { headers: upgrade });
    expect(none.status).toBe(401);
    expect(await json(none)).toEqual({ error: "A bearer token is required" });

    const foreign = await call("GET", `/state/live?token=${patient.body.token}&accountCode=${other.code}`, {
      headers: upgrade,
    });
    expect(foreign.status).toBe(401);
    expect(await json(foreign)).toEqual({ error: "Invalid or expired token" });

    const plain = await call("GET", "/state/live", { headers: patient.auth });
    expect(plain.status).toBe(400);
    expect(await json(plain)).toEqual({ error: "Expected a WebSocket upgrade (Upgrade: websocket)" });
  });

  it("closes a socket whose token expired at the next update", async () => {
    const { patient } = await clinicWithTeam();
    const live = await connect("/state/live", patient.auth);
    await live.until(1);
    // A day later (the socket's token has expired), somebody writes.
    clock.set(Date.now() + 25 * 3600 * 1000);
    const stub = careRecord(env, await clinicIdOf(patient.auth["X-AccountCode"] as string));
    await stub.write({ medical_history: "later" }, { userId: 1, group: "patients" });
    await live.until(2);
    expect(live.closed()).toMatchObject({ code: CLOSE_TOKEN_EXPIRED });
    expect(live.received).toHaveLength(1);
  });

  it("keeps its sockets in the object (hibernation API) with the viewer attached", async () => {
    const { clinic, patient } = await clinicWithTeam();
    const live = await connect("/state/live", patient.auth);
    await live.until(1);
    const stub = careRecord(env, await clinicIdOf(clinic.code));
    const viewers = await runInDurableObject(stub, (_instance: CareRecord, ctx) =>
      ctx.getWebSockets().map((ws) => ws.deserializeAttachment()),
    );
    expect(viewers).toEqual([
      {
        userId: Number(patient.body.user.id),
        sessionId: expect.any(String),
        group: "patients",
        // The fields the viewer reads, and whether its access is logged (the shared record has no patient).
        fields: ["medical_history", "office_visit_notes", "prescription", "insurer_reply"],
        logged: true,
        expiresAt: expect.any(Number),
      },
    ]);
    live.ws.close(1000);
  });
});

describe("GET /state/live: ending a session closes its sockets at once", () => {
  it("sign-out closes the session's socket, not another session's of the same user", async () => {
    const { clinic, patient } = await clinicWithTeam();
    // The same user signed in twice (re-registering an existing user is a sign-in with the API key).
    const second = await call("POST", "/register", {
      headers: clinic.server,
      json: { email: patient.email, groupName: "patients", firstName: "Test", lastName: "Patient" },
    });
    const other = {
      "X-AccountCode": clinic.code,
      authorization: `Bearer ${(await json<{ token: string }>(second)).token}`,
    };
    const [a, b] = [await connect("/state/live", patient.auth), await connect("/state/live", other)];
    await a.until(1);
    await b.until(1);
    expect((await call("POST", "/api_v3/users/logout", { headers: patient.auth })).status).toBe(200);
    await a.until(2);
    expect(a.closed()).toMatchObject({ code: CLOSE_SESSION_ENDED });
    // The other session still receives updates.
    expect((await state("PUT", other, { json: { medical_history: "still here" } })).status).toBe(200);
    expect((await b.until(2))[1]?.state.medical_history).toBe("still here");
    expect(b.closed()).toBeUndefined();
    b.ws.close(1000);
  });

  it("disabling the user or the clinic closes their sockets", async () => {
    const { clinic, patient } = await clinicWithTeam();
    const physician = await registerAs(clinic, "physicians");
    const [p, d] = [await connect("/state/live", patient.auth), await connect("/state/live", physician.auth)];
    await p.until(1);
    await d.until(1);
    const disableUser = await call("PATCH", `/admin/clinics/${clinic.code}/users/${patient.body.user.id}`, {
      headers: ADMIN_AUTH,
      json: { disabled: true },
    });
    expect(disableUser.status).toBe(200);
    await p.until(2);
    expect(p.closed()).toMatchObject({ code: CLOSE_SESSION_ENDED });
    expect(d.closed()).toBeUndefined();
    const disableClinic = await call("PATCH", `/admin/clinics/${clinic.code}`, {
      headers: ADMIN_AUTH,
      json: { disabled: true },
    });
    expect(disableClinic.status).toBe(200);
    await d.until(2);
    expect(d.closed()).toMatchObject({ code: CLOSE_SESSION_ENDED });
  });
});

async function clinicIdOf(code: string): Promise<number> {
  const row = await env.DB.prepare("SELECT id FROM clinics WHERE code = ?")
    .bind(code)
    .first<{ id: number }>();
  if (!row) throw new Error(`no clinic ${code}`);
  return row.id;
}

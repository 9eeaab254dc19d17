/**
 * The care record in the portal (issue 15): a provider's page of a patient's record and the patient's own
 * record on the waiting page, and the /portal/records routes their script uses with the portal session
 * (cookie + the page's CSRF token, same-origin only; If-Match required on writes; live over a WebSocket).
 */
import { describe, expect, it } from "vitest";
import { call, createClinic, json } from "../helpers";
import { connect } from "../register/support";
import { type Browser, careTeam, csrfOf, ORIGIN, signedIn } from "./support";

/** The headers a page's script sends with the portal session. */
async function scriptHeaders(b: Browser, page: string) {
  const csrf = csrfOf(await (await b.call("GET", page)).text());
  return { csrf, headers: { "X-CSRF-Token": csrf, origin: ORIGIN, "sec-fetch-site": "same-origin" } };
}

interface Entry {
  action: string;
  fields: string[];
  name: string;
  role: string;
  user_id: string;
}

describe("the provider's record page", () => {
  it("shows the fields the physicians read, editors for notes and prescription, and logs the read", async () => {
    const clinic = await createClinic();
    const { patient, doctor } = await careTeam(clinic);
    const own = await scriptHeaders(patient, "/u/clinic");
    await call("PUT", `/portal/records/${patient.user.id}`, {
      headers: { ...own.headers, cookie: `ce_session=${patient.cookie}`, "if-match": '"0"' },
      json: { medical_history: "Allergic to <penicillin>" },
    });
    const res = await doctor.call("GET", `/providers/patients/${patient.user.id}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("<h1>Pat Ient</h1>");
    expect(html).toContain(`<title>Care record of Pat Ient · Clinic ${clinic.code}</title>`);
    expect(html).toContain('<script src="/portal/assets/record.js" defer=""></script>');
    expect(html).toContain(`data-patient="${patient.user.id}" data-version="1"`);
    expect(html).toContain('<label for="f-office_visit_notes">Office visit notes</label>');
    expect(html).toContain('<label for="f-prescription">Prescription</label>');
    expect(html).not.toContain('id="f-medical_history"');
    // Read-only, escaped.
    expect(html).toContain(
      'data-field="medical_history" aria-live="polite">Allergic to &lt;penicillin&gt;</p>',
    );
    expect(html).not.toContain("access-log"); // the access log is the patient's
    expect(html).toContain('<ol id="history" class="log" aria-live="polite" aria-relevant="additions"></ol>');
    expect(html).not.toMatch(/<style|style="| on[a-z]+="/);

    const log = await patient.call("GET", `/portal/records/${patient.user.id}/access-log`, {
      headers: own.headers,
    });
    expect(log.status).toBe(200);
    const { entries } = await json<{ entries: Entry[] }>(log);
    expect(entries[0]).toMatchObject({
      action: "read",
      user_id: doctor.user.id,
      name: "Dana Doctor",
      role: "physician",
      fields: ["medical_history", "office_visit_notes", "prescription", "insurer_reply"],
    });
  });

  it("shows only what the clinic lets physicians read (careReadFields), and what they write", async () => {
    const clinic = await createClinic({
      settings: { careReadFields: { physicians: ["insurer_reply"] } },
    });
    const { patient, doctor } = await careTeam(clinic);
    const html = await (await doctor.call("GET", `/providers/patients/${patient.user.id}`)).text();
    expect(html).not.toContain("Medical history");
    expect(html).toContain('<label for="f-office_visit_notes">Office visit notes</label>');
    expect(html).toContain('<h3 id="h-insurer_reply">Insurer&#39;s reply</h3>');
    const { headers } = await scriptHeaders(doctor, "/providers/dashboard");
    const own = await scriptHeaders(patient, "/u/clinic");
    await patient.call("PUT", `/portal/records/${patient.user.id}`, {
      headers: { ...own.headers, "if-match": '"0"' },
      json: { medical_history: "Private" },
    });
    const read = await json(await doctor.call("GET", `/portal/records/${patient.user.id}`, { headers }));
    expect(read).toEqual({ version: 1 });
  });

  it("a provider outside the patient's care team gets a 403 page, whether or not the id is a patient", async () => {
    const clinic = await createClinic();
    const { patient, doctor } = await careTeam(clinic, { team: false });
    for (const id of [patient.user.id, "999999"]) {
      const res = await doctor.call("GET", `/providers/patients/${id}`);
      expect(res.status).toBe(403);
      const html = await res.text();
      expect(html).toContain("<h1>Not available</h1>");
      expect(html).toContain("You are not on this patient&#39;s care team");
    }
    const patientsPage = await patient.call("GET", `/providers/patients/${patient.user.id}`);
    expect(patientsPage.status).toBe(403);
  });

  it("the dashboard links each waiting patient to their record page", async () => {
    const clinic = await createClinic();
    const provider = await signedIn(clinic, { type: "400" });
    const html = await (await provider.call("GET", "/providers/dashboard")).text();
    expect(html).toContain('<script src="/portal/assets/dashboard.js" defer=""></script>');
    const script = await (await call("GET", "/portal/assets/dashboard.js")).text();
    expect(script).toContain('link.href = "/providers/patients/" + encodeURIComponent(p.id);');
  });
});

describe("the patient's own record on the waiting page", () => {
  it("shows the record with medical history editable and the access-log section", async () => {
    const clinic = await createClinic();
    const { patient } = await careTeam(clinic);
    const html = await (await patient.call("GET", "/u/clinic")).text();
    expect(html).toContain('<h2 id="record-heading">Your care record</h2>');
    expect(html).toContain('<label for="f-medical_history">Medical history</label>');
    expect(html).not.toContain('id="f-office_visit_notes"');
    expect(html).toContain('<h3 id="access-heading">Who accessed your record</h3>');
    expect(html).toContain('<script src="/portal/assets/record.js" defer=""></script>');
  });

  it("a member outside the care-team family has no record section", async () => {
    const clinic = await createClinic();
    const member = await signedIn(clinic, { type: "200" });
    const html = await (await member.call("GET", "/u/clinic")).text();
    expect(html).not.toContain('id="record"');
    expect(html).toContain("Your clinic keeps no care record for you here yet.");
    expect(html).not.toContain("record.js");
  });
});

describe("/portal/records with the portal session", () => {
  it("needs the cookie, the page's CSRF token and a same-origin request, on reads too", async () => {
    const clinic = await createClinic();
    const { patient, doctor } = await careTeam(clinic);
    const { headers, csrf } = await scriptHeaders(doctor, "/providers/dashboard");
    const path = `/portal/records/${patient.user.id}`;
    expect((await call("GET", path, { headers })).status).toBe(401);
    const noToken = await doctor.call("GET", path, { headers: { origin: ORIGIN } });
    expect(noToken.status).toBe(403);
    expect(await json(noToken)).toMatchObject({ code: 403, error: "forbidden" });
    const patientsToken = await scriptHeaders(patient, "/u/clinic");
    expect((await doctor.call("GET", path, { headers: patientsToken.headers })).status).toBe(403);
    const crossSite = await doctor.call("GET", path, {
      headers: { "X-CSRF-Token": csrf, origin: "https://evil.example" },
    });
    expect(crossSite.status).toBe(403);
    const sameSite = await doctor.call("GET", path, {
      headers: { "X-CSRF-Token": csrf, "sec-fetch-site": "same-site" },
    });
    expect(sameSite.status).toBe(403);
    // A bearer token is no way in here: these routes are the portal session's.
    const bearer = await call("GET", path, {
      headers: { authorization: `Bearer ${doctor.user.token}`, "X-CSRF-Token": csrf },
    });
    expect(bearer.status).toBe(401);
    const ok = await doctor.call("GET", path, { headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe('"0"');
    expect(await json(ok)).toEqual({ version: 0 });
  });

  it("writes need If-Match: a stale version is 412 with the current ETag and changes nothing", async () => {
    const clinic = await createClinic();
    const { patient, doctor } = await careTeam(clinic);
    const { headers } = await scriptHeaders(doctor, "/providers/dashboard");
    const path = `/portal/records/${patient.user.id}`;
    const missing = await doctor.call("PUT", path, { headers, json: { office_visit_notes: "a" } });
    expect(missing.status).toBe(400);
    const star = await doctor.call("PUT", path, {
      headers: { ...headers, "if-match": "*" },
      json: { office_visit_notes: "a" },
    });
    expect(star.status).toBe(400);
    const first = await doctor.call("PUT", path, {
      headers: { ...headers, "if-match": '"0"' },
      json: { office_visit_notes: "Seen today" },
    });
    expect(first.status).toBe(200);
    expect(await json(first)).toEqual({ version: 1, office_visit_notes: "Seen today" });
    const stale = await doctor.call("PUT", path, {
      headers: { ...headers, "if-match": '"0"' },
      json: { office_visit_notes: "Overwrite?" },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("etag")).toBe('"1"');
    const now = await json<Record<string, unknown>>(await doctor.call("GET", path, { headers }));
    expect(now.office_visit_notes).toBe("Seen today");
    const wrongField = await doctor.call("PUT", path, {
      headers: { ...headers, "if-match": '"1"' },
      json: { medical_history: "not mine" },
    });
    expect(wrongField.status).toBe(403);
  });

  it("history names who changed what; the access log is the patient's only", async () => {
    const clinic = await createClinic();
    const { patient, doctor } = await careTeam(clinic);
    const d = await scriptHeaders(doctor, "/providers/dashboard");
    const p = await scriptHeaders(patient, "/u/clinic");
    const path = `/portal/records/${patient.user.id}`;
    await doctor.call("PUT", path, {
      headers: { ...d.headers, "if-match": '"0"' },
      json: { prescription: "Rest" },
    });
    await patient.call("PUT", path, {
      headers: { ...p.headers, "if-match": '"1"' },
      json: { medical_history: "None" },
    });
    const history = await json<{ entries: (Entry & { version: number })[] }>(
      await doctor.call("GET", `${path}/history`, { headers: d.headers }),
    );
    expect(history.entries.map((e) => [e.version, e.name, e.role, e.fields])).toEqual([
      [2, "Pat Ient", "patient", ["medical_history"]],
      [1, "Dana Doctor", "physician", ["prescription"]],
    ]);
    expect((await doctor.call("GET", `${path}/access-log`, { headers: d.headers })).status).toBe(403);
    const log = await json<{ entries: Entry[] }>(
      await patient.call("GET", `${path}/access-log`, { headers: p.headers }),
    );
    expect(log.entries.map((e) => [e.action, e.name])).toEqual([["write", "Dana Doctor"]]);
  });

  it("live: the patient's socket (cookie, Origin, csrf subprotocol) receives the provider's note", async () => {
    const clinic = await createClinic();
    const { patient, doctor } = await careTeam(clinic);
    const p = await scriptHeaders(patient, "/u/clinic");
    const d = await scriptHeaders(doctor, "/providers/dashboard");
    const live = `/portal/records/${patient.user.id}/live`;
    const cookie = `ce_session=${patient.cookie}`;
    const refused: Record<string, string>[] = [
      { cookie, origin: ORIGIN }, // no CSRF subprotocol
      { cookie, "sec-websocket-protocol": `care-state, csrf.${p.csrf}` }, // no Origin
      { cookie, origin: "https://evil.example", "sec-websocket-protocol": `care-state, csrf.${p.csrf}` },
      { cookie, origin: ORIGIN, "sec-websocket-protocol": `care-state, csrf.${d.csrf}` }, // another session's
    ];
    for (const headers of refused) {
      const res = await call("GET", live, { headers: { Upgrade: "websocket", ...headers } });
      expect(res.status, JSON.stringify(headers)).toBe(403);
    }
    const socket = await connect(live, {
      cookie,
      origin: ORIGIN,
      "sec-websocket-protocol": `care-state, csrf.${p.csrf}`,
    });
    expect(socket.res.status).toBe(101);
    expect(socket.res.headers.get("sec-websocket-protocol")).toBe("care-state");
    expect((await socket.until(1))[0]).toEqual({ type: "state", state: { version: 0 } });
    const put = await doctor.call("PUT", `/portal/records/${patient.user.id}`, {
      headers: { ...d.headers, "if-match": '"0"' },
      json: { office_visit_notes: "Note from Dana" },
    });
    expect(put.status).toBe(200);
    const [, update] = await socket.until(2);
    expect(update).toEqual({ type: "state", state: { version: 1, office_visit_notes: "Note from Dana" } });
    // Signing out ends the socket with the session.
    await patient.call("POST", "/logout", { headers: { origin: ORIGIN }, form: { csrf: p.csrf } });
    await socket.until(3);
    expect(socket.closed()?.code).toBe(4003);
    socket.ws.close();
  });
});

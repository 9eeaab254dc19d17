/**
 * Care-record field permissions on PUT /state, every group × every field it may not write (issue 16,
 * "Tests that a planted bug slips past"): writing "" to another group's field is a write too, so a check
 * on the value's truthiness (which would let a patient blank the prescription) must fail here. Each
 * refusal is a 403 in the register family's shape and changes nothing (the version stays).
 */
import { describe, expect, it } from "vitest";
import { call, createClinic, json, type TestClinic, uniq } from "../helpers";

const FIELDS = ["medical_history", "office_visit_notes", "prescription", "insurer_reply"] as const;
type Field = (typeof FIELDS)[number];

/** DESIGN.md "Care records": the fields each group may write (written out, not read from the code). */
const WRITES = {
  patients: ["medical_history"],
  physicians: ["office_visit_notes", "prescription"],
  insurers: ["insurer_reply"],
} as const satisfies Record<string, readonly Field[]>;
type Group = keyof typeof WRITES;
const GROUPS = Object.keys(WRITES) as Group[];

const FILLED: Record<Field, string> = {
  medical_history: "asthma since 2010",
  office_visit_notes: "seen on Monday",
  prescription: "salbutamol 100 mcg",
  insurer_reply: "covered",
};

/** A user of `group` registered with the clinic's API key; the headers of their /state calls. */
async function member(clinic: TestClinic, group: Group): Promise<Record<string, string>> {
  const res = await call("POST", "/register", {
    headers: clinic.server,
    json: { email: `${uniq("u")}@example.test`, groupName: group, firstName: "Test", lastName: group },
  });
  const body = await json<{ token: string }>(res);
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { "X-AccountCode": clinic.code, authorization: `Bearer ${body.token}` };
}

async function read(headers: Record<string, string>) {
  const res = await call("GET", "/state", { headers });
  expect(res.status).toBe(200);
  return json<Record<string, unknown> & { version: number }>(res);
}

describe("PUT /state: a group may write only its own fields", () => {
  it('refuses every group × every field it may not write, with "" and with text, and changes nothing', async () => {
    // The seed demo's shared record (new clinics default to per-patient records: records.security.test.ts).
    const clinic = await createClinic({ settings: { careRecordMode: "shared" } });
    const team = Object.fromEntries(
      await Promise.all(GROUPS.map(async (g) => [g, await member(clinic, g)] as const)),
    ) as Record<Group, Record<string, string>>;
    // Every field has a value, written by the group that owns it.
    for (const group of GROUPS) {
      const own = Object.fromEntries(WRITES[group].map((f) => [f, FILLED[f]]));
      const res = await call("PUT", "/state", { headers: team[group], json: own });
      expect(res.status, group).toBe(200);
    }
    const before = await read(team.patients);
    expect(before).toMatchObject(FILLED);

    const tried: string[] = [];
    for (const group of GROUPS) {
      const forbidden = FIELDS.filter((f) => !(WRITES[group] as readonly Field[]).includes(f));
      expect(forbidden.length).toBeGreaterThan(0);
      for (const field of forbidden) {
        for (const value of ["", "x"]) {
          const res = await call("PUT", "/state", { headers: team[group], json: { [field]: value } });
          const body = await json<{ error: string }>(res);
          expect(res.status, `${group} writes ${field}=${JSON.stringify(value)}`).toBe(403);
          expect(body.error).toContain(`(not ${field})`);
          expect(Object.keys(body)).toEqual(["error"]);
          // Together with a field it may write, the whole write is refused.
          const own = WRITES[group][0] as Field;
          const mixed = await call("PUT", "/state", {
            headers: team[group],
            json: { [own]: "changed", [field]: value },
          });
          expect(mixed.status, `${group} writes ${own} + ${field}=${JSON.stringify(value)}`).toBe(403);
          tried.push(`${group}:${field}:${JSON.stringify(value)}`);
        }
      }
    }
    // Forbidden fields: patients 3, physicians 2, insurers 3; each with two values.
    expect(tried).toHaveLength((3 + 2 + 3) * 2);
    expect(await read(team.patients)).toEqual(before);
  }, 60_000);

  it('lets each group blank its own fields with ""', async () => {
    // The seed demo's shared record (new clinics default to per-patient records: records.security.test.ts).
    const clinic = await createClinic({ settings: { careRecordMode: "shared" } });
    for (const group of GROUPS) {
      const headers = await member(clinic, group);
      for (const field of WRITES[group]) {
        expect((await call("PUT", "/state", { headers, json: { [field]: FILLED[field] } })).status).toBe(200);
        const res = await call("PUT", "/state", { headers, json: { [field]: "" } });
        expect(res.status, `${group} blanks ${field}`).toBe(200);
        expect((await json<Record<string, unknown>>(res))[field] ?? "").toBe("");
      }
    }
  });
});

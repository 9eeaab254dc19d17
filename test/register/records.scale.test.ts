/**
 * Per-patient records under load: concurrent writers on one record, many records at once, and a large
 * clinic's physician listing their care teams page by page (rows seeded directly in D1).
 */
import { describe, expect, it } from "vitest";
import { createClinic, env, json } from "../helpers";
import { as, careTeam, clinicIdOf, registerAs } from "./support";

interface History {
  entries: { version: number; user_id: string; fields: string[] }[];
  next_before: number | null;
}

describe("concurrent writers", () => {
  it("20 concurrent writers on one record lose nothing", async () => {
    const { patient, physician, insurer } = await careTeam();
    const path = `/records/${patient.body.user.id}`;
    const writers = [patient, physician, insurer];
    const fieldOf = ["medical_history", "office_visit_notes", "insurer_reply"] as const;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        as("PUT", path, writers[i % 3] as never, { json: { [fieldOf[i % 3] as string]: `w${i}` } }).then(
          async (res) => ({ i, status: res.status, body: await json<{ version: number }>(res) }),
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    // Every write got its own version, 1..20.
    expect(results.map((r) => r.body.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const history = await json<History>(await as("GET", `${path}/history?limit=100`, patient));
    expect(history.entries).toHaveLength(20);
    // Each field holds the value of its last write (the highest version among its writers).
    const final = await json<Record<string, unknown>>(await as("GET", path, patient));
    expect(final.version).toBe(20);
    for (const k of [0, 1, 2]) {
      const last = results.filter((r) => r.i % 3 === k).sort((a, b) => b.body.version - a.body.version)[0];
      expect(final[fieldOf[k] as string]).toBe(`w${last?.i}`);
    }
  }, 60_000);

  it("50 records written concurrently stay independent", async () => {
    const clinic = await createClinic();
    const patients = await Promise.all(Array.from({ length: 50 }, () => registerAs(clinic, "patients")));
    const writes = await Promise.all(
      patients.map((p) =>
        as("PUT", `/records/${p.body.user.id}`, p, { json: { medical_history: `own ${p.body.user.id}` } }),
      ),
    );
    expect(writes.map((r) => r.status)).toEqual(Array(50).fill(200));
    const reads = await Promise.all(
      patients.map((p) => as("GET", `/records/${p.body.user.id}`, p).then(json)),
    );
    expect(reads).toEqual(patients.map((p) => ({ medical_history: `own ${p.body.user.id}`, version: 1 })));
  }, 120_000);
});

describe("a clinic with 10,000 patients", () => {
  it("a physician on 2,000 teams lists them page by page, from the member index", async () => {
    const clinic = await createClinic();
    const physician = await registerAs(clinic, "physicians");
    const clinicId = await clinicIdOf(clinic.code);
    const t = Math.floor(Date.now() / 1000);
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
       INSERT INTO users (clinic_id, code, type, username, group_name, first_name, last_name, created_at, updated_at)
       SELECT ?1, 'p' || i, 200, 'p' || i, 'patients', 'Patient', 'No' || i, ?2, ?2 FROM n`,
    )
      .bind(clinicId, t)
      .run();
    // Every fifth patient has the physician on their team.
    await env.DB.prepare(
      `INSERT INTO care_team_members (clinic_id, patient_id, member_user_id, member_group, added_by, added_at)
       SELECT ?1, id, ?2, 'physicians', NULL, ?3 FROM users
       WHERE clinic_id = ?1 AND group_name = 'patients' AND CAST(substr(code, 2) AS INTEGER) % 5 = 0`,
    )
      .bind(clinicId, Number(physician.body.user.id), t)
      .run();
    const expected = (
      await env.DB.prepare(
        "SELECT patient_id FROM care_team_members WHERE clinic_id = ? AND member_user_id = ? ORDER BY patient_id",
      )
        .bind(clinicId, Number(physician.body.user.id))
        .all<{ patient_id: number }>()
    ).results.map((r) => String(r.patient_id));
    expect(expected).toHaveLength(2000);

    // The page query reads the member index (no scan of the clinic's patients or of the whole table).
    const plan = await env.DB.prepare(
      `EXPLAIN QUERY PLAN SELECT m.patient_id FROM care_team_members m JOIN users u ON u.id = m.patient_id
       WHERE m.clinic_id = ?1 AND m.member_user_id = ?2 AND m.patient_id > ?3 ORDER BY m.patient_id LIMIT 101`,
    )
      .bind(clinicId, Number(physician.body.user.id), 0)
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("\n")).toContain("care_team_members_member_idx");

    const seen: string[] = [];
    let cursor: string | null = "";
    let pages = 0;
    while (cursor !== null) {
      const res = await as("GET", `/records?limit=100${cursor ? `&cursor=${cursor}` : ""}`, physician);
      expect(res.status).toBe(200);
      const page = await json<{ records: { patient_id: string }[]; next_cursor: string | null }>(res);
      expect(page.records.length).toBeLessThanOrEqual(100);
      seen.push(...page.records.map((r) => r.patient_id));
      cursor = page.next_cursor;
      pages += 1;
    }
    expect(pages).toBe(20);
    expect(seen).toEqual(expected);
    // And the physician reads one of them (membership checked on the request).
    const one = await as("GET", `/records/${expected[1234]}`, physician);
    expect(one.status).toBe(200);
    const notOnTeam = await as("GET", `/records/${Number(expected[0]) + 1}`, physician);
    expect(notOnTeam.status).toBe(403);
  }, 120_000);
});

/** Concurrent writers of the care record: nobody loses a field, versions never repeat. */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CareRecord } from "../../src/durable-objects/care-record";
import { careRecord } from "../../src/services/care";
import { call, env, json } from "../helpers";
import { type Registered, registerAs, sharedClinic, state } from "./support";

type Field = "medical_history" | "office_visit_notes" | "prescription" | "insurer_reply";
type State = Partial<Record<Field, string>> & { version: number };

describe("concurrent writers", () => {
  it("keeps all 50 writes of different fields, each with its own strictly increasing version", async () => {
    const clinic = await sharedClinic();
    const [patient, physician, insurer] = await Promise.all([
      registerAs(clinic, "patients"),
      registerAs(clinic, "physicians"),
      registerAs(clinic, "insurers"),
    ]);
    const writers: { field: Field; who: Registered }[] = [
      { field: "medical_history", who: patient },
      { field: "office_visit_notes", who: physician },
      { field: "prescription", who: physician },
      { field: "insurer_reply", who: insurer },
    ];
    const writes = Array.from({ length: 50 }, (_, i) => {
      const w = writers[i % writers.length] as (typeof writers)[number];
      return { ...w, value: `write-${i}` };
    });

    // Every field starts with a value, so that a writer that wrote back a stale copy would show.
    await state("PUT", patient, { json: { medical_history: "initial" } });
    await state("PUT", physician, { json: { office_visit_notes: "initial", prescription: "initial" } });
    await state("PUT", insurer, { json: { insurer_reply: "initial" } });
    const base = 3;

    const responses = await Promise.all(
      writes.map((w) => state("PUT", w.who, { json: { [w.field]: w.value } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    const states = await Promise.all(responses.map((r) => json<State>(r)));

    // Every write got its own version: 4..53, none repeated, none skipped.
    const versions = states.map((s) => s.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => base + i + 1));

    // Applied in version order, each state is the previous one plus exactly that write: no lost fields.
    const order = writes.map((w, i) => ({ ...w, version: versions[i] as number, state: states[i] as State }));
    order.sort((a, b) => a.version - b.version);
    const expected: State = {
      medical_history: "initial",
      office_visit_notes: "initial",
      prescription: "initial",
      insurer_reply: "initial",
      version: base,
    };
    for (const w of order) {
      expected[w.field] = w.value;
      expected.version = w.version;
      expect(w.state).toEqual(expected);
    }
    const final = await json<State>(await state("GET", patient));
    expect(final).toEqual(expected);
    expect(Object.keys(final).sort()).toEqual([...writers.map((w) => w.field), "version"].sort());

    // The audit trail has one entry per write, newest first, with the writer and the field.
    const history = await json<{ entries: { version: number; fields: string[]; user_id: string }[] }>(
      await call("GET", "/state/history?limit=100", { headers: patient.auth }),
    );
    expect(history.entries.map((e) => e.version)).toEqual(Array.from({ length: 53 }, (_, i) => 53 - i));
    for (const w of order) {
      const entry = history.entries.find((e) => e.version === w.version);
      expect(entry).toMatchObject({ fields: [w.field], user_id: w.who.body.user.id });
    }

    // Inside the object: one record row at version 53, 53 audit rows.
    const clinicId = await env.DB.prepare("SELECT id FROM clinics WHERE code = ?")
      .bind(clinic.code)
      .first<number>("id");
    const inside = await runInDurableObject(careRecord(env, clinicId as number), (_o: CareRecord, ctx) => ({
      record: ctx.storage.sql.exec("SELECT version FROM record").toArray(),
      audit: ctx.storage.sql.exec("SELECT count(*) AS n, max(version) AS v FROM audit").one(),
    }));
    expect(inside).toEqual({ record: [{ version: 53 }], audit: { n: 53, v: 53 } });
  });

  it("lets exactly one of many writers holding the same ETag win", async () => {
    const clinic = await sharedClinic();
    const patient = await registerAs(clinic, "patients");
    const physician = await registerAs(clinic, "physicians");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        state("PUT", i % 2 ? patient : physician, {
          headers: { "If-Match": '"0"' },
          json: i % 2 ? { medical_history: `m${i}` } : { prescription: `p${i}` },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(412)]);
    expect((await json<State>(await state("GET", patient))).version).toBe(1);
  });
});

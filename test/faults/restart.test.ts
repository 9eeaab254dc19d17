/**
 * Restarts (issue 14, "Restarts and clocks"): a CareRecord Durable Object restarted between two writes keeps
 * every acknowledged write and its history. Two kinds of restart, both on the vitest pool's isolated storage:
 * an eviction (`evictDurableObject`: the instance is torn down, its storage kept, its hibernatable sockets
 * hibernated) and an abort from inside the object (`ctx.abort()`, what the platform does on an internal
 * reset: in-memory state is gone, in-flight calls fail). Nothing in the object's memory may matter.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CareRecord } from "../../src/durable-objects/care-record";
import { recordOf } from "../../src/services/care";
import { env, json } from "../helpers";
import { as, careTeam, clinicIdOf, connect, idOf, type Registered } from "../register/support";

type Field = "medical_history" | "office_visit_notes" | "prescription" | "insurer_reply";
type State = Partial<Record<Field, string>> & { version: number };
interface History {
  entries: { version: number; action: string; fields: Field[]; user_id: string; group: string }[];
}

async function team() {
  const t = await careTeam();
  const path = `/records/${t.patient.body.user.id}`;
  const clinicId = await clinicIdOf(t.clinic.code);
  // A fresh stub each time: a stub that saw its object reset stays broken (the platform's rule).
  const stub = () => recordOf(env, clinicId, idOf(t.patient));
  return { ...t, path, stub };
}

function write(path: string, who: Registered, patch: Partial<Record<Field, string>>, ifMatch?: number) {
  return as("PUT", path, who, {
    json: patch,
    headers: ifMatch === undefined ? {} : { "If-Match": `"${ifMatch}"` },
  });
}

/** The object's own rows: the record's version and its history, read inside the (restarted) object. */
function inside(stub: DurableObjectStub<CareRecord>) {
  return runInDurableObject(stub, (_o: CareRecord, ctx) => ({
    record: ctx.storage.sql.exec("SELECT version FROM record").toArray(),
    history: ctx.storage.sql.exec("SELECT version FROM audit ORDER BY version").toArray(),
  }));
}

describe("a CareRecord restarted between two writes", () => {
  it("evicted: both acknowledged writes, their history and the ETag survive, and a hibernated socket sees the next", async () => {
    const { path, stub, patient, physician } = await team();
    const first = await write(path, patient, { medical_history: "asthma" }, 0);
    expect(first.status).toBe(200);
    expect(await json(first)).toEqual({ medical_history: "asthma", version: 1 });
    const live = await connect(`${path}/live`, physician.auth);
    expect((await live.until(1))[0]).toEqual({
      type: "state",
      state: { medical_history: "asthma", version: 1 },
    });

    await evictDurableObject(stub());

    // The version is the stored one, not a fresh instance's 0: a writer holding the old ETag is refused.
    expect((await write(path, physician, { prescription: "stale" }, 0)).status).toBe(412);
    const second = await write(path, physician, { prescription: "inhaler" }, 1);
    expect(second.status).toBe(200);
    expect(await json(second)).toEqual({ medical_history: "asthma", prescription: "inhaler", version: 2 });
    expect(await json(await as("GET", path, patient))).toEqual({
      medical_history: "asthma",
      prescription: "inhaler",
      version: 2,
    });
    const history = await json<History>(await as("GET", `${path}/history`, patient));
    expect(history.entries.map((e) => [e.version, e.fields, e.user_id])).toEqual([
      [2, ["prescription"], physician.body.user.id],
      [1, ["medical_history"], patient.body.user.id],
    ]);
    // The socket was hibernated, not closed, and the restarted object pushed it the new version.
    const messages = await live.until(2);
    expect(live.closed()).toBeUndefined();
    expect(messages[1]).toEqual({
      type: "state",
      state: { medical_history: "asthma", prescription: "inhaler", version: 2 },
    });
    live.ws.close(1000);
    expect(await inside(stub())).toEqual({
      record: [{ version: 2 }],
      history: [{ version: 1 }, { version: 2 }],
    });
  });

  it("aborted from inside (ctx.abort()): every acknowledged write is kept, the next one gets the next version", async () => {
    const { path, stub, patient, physician, insurer } = await team();
    expect((await write(path, patient, { medical_history: "asthma" })).status).toBe(200);
    expect((await write(path, insurer, { insurer_reply: "approved" })).status).toBe(200);

    await expect(
      runInDurableObject(stub(), (_o: CareRecord, ctx) => ctx.abort("test restart")),
    ).rejects.toThrow();

    const after = await write(path, physician, { office_visit_notes: "seen" }, 2);
    expect(after.status).toBe(200);
    expect(await json(after)).toEqual({
      medical_history: "asthma",
      insurer_reply: "approved",
      office_visit_notes: "seen",
      version: 3,
    });
    const history = await json<History>(await as("GET", `${path}/history`, patient));
    expect(history.entries.map((e) => [e.version, e.fields])).toEqual([
      [3, ["office_visit_notes"]],
      [2, ["insurer_reply"]],
      [1, ["medical_history"]],
    ]);
    expect(await inside(stub())).toEqual({
      record: [{ version: 3 }],
      history: [{ version: 1 }, { version: 2 }, { version: 3 }],
    });
  });

  it("aborted while four writers keep writing: each write is acknowledged and kept, or refused cleanly (never a 500)", async () => {
    const { path, stub, patient, physician, insurer } = await team();
    const writers: [Registered, Field][] = [
      [patient, "medical_history"],
      [physician, "office_visit_notes"],
      [physician, "prescription"],
      [insurer, "insurer_reply"],
    ];
    // Four writers, each sending 6 writes one after another; the object is aborted once 8 have been
    // answered, while the writers' next writes are on their way.
    let answered = 0;
    let aborted: Promise<string> | undefined;
    const results = (
      await Promise.all(
        writers.map(async ([who, field], w) => {
          const out = [];
          for (let i = 0; i < 6; i++) {
            const value = `w${w}-${i}`;
            const res = await write(path, who, { [field]: value });
            answered += 1;
            if (answered === 8) {
              aborted = runInDurableObject(stub(), (_o: CareRecord, ctx) => ctx.abort("test restart")).then(
                () => "returned",
                () => "aborted",
              );
            }
            out.push({ field, value, status: res.status, body: await json<State & { error?: string }>(res) });
          }
          return out;
        }),
      )
    ).flat();
    expect(await aborted).toBe("aborted");
    for (const r of results) expect([200, 503], JSON.stringify(r.body)).toContain(r.status);
    const acked = results.filter((r) => r.status === 200);
    // A refused write says to retry, in the register family's shape.
    for (const r of results.filter((x) => x.status === 503))
      expect(r.body).toEqual({ error: expect.any(String) });

    // Every acknowledged write has its own version, carries its value, and is in the history with its field.
    const versions = acked.map((r) => r.body.version);
    expect(new Set(versions).size).toBe(versions.length);
    for (const r of acked) expect(r.body[r.field]).toBe(r.value);
    const history = await json<History>(await as("GET", `${path}/history?limit=100`, patient));
    const byVersion = new Map(history.entries.map((e) => [e.version, e.fields]));
    for (const r of acked) expect(byVersion.get(r.body.version)).toEqual([r.field]);
    // Versions strictly increase with no gap: 1..n, n the record's version.
    const final = await json<State>(await as("GET", path, patient));
    expect([...byVersion.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: final.version }, (_, i) => i + 1),
    );
    // No field lost: each field holds the value of its latest acknowledged write, or of a later write whose
    // answer the restart cut off (stored, but never acknowledged).
    for (const [, field] of writers) {
      const latestAcked = acked
        .filter((r) => r.field === field)
        .sort((a, b) => b.body.version - a.body.version)[0];
      if (!latestAcked) continue;
      const later = results.filter((r) => r.field === field && r.status !== 200).map((r) => r.value);
      expect([latestAcked.value, ...later]).toContain(final[field]);
    }
    // And the object keeps working: the next write takes the next version.
    const next = await write(path, patient, { medical_history: "after" }, final.version);
    expect(next.status).toBe(200);
    expect((await json<State>(next)).version).toBe(final.version + 1);
  });
});

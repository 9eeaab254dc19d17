/**
 * Heartbeats ("who is online"): `POST /users/alive` marks the caller alive until now + heartbeat.
 * One KV write per heartbeat; the expiry is kept in the key's metadata so that listing who is alive
 * needs no reads beyond the list itself.
 */
import { now } from "../lib/clock";
import { kvTtl } from "./keys";

export const aliveKey = (clinicId: number, userId: number) => `alive:${clinicId}:${userId}`;
const alivePrefix = (clinicId: number) => `alive:${clinicId}:`;

/** The key's metadata (a list reads it without reading values): l last_connected, u alive until. */
interface AliveMeta {
  l: number;
  u: number;
}

export interface Alive {
  lastConnected: number;
  until: number;
}

export async function markAlive(
  kv: KVNamespace,
  clinicId: number,
  userId: number,
  heartbeat: number,
): Promise<Alive> {
  const t = now();
  const meta: AliveMeta = { l: t, u: t + heartbeat };
  await kv.put(aliveKey(clinicId, userId), "", { metadata: meta, expirationTtl: kvTtl(meta.u, t) });
  return { lastConnected: t, until: meta.u };
}

/** Users of a clinic whose heartbeat has not lapsed, by user id. */
export async function aliveUsers(kv: KVNamespace, clinicId: number): Promise<Map<number, Alive>> {
  const t = now();
  const prefix = alivePrefix(clinicId);
  const out = new Map<number, Alive>();
  let cursor: string | undefined;
  do {
    const page = await kv.list<AliveMeta>({ prefix, cursor });
    for (const key of page.keys) {
      const meta = key.metadata;
      if (meta && meta.u > t)
        out.set(Number(key.name.slice(prefix.length)), { lastConnected: meta.l, until: meta.u });
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

export async function clearAlive(kv: KVNamespace, clinicId: number, userId: number): Promise<void> {
  await kv.delete(aliveKey(clinicId, userId));
}

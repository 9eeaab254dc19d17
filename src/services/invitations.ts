/**
 * Invite-only onboarding: the waitlist (one entry per email and clinic) and the invitations operators
 * issue by approving entries. An invitation code is 26 random characters (about 129 bits, so unguessable
 * and safe to store as a plain SHA-256), shown only in the invitation email, valid 30 days, and consumed
 * by the signup that uses it (services/accounts.ts).
 */
import { and, asc, count, eq } from "drizzle-orm";
import { getDb } from "../db";
import { mapRow } from "../db/rows";
import { type Clinic, waitlist } from "../db/schema";
import { now } from "../lib/clock";
import { randomString, sha256Hex } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import type { Bindings } from "../types";
import { queueMessage } from "./outbox";

export const INVITATION_TTL = 30 * 24 * 3600;
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";

export function newInvitationCode(): string {
  return randomString(26, ALPHABET);
}

export async function hashInvitation(code: string): Promise<string> {
  return sha256Hex(`invitation:${code.trim().toLowerCase()}`);
}

export type WaitlistRow = typeof waitlist.$inferSelect;

export interface WaitlistInput {
  email: string;
  mobileNo?: string;
  personalDetails?: Record<string, unknown>;
}

/** Adds an entry; the same email (case-insensitive) again adds nothing. */
export async function addToWaitlist(env: Bindings, clinicId: number, input: WaitlistInput): Promise<void> {
  const db = getDb(env.DB);
  await db
    .insert(waitlist)
    .values({
      clinicId,
      email: input.email,
      mobileNo: input.mobileNo ?? null,
      personalDetails: input.personalDetails ?? {},
      createdAt: now(),
    })
    .onConflictDoNothing()
    .run();
}

/** The waitlist entry an unused, unexpired invitation was issued for (signup prefill), or null. */
export async function entryByInvitation(
  env: Bindings,
  clinicId: number,
  code: string,
): Promise<WaitlistRow | null> {
  const row = await env.DB.prepare(
    `SELECT w.* FROM invitations i JOIN waitlist w ON w.id = i.waitlist_id AND w.clinic_id = i.clinic_id
     WHERE i.clinic_id = ? AND i.code_hash = ? AND i.used_at IS NULL AND i.expires_at > ?`,
  )
    .bind(clinicId, await hashInvitation(code), now())
    .first<Record<string, unknown>>();
  return row ? mapRow(waitlist, row) : null;
}

export async function listWaitlist(
  env: Bindings,
  clinicId: number,
  filter: { status?: "pending" | "approved"; start: number; limit: number },
) {
  const db = getDb(env.DB);
  const where = and(
    eq(waitlist.clinicId, clinicId),
    filter.status ? eq(waitlist.status, filter.status) : undefined,
  );
  const [rows, total] = await db.batch([
    db
      .select()
      .from(waitlist)
      .where(where)
      .orderBy(asc(waitlist.id))
      .limit(filter.limit)
      .offset(filter.start),
    db.select({ n: count() }).from(waitlist).where(where),
  ]);
  return { rows, total: total[0]?.n ?? 0 };
}

/**
 * Approves an entry: a new invitation (any earlier unused one of the entry stops working), the entry
 * marked approved, and the invitation email, in one batch. Approving again re-sends a new invitation.
 */
export async function approveEntry(
  env: Bindings,
  clinic: Pick<Clinic, "id" | "name">,
  entryId: number,
): Promise<{ entry: WaitlistRow; expiresAt: number; results: D1Result[] }> {
  const entry = await env.DB.prepare("SELECT id, email FROM waitlist WHERE id = ? AND clinic_id = ?")
    .bind(entryId, clinic.id)
    .first<{ id: number; email: string | null }>();
  if (!entry?.email) throw new ApiError("waitlist_entry_not_found");
  const code = newInvitationCode();
  const t = now();
  const expiresAt = t + INVITATION_TTL;
  const results = await env.DB.batch([
    env.DB.prepare(
      "UPDATE invitations SET expires_at = ? WHERE clinic_id = ? AND waitlist_id = ? AND used_at IS NULL AND expires_at > ?",
    ).bind(t, clinic.id, entry.id, t),
    env.DB.prepare(
      "INSERT INTO invitations (clinic_id, code_hash, waitlist_id, email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).bind(clinic.id, await hashInvitation(code), entry.id, entry.email, t, expiresAt),
    env.DB.prepare(
      "UPDATE waitlist SET status = 'approved', approved_at = coalesce(approved_at, ?) WHERE id = ? RETURNING *",
    ).bind(t, entry.id),
    queueMessage(env.DB, clinic.id, "email", entry.email, "invitation", { clinicName: clinic.name, code }),
  ]);
  const row = results[2]?.results[0] as Record<string, unknown>;
  return { entry: mapRow(waitlist, row), expiresAt, results: results.slice(3) };
}

/**
 * Uploaded images (profile photos, VSee `POST /files` → `photo: <file id>`). Stored in KV: images are
 * small, written once and read often. A file's URL carries an `auth_code` (HMAC of its id with a server
 * key): the URL is the capability, as in VSee's own photo URLs. Only raster images whose bytes match
 * their type are accepted (no SVG: it can carry script).
 *
 * Each file also has a row in D1 `files` (owner, size, time), written before the bytes: a user keeps at
 * most USER_QUOTA_BYTES of files and uploads at most UPLOADS_PER_HOUR files an hour (both checked by the
 * same INSERT, so parallel uploads cannot overshoot), and the cron sweep deletes files that are nobody's
 * photo once they are older than UNREFERENCED_FILE_SECONDS (an upload never used, a replaced photo).
 */
import { now } from "../lib/clock";
import { hmacHex, randomToken, safeEqual } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import type { Bindings } from "../types";

export const MAX_FILE_BYTES = 1024 * 1024;
/** What one user's files may weigh together (their photo and uploads not yet swept). */
export const USER_QUOTA_BYTES = 5 * MAX_FILE_BYTES;
export const UPLOADS_PER_HOUR = 10;
/** How long a file that is nobody's photo is kept. */
export const UNREFERENCED_FILE_SECONDS = 24 * 3600;
/** Files the sweep deletes per run (one KV call each; a Worker invocation may make about 1,000). */
export const FILE_SWEEP_CHUNK = 200;

interface FileMeta {
  /** owner user id */
  o: number;
  /** content type */
  t: string;
  /** created */
  c: number;
}

const key = (id: string) => `file:${id}`;

/** The image type of these bytes, from their signature; null when not an accepted image. */
export function sniffImage(bytes: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  if (
    starts(0x52, 0x49, 0x46, 0x46) &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  ) {
    return "image/webp";
  }
  return null;
}

/** A file id names its clinic, so that reading it never needs another lookup: `<clinicId>-<random>`. */
export function newFileId(clinicId: number): string {
  return `${clinicId}-${randomToken(12)}`;
}

export function clinicOfFile(id: string): number | null {
  const m = /^(\d{1,12})-[0-9a-f]{24}$/.exec(id);
  return m ? Number(m[1]) : null;
}

/**
 * Stores an upload of `ownerId`: first its row, inserted only while the owner stays under the quota and
 * the hourly rate (one statement), then the bytes. Throws 429 `upload_rate_limited` or 403
 * `upload_quota_exceeded` when the row is refused.
 */
export async function putFile(
  env: Bindings,
  clinicId: number,
  ownerId: number,
  type: string,
  bytes: Uint8Array,
) {
  const id = newFileId(clinicId);
  const t = now();
  const row = await env.DB.prepare(
    `INSERT INTO files (id, clinic_id, owner_id, size, created_at)
     SELECT ?1, ?2, ?3, ?4, ?5
     WHERE (SELECT COUNT(*) FROM files WHERE clinic_id = ?2 AND owner_id = ?3 AND created_at > ?5 - 3600) < ?6
       AND (SELECT COALESCE(SUM(size), 0) FROM files WHERE clinic_id = ?2 AND owner_id = ?3) + ?4 <= ?7
     RETURNING id`,
  )
    .bind(id, clinicId, ownerId, bytes.byteLength, t, UPLOADS_PER_HOUR, USER_QUOTA_BYTES)
    .first<{ id: string }>();
  if (!row) {
    const recent = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM files WHERE clinic_id = ? AND owner_id = ? AND created_at > ?",
    )
      .bind(clinicId, ownerId, t - 3600)
      .first<{ n: number }>();
    if ((recent?.n ?? 0) >= UPLOADS_PER_HOUR)
      throw new ApiError("upload_rate_limited", { headers: { "Retry-After": "3600" } });
    throw new ApiError("upload_quota_exceeded");
  }
  const meta: FileMeta = { o: ownerId, t: type, c: t };
  try {
    await env.KV.put(key(id), bytes, { metadata: meta });
  } catch (err) {
    // No bytes, no row: the upload did not happen, and does not count.
    await env.DB.prepare("DELETE FROM files WHERE id = ?").bind(id).run();
    throw err;
  }
  return id;
}

/**
 * Deletes up to `limit` files that are nobody's photo and older than UNREFERENCED_FILE_SECONDS: the D1
 * rows first (the statement itself re-checks that no user took the file as photo meanwhile), then the
 * bytes of the rows it deleted. Returns how many it deleted.
 */
export async function sweepFiles(env: Bindings, limit = FILE_SWEEP_CHUNK): Promise<number> {
  const { results } = await env.DB.prepare(
    `DELETE FROM files WHERE id IN (
       SELECT f.id FROM files f
       WHERE f.created_at <= ?1
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.clinic_id = f.clinic_id AND u.photo = f.id)
       ORDER BY f.created_at LIMIT ?2
     )
     AND NOT EXISTS (SELECT 1 FROM users u WHERE u.clinic_id = files.clinic_id AND u.photo = files.id)
     RETURNING id`,
  )
    .bind(now() - UNREFERENCED_FILE_SECONDS, limit)
    .all<{ id: string }>();
  await Promise.all(results.map((r) => env.KV.delete(key(r.id))));
  return results.length;
}

export async function getFile(env: Bindings, id: string) {
  const { value, metadata } = await env.KV.getWithMetadata<FileMeta>(key(id), "arrayBuffer");
  if (!value || !metadata) return null;
  return { bytes: value, type: metadata.t, owner: metadata.o };
}

/**
 * The owner of a file of this clinic (null when it does not exist, was swept, or belongs to another
 * clinic). Read from D1, which the sweep deletes from first, so that a swept file is never taken as photo.
 */
export async function fileOwner(env: Bindings, clinicId: number, id: string): Promise<number | null> {
  if (clinicOfFile(id) !== clinicId) return null;
  const row = await env.DB.prepare("SELECT owner_id FROM files WHERE id = ? AND clinic_id = ?")
    .bind(id, clinicId)
    .first<{ owner_id: number }>();
  return row?.owner_id ?? null;
}

export function authCode(env: Pick<Bindings, "JWT_SECRET">, id: string): Promise<string> {
  return hmacHex(env.JWT_SECRET, `file:${id}`).then((h) => h.slice(0, 40));
}

/** A file URL's auth_code: made with JWT_SECRET, or (URLs handed out before a rotation) the previous one. */
export async function checkAuthCode(env: Bindings, id: string, code: string): Promise<boolean> {
  if (safeEqual(await authCode(env, id), code)) return true;
  return env.JWT_SECRET_PREVIOUS
    ? safeEqual(await authCode({ JWT_SECRET: env.JWT_SECRET_PREVIOUS }, id), code)
    : false;
}

/** The public URL of a file (null for no file). */
export async function fileUrl(env: Bindings, origin: string, id: string | null): Promise<string | null> {
  if (!id) return null;
  return `${origin}/api_v3/files/${id}?auth_code=${await authCode(env, id)}`;
}

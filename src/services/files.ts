/**
 * Uploaded images (profile photos, VSee `POST /files` → `photo: <file id>`). Stored in KV: images are
 * small, written once and read often. A file's URL carries an `auth_code` (HMAC of its id with a server
 * key): the URL is the capability, as in VSee's own photo URLs. Only raster images whose bytes match
 * their type are accepted (no SVG: it can carry script).
 */
import { now } from "../lib/clock";
import { hmacHex, randomToken, safeEqual } from "../lib/crypto";
import type { Bindings } from "../types";

export const MAX_FILE_BYTES = 1024 * 1024;

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

export async function putFile(
  env: Bindings,
  clinicId: number,
  ownerId: number,
  type: string,
  bytes: Uint8Array,
) {
  const id = newFileId(clinicId);
  const meta: FileMeta = { o: ownerId, t: type, c: now() };
  await env.KV.put(key(id), bytes, { metadata: meta });
  return id;
}

export async function getFile(env: Bindings, id: string) {
  const { value, metadata } = await env.KV.getWithMetadata<FileMeta>(key(id), "arrayBuffer");
  if (!value || !metadata) return null;
  return { bytes: value, type: metadata.t, owner: metadata.o };
}

/** The owner of a file of this clinic (null when it does not exist or belongs to another clinic). */
export async function fileOwner(env: Bindings, clinicId: number, id: string): Promise<number | null> {
  if (clinicOfFile(id) !== clinicId) return null;
  const { value, metadata } = await env.KV.getWithMetadata<FileMeta>(key(id), { type: "stream" });
  await value?.cancel();
  return metadata?.o ?? null;
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

/**
 * Password hashing: argon2id (OWASP parameters m=19 MiB, t=2, p=1) in WebAssembly, stored as a PHC
 * string so that parameters can be raised later (`needsRehash`). The password's UTF-8 bytes are hashed.
 * Verification of an unknown user hashes against a dummy so that timing does not reveal who exists.
 */

import noSimdModule from "argon2id/dist/no-simd.wasm";
import simdModule from "argon2id/dist/simd.wasm";
import setupWasm from "argon2id/lib/setup.js";
import { decodeBase64, encodeBase64 } from "hono/utils/encode";
import { randomBytes, safeEqual } from "./crypto";

export const ARGON2_PARAMS = { memorySize: 19456, passes: 2, parallelism: 1, tagLength: 32 } as const;

/** The policy's bounds; argon2id (this implementation) needs at least 8 bytes of input. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

type Compute = Awaited<ReturnType<typeof setupWasm>>;
let compute: Promise<Compute> | undefined;

function argon2(): Promise<Compute> {
  compute ??= setupWasm(
    async (imports) => ({ instance: await WebAssembly.instantiate(simdModule, imports) }) as never,
    async (imports) => ({ instance: await WebAssembly.instantiate(noSimdModule, imports) }) as never,
  );
  return compute;
}

/** The PHC string format's base64: standard alphabet, no padding. */
function b64(bytes: Uint8Array): string {
  return encodeBase64(bytes.slice().buffer).replace(/=+$/, "");
}

interface Phc {
  m: number;
  t: number;
  p: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

function parsePhc(phc: string): Phc | null {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc);
  if (!m) return null;
  return {
    m: Number(m[1]),
    t: Number(m[2]),
    p: Number(m[3]),
    salt: decodeBase64(m[4] as string),
    hash: decodeBase64(m[5] as string),
  };
}

async function derive(password: Uint8Array, salt: Uint8Array, m: number, t: number, p: number, len: number) {
  const run = await argon2();
  return run({ password, salt, memorySize: m, passes: t, parallelism: p, tagLength: len });
}

export async function hashPassword(password: string): Promise<string> {
  const bytes = new TextEncoder().encode(password);
  if (bytes.byteLength < PASSWORD_MIN) throw new Error("password below the policy minimum");
  if (!password.isWellFormed()) throw new Error("password is not well-formed UTF-16");
  const salt = randomBytes(16);
  const { memorySize: m, passes: t, parallelism: p, tagLength } = ARGON2_PARAMS;
  const hash = await derive(bytes, salt, m, t, p, tagLength);
  return `$argon2id$v=19$m=${m},t=${t},p=${p}$${b64(salt)}$${b64(hash)}`;
}

// A fixed hash of a random password: verifying against it costs the same as a real verification.
let dummy: Promise<string> | undefined;

/**
 * Verifies `password` against a stored PHC string; with `stored` null (unknown user or no password yet)
 * it spends the same time and returns false.
 */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  dummy ??= hashPassword(crypto.randomUUID());
  const phc = parsePhc(stored ?? "") ?? parsePhc(await dummy);
  if (!phc) return false;
  let bytes = new TextEncoder().encode(password);
  const tooShort = bytes.byteLength < PASSWORD_MIN;
  if (tooShort) bytes = new TextEncoder().encode(password.padEnd(PASSWORD_MIN, "\u0000"));
  const hash = await derive(bytes, phc.salt, phc.m, phc.t, phc.p, phc.hash.byteLength);
  const ok = safeEqual(b64(hash), b64(phc.hash));
  // A lone surrogate never matches (its UTF-8 bytes would equal U+FFFD's): same work, then false.
  return ok && !tooShort && password.isWellFormed() && parsePhc(stored ?? "") !== null;
}

/** True when a stored hash uses weaker parameters than today's (rehash it after a successful login). */
export function needsRehash(stored: string): boolean {
  const phc = parsePhc(stored);
  return !phc || phc.m < ARGON2_PARAMS.memorySize || phc.t < ARGON2_PARAMS.passes;
}

/**
 * Small crypto helpers: random tokens, SHA-256/HMAC digests (how every token and code is stored),
 * constant-time comparison, base64url (Hono's encoder, unpadded), and AES-GCM for secrets kept at rest
 * (MFA seeds). WebCrypto throughout, but for the SHA-256 of short strings (below).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { decodeBase64Url, encodeBase64Url } from "hono/utils/encode";

const encoder = new TextEncoder();

/** Hex of bytes (@noble/hashes': the runtime's `Uint8Array.prototype.toHex` where there is one). */
export { bytesToHex };

/** base64url without padding (RFC 4648 §5, as JWTs and our opaque keys write it). */
export function base64url(bytes: Uint8Array): string {
  return encodeBase64Url(bytes.slice().buffer).replace(/=+$/, "");
}

export function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** An opaque token: `bytes` random bytes as hex (16 bytes = 128 bits = 32 hex characters, VSee's format). */
export function randomToken(bytes = 16): string {
  return bytesToHex(randomBytes(bytes));
}

/** A uniformly random string over `alphabet` (rejection sampling, no modulo bias). */
export function randomString(length: number, alphabet: string): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit) out += alphabet[b % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * SHA-256 as hex, of what is hashed before it is stored or looked up: tokens, codes, keys, identities
 * (tens of bytes, on every authenticated request). For inputs that short, @noble/hashes' synchronous
 * SHA-256 costs about half of WebCrypto's `digest` in workerd (~3 µs against ~6 µs, measured) and needs
 * no promise; WebCrypto stays for HMAC, AES and anything long.
 */
export function sha256Hex(value: string | Uint8Array): string {
  return bytesToHex(sha256(typeof value === "string" ? encoder.encode(value) : value));
}

/**
 * `make`, computed once per isolate and key: keys imported from configured secrets and what is derived
 * from them (a handful of values, so the cache needs no eviction).
 */
export function memoize<T>(make: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = make(key);
      cache.set(key, value);
    }
    return value;
  };
}

/** The HMAC-SHA-256 key of a secret (digests here, HS256 JWTs in lib/jwt). */
export const hmacKey = memoize(
  (secret): Promise<CryptoKey> =>
    crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]),
);

export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message)));
}

export async function hmacHex(secret: string, message: string): Promise<string> {
  return bytesToHex(await hmacSha256(secret, message));
}

/** Constant-time equality of two strings (compared as UTF-8 bytes; different lengths are unequal). */
export function safeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.byteLength !== y.byteLength) {
    // Compare against itself so that the time spent does not depend on where the inputs differ.
    crypto.subtle.timingSafeEqual(x, x);
    return false;
  }
  return crypto.subtle.timingSafeEqual(x, y);
}

async function aesKey(base64Key: string): Promise<CryptoKey> {
  const raw = decodeBase64Url(base64Key.replace(/=+$/, ""));
  if (raw.byteLength !== 32) throw new Error("MFA_ENCRYPTION_KEY must be 32 bytes, base64");
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** A short, non-secret id of an encryption key, written into what it seals (to pick the key to open it). */
export async function keyId(base64Key: string): Promise<string> {
  return (await sha256Hex(`secret-key:${base64Key}`)).slice(0, 12);
}

/**
 * Encrypts `plain` with AES-256-GCM under a fresh random IV: `v2.<key id>.<iv>.<ciphertext>` (base64url;
 * the tag is part of the ciphertext). Older values are `v1.<iv>.<ciphertext>`, without the key id.
 */
export async function encryptSecret(base64Key: string, plain: string): Promise<string> {
  const iv = randomBytes(12);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv },
    await aesKey(base64Key),
    encoder.encode(plain),
  );
  return `v2.${await keyId(base64Key)}.${base64url(iv)}.${base64url(new Uint8Array(sealed))}`;
}

/**
 * Opens a sealed secret with the key among `keys` (current first, then the previous one during a
 * rotation) that sealed it: a v2 value names its key; a v1 value is tried with each. Returns the secret
 * and the key that opened it; throws when none does (GCM refuses a wrong key or a tampered value).
 */
export async function decryptSecret(
  keys: (string | undefined)[],
  sealed: string,
): Promise<{ plain: string; key: string }> {
  const parts = sealed.split(".");
  const [version] = parts;
  const [kid, iv, data] = version === "v2" ? parts.slice(1) : [undefined, ...parts.slice(1)];
  if ((version !== "v1" && version !== "v2") || !iv || !data) throw new Error("unknown secret format");
  for (const key of keys) {
    if (!key || (kid !== undefined && kid !== (await keyId(key)))) continue;
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: decodeBase64Url(iv) },
        await aesKey(key),
        decodeBase64Url(data),
      );
      return { plain: new TextDecoder().decode(plain), key };
    } catch {
      // Not this key (v1 values name none): try the next.
    }
  }
  throw new Error("no configured key opens this secret");
}

/**
 * Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) by `otpauth`: HMAC-SHA1, 30-second steps,
 * 6 digits, the secret exchanged in base32 inside an `otpauth://` URI (Google Authenticator's key URI
 * format), which authenticator apps read from a QR code. What stays here is the policy: the drift window
 * and the matched step that the caller keeps to refuse a replay.
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { encodeBase64 } from "hono/utils/encode";
import { HOTP, Secret, TOTP } from "otpauth/bare";
import { renderSVG } from "uqr";

export const TOTP_STEP = 30;
export const TOTP_DIGITS = 6;
/** Steps either side of the current one that are still accepted (clock drift between phone and server). */
export const TOTP_WINDOW = 1;

/**
 * The parameters every code is computed with (and that the key URI tells the authenticator app). The
 * HMAC-SHA1 is @noble/hashes' (otpauth's own dependency), passed in so that the bundle carries SHA-1 only
 * rather than every hash otpauth's default build includes.
 */
const PARAMS = {
  algorithm: "SHA1",
  digits: TOTP_DIGITS,
  period: TOTP_STEP,
  hmac: (_algorithm: string, key: Uint8Array, message: Uint8Array) => hmac(sha1, key, message),
} as const;

/** A new secret: 160 random bits (RFC 4226's recommended length), base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The HOTP value of one counter (a step number; tests compute codes with it). */
export function hotp(secret: string, counter: number): string {
  return HOTP.generate({ secret: Secret.fromBase32(secret), ...PARAMS, counter });
}

/** The step (counter) of a unix time in seconds. */
export function totpStep(unixSeconds: number): number {
  return Math.floor(unixSeconds / TOTP_STEP);
}

/**
 * Checks a code against the steps around `unixSeconds` (±TOTP_WINDOW). Returns the matching step (so
 * that the caller can refuse a replay of it or of an earlier step), or null. otpauth compares each
 * candidate in constant time.
 */
export function verifyTotp(secret: string, code: string, unixSeconds: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const totp = new TOTP({ secret: Secret.fromBase32(secret), ...PARAMS });
  const delta = totp.validate({ token: code, timestamp: unixSeconds * 1000, window: TOTP_WINDOW });
  return delta === null ? null : totpStep(unixSeconds) + delta;
}

/** The key URI authenticator apps import: otpauth://totp/Issuer:account?issuer=…&secret=…&… */
export function otpauthUri(secret: string, issuer: string, account: string): string {
  return new TOTP({ issuer, label: account, secret: Secret.fromBase32(secret), ...PARAMS }).toString();
}

/** A QR code of `text` as an SVG data URL (an image clients can put straight into an <img>). */
export function qrDataUrl(text: string): string {
  const svg = renderSVG(text, { border: 2, pixelSize: 6 });
  return `data:image/svg+xml;base64,${encodeBase64(new TextEncoder().encode(svg).buffer)}`;
}

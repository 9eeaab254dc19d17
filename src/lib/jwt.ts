/**
 * Compact JWTs over WebCrypto, with the algorithm pinned by the caller (a token's own `alg` header is
 * never trusted, so `none` and algorithm confusion are refused).
 *   HS256 — accounts-family access tokens, signed with JWT_SECRET (JWT_SECRET_PREVIOUS still verifies).
 *   ES256 — register-family assertions, signed with SIGNING_KEY (a private P-256 JWK with `kid`);
 *           the public keys are published as a JWKS.
 */

import { now } from "./clock";
import { base64url, fromBase64url } from "./crypto";

export type JwtPayload = Record<string, unknown> & { exp?: number; iat?: number; nbf?: number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodePart(value: unknown): string {
  return base64url(encoder.encode(JSON.stringify(value)));
}

function decodePart<T>(part: string): T | null {
  try {
    return JSON.parse(decoder.decode(fromBase64url(part))) as T;
  } catch {
    return null;
  }
}

// ---------- keys ----------

const hsKeys = new Map<string, Promise<CryptoKey>>();

function hsKey(secret: string): Promise<CryptoKey> {
  let key = hsKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    hsKeys.set(secret, key);
  }
  return key;
}

const kids = new Map<string, Promise<string>>();

/** A short, non-secret id for an HMAC secret (so a verifier can pick the right one during rotation). */
export function hsKid(secret: string): Promise<string> {
  let kid = kids.get(secret);
  if (!kid) {
    kid = crypto.subtle
      .digest("SHA-256", encoder.encode(`kid:${secret}`))
      .then((d) => base64url(new Uint8Array(d).slice(0, 6)));
    kids.set(secret, kid);
  }
  return kid;
}

export interface EcKeyPair {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JsonWebKey & { kid: string; alg: "ES256"; use: "sig" };
}

const ecKeys = new Map<string, Promise<EcKeyPair>>();

/** Parses a private P-256 JWK (the SIGNING_KEY secret). */
export function ecKeyPair(jwkText: string): Promise<EcKeyPair> {
  let pair = ecKeys.get(jwkText);
  if (!pair) {
    pair = (async () => {
      const jwk = JSON.parse(jwkText) as JsonWebKey & { kid?: string };
      if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d)
        throw new Error("SIGNING_KEY must be a private P-256 JWK");
      const { d: _d, key_ops: _ops, ext: _ext, ...pub } = jwk;
      const kid = jwk.kid ?? (await hsKid(`${jwk.x}.${jwk.y}`));
      const privateKey = await crypto.subtle.importKey(
        "jwk",
        { ...jwk, key_ops: ["sign"] },
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["sign"],
      );
      return { kid, privateKey, publicJwk: { ...pub, kid, alg: "ES256" as const, use: "sig" as const } };
    })();
    ecKeys.set(jwkText, pair);
  }
  return pair;
}

const pems = new Map<string, Promise<string>>();

/** The public half of a key pair as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo). */
export function spkiPem(pair: EcKeyPair): Promise<string> {
  const id = `${pair.publicJwk.x}.${pair.publicJwk.y}`;
  let pem = pems.get(id);
  if (!pem) {
    pem = (async () => {
      const { kid: _kid, alg: _alg, use: _use, ...jwk } = pair.publicJwk;
      const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, true, [
        "verify",
      ]);
      const der = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
      const b64 = btoa(String.fromCharCode(...der));
      const lines = b64.match(/.{1,64}/g) ?? [];
      return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
    })();
    pems.set(id, pem);
  }
  return pem;
}

// ---------- sign ----------

export async function signHs256(payload: JwtPayload, secret: string): Promise<string> {
  const header = { alg: "HS256", typ: "JWT", kid: await hsKid(secret) };
  const input = `${encodePart(header)}.${encodePart(payload)}`;
  const sig = await crypto.subtle.sign("HMAC", await hsKey(secret), encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(sig))}`;
}

export async function signEs256(payload: JwtPayload, key: EcKeyPair): Promise<string> {
  const header = { alg: "ES256", typ: "JWT", kid: key.kid };
  const input = `${encodePart(header)}.${encodePart(payload)}`;
  const sig = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key.privateKey,
    encoder.encode(input),
  );
  return `${input}.${base64url(new Uint8Array(sig))}`;
}

// ---------- verify ----------

interface Parsed {
  header: { alg?: string; kid?: string; typ?: string };
  payload: JwtPayload;
  input: Uint8Array;
  signature: Uint8Array;
}

function parse(token: string): Parsed | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return null;
  const [h, p, s] = parts as [string, string, string];
  const header = decodePart<Parsed["header"]>(h);
  const payload = decodePart<JwtPayload>(p);
  if (!header || !payload || typeof payload !== "object" || Array.isArray(payload)) return null;
  return { header, payload, input: encoder.encode(`${h}.${p}`), signature: fromBase64url(s) };
}

function timely(payload: JwtPayload, t: number): boolean {
  if (typeof payload.exp !== "number" || payload.exp <= t) return false;
  if (typeof payload.nbf === "number" && payload.nbf > t + 30) return false;
  return true;
}

/**
 * Verifies an HS256 token against the current secret and, during a rotation, the previous one: the
 * token's `kid` names which (a token without one is tried against each; one naming no configured secret
 * is refused). Returns the payload, or null when the token is malformed, not HS256, forged or expired.
 */
export async function verifyHs256(
  token: string,
  secrets: (string | undefined)[],
): Promise<JwtPayload | null> {
  const parsed = parse(token);
  if (parsed?.header.alg !== "HS256") return null;
  const kid = parsed.header.kid;
  for (const secret of secrets) {
    if (!secret) continue;
    if (kid !== undefined && kid !== (await hsKid(secret))) continue;
    const ok = await crypto.subtle.verify("HMAC", await hsKey(secret), parsed.signature, parsed.input);
    if (ok) return timely(parsed.payload, now()) ? parsed.payload : null;
  }
  return null;
}

/** Verifies an ES256 token with a public JWK (the JWKS entry of its `kid`). */
export async function verifyEs256(token: string, publicJwk: JsonWebKey): Promise<JwtPayload | null> {
  const parsed = parse(token);
  if (parsed?.header.alg !== "ES256") return null;
  const key = await crypto.subtle.importKey(
    "jwk",
    { ...publicJwk, key_ops: ["verify"] },
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    parsed.signature,
    parsed.input,
  );
  return ok && timely(parsed.payload, now()) ? parsed.payload : null;
}

/** The header of a token without verifying it (to pick a key by `kid`). */
export function peekHeader(token: string): Parsed["header"] | null {
  return parse(token)?.header ?? null;
}

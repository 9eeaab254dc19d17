/**
 * Compact JWTs by `jose`, with the algorithm pinned by the caller (a token's own `alg` header is never
 * trusted, so `none` and algorithm confusion are refused) and the time read from the injectable clock.
 *   HS256 — accounts-family access tokens, signed with JWT_SECRET (JWT_SECRET_PREVIOUS still verifies).
 *   ES256 — register-family assertions, signed with SIGNING_KEY (a private P-256 JWK with `kid`);
 *           the public keys are published as a JWKS.
 * What stays here is the rotation by `kid`: which configured key a token names.
 */
import {
  decodeProtectedHeader,
  errors,
  exportSPKI,
  importJWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
  SignJWT,
} from "jose";
import { nowMs } from "./clock";
import { base64url, hmacKey, memoize } from "./crypto";

export type JwtPayload = JWTPayload;

const encoder = new TextEncoder();

/** Every token carries an expiry; the algorithm is the caller's, never the token's. */
function verifyOptions(alg: "HS256" | "ES256"): JWTVerifyOptions {
  return { algorithms: [alg], requiredClaims: ["exp"], currentDate: new Date(nowMs()) };
}

/** A token's verified payload, or null when jose refuses it (malformed, another algorithm, forged, expired). */
async function verified(
  token: string,
  key: CryptoKey | JWTVerifyGetKey,
  alg: "HS256" | "ES256",
): Promise<JwtPayload | null> {
  try {
    return (await jwtVerify(token, key, verifyOptions(alg))).payload;
  } catch (err) {
    if (err instanceof errors.JOSEError) return null;
    throw err;
  }
}

// ---------- keys ----------

/** A short, non-secret id for an HMAC secret (so a verifier can pick the right one during rotation). */
export const hsKid = memoize(
  (secret): Promise<string> =>
    crypto.subtle
      .digest("SHA-256", encoder.encode(`kid:${secret}`))
      .then((d) => base64url(new Uint8Array(d).slice(0, 6))),
);

export interface EcKeyPair {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JsonWebKey & { kid: string; alg: "ES256"; use: "sig" };
}

/** Parses a private P-256 JWK (the SIGNING_KEY secret). */
export const ecKeyPair = memoize(async (jwkText): Promise<EcKeyPair> => {
  const jwk = JSON.parse(jwkText) as JsonWebKey & { kid?: string };
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d)
    throw new Error("SIGNING_KEY must be a private P-256 JWK");
  const { d: _d, key_ops: _ops, ext: _ext, ...pub } = jwk;
  const kid = jwk.kid ?? (await hsKid(`${jwk.x}.${jwk.y}`));
  const { key_ops: _k, ext: _e, alg: _a, ...priv } = jwk;
  const privateKey = (await importJWK(priv, "ES256", { extractable: false })) as CryptoKey;
  return { kid, privateKey, publicJwk: { ...pub, kid, alg: "ES256" as const, use: "sig" as const } };
});

/** The public key of a JWKS entry, as jose imports it for ES256. */
function ecPublicKey(publicJwk: JsonWebKey, extractable = false): Promise<CryptoKey> {
  const { kty, crv, x, y } = publicJwk;
  return importJWK({ kty, crv, x, y }, "ES256", { extractable }) as Promise<CryptoKey>;
}

/** The PEM of a public key named by its coordinates (`x.y`). */
const pemOf = memoize((xy): Promise<string> => {
  const [x, y] = xy.split(".");
  return ecPublicKey({ kty: "EC", crv: "P-256", x, y }, true).then(
    async (key) => `${await exportSPKI(key)}\n`,
  );
});

/** The public half of a key pair as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo), newline-terminated. */
export function spkiPem(pair: EcKeyPair): Promise<string> {
  return pemOf(`${pair.publicJwk.x}.${pair.publicJwk.y}`);
}

// ---------- sign ----------

export async function signHs256(payload: JwtPayload, secret: string): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: await hsKid(secret) })
    .sign(await hmacKey(secret));
}

export async function signEs256(payload: JwtPayload, key: EcKeyPair): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: key.kid })
    .sign(key.privateKey);
}

// ---------- verify ----------

/**
 * HS256 tokens this isolate has verified, by their text, for one set of secrets (other secrets empty it):
 * an access token is presented on every request of its session, and a token seen before skips jose's
 * decoding and the HMAC. Only the signature's verdict is kept: the expiry (and `nbf`) is checked again
 * on every use, against the injectable clock, and whether the session is live is the caller's KV read.
 * At most VERIFIED_MAX tokens, the oldest leaving first.
 */
const verifiedTokens = new Map<string, Map<string, Readonly<JwtPayload>>>();
const VERIFIED_MAX = 1024;

function verifiedUnder(secrets: (string | undefined)[]): Map<string, Readonly<JwtPayload>> {
  const key = secrets.map((s) => s ?? "").join("\n");
  let tokens = verifiedTokens.get(key);
  if (!tokens) {
    verifiedTokens.clear();
    tokens = new Map();
    verifiedTokens.set(key, tokens);
  }
  return tokens;
}

/** jose's time checks, without clock tolerance: `exp` still ahead, `nbf` (when present) reached. */
function inTime(payload: JwtPayload): boolean {
  const t = Math.floor(nowMs() / 1000);
  return (
    typeof payload.exp === "number" &&
    payload.exp > t &&
    !(typeof payload.nbf === "number" && payload.nbf > t)
  );
}

/**
 * Verifies an HS256 token against the current secret and, during a rotation, the previous one: the
 * token's `kid` names which (every token signHs256 makes carries one; a token without one, or naming no
 * configured secret, is refused). Returns the payload (frozen: it may be shared with the next request
 * presenting the same token), or null when the token is malformed, not HS256, forged or expired.
 */
export async function verifyHs256(
  token: string,
  secrets: (string | undefined)[],
): Promise<Readonly<JwtPayload> | null> {
  const known = verifiedUnder(secrets);
  const seen = known.get(token);
  if (seen) {
    if (inTime(seen)) return seen;
    known.delete(token);
    return null;
  }
  // jose parses the header once, refuses any algorithm but HS256, then asks for the key its `kid` names.
  const payload = await verified(
    token,
    async ({ kid }) => {
      for (const secret of secrets) {
        if (secret && typeof kid === "string" && kid === (await hsKid(secret))) return hmacKey(secret);
      }
      throw new errors.JWKSNoMatchingKey();
    },
    "HS256",
  );
  if (!payload) return null;
  if (known.size >= VERIFIED_MAX) known.delete(known.keys().next().value as string);
  known.set(token, Object.freeze(payload));
  return payload;
}

/** Verifies an ES256 token with a public JWK (the JWKS entry of its `kid`). */
export async function verifyEs256(token: string, publicJwk: JsonWebKey): Promise<JwtPayload | null> {
  if (peekHeader(token)?.alg !== "ES256") return null;
  return verified(token, await ecPublicKey(publicJwk), "ES256");
}

/** The header of a token without verifying it (to pick a key by `kid`); null when it is not a JWS. */
export function peekHeader(token: string): { alg?: string; kid?: string; typ?: string } | null {
  if (token.split(".").length !== 3) return null;
  try {
    return decodeProtectedHeader(token);
  } catch {
    return null;
  }
}

/**
 * Malformed and forged access tokens on the accounts family: always a Feathers 401 NotAuthenticated,
 * never a 500 (issue 16 #7: `Bearer e30.e30.A`, whose signature segment is not base64url, used to throw
 * outside the verifier's try).
 */
import { decodeBase64Url } from "hono/utils/encode";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { base64url } from "../../src/lib/crypto";
import { hsKid } from "../../src/lib/jwt";
import { call, env } from "../helpers";
import { account, act, bearer, expectFeathersError, type Tenant, tenant } from "./support";

const b64 = (v: unknown) => base64url(new TextEncoder().encode(JSON.stringify(v)));
const secret = () => new TextEncoder().encode(env.JWT_SECRET);

/** Tokens that must all be refused, built around a real token's segments and claims. */
async function badTokens(accessToken: string): Promise<Record<string, string>> {
  const [h, p, s] = accessToken.split(".") as [string, string, string];
  const claims = JSON.parse(new TextDecoder().decode(decodeBase64Url(p)));
  const kid = await hsKid(env.JWT_SECRET);
  const signed = (header: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(secret());
  return {
    "the finding: e30.e30.A": "e30.e30.A",
    "HS256 header with the right kid, bad signature": `${b64({ alg: "HS256", typ: "JWT", kid })}.${p}.A`,
    "bad base64 in the header": `A.${p}.${s}`,
    "bad characters in the header": `${h}*.${p}.${s}`,
    "bad base64 in the payload": `${h}.A.${s}`,
    "bad characters in the payload": `${h}.${p}*.${s}`,
    "bad base64 in the signature": `${h}.${p}.A`,
    "bad characters in the signature": `${h}.${p}.${s}*`,
    "a header that is not JSON": `${base64url(new TextEncoder().encode("{alg"))}.${p}.${s}`,
    "a header that is an array": `${b64(["HS256"])}.${p}.${s}`,
    "a payload that is not an object": `${h}.${b64("sub")}.${s}`,
    "alg none": `${b64({ alg: "none", typ: "JWT", kid })}.${p}.`,
    "alg HS512, signed with the real secret": await signed({ alg: "HS512", typ: "JWT", kid }),
    "no kid, signed with the real secret": await signed({ alg: "HS256", typ: "JWT" }),
    "an unknown kid, signed with the real secret": await signed({ alg: "HS256", typ: "JWT", kid: "nope" }),
    "two segments": `${h}.${p}`,
    "four segments": `${h}.${p}.${s}.${s}`,
    "one segment": h,
    "empty segments": "..",
  };
}

const HUGE = { "a huge token": `${"e30"}.${"A".repeat(256 * 1024)}.A` };

interface Route {
  name: string;
  send: (t: Tenant, a: Awaited<ReturnType<typeof account>>, token: string) => Promise<Response>;
  /** Routes that take the token in the body or the path cap it at 4 KiB by their schemas: no huge one. */
  huge: boolean;
}

const withBearer = (t: Tenant, token: string) => ({ ...t.headers, ...bearer(token) });

const routes: Route[] = [
  {
    name: "GET /accounts/:uid",
    send: (t, a, x) => call("GET", `/accounts/${a.uid}`, { headers: withBearer(t, x) }),
    huge: true,
  },
  {
    name: "PATCH /accounts/:uid",
    send: (t, a, x) => call("PATCH", `/accounts/${a.uid}`, { headers: withBearer(t, x), json: {} }),
    huge: true,
  },
  {
    name: "GET /personal-details/:id",
    send: (t, a, x) => call("GET", `/personal-details/${a.uid}`, { headers: withBearer(t, x) }),
    huge: true,
  },
  {
    name: "DELETE /authentication",
    send: (t, _a, x) => call("DELETE", "/authentication", { headers: withBearer(t, x) }),
    huge: true,
  },
  {
    name: "POST /authentication setupMFA",
    send: (t, _a, x) => act(t, { action: "setupMFA", enable: true }, bearer(x)),
    huge: true,
  },
  {
    name: "POST /authentication strategy jwt",
    send: (t, _a, x) => act(t, { strategy: "jwt", accessToken: x }),
    huge: false,
  },
  {
    name: "DELETE /authentication/:accessToken",
    send: (t, _a, x) => call("DELETE", `/authentication/${encodeURIComponent(x)}`, { headers: t.headers }),
    huge: false,
  },
];

describe("malformed access tokens (issue 16 #7): always 401 NotAuthenticated in the Feathers shape", () => {
  it.each(routes)("$name", async ({ name, send, huge }) => {
    const t = await tenant();
    const a = await account(t);
    const tokens = { ...(await badTokens(a.tokens.accessToken)), ...(huge ? HUGE : {}) };
    for (const [what, token] of Object.entries(tokens)) {
      // `/authentication/..` is a dot segment: the URL names another route.
      if (token === ".." && name.includes(":accessToken")) continue;
      const res = await send(t, a, token);
      expect(res.status, `${name}: ${what}`).toBe(401);
      const body = await expectFeathersError(res, 401);
      expect(body.name, `${name}: ${what}`).toBe("NotAuthenticated");
    }
    // The route works with the real token, and none of the above ended the session.
    expect((await send(t, a, a.tokens.accessToken)).status, name).toBeLessThan(400);
  });
});

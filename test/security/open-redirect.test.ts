/**
 * Open redirect (issue 16, finding 3): `next` at GET /auth and at the portal's /login form. Payloads from
 * the OWASP and PortSwigger open-redirect lists (encodings, dot segments, backslashes, tabs, `@`, unicode
 * slashes) plus the eight that escaped the input-only check (`/.//`, `/%2e//`, …). Every answer is checked
 * the way a browser uses it: the Location header resolved with WHATWG `URL` against the page's URL must
 * stay on the portal's origin.
 */
import { describe, expect, it } from "vitest";
import { call, createClinic } from "../helpers";
import { loginForm, ORIGIN, submitLogin } from "../portal/support";
import { setPassword, sso } from "../vsee/support";

const EVIL = "evil.example";

/** Raw `next` values (the test percent-encodes each one into the query or form as a browser would). */
const PAYLOADS: string[] = [
  // protocol-relative and absolute
  `//${EVIL}`,
  `///${EVIL}`,
  `////${EVIL}`,
  `https://${EVIL}`,
  `http://${EVIL}`,
  `HTTPS://${EVIL}`,
  `https:${EVIL}`,
  `http:/${EVIL}`,
  `https:/\\${EVIL}`,
  `//${EVIL}/%2F..`,
  `//${EVIL}/?clinic-edge.test`,
  `//${EVIL}#clinic-edge.test`,
  `https://${EVIL}/https://clinic-edge.test`,
  `${EVIL}`,
  `../${EVIL}`,
  // backslashes (a browser reads "\" as "/" in http(s) URLs)
  `/\\${EVIL}`,
  `\\\\${EVIL}`,
  `\\/${EVIL}`,
  `/\\/${EVIL}`,
  `/%5C${EVIL}`,
  `/%5C%5C${EVIL}`,
  `%5C%5C${EVIL}`,
  `/%5C/${EVIL}`,
  `/./\\${EVIL}`,
  `/.\\/${EVIL}`,
  `/x/..\\${EVIL}`,
  `/%2e%2e%5c%2e%2e%5c${EVIL}`,
  // @ and credentials
  `@${EVIL}`,
  `//${EVIL}@clinic-edge.test`,
  `https://clinic-edge.test@${EVIL}`,
  `https://clinic-edge.test.${EVIL}`,
  `//clinic-edge.test.${EVIL}`,
  `///\\;@${EVIL}`,
  `/\\\\;@${EVIL}`,
  `//;@${EVIL}`,
  // script and data schemes
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  "java\tscript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  // tabs, newlines, spaces and NUL (a browser's URL parser strips tabs and newlines)
  `/%09/${EVIL}`,
  `/\t/${EVIL}`,
  `/\n/${EVIL}`,
  `/\r/${EVIL}`,
  `\t//${EVIL}`,
  ` //${EVIL}`,
  `\u3000//${EVIL}`,
  `//%09/${EVIL}`,
  `/%00//${EVIL}`,
  `//${EVIL}%00.clinic-edge.test`,
  "/%0d%0aLocation:%20https://evil.example",
  "/%0D%0ASet-Cookie:%20x=1",
  // percent-encoded slashes
  `/%2F%2F${EVIL}`,
  `%2F%2F${EVIL}`,
  `%2f%2f${EVIL}`,
  `/%252F%252F${EVIL}`,
  // dot segments that normalise to "//" (the eight that escaped, and relatives)
  `/.//${EVIL}/login`,
  `/%2e//${EVIL}/login`,
  `/..//${EVIL}/login`,
  `/a/..//${EVIL}/login`,
  `/%2e%2e//${EVIL}/login`,
  `/.%2e//${EVIL}/login`,
  `/x/.././/${EVIL}/login`,
  `/a/.././/${EVIL}/login`,
  `/%2E//${EVIL}`,
  `/%2E%2E//${EVIL}`,
  `/./../..//${EVIL}`,
  `/%2E%2E/%2E%2E//${EVIL}`,
  `/.%2E/.%2E//${EVIL}`,
  `/a/b/../..//${EVIL}`,
  `/a/%2e%2e/%2e%2e//${EVIL}`,
  `/././/${EVIL}`,
  // unicode slashes and dots
  `/\u2215\u2215${EVIL}`,
  `/\uFF0F\uFF0F${EVIL}`,
  `\uFF0F\uFF0F${EVIL}`,
  `/\u2044${EVIL}`,
  `/\u29F8${EVIL}`,
  `//evil\u3002example`,
  `//\u24D4vil.example`,
  `/%E2%88%95%E2%88%95${EVIL}`,
  `/%EF%BC%8F%EF%BC%8F${EVIL}`,
];

/** `next` values that are paths of this site: kept (as URL parsing normalises them). */
const ON_SITE: [string, string][] = [
  ["/u/clinic?room=1#top", "/u/clinic?room=1#top"],
  ["/a/../u/clinic", "/u/clinic"],
  ["/./u/clinic", "/u/clinic"],
  ["/@evil.example", "/@evil.example"],
  ["/https://evil.example", "/https://evil.example"],
];

/** Where a browser on `page` goes with this Location. */
function resolved(location: string | null, page: string): URL {
  expect(location, "a Location header").not.toBeNull();
  return new URL(location as string, page);
}

function expectOnSite(location: string | null, page: string, payload: string) {
  const target = resolved(location, page);
  expect(target.origin, `next=${JSON.stringify(payload)} -> Location ${JSON.stringify(location)}`).toBe(
    ORIGIN,
  );
  // Exactly one leading "/" (a protocol-relative Location is off-site for any other reader).
  expect(location, JSON.stringify(payload)).toMatch(/^\/(?![/\\])/);
}

const decodeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

it("tests at least 60 off-site payloads", () => {
  expect(new Set(PAYLOADS).size).toBeGreaterThanOrEqual(60);
});

describe("GET /auth?next=", () => {
  it("never redirects off the portal's origin, for every payload", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const escaped: string[] = [];
    for (const payload of PAYLOADS) {
      const path = `/auth?sso_token=${user.token}&next=${encodeURIComponent(payload)}`;
      const res = await call("GET", path);
      expect(res.status, JSON.stringify(payload)).toBe(302);
      const location = res.headers.get("location");
      if (resolved(location, `${ORIGIN}${path}`).origin !== ORIGIN || !/^\/(?![/\\])/.test(location ?? ""))
        escaped.push(`${JSON.stringify(payload)} -> ${location}`);
    }
    expect(escaped).toEqual([]);
  }, 30_000);

  it("answers exactly / for the dot-segment payloads that used to escape", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    for (const payload of PAYLOADS.filter((p) => p.includes("//evil.example/login"))) {
      const res = await call("GET", `/auth?sso_token=${user.token}&next=${encodeURIComponent(payload)}`);
      expect(res.headers.get("location"), payload).toBe("/");
    }
  });

  it("keeps paths of this site", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    for (const [next, expected] of ON_SITE) {
      const path = `/auth?sso_token=${user.token}&next=${encodeURIComponent(next)}`;
      const res = await call("GET", path);
      expect(res.headers.get("location"), next).toBe(expected);
      expectOnSite(res.headers.get("location"), `${ORIGIN}${path}`, next);
    }
  });
});

describe("/login next=", () => {
  it("GET /login keeps no off-site next in the form", async () => {
    for (const payload of PAYLOADS) {
      const { html } = await loginForm(`?next=${encodeURIComponent(payload)}`);
      const kept = /name="next" value="([^"]*)"/.exec(html)?.[1];
      if (kept !== undefined) expectOnSite(decodeHtml(kept), `${ORIGIN}/login`, payload);
    }
  });

  it("POST /login redirects only on-site after a successful sign-in, for every payload", async () => {
    const clinic = await createClinic();
    const user = await sso(clinic);
    const password = await setPassword(user);
    for (const payload of PAYLOADS) {
      const res = await submitLogin({
        clinic: clinic.code,
        username: user.username,
        password,
        next: payload,
      });
      expect(res.status, JSON.stringify(payload)).toBe(303);
      expectOnSite(res.headers.get("location"), `${ORIGIN}/login`, payload);
    }
    for (const [next, expected] of ON_SITE) {
      const res = await submitLogin({ clinic: clinic.code, username: user.username, password, next });
      expect(res.headers.get("location"), next).toBe(expected);
    }
  }, 60_000);
});

import { afterEach, describe, expect, it } from "vitest";
import { setClock } from "../../src/lib/clock";
import { base64url } from "../../src/lib/crypto";
import { ecKeyPair, signEs256, signHs256, verifyEs256, verifyHs256 } from "../../src/lib/jwt";
import { env } from "../helpers";

const exp = () => Math.floor(Date.now() / 1000) + 60;
const b64 = (v: unknown) => base64url(new TextEncoder().encode(JSON.stringify(v)));

describe("HS256", () => {
  it("verifies its own tokens, and the previous secret during a rotation", async () => {
    const token = await signHs256({ sub: "1", exp: exp() }, "old-secret-0123456789abcdef0123456789");
    expect(await verifyHs256(token, ["new-secret-0123456789abcdef0123456789"])).toBeNull();
    expect(
      await verifyHs256(token, [
        "new-secret-0123456789abcdef0123456789",
        "old-secret-0123456789abcdef0123456789",
      ]),
    ).toMatchObject({ sub: "1" });
  });

  it("refuses alg none, other algorithms, tampering and expiry", async () => {
    const secret = "secret-0123456789abcdef0123456789abcdef";
    const token = await signHs256({ sub: "1", exp: exp() }, secret);
    const [, payload, sig] = token.split(".");
    expect(await verifyHs256(`${b64({ alg: "none", typ: "JWT" })}.${payload}.`, [secret])).toBeNull();
    expect(await verifyHs256(`${b64({ alg: "HS512", typ: "JWT" })}.${payload}.${sig}`, [secret])).toBeNull();
    expect(
      await verifyHs256(`${token.split(".")[0]}.${b64({ sub: "2", exp: exp() })}.${sig}`, [secret]),
    ).toBeNull();
    expect(await verifyHs256(await signHs256({ sub: "1", exp: 1 }, secret), [secret])).toBeNull();
    expect(await verifyHs256(await signHs256({ sub: "1" }, secret), [secret])).toBeNull();
    expect(await verifyHs256("not.a.jwt", [secret])).toBeNull();
  });
});

describe("HS256, a token presented again (verified tokens are kept per isolate)", () => {
  const secret = "again-secret-0123456789abcdef0123456789";
  afterEach(() => setClock());

  it("is refused once it expires, though its signature was verified before", async () => {
    const token = await signHs256({ sub: "1", exp: exp() }, secret);
    expect(await verifyHs256(token, [secret])).toMatchObject({ sub: "1" });
    expect(await verifyHs256(token, [secret])).toMatchObject({ sub: "1" });
    setClock(() => Date.now() + 61_000);
    expect(await verifyHs256(token, [secret])).toBeNull();
    setClock();
    expect(await verifyHs256(token, [secret])).toMatchObject({ sub: "1" });
  });

  it("is refused before its nbf, though it was verified after it", async () => {
    const t = Math.floor(Date.now() / 1000);
    const token = await signHs256({ sub: "1", exp: t + 60, nbf: t - 5 }, secret);
    expect(await verifyHs256(token, [secret])).toMatchObject({ sub: "1" });
    setClock(() => Date.now() - 30_000);
    expect(await verifyHs256(token, [secret])).toBeNull();
  });

  it("is refused when the secret that signed it is no longer configured", async () => {
    const old = "retired-secret-0123456789abcdef012345678";
    const token = await signHs256({ sub: "1", exp: exp() }, old);
    expect(await verifyHs256(token, [secret, old])).toMatchObject({ sub: "1" });
    expect(await verifyHs256(token, [secret])).toBeNull();
    expect(await verifyHs256(token, [secret, undefined])).toBeNull();
  });

  it("answers a payload nobody can change for the next request", async () => {
    const token = await signHs256({ sub: "1", exp: exp() }, secret);
    const first = await verifyHs256(token, [secret]);
    expect(() => {
      (first as { sub?: string }).sub = "2";
    }).toThrow(TypeError);
    expect(await verifyHs256(token, [secret])).toMatchObject({ sub: "1" });
  });
});

describe("ES256", () => {
  it("signs with SIGNING_KEY and verifies with the public JWK only", async () => {
    const key = await ecKeyPair(env.SIGNING_KEY);
    expect(key.publicJwk).not.toHaveProperty("d");
    const token = await signEs256({ sub: "1", exp: exp() }, key);
    expect(await verifyEs256(token, key.publicJwk)).toMatchObject({ sub: "1" });
    const tampered = `${token.split(".")[0]}.${b64({ sub: "2", exp: exp() })}.${token.split(".")[2]}`;
    expect(await verifyEs256(tampered, key.publicJwk)).toBeNull();
  });
});

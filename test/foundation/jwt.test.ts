import { describe, expect, it } from "vitest";
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

import { describe, expect, it } from "vitest";
import { call, json } from "../helpers";

describe("health", () => {
  it("answers with a request id", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ status: "ok" });
    expect(res.headers.get("x-request-id")).toMatch(/.+/);
  });
});

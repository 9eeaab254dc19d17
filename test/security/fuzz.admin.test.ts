/** Fuzzing every /admin, meta and web routes (the admin error shape) route of /openapi.json (see fuzz/harness.ts). */
import { beforeAll, describe, expect, it } from "vitest";
import { familyOf } from "../../src/lib/render";
import {
  createFixtures,
  type Fixtures,
  fuzzRoute,
  installWriteCounter,
  loadDocument,
  routesOf,
} from "./fuzz/harness";

const doc = await loadDocument();
const routes = routesOf(doc).filter((r) => familyOf(r.path) === "admin");

describe("fuzz: /admin, meta and web routes (the admin error shape)", () => {
  let fx: Fixtures;
  beforeAll(async () => {
    await installWriteCounter();
    fx = await createFixtures();
  });

  it("covers the family's routes", () => {
    expect(routes.length).toBeGreaterThanOrEqual(12);
  });

  for (const route of routes) {
    it(`${route.method} ${route.path}`, async () => {
      const statuses = await fuzzRoute(doc, route, fx);
      // Some cases got past parsing and validation, not only bounced at the door.
      expect([...statuses.keys()].some((s) => ![400, 405, 413, 415, 429].includes(s))).toBe(true);
    }, 120_000);
  }
});

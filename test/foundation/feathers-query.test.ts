/**
 * lib/feathers-query.ts: qs-encoded Feathers queries, the MYCURE SDK's `#`-typed values, and what a
 * resource refuses. The encodings tested are the exact strings the SDK and the Feathers client build.
 */
import qs from "qs";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import {
  decodeTyped,
  findQuery,
  getQuery,
  parseQueryString,
  pick,
  type QuerySpec,
} from "../../src/lib/feathers-query";
import { sdkQueryString } from "../clients/mycure-wire";

const spec: QuerySpec = {
  fields: { uid: "id", email: "string", isDoctor: "boolean", createdAt: "date" },
  selectable: ["uid", "email", "isDoctor", "createdAt"],
  defaultLimit: 10,
  maxLimit: 50,
};

const find = (search: string) => findQuery(spec, parseQueryString(search));

function refused(search: string, param: string) {
  try {
    find(search);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).fields?.[0]?.param).toBe(param);
    return;
  }
  throw new Error(`${search} was accepted`);
}

describe("the MYCURE SDK's # encoding", () => {
  it("builds exactly these strings (SDK list() with $limit, $skip, $sort, booleans, empty arrays)", () => {
    const wire = sdkQueryString({
      $limit: 5,
      $skip: 0,
      $sort: { createdAt: -1 },
      isDoctor: true,
      uid: { $in: [] },
    });
    expect(wire).toBe(
      "%24limit=%235&%24skip=%230&%24sort%5BcreatedAt%5D=%23-1&isDoctor=%23true&uid%5B%24in%5D=%23%5B%5D",
    );
    expect(find(wire)).toEqual({
      where: [
        { field: "isDoctor", op: "eq", value: true },
        { field: "uid", op: "in", values: [] },
      ],
      sort: [{ field: "createdAt", dir: -1 }],
      limit: 5,
      skip: 0,
    });
  });

  it("numbers in lists, false, null (strictNullHandling) and strings stay as the SDK meant them", () => {
    const wire = sdkQueryString({ uid: { $in: [7, 8] }, isDoctor: false, email: null, $select: ["email"] });
    expect(wire).toBe(
      "uid%5B%24in%5D%5B0%5D=%237&uid%5B%24in%5D%5B1%5D=%238&isDoctor=%23false&email&%24select%5B0%5D=email",
    );
    expect(find(wire)).toEqual({
      where: [
        { field: "uid", op: "in", values: [7, 8] },
        { field: "isDoctor", op: "eq", value: false },
        { field: "email", op: "eq", value: null },
      ],
      sort: [],
      limit: 10,
      skip: 0,
      select: ["email"],
    });
  });

  it("decodes #true, #false, #[], integers, negatives and decimals; other strings are themselves", () => {
    expect(decodeTyped("#true")).toBe(true);
    expect(decodeTyped("#false")).toBe(false);
    expect(decodeTyped("#[]")).toEqual([]);
    expect(decodeTyped("#5")).toBe(5);
    expect(decodeTyped("#-1")).toBe(-1);
    expect(decodeTyped("#1.5")).toBe(1.5);
    expect(decodeTyped("#abc")).toBe("#abc");
    expect(decodeTyped("#")).toBe("#");
    expect(decodeTyped("5")).toBe("5");
  });
});

describe("the Feathers client's qs encoding (plain strings)", () => {
  it("reads $limit=5, $sort[createdAt]=-1, booleans and dates as strings", () => {
    const wire = qs.stringify({
      $limit: 5,
      $sort: { createdAt: -1 },
      isDoctor: true,
      createdAt: { $gte: "2026-01-01T00:00:00.000Z", $lt: 1767225600000 },
      $or: [{ email: "a@example.test" }, { uid: "12" }],
    });
    expect(find(wire)).toEqual({
      where: [
        { field: "isDoctor", op: "eq", value: true },
        { field: "createdAt", op: "gte", value: Date.parse("2026-01-01T00:00:00.000Z") },
        { field: "createdAt", op: "lt", value: 1767225600000 },
        {
          op: "or",
          branches: [
            [{ field: "email", op: "eq", value: "a@example.test" }],
            [{ field: "uid", op: "eq", value: 12 }],
          ],
        },
      ],
      sort: [{ field: "createdAt", dir: -1 }],
      limit: 5,
      skip: 0,
    });
  });

  it("caps $limit at the maximum (as Feathers' paginate.max), $ne and $nin", () => {
    const q = find(qs.stringify({ $limit: 1000, email: { $ne: "x" }, uid: { $nin: ["3"] } }));
    expect(q.limit).toBe(50);
    expect(q.where).toEqual([
      { field: "email", op: "ne", value: "x" },
      { field: "uid", op: "nin", values: [3] },
    ]);
    expect(find("email[$ne]").where).toEqual([{ field: "email", op: "ne", value: null }]);
  });
});

describe("refusals (BadRequest, naming the parameter)", () => {
  it.each([
    ["password=x", "password"],
    ["passwordHash[$ne]=", "passwordHash"],
    ["$where=1", "$where"],
    ["$populate=x", "$populate"],
    ["email[$regex]=.*", "email.$regex"],
    ["email[$like]=%25", "email.$like"],
    ["email[$in]=a", "email.$in"],
    ["$limit=-1", "$limit"],
    ["$limit=abc", "$limit"],
    ["$limit=1&$limit=2", "$limit"],
    ["$skip=%231.5", "$skip"],
    ["$sort[password]=1", "$sort.password"],
    ["$sort[email]=2", "$sort.email"],
    ["$sort=email", "$sort"],
    ["$select[0]=passwordHash", "$select"],
    ["uid=abc", "uid"],
    ["uid=%230", "uid"],
    ["isDoctor=yes", "isDoctor"],
    ["createdAt=yesterday", "createdAt"],
    ["createdAt[$gt]", "createdAt.$gt"],
    ["$or[0][$or][0][email]=a", "$or"],
    ["$or=a", "$or"],
    ["$or[0][password]=a", "password"],
    ["$or[0][$limit]=1", "$limit"],
    ["email[]=a", "email"],
    ["email[$in][60]=a", "email.$in"],
  ])("%s", (search, param) => refused(search, param));

  it("prototype keys are not fields", () => {
    refused("__proto__[email]=x&toString=1", "toString");
    refused("constructor=1", "constructor");
  });

  it("a query with too many conditions", () => {
    const many = Array.from({ length: 3 }, (_, i) =>
      Array.from({ length: 40 }, (_, j) => `$or[${i}][uid][$in][${j}]=${j + 1}`).join("&"),
    ).join("&");
    refused(many, "query");
  });

  it("get takes only $select", () => {
    expect(getQuery(spec, parseQueryString("$select[]=email"))).toEqual({ select: ["email"] });
    expect(getQuery(spec, parseQueryString(""))).toEqual({});
    expect(() => getQuery(spec, parseQueryString("$limit=1"))).toThrow(ApiError);
    expect(() => getQuery(spec, parseQueryString("$select[]=nope"))).toThrow(ApiError);
  });
});

it("pick keeps the id field and the selected fields", () => {
  const item = { uid: "1", email: "a", isDoctor: false };
  expect(pick(item, "uid", ["email"])).toEqual({ uid: "1", email: "a" });
  expect(pick(item, "uid", [])).toEqual({ uid: "1" });
  expect(pick(item, "uid", undefined)).toBe(item);
});

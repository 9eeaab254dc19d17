/**
 * Feathers service queries (the accounts family's `find` and `get`): the query string as `qs` encodes it
 * (Feathers' rest-client and the MYCURE SDK both use qs), with the MYCURE SDK's `#`-typed values decoded,
 * checked against what a resource allows, and turned into a plain description that a service can run.
 *
 * The MYCURE SDK types numbers, booleans and empty arrays with a `#` prefix before qs encodes them
 * (`$limit=#5`, `$sort[createdAt]=#-1`, `isDoctor=#true`, `$in=#[]`); the Feathers client sends them as
 * plain strings (`$limit=5`, `isDoctor=true`). Both read the same here. What is understood:
 *   field=value, field[$in|$nin][]=…, field[$lt|$lte|$gt|$gte|$ne]=…, $or[i][field]…,
 *   $limit (capped at the resource's maximum, as Feathers' `paginate.max`), $skip, $sort[field]=1|-1, $select[]=field.
 * Anything else (unknown fields, other operators, nested $or, malformed values) is a BadRequest.
 */
import qs from "qs";
import { invalidField } from "./errors";

/** How a field's query values are read. `id`: an account uid (digits); `date`: ISO 8601 or epoch ms. */
export type FieldType = "id" | "string" | "boolean" | "date";

export interface QuerySpec {
  /** Fields a query may filter and sort on, by wire name. */
  fields: Readonly<Record<string, FieldType>>;
  /** Fields `$select` may name (the id field is always returned). */
  selectable: readonly string[];
  defaultLimit: number;
  maxLimit: number;
}

/** A value after decoding, in the field's type: uids are numbers, dates are epoch milliseconds. */
export type Value = string | number | boolean | null;

export type Comparison = "eq" | "ne" | "lt" | "lte" | "gt" | "gte";

export type Condition =
  | { field: string; op: Comparison; value: Value }
  | { field: string; op: "in" | "nin"; values: Exclude<Value, null>[] }
  /** Any branch matches; a branch is a list of conditions that all hold. */
  | { op: "or"; branches: Condition[][] };

export interface FeathersQuery {
  where: Condition[];
  sort: { field: string; dir: 1 | -1 }[];
  limit: number;
  skip: number;
  /** Undefined: every field. */
  select?: string[];
}

/** Limits on what qs builds from a query string (depth, list length, number of parameters). */
const QS_OPTIONS = {
  depth: 4,
  arrayLimit: 50,
  parameterLimit: 200,
  strictNullHandling: true,
  plainObjects: true,
  allowPrototypes: false,
  ignoreQueryPrefix: true,
} as const;

/** Most conditions one query may carry (fields, operators and list items together). */
const MAX_TERMS = 100;
const MAX_OR = 10;

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * One value of the MYCURE SDK's `#` typing: `#true`/`#false`, `#[]` (an empty array) and `#<number>`.
 * Any other string, `#`-prefixed or not, is itself.
 */
export function decodeTyped(value: string): string | number | boolean | [] {
  if (!value.startsWith("#")) return value;
  const rest = value.slice(1);
  if (rest === "true") return true;
  if (rest === "false") return false;
  if (rest === "[]") return [];
  if (NUMBER.test(rest)) {
    const n = Number(rest);
    if (Number.isFinite(n)) return n;
  }
  return value;
}

function decodeDeep(v: unknown): unknown {
  if (typeof v === "string") return decodeTyped(v);
  if (Array.isArray(v)) return v.map(decodeDeep);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decodeDeep(x)]));
  }
  return v;
}

/** The query string (with or without `?`) as qs reads it, `#` values decoded. */
export function parseQueryString(search: string): Record<string, unknown> {
  return decodeDeep(qs.parse(search, QS_OPTIONS)) as Record<string, unknown>;
}

const isPlain = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function nonNegativeInt(v: unknown, param: string): number {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,9}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw invalidField(param, "must be a non-negative integer");
  return n;
}

/** One query value in its field's type, or a BadRequest naming the field. */
function coerce(type: FieldType, v: unknown, param: string): Exclude<Value, null> {
  switch (type) {
    case "id": {
      const s = typeof v === "number" ? String(v) : v;
      if (typeof s === "string" && /^[1-9]\d{0,14}$/.test(s)) return Number(s);
      throw invalidField(param, "must be a uid");
    }
    case "boolean":
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "false") return v === "true";
      throw invalidField(param, "must be true or false");
    case "date": {
      const ms =
        typeof v === "number"
          ? v
          : typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v)
            ? Date.parse(v)
            : typeof v === "string" && /^\d{1,15}$/.test(v)
              ? Number(v)
              : Number.NaN;
      if (!Number.isFinite(ms)) throw invalidField(param, "must be an ISO 8601 date or epoch milliseconds");
      return ms;
    }
    case "string":
      if (typeof v === "string") return v;
      if (typeof v === "number" || typeof v === "boolean") return String(v);
      throw invalidField(param, "must be a string");
  }
}

const COMPARISONS: Record<string, Comparison> = {
  $ne: "ne",
  $lt: "lt",
  $lte: "lte",
  $gt: "gt",
  $gte: "gte",
};

class Budget {
  #left = MAX_TERMS;
  take(n = 1) {
    this.#left -= n;
    if (this.#left < 0) throw invalidField("query", `at most ${MAX_TERMS} conditions`);
  }
}

function fieldConditions(spec: QuerySpec, field: string, raw: unknown, budget: Budget): Condition[] {
  const type = spec.fields[field];
  if (!type || !Object.hasOwn(spec.fields, field)) throw invalidField(field, "cannot be queried");
  if (!isPlain(raw)) {
    budget.take();
    if (raw === null) return [{ field, op: "eq", value: null }];
    return [{ field, op: "eq", value: coerce(type, raw, field) }];
  }
  const ops = Object.entries(raw);
  if (ops.length === 0) throw invalidField(field, "needs a value");
  return ops.map(([op, v]): Condition => {
    const param = `${field}.${op}`;
    if (op === "$in" || op === "$nin") {
      if (!Array.isArray(v)) throw invalidField(param, "must be a list");
      budget.take(Math.max(1, v.length));
      return { field, op: op === "$in" ? "in" : "nin", values: v.map((x) => coerce(type, x, param)) };
    }
    const comparison = COMPARISONS[op];
    if (!comparison || !Object.hasOwn(COMPARISONS, op)) throw invalidField(param, "unsupported operator");
    budget.take();
    if (v === null) {
      if (comparison !== "ne") throw invalidField(param, "cannot compare with null");
      return { field, op: "ne", value: null };
    }
    return { field, op: comparison, value: coerce(type, v, param) };
  });
}

function conditions(spec: QuerySpec, q: Record<string, unknown>, budget: Budget, nested: boolean) {
  const where: Condition[] = [];
  for (const [key, raw] of Object.entries(q)) {
    if (key === "$or") {
      if (nested) throw invalidField("$or", "cannot be nested");
      if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_OR)
        throw invalidField("$or", `must be a list of 1 to ${MAX_OR} queries`);
      const branches = raw.map((b, i) => {
        if (!isPlain(b) || Object.keys(b).length === 0)
          throw invalidField(`$or.${i}`, "must be a query of fields");
        return conditions(spec, b, budget, true);
      });
      where.push({ op: "or", branches });
    } else if (key.startsWith("$")) {
      throw invalidField(key, nested ? "unsupported here" : "unsupported query parameter");
    } else {
      where.push(...fieldConditions(spec, key, raw, budget));
    }
  }
  return where;
}

function selectOf(spec: QuerySpec, raw: unknown): string[] {
  const list = typeof raw === "string" ? [raw] : raw;
  if (!Array.isArray(list) || list.some((f) => typeof f !== "string"))
    throw invalidField("$select", "must be a list of field names");
  const unknown = list.filter((f) => !spec.selectable.includes(f));
  if (unknown.length) throw invalidField("$select", `unknown field(s): ${unknown.join(", ")}`);
  return list;
}

function sortOf(spec: QuerySpec, raw: unknown): FeathersQuery["sort"] {
  if (!isPlain(raw)) throw invalidField("$sort", "must map fields to 1 or -1");
  return Object.entries(raw).map(([field, dir]) => {
    if (!Object.hasOwn(spec.fields, field)) throw invalidField(`$sort.${field}`, "cannot sort on this field");
    if (dir !== 1 && dir !== -1 && dir !== "1" && dir !== "-1")
      throw invalidField(`$sort.${field}`, "must be 1 or -1");
    return { field, dir: Number(dir) as 1 | -1 };
  });
}

/** A `find` query: filters, `$sort`, `$limit` (capped), `$skip`, `$select`. */
export function findQuery(spec: QuerySpec, q: Record<string, unknown>): FeathersQuery {
  const { $limit, $skip, $sort, $select, ...rest } = q;
  return {
    where: conditions(spec, rest, new Budget(), false),
    sort: $sort === undefined ? [] : sortOf(spec, $sort),
    limit:
      $limit === undefined ? spec.defaultLimit : Math.min(nonNegativeInt($limit, "$limit"), spec.maxLimit),
    skip: $skip === undefined ? 0 : nonNegativeInt($skip, "$skip"),
    ...($select === undefined ? {} : { select: selectOf(spec, $select) }),
  };
}

/** A `get` query: only `$select` (Feathers' other parameters have no meaning for one resource here). */
export function getQuery(spec: QuerySpec, q: Record<string, unknown>): { select?: string[] } {
  const { $select, ...rest } = q;
  const other = Object.keys(rest)[0];
  if (other !== undefined) throw invalidField(other, "unsupported query parameter");
  return $select === undefined ? {} : { select: selectOf(spec, $select) };
}

/** Keeps the selected fields of a wire object (and its id field). */
export function pick<T extends Record<string, unknown>, K extends keyof T & string>(
  item: T,
  idField: K,
  select: string[] | undefined,
): Partial<T> & Pick<T, K> {
  if (!select) return item;
  const out = { [idField]: item[idField] } as Partial<T> & Pick<T, K>;
  for (const f of select) if (Object.hasOwn(item, f)) out[f as keyof T] = item[f as keyof T];
  return out;
}

/**
 * The MYCURE web SDK's wire format, reproduced from its source (mycurelabs/mycure, commit e32043a,
 * src/boot/mycure.js; the SDK is not published on npm and needs Vue/Quasar, so it cannot run in workerd).
 * Written from the behaviour, not copied:
 *   - lines 24-50 `encodeValues`: before qs encodes a query, booleans and numbers become "#<value>", an
 *     empty array becomes "#[]", other arrays and plain objects are encoded element by element, anything
 *     else (strings, null, dates) is left as it is;
 *   - line 221: `qs.stringify(encoded, { strictNullHandling: true })` (qs' default `indices` array format);
 *   - lines 207-216: the URL is `[prefixUrl, input].join("/")`, a body is JSON with `Content-Type: application/json`;
 *   - lines 226-231: `Authorization: Bearer <token>` unless `skipAuth`.
 */
import qs from "qs";

export function sdkEncodeValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? "#[]" : value.map(sdkEncodeValues);
  if (typeof value === "boolean" || typeof value === "number") return `#${value}`;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sdkEncodeValues(v)]));
  }
  return value;
}

/** The query string the SDK's `request()` appends after `?` (mycure.js line 221). */
export function sdkQueryString(query: Record<string, unknown>): string {
  return qs.stringify(sdkEncodeValues(query), { strictNullHandling: true });
}

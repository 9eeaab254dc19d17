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

export type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<Response>;

/** The SDK's HttpError (mycure.js lines 267-275): message, code, errors of the Feathers error body. */
export class SdkHttpError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly code: unknown,
    readonly errors: unknown,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const KEY_UID = "usr:uid";
const KEY_TOKEN = "usr:acc";
const KEY_REFRESH = "usr:ref";

/** localStorage semantics: values are strings (`setItem(k, undefined)` stores "undefined"). */
export class StringStorage {
  readonly #items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  setItem(key: string, value: unknown): void {
    this.#items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
}

interface Creds {
  uid?: string;
  accessToken?: string;
  refreshToken?: string;
  user?: { uid?: string };
}

/**
 * The SDK class's flows (mycure.js lines 58-358), request for request, over an injected fetch and
 * storage and the app's clock in place of `Date.now()` (so tests can move time):
 *   currentUser (78-104), token (106-129: refreshAccessToken once the JWT's `exp` has passed),
 *   signinWithEmail (131-140), signinWithToken (142-150), loadUser (152-169), signout (171-180),
 *   request (195-279), list (281-303, with its `$page` compatibility), get (305-317), create (319-328),
 *   update (330-344: PATCH).
 */
export class MycureSdkReplica {
  currentUser$: unknown = null;

  constructor(
    readonly apiBaseUrl: string,
    readonly fetch: Fetch,
    readonly storage: StringStorage,
    readonly nowSeconds: () => number,
  ) {}

  async currentUser(): Promise<unknown> {
    if (this.currentUser$) return this.currentUser$;
    const accessToken = await this.token().catch(() => this.signout());
    if (!accessToken) return null;
    return this.signinWithToken(accessToken);
  }

  async token(): Promise<string | undefined> {
    const accessToken = this.storage.getItem(KEY_TOKEN);
    if (!accessToken) return undefined;
    const refreshToken = this.storage.getItem(KEY_REFRESH);
    const payload = JSON.parse(
      atob((accessToken.split(".")[1] as string).replace(/-/g, "+").replace(/_/g, "/")),
    );
    const exp = payload.exp as number | undefined;
    if (!refreshToken || !exp) return accessToken;
    if (this.nowSeconds() < exp) return accessToken;
    const creds = (await this.create(
      "authentication",
      { action: "refreshAccessToken", refreshToken },
      { skipAuth: true },
    )) as Creds;
    if (!creds?.accessToken) throw new Error("Invalid refresh response. missing accessToken");
    if (!creds?.refreshToken) throw new Error("Invalid refresh response. missing refreshToken");
    this.storage.setItem(KEY_TOKEN, creds.accessToken);
    this.storage.setItem(KEY_REFRESH, creds.refreshToken);
    return creds.accessToken;
  }

  async signinWithEmail(email: string, password: string) {
    const creds = (await this.create(
      "authentication",
      { strategy: "local", email, password },
      { skipAuth: true },
    )) as Creds;
    return this.loadUser(creds);
  }

  async signinWithToken(token: string) {
    const creds = (await this.create(
      "authentication",
      { strategy: "jwt", accessToken: token },
      { skipAuth: true },
    )) as Creds;
    return this.loadUser(creds);
  }

  async loadUser(creds: Creds) {
    if (!creds?.uid) throw new Error("Invalid authenticated response. missing uid");
    if (!creds?.accessToken) throw new Error("Invalid authentication response. missing accessToken");
    if (!creds?.user?.uid) throw new Error("Invalid authenticated response. missing populated user");
    this.storage.setItem(KEY_UID, creds.uid);
    this.storage.setItem(KEY_TOKEN, creds.accessToken);
    this.storage.setItem(KEY_REFRESH, creds.refreshToken);
    this.currentUser$ = creds.user;
    return creds.user;
  }

  async signout(): Promise<undefined> {
    for (const key of [KEY_UID, KEY_TOKEN, KEY_REFRESH]) this.storage.removeItem(key);
    this.currentUser$ = null;
    return undefined;
  }

  async request(
    input: string,
    opts: {
      method?: string;
      data?: unknown;
      searchParams?: Record<string, unknown>;
      skipAuth?: boolean;
    } = {},
  ): Promise<unknown> {
    let url = [this.apiBaseUrl, input].filter(Boolean).join("/");
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (opts.data) {
      body = JSON.stringify(opts.data);
      headers["Content-Type"] = "application/json";
    }
    if (opts.searchParams) url += `?${sdkQueryString(opts.searchParams)}`;
    if (!opts.skipAuth) {
      const token = await this.token();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    const res = await this.fetch(url, { method: (opts.method ?? "GET").toUpperCase(), headers, body });
    const data = (res.status === 204 ? null : await res.json()) as Record<string, unknown> | null;
    if (!res.ok) {
      throw new SdkHttpError(
        (data?.message as string) || `Request failed with status ${res.statusText || res.status}`,
        res.status,
        data?.code,
        data?.errors,
      );
    }
    return data;
  }

  async list(input: string, query?: Record<string, unknown>) {
    if (query?.$page && query?.$limit) {
      query.$skip = (query.$limit as number) * ((query.$page as number) - 1);
      delete query.$page;
    }
    const res = (await this.request(input, query ? { searchParams: query } : {})) as
      | unknown[]
      | { data: unknown[]; total: number; limit: number; skip: number };
    if (Array.isArray(res)) return { data: res, total: undefined, limit: undefined, skip: undefined };
    return { data: res.data, total: res.total, limit: res.limit, skip: res.skip };
  }

  async get(input: string, query?: string | Record<string, unknown>) {
    const res = (await this.request(
      typeof query === "string" ? [input, query].join("/") : input,
      typeof query === "object" ? { searchParams: query } : {},
    )) as { data?: unknown };
    return Array.isArray(res?.data) ? res.data[0] : res;
  }

  create(input: string, data?: unknown, opts: { skipAuth?: boolean } = {}) {
    return this.request(input, { ...opts, method: "POST", ...(data ? { data } : {}) });
  }

  update(input: string, id: string, data: unknown) {
    return this.request([input, id].join("/"), { method: "PATCH", data });
  }
}

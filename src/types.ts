import type { OwnProfile } from "./db/own-profile";
import type { Clinic } from "./db/schema";

/**
 * The `[vars]` of wrangler.toml. `wrangler types` types them as their literal default values; a deployment
 * sets its own, so the app reads them as strings.
 */
type Vars =
  | "DEFAULT_ACCOUNT_CODE"
  | "MAX_BODY_BYTES"
  | "MESSAGE_SENDER"
  | "IONIC_API_URLS"
  | "ENROLLMENT_TAG";

/** Bindings from wrangler.toml (generated `Env`, by `npx wrangler types`) plus the optional settings documented in README. */
export type Bindings = Omit<Env, Vars> & { [K in Vars]: string } & {
  /** Previous JWT signing secret, still accepted for verification during a rotation. */
  JWT_SECRET_PREVIOUS?: string;
  /** Previous register-assertion signing key (JWK), still published during a rotation. */
  SIGNING_KEY_PREVIOUS?: string;
  /** Previous MFA encryption key, still opening secrets during a rotation (they are sealed again). */
  MFA_ENCRYPTION_KEY_PREVIOUS?: string;
  /** HTTP email provider (MESSAGE_SENDER = "http"). */
  EMAIL_HTTP_URL?: string;
  EMAIL_HTTP_TOKEN?: string;
  EMAIL_FROM?: string;
  /** HTTP SMS provider (MESSAGE_SENDER = "http"). */
  SMS_HTTP_URL?: string;
  SMS_HTTP_TOKEN?: string;
  /** "1" only in the browser tests' `wrangler dev`: serves POST /__test/clock (lib/test-clock.ts). Never set it in a deployment. */
  ALLOW_TEST_CLOCK?: string;
};

/** What an access token says about its session (stored in KV by kv/access.ts, with one-letter keys). */
/** A user's own profile and when it was read from D1 (unix s), kept with a token's KV record. */
export interface ProfileSnapshot {
  profile: OwnProfile;
  at: number;
}

export interface AccessRecord {
  userId: number;
  clinicId: number;
  clinicCode: string;
  /** The user's type (patient 1, provider 2, …). */
  type: number;
  roles: string[];
  sessionId: string;
  /** Unix seconds. */
  expiresAt: number;
  issuedAt: number;
  /** The clinic's default heartbeat (seconds). */
  heartbeat: number;
  /** Signed in with an emailed code: may set a new password without the old one. */
  via?: "code";
  /** The user's group (register family: patients | physicians | insurers), when it has one. */
  group?: string;
  /** The owner's profile as last read from D1 (kv/profile.ts): what GET /me answers while it is fresh. */
  profile?: ProfileSnapshot;
}

/**
 * The signed-in caller, resolved from an access token: what its KV record says (kv/access.ts) and the
 * SHA-256 of the presented token.
 */
export type Caller = Omit<AccessRecord, "issuedAt"> & { tokenHash: string };

/** The signed-in caller of the accounts family, resolved from its JWT and the session it is bound to. */
export interface AccountCaller {
  userId: number;
  clinicId: number;
  clinicCode: string;
  sessionId: string;
  /** The account's profile as last read from D1 (kv/profile.ts). */
  profile?: ProfileSnapshot;
}

/** Who authenticated a route that accepts a user's access token or the clinic's API key. */
export type Principal = { kind: "user"; caller: Caller } | { kind: "api_key"; clinic: Clinic };

export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    // clinic, apiKey, caller and account: optional here for the readers that run on every route whatever
    // authenticated it (CORS after the route, the care-record opener shared by the register routes and the
    // portal's); a route's handler gets them non-optional from the middleware it lists (AppEnvWith,
    // lib/route-handler.ts).
    /** The tenant, once resolved (API key or token). */
    clinic?: Clinic;
    /** True when the clinic's API key authenticated the request. */
    apiKey?: boolean;
    caller?: Caller;
    /** Accounts family: the JWT's account (set by requireAccount). */
    account?: AccountCaller;
    /** Admin API: the clinic a handler created, for the audit row of the call. */
    auditClinicId?: number;
  };
}

/**
 * The env a middleware declares for what it sets (non-optional), e.g. `AppEnvWith<{ caller: Caller }>`: a
 * route that lists that middleware (`createRoute({ middleware })`) types its handler's context with it
 * (lib/route-handler.ts).
 */
export type AppEnvWith<V extends object> = { Bindings: Bindings; Variables: AppEnv["Variables"] & V };

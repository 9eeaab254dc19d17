/**
 * Tenancy. Every request belongs to one clinic: the one named by `X-AccountCode`, or (for the families
 * that carry no header) the deployment's default clinic. Server-to-server routes also present the
 * clinic's API key in `X-ApiKey`.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Clinic } from "../db/schema";
import { ApiError } from "../lib/errors";
import { getClinicByCode, verifyApiKey } from "../services/clinics";
import type { AppEnv, AppEnvWith } from "../types";
import { countFailedCredential } from "./rate-limit";

/** The clinic code of this request: X-AccountCode, else the default clinic. */
export function clinicCodeOf(
  req: { header(name: string): string | undefined },
  env: AppEnv["Bindings"],
): string {
  return req.header("x-accountcode")?.trim() || env.DEFAULT_ACCOUNT_CODE;
}

/** Loads the request's clinic (404 when it does not exist, 403 when an operator disabled it). */
export async function loadClinic(c: {
  req: { header(name: string): string | undefined };
  env: AppEnv["Bindings"];
}): Promise<Clinic> {
  const clinic = await getClinicByCode(c.env, clinicCodeOf(c.req, c.env));
  if (!clinic) throw new ApiError("clinic_not_found");
  if (clinic.disabled) throw new ApiError("account_disabled");
  return clinic;
}

/**
 * The clinic of `X-AccountCode` + `X-ApiKey` (server-to-server). An unknown clinic and a wrong key answer
 * the same 401, so that the key check does not reveal which clinics exist.
 */
export async function clinicOfApiKey<E extends AppEnv>(c: Context<E>): Promise<Clinic> {
  const code = c.req.header("x-accountcode")?.trim();
  const key = c.req.header("x-apikey")?.trim();
  if (!code || !key) throw new ApiError("api_key_required");
  const clinic = await getClinicByCode(c.env, code);
  const ok = clinic ? await verifyApiKey(clinic, key) : await verifyApiKey(DUMMY, key);
  if (!clinic || !ok) {
    await countFailedCredential(c, "api-key");
    throw new ApiError("invalid_api_key");
  }
  if (clinic.disabled) throw new ApiError("account_disabled");
  return clinic;
}

/** Requires the clinic's API key (see clinicOfApiKey); sets `clinic` and `apiKey`. */
export const requireApiKey = createMiddleware<AppEnvWith<{ clinic: Clinic; apiKey: true }>>(
  async (c, next) => {
    c.set("clinic", await clinicOfApiKey(c));
    c.set("apiKey", true);
    await next();
  },
);

const DUMMY: Pick<Clinic, "apiKeyHash"> = { apiKeyHash: "0".repeat(64) };

import { afterResponse } from "../../lib/background";
import type { AppRouteHandler } from "../../lib/route-handler";
import * as clinics from "../../services/clinics";
import { forgetCorsCache } from "../../services/cors-origins";
import { closeClinicSockets, sweepRevoked } from "../../services/sessions";
import type {
  createClinic as createClinicRoute,
  getClinic as getClinicRoute,
  listClinics as listClinicsRoute,
  patchClinic as patchClinicRoute,
  rotateKey as rotateKeyRoute,
} from "./clinics.routes";
import { clinicWire } from "./wire";

export const createClinic: AppRouteHandler<typeof createClinicRoute> = async (c) => {
  const { clinic, apiKey } = await clinics.createClinic(c.env, c.req.valid("json"));
  forgetCorsCache();
  c.set("auditClinicId", clinic.id);
  return c.json({ clinic: clinicWire(clinic), api_key: apiKey }, 201);
};

export const listClinics: AppRouteHandler<typeof listClinicsRoute> = async (c) => {
  const { start = 0, limit = 50 } = c.req.valid("query");
  const { rows, total } = await clinics.listClinics(c.env, start, limit);
  return c.json({ data: rows.map(clinicWire), total, start, limit }, 200);
};

export const getClinic: AppRouteHandler<typeof getClinicRoute> = async (c) => {
  const clinic = await clinics.requireClinic(c.env, c.req.valid("param").code);
  return c.json({ clinic: clinicWire(clinic) }, 200);
};

export const patchClinic: AppRouteHandler<typeof patchClinicRoute> = async (c) => {
  const patch = c.req.valid("json");
  const clinic = await clinics.updateClinic(c.env, c.req.valid("param").code, patch);
  forgetCorsCache();
  // Disabling a clinic signs everybody out: its sessions ended in the update's batch, their live sockets
  // close now, their KV tokens are swept (a first chunk right after this answer, the rest by the cron run).
  // The sweep is scheduled first, so that it runs even when closing the sockets fails.
  if (patch.disabled === true) {
    afterResponse(c, () => sweepRevoked(c.env));
    await closeClinicSockets(c.env, clinic.id);
  }
  return c.json({ clinic: clinicWire(clinic) }, 200);
};

export const rotateKey: AppRouteHandler<typeof rotateKeyRoute> = async (c) => {
  const { clinic, apiKey } = await clinics.rotateApiKey(c.env, c.req.valid("param").code);
  return c.json({ clinic: clinicWire(clinic), api_key: apiKey }, 200);
};

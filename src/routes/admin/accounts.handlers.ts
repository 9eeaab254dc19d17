import type { AppRouteHandler } from "../../lib/route-handler";
import * as clinics from "../../services/clinics";
import * as invitations from "../../services/invitations";
import { deliverSoon, listOutbox as list, queuedIds } from "../../services/outbox";
import type {
  approveEntry as approveEntryRoute,
  listOutbox as listOutboxRoute,
  listWaitlist as listWaitlistRoute,
} from "./accounts.routes";
import { outboxWire, waitlistEntryWire } from "./wire";

export const listWaitlist: AppRouteHandler<typeof listWaitlistRoute> = async (c) => {
  const clinic = await clinics.requireClinic(c.env, c.req.valid("param").code);
  const { status, start = 0, limit = 50 } = c.req.valid("query");
  const { rows, total } = await invitations.listWaitlist(c.env, clinic.id, { status, start, limit });
  return c.json({ data: rows.map(waitlistEntryWire), total, start, limit }, 200);
};

export const approveEntry: AppRouteHandler<typeof approveEntryRoute> = async (c) => {
  const { code, id } = c.req.valid("param");
  const clinic = await clinics.requireClinic(c.env, code);
  const { entry, expiresAt, results } = await invitations.approveEntry(c.env, clinic, id);
  deliverSoon(c, queuedIds(results));
  return c.json({ entry: waitlistEntryWire(entry), invitation_expires: expiresAt }, 200);
};

export const listOutbox: AppRouteHandler<typeof listOutboxRoute> = async (c) => {
  const { clinic: code, status, start = 0, limit = 50 } = c.req.valid("query");
  const clinicId = code ? (await clinics.requireClinic(c.env, code)).id : undefined;
  const { rows, total } = await list(c.env, { clinicId, status, start, limit });
  const data = rows.map(outboxWire);
  return c.json({ data, total, start, limit }, 200);
};

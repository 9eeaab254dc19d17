import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { loadClinic } from "../../middleware/tenant";
import { addToWaitlist, entryByInvitation } from "../../services/invitations";
import type { createEntry as createEntryRoute, getEntry as getEntryRoute } from "./waitlist.routes";
import { waitlistEntryWire } from "./wire";

/** Answers with what was submitted, whether or not the email was already waiting (no enumeration). */
export const createEntry: AppRouteHandler<typeof createEntryRoute> = async (c) => {
  const clinic = await loadClinic(c);
  const body = c.req.valid("json");
  const personalDetails = (body.personalDetails ?? {}) as Record<string, unknown>;
  await addToWaitlist(c.env, clinic.id, { email: body.email, mobileNo: body.mobileNo, personalDetails });
  return c.json(waitlistEntryWire({ email: body.email, mobileNo: body.mobileNo, personalDetails }), 201);
};

export const getEntry: AppRouteHandler<typeof getEntryRoute> = async (c) => {
  const clinic = await loadClinic(c);
  const entry = await entryByInvitation(c.env, clinic.id, c.req.valid("param").inviteCode);
  if (!entry) throw new ApiError("invitation_not_found");
  return c.json(waitlistEntryWire(entry), 200);
};

import { bestEffort } from "../../lib/background";
import { ApiError } from "../../lib/errors";
import { getQuery, pick } from "../../lib/feathers-query";
import type { AppRouteHandler } from "../../lib/route-handler";
import { loadClinic } from "../../middleware/tenant";
import { DETAILS_QUERY } from "../../services/account-find";
import { patchPersonalDetails } from "../../services/account-profile";
import { deliverSoon } from "../../services/outbox";
import { refreshProfiles } from "../../services/own-profile";
import { findPage, ownAccount, queryOf } from "./accounts.handlers";
import type {
  findDetails as findDetailsRoute,
  getDetails as getDetailsRoute,
  patchDetails as patchDetailsRoute,
} from "./personal-details.routes";
import { personalDetailsWire } from "./wire";

export const findDetails: AppRouteHandler<typeof findDetailsRoute> = async (c) => {
  return c.json(await findPage(c, "personal-details", DETAILS_QUERY, personalDetailsWire, "id"), 200);
};

export const getDetails: AppRouteHandler<typeof getDetailsRoute> = async (c) => {
  const { select } = getQuery(DETAILS_QUERY, queryOf(c));
  return c.json(pick(personalDetailsWire(await ownAccount(c, c.req.valid("param").id)), "id", select), 200);
};

/** The patch is merged into the stored details in one UPDATE (services/account-profile.ts). */
export const patchDetails: AppRouteHandler<typeof patchDetailsRoute> = async (c) => {
  const user = await ownAccount(c, c.req.valid("param").id);
  const { updated, queued } = await patchPersonalDetails(c.env, user, c.req.valid("json"), () =>
    loadClinic(c),
  );
  if (!updated) throw new ApiError("invalid_token");
  await bestEffort(c, () => refreshProfiles(c.env, updated));
  deliverSoon(c, queued);
  return c.json(personalDetailsWire(updated), 200);
};

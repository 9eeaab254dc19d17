import { afterResponse } from "../../lib/background";
import type { AppRouteHandler } from "../../lib/route-handler";
import { loadClinic } from "../../middleware/tenant";
import { activationTarget } from "../../services/activation";
import { emailActivation, emailPasswordReset } from "../../services/email-tokens";
import type { activate as activateRoute, resetPassword as resetPasswordRoute } from "./users.routes";

/** Always `{data: true}` at once: the lookup and the email happen after the response (no oracle). */
export const resetPassword: AppRouteHandler<typeof resetPasswordRoute> = async (c) => {
  const clinic = await loadClinic(c);
  const { email } = c.req.valid("json");
  afterResponse(c, () => emailPasswordReset(c.env, clinic, email, c.get("requestId")));
  return c.json({ data: true as const }, 200);
};

export const activate: AppRouteHandler<typeof activateRoute> = async (c) => {
  const clinic = await loadClinic(c);
  // The same answer whatever the details (see services/activation.ts); only a lock answers otherwise.
  const target = await activationTarget(c.env, clinic, c.req.valid("json"));
  if (target) afterResponse(c, () => emailActivation(c.env, clinic, target, c.get("requestId")));
  return c.json({ data: true as const }, 200);
};

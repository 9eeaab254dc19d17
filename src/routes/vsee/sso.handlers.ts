import type { AppRouteHandler } from "../../lib/route-handler";
import { auditSink } from "../../middleware/audit";
import { ssoSignIn } from "../../services/sso";
import { generatedId, USER_TYPES } from "../../services/users";
import type { sso as ssoRoute } from "./users.routes";
import { ssoWire } from "./wire";

export const sso: AppRouteHandler<typeof ssoRoute> = async (c) => {
  const clinic = c.get("clinic");
  const body = c.req.valid("json");
  const code = body.type === USER_TYPES.guest ? generatedId() : (body.code as string);
  const { user, tokens } = await ssoSignIn(
    c.env,
    clinic,
    body.type,
    code,
    {
      firstName: body.first_name,
      lastName: body.last_name,
      dob: body.dob,
      email: body.email,
      username: body.username,
      disableEmails: body.disable_emails,
      gender: body.gender,
      streetAddr: body.street_addr,
      city: body.city,
      state: body.state,
      zip: body.zip,
      phone: body.phone,
    },
    auditSink(c),
  );
  const data = ssoWire(clinic.code, user, tokens);
  const withVsee = c.req.valid("query").fields?.split(",").includes("vsee");
  return c.json(
    { data: withVsee ? { ...data, vsee: { id: data.vseeid, token: tokens.access.token } } : data },
    200,
  );
};

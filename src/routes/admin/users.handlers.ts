import { clearAlive } from "../../kv/alive";
import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { requireClinic } from "../../services/clinics";
import { patchUserRights, type UserPatch } from "../../services/user-rights";
import type { patchUser as patchUserRoute } from "./users.routes";

export const patchUser: AppRouteHandler<typeof patchUserRoute> = async (c) => {
  const { code, id } = c.req.valid("param");
  const body = c.req.valid("json");
  const clinic = await requireClinic(c.env, code);
  const patch: UserPatch = {};
  if (body.roles !== undefined) patch.roles = [...new Set(body.roles)].join(",");
  if (body.type !== undefined) patch.type = body.type;
  if (body.subtype !== undefined) patch.subtype = body.subtype;
  if (body.disabled !== undefined) patch.disabled = body.disabled;
  if (body.is_hidden !== undefined) patch.isHidden = body.is_hidden;
  if (body.group !== undefined) patch.groupName = body.group;
  // Disabling the user, or changing their type, subtype, roles or group, ends their sessions (same batch).
  const user = await patchUserRights(c.env, clinic.id, id, patch);
  if (!user) throw new ApiError("user_not_found");
  if (body.disabled) await clearAlive(c.env.KV, clinic.id, user.id);
  return c.json(
    {
      user: {
        id: String(user.id),
        code: user.code,
        username: user.username,
        type: user.type,
        subtype: user.subtype,
        status: user.status,
        roles: user.roles ? user.roles.split(",") : [],
        disabled: user.disabled,
        is_hidden: user.isHidden,
        group: user.groupName,
      },
    },
    200,
  );
};

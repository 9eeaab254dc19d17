import { clearAlive } from "../../kv/alive";
import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { requireClinic } from "../../services/clinics";
import { patchUserRights, type UserPatch } from "../../services/user-rights";
import type * as routes from "./users.routes";

export const patchUser: AppRouteHandler<typeof routes.patchUser> = async (c) => {
  const { code, id } = c.req.valid("param");
  const b = c.req.valid("json");
  const clinic = await requireClinic(c.env, code);
  const patch: UserPatch = {};
  if (b.roles !== undefined) patch.roles = [...new Set(b.roles)].join(",");
  if (b.type !== undefined) patch.type = b.type;
  if (b.subtype !== undefined) patch.subtype = b.subtype;
  if (b.disabled !== undefined) patch.disabled = b.disabled;
  if (b.is_hidden !== undefined) patch.isHidden = b.is_hidden;
  if (b.group !== undefined) patch.groupName = b.group;
  // Disabling the user, or changing their type, subtype, roles or group, ends their sessions (same batch).
  const user = await patchUserRights(c.env, clinic.id, id, patch);
  if (!user) throw new ApiError("user_not_found");
  if (b.disabled) await clearAlive(c.env.KV, clinic.id, user.id);
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

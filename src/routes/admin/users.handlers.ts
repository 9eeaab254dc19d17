import type { RouteHandler } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { getDb } from "../../db";
import { users } from "../../db/schema";
import { clearAlive } from "../../kv/alive";
import { now } from "../../lib/clock";
import { ApiError } from "../../lib/errors";
import { requireClinic } from "../../services/clinics";
import { revokeSessions } from "../../services/sessions";
import type { AppEnv } from "../../types";
import type * as routes from "./users.routes";

export const patchUser: RouteHandler<typeof routes.patchUser, AppEnv> = async (c) => {
  const { code, id } = c.req.valid("param");
  const b = c.req.valid("json");
  const db = getDb(c.env.DB);
  const clinic = await requireClinic(db, code);
  const set: Partial<typeof users.$inferInsert> = { updatedAt: now() };
  if (b.roles !== undefined) set.roles = [...new Set(b.roles)].join(",");
  if (b.type !== undefined) set.type = b.type;
  if (b.subtype !== undefined) set.subtype = b.subtype;
  if (b.disabled !== undefined) set.disabled = b.disabled;
  if (b.is_hidden !== undefined) set.isHidden = b.is_hidden;
  if (b.group !== undefined) set.groupName = b.group;
  const where = and(eq(users.id, id), eq(users.clinicId, clinic.id));
  // The row before and after, in one atomic batch: what changed decides whether the user's sessions end.
  const [before, after] = await db.batch([
    db.select().from(users).where(where),
    db.update(users).set(set).where(where).returning(),
  ]);
  const old = before[0];
  const user = after[0];
  if (!old || !user) throw new ApiError("user_not_found");
  // The sessions of a disabled user end, and so do those of a user whose type, subtype, roles or group
  // changed: what a session may do was decided from them (access tokens carry type, roles and group).
  const rightsChanged =
    old.type !== user.type ||
    old.subtype !== user.subtype ||
    old.roles !== user.roles ||
    old.groupName !== user.groupName;
  if (b.disabled || rightsChanged) {
    await revokeSessions(c.env, { userId: user.id, clinicId: clinic.id });
  }
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

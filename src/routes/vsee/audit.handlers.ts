import type { RouteHandler } from "@hono/zod-openapi";
import type { Clinic } from "../../db/schema";
import { ApiError } from "../../lib/errors";
import { isClinicAdmin } from "../../middleware/auth";
import { auditFilter, listAudit as list } from "../../services/audit";
import type { AppEnv } from "../../types";
import type * as r from "./audit.routes";
import { auditWire } from "./wire";

/** The clinic's audit log: its API key and its clinic admins only. */
export const listAudit: RouteHandler<typeof r.listAudit, AppEnv> = async (c) => {
  const caller = c.get("caller");
  if (caller && !isClinicAdmin(caller))
    throw new ApiError("forbidden", { message: "Only clinic admins can read the audit log" });
  const clinicId = caller ? caller.clinicId : (c.get("clinic") as Clinic).id;
  const q = c.req.valid("query");
  const { rows, total } = await list(c.env, auditFilter(q, clinicId, 20));
  return c.json({ data: rows.map(auditWire), total_count: total }, 200);
};

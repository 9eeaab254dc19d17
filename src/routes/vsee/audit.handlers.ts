import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { isClinicAdmin, tenantOf } from "../../middleware/auth";
import { auditFilter, listAudit as list } from "../../services/audit";
import type { listAudit as listAuditRoute } from "./audit.routes";
import { auditWire } from "./wire";

/** The clinic's audit log: its API key and its clinic admins only. */
export const listAudit: AppRouteHandler<typeof listAuditRoute> = async (c) => {
  const principal = c.get("principal");
  if (principal.kind === "user" && !isClinicAdmin(principal.caller)) throw new ApiError("audit_forbidden");
  const { clinicId } = tenantOf(principal);
  const q = c.req.valid("query");
  const { rows, total } = await list(c.env, auditFilter(q, clinicId, 20));
  return c.json({ data: rows.map(auditWire), total_count: total }, 200);
};

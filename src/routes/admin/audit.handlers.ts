import type { AppRouteHandler } from "../../lib/route-handler";
import { auditFilter, listAudit as list } from "../../services/audit";
import { requireClinic } from "../../services/clinics";
import { auditWire } from "../vsee/wire";
import type { listAudit as listAuditRoute } from "./audit.routes";

export const listAudit: AppRouteHandler<typeof listAuditRoute> = async (c) => {
  const q = c.req.valid("query");
  const clinicId = q.clinic ? (await requireClinic(c.env, q.clinic)).id : undefined;
  const filter = auditFilter(q, clinicId, 50);
  const { start, limit } = filter;
  const { rows, total } = await list(c.env, filter);
  const data = rows.map((row) => {
    const wire = auditWire(row);
    return {
      ...wire,
      id: row.id,
      clinic_id: row.clinic_id,
      actor_user_id: row.actor_user_id,
      subject_user_id: row.subject_user_id,
    };
  });
  return c.json({ data, total, start, limit }, 200);
};

import { createRoute } from "@hono/zod-openapi";
import { errorResponses, SECURITY, z } from "../../lib/openapi";
import { auditFilterFields } from "../../lib/schemas";
import { requireAdmin } from "../../middleware/admin";

export const AdminAuditEntry = z
  .object({
    id: z.number().int(),
    clinic_id: z.number().int().nullable(),
    event: z.string(),
    outcome: z.enum(["success", "failure"]),
    actor_user_id: z.number().int().nullable(),
    subject_user_id: z.number().int().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    created: z.number().int(),
  })
  .openapi("AdminAuditEntry");

export const listAudit = createRoute({
  method: "get",
  path: "/audit",
  operationId: "adminListAudit",
  tags: ["admin: audit"],
  security: SECURITY.admin,
  summary: "The audit log of every clinic (or of one), newest first",
  description:
    "Security events of all families and the operators' own actions. Filter by clinic (code), event, outcome, user and time range; page with start and limit.",
  middleware: [requireAdmin] as const,
  request: {
    query: z.object({
      clinic: z.string().max(63).optional().openapi({ description: "A clinic code" }),
      ...auditFilterFields(),
    }),
  },
  responses: {
    200: {
      description: "Entries",
      content: {
        "application/json": {
          schema: z
            .object({
              data: z.array(AdminAuditEntry),
              total: z.number().int(),
              start: z.number().int(),
              limit: z.number().int(),
            })
            .openapi("AdminAudit"),
        },
      },
    },
    ...errorResponses("admin", 400, 401, 404, 503),
  },
});

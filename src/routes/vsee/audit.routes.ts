import { createRoute } from "@hono/zod-openapi";
import { errorResponses, SECURITY, z } from "../../lib/openapi";
import { auditFilterFields } from "../../lib/schemas";
import { vseeAuth } from "../../middleware/auth";
import { json, list } from "./schemas";

export const AuditEntry = z
  .object({
    id: z.string(),
    event: z.string(),
    outcome: z.enum(["success", "failure"]),
    actor_user_id: z.string().nullable().openapi({ description: "Who acted (null: anonymous, API key)" }),
    subject_user_id: z.string().nullable().openapi({ description: "Whom it concerns" }),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).openapi({ description: "Small, non-secret details" }),
    created: z.number().int(),
  })
  .openapi("VseeAuditEntry");

export const listAudit = createRoute({
  method: "get",
  path: "/audit",
  operationId: "vseeListAudit",
  tags: ["api_v3: audit"],
  security: SECURITY.tokenOrKey,
  summary: "The clinic's audit log, newest first (clinic admins and the clinic's API key)",
  description:
    "Security events: sign-ins, SSO, token refresh and reuse, sign-outs, password, identity and MFA changes, profile access, operators' actions. Filter by event, outcome, user and time range; page with start and limit. Never holds secrets or health data.",
  middleware: [vseeAuth({ apiKey: true })] as const,
  request: { query: z.object(auditFilterFields()) },
  responses: {
    200: json(list(AuditEntry), "A page of entries and the total count"),
    ...errorResponses("vsee", 400, 401, 403),
  },
});

import { createRoute } from "@hono/zod-openapi";
import { errorResponses, SECURITY, z } from "../../lib/openapi";
import { intLike } from "../../lib/schemas";
import { requireAdmin } from "../../middleware/admin";

const security = SECURITY.admin;

const paging = {
  start: intLike().pipe(z.number().min(0)).optional(),
  limit: intLike().pipe(z.number().min(1).max(100)).optional(),
};

const list = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      data: z.array(item),
      total: z.number().int(),
      start: z.number().int(),
      limit: z.number().int(),
    })
    .openapi(name);

export const WaitlistEntry = z
  .object({
    id: z.number().int(),
    email: z.string().nullable(),
    mobile_no: z.string().nullable(),
    personal_details: z.record(z.string(), z.unknown()),
    status: z.enum(["pending", "approved"]),
    created: z.number().int(),
    approved: z.number().int().nullable(),
  })
  .openapi("AdminWaitlistEntry");

export const OutboxMessage = z
  .object({
    id: z.number().int(),
    clinic_id: z.number().int(),
    channel: z.enum(["email", "sms"]),
    recipient: z.string(),
    template: z.string(),
    subject: z.string(),
    body_text: z.string().openapi({ description: "Erased once a real provider delivered the message" }),
    body_html: z.string().nullable(),
    status: z.enum(["pending", "sending", "sent", "failed"]),
    attempts: z.number().int(),
    next_attempt_at: z.number().int(),
    last_error: z.string().nullable(),
    created: z.number().int(),
    sent_at: z.number().int().nullable(),
  })
  .openapi("OutboxMessage");

const CodeParam = z.object({ code: z.string().openapi({ param: { name: "code", in: "path" } }) });

export const listWaitlist = createRoute({
  method: "get",
  path: "/clinics/{code}/waitlist",
  operationId: "adminListWaitlist",
  tags: ["admin: accounts"],
  security,
  summary: "A clinic's account waitlist",
  middleware: [requireAdmin] as const,
  request: {
    params: CodeParam,
    query: z.object({ status: z.enum(["pending", "approved"]).optional(), ...paging }),
  },
  responses: {
    200: {
      description: "Entries, oldest first",
      content: { "application/json": { schema: list(WaitlistEntry, "AdminWaitlist") } },
    },
    ...errorResponses("admin", 400, 401, 404, 503),
  },
});

export const approveEntry = createRoute({
  method: "post",
  path: "/clinics/{code}/waitlist/{id}/approve",
  operationId: "adminApproveWaitlistEntry",
  tags: ["admin: accounts"],
  security,
  summary: "Approve a waitlist entry: email it an invitation code",
  description:
    "Generates an invitation (valid 30 days, stored hashed) and queues the invitation email; approving again sends a new code and retires the previous one. The code itself is only in the email (see GET /admin/outbox locally).",
  middleware: [requireAdmin] as const,
  request: {
    params: CodeParam.extend({
      id: intLike().openapi({ type: "integer", param: { name: "id", in: "path" } }),
    }),
  },
  responses: {
    200: {
      description: "The approved entry and when its invitation expires",
      content: {
        "application/json": {
          schema: z.object({ entry: WaitlistEntry, invitation_expires: z.number().int() }),
        },
      },
    },
    ...errorResponses("admin", 400, 401, 404, 503),
  },
});

export const listOutbox = createRoute({
  method: "get",
  path: "/outbox",
  operationId: "adminListOutbox",
  tags: ["admin: messages"],
  security,
  summary: "Emails and SMS, newest first (locally, read verification codes here)",
  description:
    "With MESSAGE_SENDER=outbox (local development) the outbox is the delivery: message bodies stay readable here. With a real provider a body is erased once delivered.",
  middleware: [requireAdmin] as const,
  request: {
    query: z.object({
      clinic: z.string().max(63).optional().openapi({ description: "A clinic code" }),
      status: z.enum(["pending", "sending", "sent", "failed"]).optional(),
      ...paging,
    }),
  },
  responses: {
    200: {
      description: "Messages",
      content: { "application/json": { schema: list(OutboxMessage, "AdminOutbox") } },
    },
    ...errorResponses("admin", 400, 401, 404, 503),
  },
});

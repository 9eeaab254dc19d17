import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody } from "../../lib/openapi";
import { rateLimit } from "../../middleware/rate-limit";
import { InviteCodeParam, json, WaitlistBody, WaitlistEntry } from "./schemas";

const tags = ["accounts: waitlist"];

export const createEntry = createRoute({
  method: "post",
  path: "/account-waitlist",
  operationId: "createWaitlistEntry",
  security: SECURITY.public,
  tags,
  summary: "Ask to be invited (invite-only clinics)",
  description:
    "Adds the email to the clinic's waitlist; operators approve entries with the admin API, which emails an invitation code. The same email again adds nothing (and answers the same). Public, rate-limited.",
  middleware: [rateLimit("MESSAGES_LIMITER", "accounts-waitlist"), withBody] as const,
  request: { body: formBody(WaitlistBody) },
  responses: {
    201: json(WaitlistEntry, "The entry as submitted"),
    ...errorResponses("accounts", ...BODY_ERRORS, 403, 404, 429),
  },
});

export const getEntry = createRoute({
  method: "get",
  path: "/account-waitlist/{inviteCode}",
  operationId: "getWaitlistEntry",
  security: SECURITY.public,
  tags,
  summary: "The waitlist details of an invitation code (to prefill signup)",
  description: "Answers 404 for a code that is unknown, used or expired. Public, rate-limited.",
  middleware: [rateLimit("CREDENTIALS_LIMITER", "accounts-invitation")] as const,
  request: { params: InviteCodeParam },
  responses: {
    200: json(WaitlistEntry, "The details given when joining the waitlist"),
    ...errorResponses("accounts", 400, 403, 404, 429),
  },
});

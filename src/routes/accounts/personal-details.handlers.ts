import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { getDb } from "../../db";
import { statement } from "../../db/rows";
import { users } from "../../db/schema";
import { now } from "../../lib/clock";
import { ApiError } from "../../lib/errors";
import { getQuery, pick } from "../../lib/feathers-query";
import { loadClinic } from "../../middleware/tenant";
import { DETAILS_QUERY } from "../../services/account-find";
import { detailsChange, personalDetailsWire } from "../../services/accounts";
import { deliverSoon, queuedIds, queueMessage } from "../../services/outbox";
import { userFromRow } from "../../services/users";
import type { AppEnv } from "../../types";
import { findPage, ownAccount, queryOf } from "./accounts.handlers";
import type * as r from "./personal-details.routes";

type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

export const findDetails: Handler<typeof r.findDetails> = async (c) => {
  return c.json(await findPage(c, "personal-details", DETAILS_QUERY, personalDetailsWire, "id"), 200);
};

export const getDetails: Handler<typeof r.getDetails> = async (c) => {
  const { select } = getQuery(DETAILS_QUERY, queryOf(c));
  return c.json(pick(personalDetailsWire(await ownAccount(c, c.req.valid("param").id)), "id", select), 200);
};

/**
 * One UPDATE merges the patch into the stored details with SQLite's json_patch (RFC 7396), so that
 * concurrent patches of different fields never lose each other; the messages it causes are in the batch.
 */
export const patchDetails: Handler<typeof r.patchDetails> = async (c) => {
  const user = await ownAccount(c, c.req.valid("param").id);
  const patch = c.req.valid("json");
  const change = detailsChange(patch);
  const query = getDb(c.env.DB)
    .update(users)
    .set({
      ...change.columns,
      details: sql`json_patch(${users.details}, ${JSON.stringify(change.details)})`,
      extra: sql`json_patch(${users.extra}, ${JSON.stringify(change.extra)})`,
      updatedAt: now(),
    })
    .where(eq(users.id, user.id))
    .returning();
  const messages: D1PreparedStatement[] = [];
  const becameDoctor = change.columns.isDoctor === true && !user.isDoctor;
  if (user.email && (becameDoctor || patch.identityImages?.length)) {
    const clinic = await loadClinic(c);
    const vars = {
      clinicName: clinic.name,
      name: change.columns.firstName || user.firstName,
      verifiedRecipient: user.emailVerified,
    };
    if (becameDoctor)
      messages.push(queueMessage(c.env.DB, clinic.id, "email", user.email, "human_verification", vars));
    if (patch.identityImages?.length)
      messages.push(
        queueMessage(c.env.DB, clinic.id, "email", user.email, "identity_validation_receipt", vars),
      );
  }
  const [updated, ...queued] = await c.env.DB.batch([statement(c.env.DB, query), ...messages]);
  const raw = updated?.results[0] as Record<string, unknown> | undefined;
  if (!raw) throw new ApiError("invalid_token");
  deliverSoon(c, queuedIds(queued));
  return c.json(personalDetailsWire(userFromRow(raw)), 200);
};

import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  type Actor,
  type LiveViewer,
  PROTOCOL_HEADER,
  VIEWER_HEADER,
  type WriteResult,
} from "../../durable-objects/care-record";
import { ApiError } from "../../lib/errors";
import { isClinicAdmin } from "../../middleware/auth";
import { LIVE_PROTOCOL, offeredProtocols } from "../../middleware/care-auth";
import {
  CARE_FIELDS,
  careRecord,
  forbiddenFields,
  GROUP_DEFS,
  type Group,
  isGroup,
} from "../../services/care";
import { markLive } from "../../services/sessions";
import type { AppEnv, Caller } from "../../types";
import type * as r from "./state.routes";
import { etag, historyWire, versionCondition } from "./wire";

type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

const ADMIN_GROUP = "clinic_admin";

/** The caller and its care-team group; 403 for users outside the three groups. */
function member(c: Context<AppEnv>): { caller: Caller; group: Group } {
  const caller = c.get("caller") as Caller;
  if (!isGroup(caller.group)) {
    throw new ApiError("forbidden", {
      message: "Only patients, physicians and insurers can use the care record",
    });
  }
  return { caller, group: caller.group };
}

function written(result: WriteResult) {
  if (!result.ok) throw new ApiError("version_mismatch", { headers: { ETag: etag(result.state.version) } });
  return result.state;
}

export const getState: Handler<typeof r.getState> = async (c) => {
  const { caller } = member(c);
  const state = await careRecord(c.env, caller.clinicId).read();
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const putState: Handler<typeof r.putState> = async (c) => {
  const { caller, group } = member(c);
  const body = c.req.valid("json");
  const denied = forbiddenFields(
    group,
    CARE_FIELDS.filter((f) => body[f] !== undefined),
  );
  if (denied.length > 0) {
    const own = GROUP_DEFS[group];
    throw new ApiError("forbidden", {
      message: `${own.display} may write only ${own.writes.join(" and ")} (not ${denied.join(", ")})`,
    });
  }
  const condition = versionCondition(c.req.valid("header")["if-match"]);
  const actor: Actor = { userId: caller.userId, group };
  const state = written(await careRecord(c.env, caller.clinicId).write(body, actor, condition));
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const deleteState: Handler<typeof r.deleteState> = async (c) => {
  const caller = c.get("caller") as Caller;
  const admin = isClinicAdmin(caller);
  if (!admin && caller.group !== "physicians") {
    throw new ApiError("forbidden", {
      message: "Only clinic admins and physicians can reset the care record",
    });
  }
  const condition = versionCondition(c.req.valid("header")["if-match"]);
  const actor: Actor = {
    userId: caller.userId,
    group: caller.group === "physicians" ? "physicians" : ADMIN_GROUP,
  };
  const state = written(await careRecord(c.env, caller.clinicId).reset(actor, condition));
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const history: Handler<typeof r.history> = async (c) => {
  const caller = c.get("caller") as Caller;
  if (!isGroup(caller.group) && !isClinicAdmin(caller)) {
    throw new ApiError("forbidden", {
      message: "Only patients, physicians, insurers and clinic admins can read the care record's history",
    });
  }
  const { limit = 20, before } = c.req.valid("query");
  const page = await careRecord(c.env, caller.clinicId).history(limit, before);
  return c.json({ entries: page.entries.map(historyWire), next_before: page.nextBefore }, 200);
};

export const live: Handler<typeof r.live> = async (c) => {
  const { caller, group } = member(c);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("bad_request", { message: "Expected a WebSocket upgrade (Upgrade: websocket)" });
  }
  const viewer: LiveViewer = {
    userId: caller.userId,
    sessionId: caller.sessionId,
    group,
    expiresAt: caller.expiresAt ?? 0,
  };
  const headers = new Headers({ Upgrade: "websocket", [VIEWER_HEADER]: JSON.stringify(viewer) });
  if (offeredProtocols(c.req.header("sec-websocket-protocol")).includes(LIVE_PROTOCOL)) {
    headers.set(PROTOCOL_HEADER, LIVE_PROTOCOL);
  }
  // A fresh request: the client's token (query or subprotocol) is not handed on.
  const res = await careRecord(c.env, caller.clinicId).fetch(
    new Request("https://care-record/live", { headers }),
  );
  // The session now has a live socket: ending the session closes it (see revokeSessions).
  if (res.status === 101) await markLive(c.env, caller.sessionId);
  return res;
};

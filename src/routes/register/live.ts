/** Opening a live socket on a care record (GET /state/live, GET /records/:patientId/live). */
import type { Context } from "hono";
import { type LiveViewer, PROTOCOL_HEADER, VIEWER_HEADER } from "../../durable-objects/care-record";
import { ApiError } from "../../lib/errors";
import { LIVE_PROTOCOL, offeredProtocols } from "../../middleware/care-auth";
import { markLive } from "../../services/sessions";
import type { AppEnv } from "../../types";
import { afterAccess, type OpenRecord } from "./record-access";

/** Hands the upgrade to the record's object with the (already authorized) viewer. */
export async function openLive<E extends AppEnv>(
  c: Context<E>,
  rec: OpenRecord,
  record: string,
): Promise<Response> {
  const caller = rec.caller;
  if (!caller) throw new ApiError("unauthorized");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("websocket_required");
  }
  const viewer: LiveViewer = {
    userId: caller.userId,
    sessionId: caller.sessionId,
    group: rec.actor.group,
    fields: rec.fields,
    logged: rec.actor.logged,
    expiresAt: caller.expiresAt ?? 0,
  };
  const headers = new Headers({ Upgrade: "websocket", [VIEWER_HEADER]: JSON.stringify(viewer) });
  if (offeredProtocols(c.req.header("sec-websocket-protocol")).includes(LIVE_PROTOCOL)) {
    headers.set(PROTOCOL_HEADER, LIVE_PROTOCOL);
  }
  // A fresh request: the client's token (query or subprotocol) is not handed on.
  const res = await rec.stub.fetch(new Request("https://care-record/live", { headers }));
  if (res.status === 403) throw new ApiError("not_on_care_team");
  if (res.status === 101) {
    // The session now has a live socket on this record: ending the session closes it (revokeSessions).
    await markLive(c.env, caller.sessionId, rec.clinicId, record);
    afterAccess(c, rec, "live", rec.fields);
  }
  return res;
}

import { ApiError } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { recordName } from "../../services/care";
import { openLive } from "../register/live";
import { afterAccess, patientIdOf, viewed, writableFields, written } from "../register/record-access";
import { accessWire, etag, historyWire, versionCondition } from "../register/wire";
import { openPortalRecord, peopleOf } from "./record-page";
import type {
  portalRecordAccessLog as portalRecordAccessLogRoute,
  portalRecordHistory as portalRecordHistoryRoute,
  portalRecordLive as portalRecordLiveRoute,
  portalRecord as portalRecordRoute,
  portalRecordWrite as portalRecordWriteRoute,
} from "./records.routes";

export const getRecord: AppRouteHandler<typeof portalRecordRoute> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  const state = viewed(await rec.stub.view({ ...rec.actor, fields: rec.fields }));
  afterAccess(c, rec, "read", rec.fields);
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const putRecord: AppRouteHandler<typeof portalRecordWriteRoute> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  const body = c.req.valid("json");
  const fields = writableFields(rec.access.group, body);
  const condition = versionCondition(c.req.valid("header")["if-match"]);
  if (condition === undefined || condition === "*") {
    throw new ApiError("if_match_required", {
      fields: [{ param: "If-Match", message: 'must be the version edited, e.g. "12"' }],
    });
  }
  const state = written(await rec.stub.write(body, rec.actor, condition));
  afterAccess(c, rec, "write", fields, state.version);
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const recordHistory: AppRouteHandler<typeof portalRecordHistoryRoute> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  const { limit = 20, before } = c.req.valid("query");
  const [page, who] = await Promise.all([rec.stub.history(limit, before), peopleOf(c, rec)]);
  return c.json(
    {
      entries: page.entries.map((e) => ({ ...historyWire(e), ...who(e.userId, e.group) })),
      next_before: page.nextBefore,
    },
    200,
  );
};

export const recordAccessLog: AppRouteHandler<typeof portalRecordAccessLogRoute> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  if (rec.access.kind !== "patient") {
    throw new ApiError("access_log_patient_only");
  }
  const { limit = 20, before } = c.req.valid("query");
  const [page, who] = await Promise.all([rec.stub.accessLog(limit, before), peopleOf(c, rec)]);
  return c.json(
    {
      entries: page.entries.map((e) => ({ ...accessWire(e), ...who(e.userId, e.group) })),
      next_before: page.nextBefore,
    },
    200,
  );
};

export const recordLive: AppRouteHandler<typeof portalRecordLiveRoute> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  return openLive(c, rec, recordName(rec.clinicId, rec.patientId));
};

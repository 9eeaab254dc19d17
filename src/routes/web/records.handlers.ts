import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { recordName } from "../../services/care";
import type { AppEnv } from "../../types";
import { openLive } from "../register/live";
import { afterAccess, patientIdOf, viewed, writableFields, written } from "../register/record-access";
import { etag, isoSeconds, versionCondition } from "../register/wire";
import { openPortalRecord, peopleOf } from "./record-page";
import type * as r from "./records.routes";

type Handler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

export const getRecord: Handler<typeof r.portalRecord> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  const state = viewed(await rec.stub.view({ ...rec.actor, fields: rec.fields }));
  afterAccess(c, rec, "read", rec.fields);
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const putRecord: Handler<typeof r.portalRecordWrite> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  const body = c.req.valid("json");
  const fields = writableFields(rec.access.group, body);
  const condition = versionCondition(c.req.valid("header")["if-match"]);
  if (condition === undefined || condition === "*") {
    throw new ApiError("bad_request", {
      message: "If-Match is required: the version the page edited",
      fields: [{ param: "If-Match", message: 'must be the version edited, e.g. "12"' }],
    });
  }
  const state = written(await rec.stub.write(body, rec.actor, condition));
  afterAccess(c, rec, "write", fields, state.version);
  return c.json(state, 200, { ETag: etag(state.version) });
};

export const recordHistory: Handler<typeof r.portalRecordHistory> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  const { limit = 20, before } = c.req.valid("query");
  const [page, who] = await Promise.all([rec.stub.history(limit, before), peopleOf(c, rec)]);
  return c.json(
    {
      entries: page.entries.map((e) => ({
        version: e.version,
        action: e.action,
        fields: e.fields,
        user_id: String(e.userId),
        group: e.group,
        at: isoSeconds(e.at),
        ...who(e.userId, e.group),
      })),
      next_before: page.nextBefore,
    },
    200,
  );
};

export const recordAccessLog: Handler<typeof r.portalRecordAccessLog> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  if (rec.access.kind !== "patient") {
    throw new ApiError("forbidden", { message: "Only the patient reads their record's access log here" });
  }
  const { limit = 20, before } = c.req.valid("query");
  const [page, who] = await Promise.all([rec.stub.accessLog(limit, before), peopleOf(c, rec)]);
  return c.json(
    {
      entries: page.entries.map((e) => ({
        id: e.id,
        action: e.action,
        fields: e.fields,
        user_id: String(e.userId),
        group: e.group,
        at: isoSeconds(e.at),
        ...who(e.userId, e.group),
      })),
      next_before: page.nextBefore,
    },
    200,
  );
};

export const recordLive: Handler<typeof r.portalRecordLive> = async (c) => {
  const rec = await openPortalRecord(c, patientIdOf(c.req.valid("param").patientId));
  return openLive(c, rec, recordName(rec.clinicId, rec.patientId));
};

/**
 * The care record for the portal's pages' scripts: the register family's /records/:patientId operations
 * (same access rules, same Durable Object), authenticated by the portal's session cookie as the pages'
 * other scripts are (POST /api_v3/users/alive): the page's CSRF token on every request, reads included
 * (a read is an entry of the record's access log: no other site may cause one), and requests only from
 * pages of this origin. The record API's own routes keep their bearer tokens and take no portal cookie.
 */
import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, withBody, z } from "../../lib/openapi";
import * as s from "../register/schemas";
import { pageHeaders } from "./headers";
import { portalRecordApi } from "./record-auth";

const tags = ["portal"];
const security = [{ portalSession: [], csrfToken: [] }];

const withEtag = (description: string) => ({
  ...s.json(s.CareState, description),
  headers: { ETag: { description: 'The version, quoted ("12")', schema: { type: "string" as const } } },
});

const Person = {
  user_id: z.string(),
  name: z.string().openapi({ description: "The user's name (or who they were to the record)" }),
  role: z.string().openapi({ description: "patient, physician, insurer or clinic staff" }),
  group: z.string(),
  at: z.string().openapi({ description: "ISO-8601, UTC" }),
};

export const PortalHistory = z
  .object({
    entries: z.array(
      z.object({
        version: z.number().int(),
        action: z.enum(["update", "reset"]),
        fields: z.array(z.string()),
        ...Person,
      }),
    ),
    next_before: z.number().int().nullable(),
  })
  .openapi("PortalRecordHistory");

export const PortalAccessLog = z
  .object({
    entries: z.array(
      z.object({
        id: z.number().int(),
        action: z.enum(["read", "write", "reset", "live"]),
        fields: z.array(z.string()),
        ...Person,
      }),
    ),
    next_before: z.number().int().nullable(),
  })
  .openapi("PortalRecordAccessLog");

export const portalRecord = createRoute({
  method: "get",
  path: "/portal/records/{patientId}",
  operationId: "portalGetRecord",
  tags,
  security,
  summary: "A care record for the portal's pages (the patient, their care team)",
  description:
    "As GET /records/{patientId}, with the portal session cookie and the page's X-CSRF-Token. Logged in the record's access log like any read by someone other than the patient.",
  middleware: [pageHeaders, portalRecordApi()] as const,
  request: { params: s.PatientParam },
  responses: {
    200: withEtag("The fields the caller reads and the version"),
    ...errorResponses("admin", 400, 401, 403, 404),
  },
});

export const portalRecordWrite = createRoute({
  method: "put",
  path: "/portal/records/{patientId}",
  operationId: "portalPutRecord",
  tags,
  security,
  summary: "Change fields of a care record from the portal (each group its own fields; If-Match required)",
  description:
    "As PUT /records/{patientId}, but `If-Match` (the version the page edited) is required: a page never overwrites a change it has not shown (412 with the current ETag; the page then shows the newer text and asks to merge).",
  middleware: [pageHeaders, portalRecordApi(), withBody] as const,
  request: {
    params: s.PatientParam,
    headers: z.object({
      "if-match": z
        .string()
        .max(256)
        .openapi({ param: { name: "if-match", in: "header" }, description: 'The version edited, e.g. "12"' }),
    }),
    body: formBody(s.StateBody),
  },
  responses: {
    200: withEtag("The whole new state"),
    ...errorResponses("admin", ...BODY_ERRORS, 401, 403, 404, 412),
  },
});

export const portalRecordHistory = createRoute({
  method: "get",
  path: "/portal/records/{patientId}/history",
  operationId: "portalRecordHistory",
  tags,
  security,
  summary: "A care record's changes for the portal, newest first, with who made them",
  middleware: [pageHeaders, portalRecordApi()] as const,
  request: { params: s.PatientParam, query: s.HistoryQuery },
  responses: {
    200: s.json(PortalHistory, "A page of entries"),
    ...errorResponses("admin", 400, 401, 403, 404),
  },
});

export const portalRecordAccessLog = createRoute({
  method: "get",
  path: "/portal/records/{patientId}/access-log",
  operationId: "portalRecordAccessLog",
  tags,
  security,
  summary: "Who read or changed the patient's record (the patient's page), newest first",
  middleware: [pageHeaders, portalRecordApi()] as const,
  request: { params: s.PatientParam, query: s.AccessLogQuery },
  responses: {
    200: s.json(PortalAccessLog, "A page of entries"),
    ...errorResponses("admin", 400, 401, 403, 404),
  },
});

export const portalRecordLive = createRoute({
  method: "get",
  path: "/portal/records/{patientId}/live",
  operationId: "portalRecordLive",
  tags,
  security,
  summary: "WebSocket for the portal's pages: the record now, then every new state",
  description:
    'As GET /records/{patientId}/live, authenticated by the portal session cookie; the page offers the subprotocols `care-state` and `csrf.<the page\'s CSRF token>` (the server selects `care-state`), and the handshake\'s Origin must be this site. Messages `{"type": "state", "state": {…}}`; close codes 4001, 4003 (the session ended), 4004 (removed from the care team).',
  middleware: [portalRecordApi({ live: true })] as const,
  request: { params: s.PatientParam },
  responses: {
    101: { description: "Switching Protocols: the WebSocket is open" },
    ...errorResponses("admin", 400, 401, 403, 404),
  },
});

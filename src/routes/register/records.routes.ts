import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody } from "../../lib/openapi";
import { careAuth } from "../../middleware/care-auth";
import {
  AccessLog,
  AccessLogQuery,
  CareState,
  History,
  HistoryQuery,
  IfMatchHeader,
  json,
  LiveQuery,
  MemberAdded,
  MemberBody,
  MemberParam,
  MemberRemoved,
  Members,
  PatientParam,
  RecordList,
  RecordsQuery,
  StateBody,
} from "./schemas";

const tags = ["register: records"];
const security = SECURITY.register;
/** Care-team routes also take the clinic's API key (its server manages teams). */
const teamSecurity = [...SECURITY.register, ...SECURITY.apiKey];

const withEtag = (description: string) => ({
  ...json(CareState, description),
  headers: { ETag: { description: 'The version, quoted ("12")', schema: { type: "string" as const } } },
});

export const listRecords = createRoute({
  method: "get",
  path: "/records",
  operationId: "listRecords",
  tags,
  security,
  summary: "The care records the caller may see, in pages",
  description:
    "A patient: their own; a physician or insurer: the records of their care teams; a clinic admin: every patient's. Ordered by patient id; pass next_cursor as cursor for the next page.",
  middleware: [careAuth()] as const,
  request: { query: RecordsQuery },
  responses: {
    200: json(RecordList, "A page of records"),
    ...errorResponses("register", 400, 401, 403),
  },
});

export const getRecord = createRoute({
  method: "get",
  path: "/records/{patientId}",
  operationId: "getRecord",
  tags,
  security,
  summary: "A patient's care record (the patient, their care team, clinic admins)",
  description:
    "The fields the caller's group reads in this clinic (settings.careReadFields) and the version. Every read by someone other than the patient is in the access log. A caller outside the team gets 403, whether or not the patient exists.",
  middleware: [careAuth()] as const,
  request: { params: PatientParam },
  responses: {
    200: withEtag("The fields (absent when never set) and the version"),
    ...errorResponses("register", 400, 401, 403, 404),
  },
});

export const putRecord = createRoute({
  method: "put",
  path: "/records/{patientId}",
  operationId: "putRecord",
  tags,
  security,
  summary: "Change fields of a patient's care record (each group its own fields)",
  description:
    "One or more fields; fields not sent are kept. With If-Match, a write based on an older version answers 412.",
  middleware: [careAuth(), withBody] as const,
  request: { params: PatientParam, headers: IfMatchHeader, body: formBody(StateBody) },
  responses: {
    200: withEtag("The whole new state"),
    ...errorResponses("register", ...BODY_ERRORS, 401, 403, 404, 412),
  },
});

export const deleteRecord = createRoute({
  method: "delete",
  path: "/records/{patientId}",
  operationId: "resetRecord",
  tags,
  security,
  summary: "Reset a patient's care record (physicians of the team, clinic admins)",
  description: "Clears every field; the version moves on. Honours If-Match.",
  middleware: [careAuth()] as const,
  request: { params: PatientParam, headers: IfMatchHeader },
  responses: {
    200: withEtag("The new, empty state"),
    ...errorResponses("register", 400, 401, 403, 404, 412),
  },
});

export const recordHistory = createRoute({
  method: "get",
  path: "/records/{patientId}/history",
  operationId: "getRecordHistory",
  tags,
  security,
  summary: "A patient's record's change history, newest first (who, group, when, which fields)",
  middleware: [careAuth()] as const,
  request: { params: PatientParam, query: HistoryQuery },
  responses: {
    200: json(History, "A page of entries"),
    ...errorResponses("register", 400, 401, 403, 404),
  },
});

export const recordLive = createRoute({
  method: "get",
  path: "/records/{patientId}/live",
  operationId: "followRecordLive",
  tags,
  security: SECURITY.registerLive,
  summary: "WebSocket: a patient's record now, then every new state (the patient and their care team)",
  description: [
    'Messages are JSON `{"type": "state", "state": {…}}` with the fields the viewer reads; "ping" is answered "pong".',
    "Authenticate as for /state/live (subprotocols `care-state` + `bearer.<token>`, or `?token=`; `?accountCode=`).",
    "Close codes: 4001 the token expired, 4003 the session ended, 4004 the viewer was removed from the care team.",
  ].join("\n\n"),
  middleware: [careAuth({ live: true })] as const,
  request: { params: PatientParam, query: LiveQuery },
  responses: {
    101: { description: "Switching Protocols: the WebSocket is open" },
    ...errorResponses("register", 400, 401, 403, 404),
  },
});

export const listMembers = createRoute({
  method: "get",
  path: "/records/{patientId}/members",
  operationId: "listRecordMembers",
  tags,
  security: teamSecurity,
  summary: "A patient's care team (the patient, the team's members, clinic admins, the clinic's server)",
  middleware: [careAuth({ apiKey: true })] as const,
  request: { params: PatientParam },
  responses: {
    200: json(Members, "The members besides the patient"),
    ...errorResponses("register", 400, 401, 403, 404),
  },
});

export const addMember = createRoute({
  method: "post",
  path: "/records/{patientId}/members",
  operationId: "addRecordMember",
  tags,
  security: teamSecurity,
  summary: "Add a physician or insurer of the clinic to a patient's care team",
  description:
    "By the patient (consent), a clinic admin, or the clinic's server (X-AccountCode + X-ApiKey); members cannot add others. Send `userId` or `email`. Adding a member again changes nothing (added: false). An id or email that is no physician or insurer of the clinic answers one 400; adding by email is rate-limited per client (429), except for the clinic's server.",
  middleware: [careAuth({ apiKey: true }), withBody] as const,
  request: { params: PatientParam, body: formBody(MemberBody) },
  responses: {
    200: json(MemberAdded, "The member"),
    ...errorResponses("register", ...BODY_ERRORS, 401, 403, 404, 429),
  },
});

export const removeMember = createRoute({
  method: "delete",
  path: "/records/{patientId}/members/{userId}",
  operationId: "removeRecordMember",
  tags,
  security: teamSecurity,
  summary: "Remove a member from a patient's care team: their access ends at once",
  description:
    "By the patient, a clinic admin or the clinic's server. The member's next request is refused (403) and their live sockets on this record close with code 4004.",
  middleware: [careAuth({ apiKey: true })] as const,
  request: { params: MemberParam },
  responses: {
    200: json(MemberRemoved, "The member was removed"),
    ...errorResponses("register", 400, 401, 403, 404),
  },
});

export const accessLog = createRoute({
  method: "get",
  path: "/records/{patientId}/access-log",
  operationId: "getRecordAccessLog",
  tags,
  security,
  summary: "Every read and write of a patient's record by anyone but the patient (accounting of disclosures)",
  description:
    "Who, group, when, read or write, which fields; never values. Readable by the patient and clinic admins; the same accesses are in the clinic's audit log (event record_access).",
  middleware: [careAuth()] as const,
  request: { params: PatientParam, query: AccessLogQuery },
  responses: {
    200: json(AccessLog, "A page of entries, newest first"),
    ...errorResponses("register", 400, 401, 403, 404),
  },
});

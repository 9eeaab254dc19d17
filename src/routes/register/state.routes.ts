import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody } from "../../lib/openapi";
import { careAuth } from "../../middleware/care-auth";
import { CareState, History, HistoryQuery, IfMatchHeader, json, LiveQuery, StateBody } from "./schemas";

const tags = ["register: state"];
const security = SECURITY.register;

const withEtag = (description: string) => ({
  ...json(CareState, description),
  headers: { ETag: { description: 'The version, quoted ("12")', schema: { type: "string" as const } } },
});

export const getState = createRoute({
  method: "get",
  path: "/state",
  operationId: "getState",
  tags,
  security,
  summary: "The shared care record (patients, physicians and insurers)",
  middleware: [careAuth()] as const,
  responses: {
    200: withEtag("The four fields (absent when never set) and the version"),
    ...errorResponses("register", 401, 403),
  },
});

export const putState = createRoute({
  method: "put",
  path: "/state",
  operationId: "updateState",
  tags,
  security,
  summary: "Change fields of the care record (each group its own fields)",
  description:
    "Fields not sent are kept, so concurrent writers of different fields never lose each other's changes. With If-Match, a write based on an older version answers 412.",
  middleware: [careAuth(), withBody] as const,
  request: { headers: IfMatchHeader, body: formBody(StateBody) },
  responses: {
    200: withEtag("The whole new state"),
    ...errorResponses("register", ...BODY_ERRORS, 401, 403, 412),
  },
});

export const deleteState = createRoute({
  method: "delete",
  path: "/state",
  operationId: "resetState",
  tags,
  security,
  summary: "Reset the care record (clinic admins and physicians)",
  description: "Clears every field; the version moves on (versions never repeat). Honours If-Match.",
  middleware: [careAuth()] as const,
  request: { headers: IfMatchHeader },
  responses: {
    200: withEtag("The new, empty state"),
    ...errorResponses("register", 400, 401, 403, 412),
  },
});

export const history = createRoute({
  method: "get",
  path: "/state/history",
  operationId: "getStateHistory",
  tags,
  security,
  summary: "The care record's audit trail, newest first (who, group, when, which fields, version)",
  description: "Patients, physicians, insurers and clinic admins. Values are not part of the trail.",
  middleware: [careAuth()] as const,
  request: { query: HistoryQuery },
  responses: {
    200: json(History, "A page of entries"),
    ...errorResponses("register", 400, 401, 403),
  },
});

export const live = createRoute({
  method: "get",
  path: "/state/live",
  operationId: "openStateLive",
  tags,
  security: SECURITY.registerLive,
  summary:
    "WebSocket: the current state at once, then every new state as it is written (patients, physicians, insurers)",
  description: [
    'Messages are JSON `{"type": "state", "state": {…, "version": N}}`; sending "ping" is answered "pong".',
    "Browsers cannot set headers on a WebSocket: offer the subprotocols `care-state` and `bearer.<token>` (the server selects `care-state`), or send `?token=`; name a clinic other than the default with `?accountCode=`.",
    "The socket is closed (code 4001) at the first update after its token expired.",
  ].join("\n\n"),
  middleware: [careAuth({ live: true })] as const,
  request: { query: LiveQuery },
  responses: {
    101: { description: "Switching Protocols: the WebSocket is open" },
    ...errorResponses("register", 400, 401, 403),
  },
});

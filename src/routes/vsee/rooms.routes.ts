import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody, z } from "../../lib/openapi";
import { vseeAuth } from "../../middleware/auth";
import { CodeParam, data, json, list, PageQuery, Room, RoomBody } from "./schemas";

const tags = ["api_v3: rooms"];
const security = SECURITY.tokenOrKey;

export const createRoom = createRoute({
  method: "post",
  path: "/rooms",
  operationId: "vseeCreateRoom",
  tags,
  security,
  summary: "Create a waiting room (the clinic's API key or a clinic admin)",
  description: "An existing slug in the same domain answers 400 \"In domain '…' slug '…' already exists.\"",
  middleware: [vseeAuth({ apiKey: true }), withBody] as const,
  request: { body: formBody(RoomBody) },
  responses: {
    200: json(data(Room), "The room"),
    ...errorResponses("vsee", ...BODY_ERRORS, 401, 403),
  },
});

export const listRooms = createRoute({
  method: "get",
  path: "/rooms",
  operationId: "vseeListRooms",
  tags,
  security,
  summary: "List rooms (all for the API key and clinic admins; one's own rooms for everybody else)",
  middleware: [vseeAuth({ apiKey: true })] as const,
  request: { query: PageQuery },
  responses: {
    200: json(list(Room), "A page of rooms"),
    ...errorResponses("vsee", 400, 401),
  },
});

export const getRoom = createRoute({
  method: "get",
  path: "/rooms/{code}",
  operationId: "vseeGetRoom",
  tags,
  security,
  summary: "A room by code",
  middleware: [vseeAuth({ apiKey: true })] as const,
  request: { params: CodeParam },
  responses: {
    200: json(data(Room), "The room"),
    ...errorResponses("vsee", 401, 403, 404),
  },
});

export const roomProviders = createRoute({
  method: "get",
  path: "/rooms/{code}/providers",
  operationId: "vseeListRoomProviders",
  tags,
  security,
  summary: "The providers assigned to a room",
  description:
    "The API key and clinic admins get the list fields of every provider (hidden ones included); the room's members, guests and providers get only `id`, `first_name`, `last_name`, `full_name`, `photo` and `subtype` of the providers who are not hidden.",
  middleware: [vseeAuth({ apiKey: true })] as const,
  request: { params: CodeParam, query: PageQuery },
  responses: {
    200: json(list(z.record(z.string(), z.unknown())), "A page of providers"),
    ...errorResponses("vsee", 400, 401, 403, 404),
  },
});

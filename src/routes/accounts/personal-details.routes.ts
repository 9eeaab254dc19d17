import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody } from "../../lib/openapi";
import { requireAccount } from "../../middleware/account-auth";
import { FIND_DESCRIPTION } from "./accounts.routes";
import {
  IdParam,
  json,
  PersonalDetails,
  PersonalDetailsInput,
  PersonalDetailsPage,
  PersonalDetailsSelection,
} from "./schemas";

const tags = ["accounts: personal-details"];

export const findDetails = createRoute({
  method: "get",
  path: "/personal-details",
  operationId: "findPersonalDetails",
  tags,
  security: SECURITY.jwt,
  summary: "List personal details (Feathers find)",
  description: `${FIND_DESCRIPTION} Fields: id, name.firstName, name.lastName, dateOfBirth, sex, createdAt, updatedAt.`,
  middleware: [requireAccount] as const,
  responses: {
    200: json(PersonalDetailsPage, "A page of personal details: {total, limit, skip, data}"),
    ...errorResponses("accounts", 400, 401),
  },
});

export const getDetails = createRoute({
  method: "get",
  path: "/personal-details/{id}",
  operationId: "getPersonalDetails",
  tags,
  security: SECURITY.jwt,
  summary: "The caller's personal details (id = the account's uid)",
  description:
    "Only the owner; any other id answers 404. `$select[]=field` returns only those fields (and id).",
  middleware: [requireAccount] as const,
  request: { params: IdParam },
  responses: {
    200: json(PersonalDetailsSelection, "The personal details"),
    ...errorResponses("accounts", 400, 401, 404),
  },
});

export const patchDetails = createRoute({
  method: "patch",
  path: "/personal-details/{id}",
  operationId: "updatePersonalDetails",
  tags,
  security: SECURITY.jwt,
  summary: "Change the caller's personal details",
  description:
    "A merge: `name` and `address` change field by field, other fields are replaced, and null removes a field. A truthy doc_PRCLicenseNo makes the account a doctor's (Human Verification email); identityImages queue the Identity Validation Receipt email.",
  middleware: [requireAccount, withBody] as const,
  request: { params: IdParam, body: formBody(PersonalDetailsInput) },
  responses: {
    200: json(PersonalDetails, "The personal details"),
    ...errorResponses("accounts", ...BODY_ERRORS, 401, 404),
  },
});

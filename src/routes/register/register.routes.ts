import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody } from "../../lib/openapi";
import { rateLimit } from "../../middleware/rate-limit";
import { EnrollBody, Enrolled, Jwks, json, RegisterBody, Registration } from "./schemas";

const tags = ["register"];

export const postRegister = createRoute({
  method: "post",
  path: "/register",
  operationId: "register",
  tags,
  security: SECURITY.registerOptional,
  summary: "Register in a care-team group (patients, physicians, insurers) and get an enrollment assertion",
  description: [
    "Creates the user in the clinic (X-AccountCode, else the default clinic): patients become members (type 200), physicians doctors (400/482), insurers companies (300).",
    "Anyone may register a new patient. Physicians and insurers need the clinic's API key (X-AccountCode + X-ApiKey) unless the clinic's settings.selfRegisterGroups lists the group; an invite-only clinic needs the API key for every group.",
    "An email that is already registered is returned (same group) only with that user's bearer token or the clinic's API key; otherwise 401. Another group answers 400.",
    "With the API key alone, an existing user is returned only when its email is verified or was set by the clinic's server (SSO, or this route with the key); otherwise 409, as the account may be a squatter's.",
    "Returns the SCIM user, the enrollment assertion and a bearer `token` for the /state routes.",
    "A request from a page of this origin (`Origin` equal to the deployment's own, and `Sec-Fetch-Site: same-origin` when sent) also gets that token as the `__Host-ce_care` session cookie (HttpOnly, Secure, SameSite=Strict, Path=/, for the token's lifetime): same-origin pages that send no Authorization header (the seed's demo client) are authenticated by it on /state, /state/history and /records, only for same-origin requests (README \"Client compatibility\"). Refused registrations set no cookie.",
  ].join("\n\n"),
  middleware: [rateLimit("CREDENTIALS_LIMITER", "register"), withBody] as const,
  request: { body: formBody(RegisterBody) },
  responses: {
    200: json(Registration, "The user, its enrollment assertion and a bearer token"),
    ...errorResponses("register", ...BODY_ERRORS, 401, 403, 404, 409, 429),
  },
});

export const enroll = createRoute({
  method: "post",
  path: "/register/enroll",
  operationId: "registerEnroll",
  security: SECURITY.public,
  tags,
  summary: "Spend an enrollment token (X-Ionic-Reg-Stoken): succeeds once, within 10 minutes",
  description:
    "An unknown, expired, already spent token, or one of another clinic (X-AccountCode, else the default clinic), answers 401; a token of a clinic an operator has disabled since, 403 (left unspent).",
  middleware: [rateLimit("CREDENTIALS_LIMITER", "register-enroll"), withBody] as const,
  request: { body: formBody(EnrollBody) },
  responses: {
    200: json(Enrolled, "The token was valid and is now spent"),
    ...errorResponses("register", ...BODY_ERRORS, 401, 403, 429),
  },
});

export const jwks = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  operationId: "getJwks",
  security: SECURITY.public,
  tags,
  summary: "The public keys that verify X-Ionic-Reg-Uidauth (the previous key too during a rotation)",
  responses: {
    200: json(Jwks, "JSON Web Key Set"),
    ...errorResponses("register"),
  },
});

import { ApiError } from "../../lib/errors";
import { ecKeyPair } from "../../lib/jwt";
import type { AppRouteHandler } from "../../lib/route-handler";
import { auditSource } from "../../middleware/audit";
import { registrationProof, setCareCookie } from "../../middleware/care-auth";
import { countIdentityLookup } from "../../middleware/rate-limit";
import { clinicCodeOf, loadClinic } from "../../middleware/tenant";
import { enrollmentAssertion, registerUser, signingKeys, spendEnrollment } from "../../services/registration";
import type {
  enroll as enrollRoute,
  jwks as jwksRoute,
  postRegister as postRegisterRoute,
} from "./register.routes";
import { scimUser } from "./wire";

export const postRegister: AppRouteHandler<typeof postRegisterRoute> = async (c) => {
  const clinic = await loadClinic(c);
  const proof = await registrationProof(c, clinic);
  // Without the clinic's key the answer can tell that an email is registered: limited per client (SECURITY.md).
  if (!proof.apiKey) await countIdentityLookup(c);
  const input = c.req.valid("json");
  // The signing key is read before anything is written, so a misconfigured key creates no user.
  const key = await ecKeyPair(c.env.SIGNING_KEY);
  const { user, tokens } = await registerUser(c.env, clinic, input, proof, auditSource(c));
  const assertion = await enrollmentAssertion(c.env, key, clinic, user, input.groupName);
  setCareCookie(c, tokens.access); // same-origin browser clients (README "Client compatibility")
  return c.json(
    { assertion, user: scimUser(clinic.code, user, input.groupName), token: tokens.access.token },
    200,
  );
};

export const enroll: AppRouteHandler<typeof enrollRoute> = async (c) => {
  const spent = await spendEnrollment(c.env, clinicCodeOf(c.req, c.env), c.req.valid("json").stoken);
  if (!spent) throw new ApiError("invalid_enrollment_token");
  return c.json({ enrolled: true as const, id: String(spent.userId) }, 200);
};

export const jwks: AppRouteHandler<typeof jwksRoute> = async (c) => {
  const keys = (await signingKeys(c.env)).map((k) => ({
    kty: "EC" as const,
    crv: "P-256" as const,
    x: k.publicJwk.x as string,
    y: k.publicJwk.y as string,
    kid: k.kid,
    alg: "ES256" as const,
    use: "sig" as const,
  }));
  return c.json({ keys }, 200, { "Cache-Control": "public, max-age=300" });
};

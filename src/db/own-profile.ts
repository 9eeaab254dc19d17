/**
 * The users-row fields an own-profile read answers (GET /api_v3/me, GET /accounts/{uid}): what a profile
 * snapshot keeps with a token's KV record (kv/profile.ts). Never the password hash, the TOTP secret,
 * `details` or `extra`.
 */
import type { User } from "./schema";

export const PROFILE_FIELDS = [
  "id",
  "clinicId",
  "code",
  "username",
  "type",
  "status",
  "disabled",
  "firstName",
  "lastName",
  "dob",
  "email",
  "gender",
  "photo",
  "tos",
  "phone",
  "subtype",
  "streetAddr",
  "state",
  "city",
  "zip",
  "pcpName",
  "pcpPhone",
  "nationality",
  "timezone",
  "mobileNo",
  "emailVerified",
  "mobileVerified",
  "isDoctor",
  "isFirstLogin",
  "mfaEnabled",
  "createdAt",
  "updatedAt",
] as const satisfies readonly (keyof User)[];

export type OwnProfile = Pick<User, (typeof PROFILE_FIELDS)[number]>;

/**
 * VSee wire shapes (seed 000): ids and user types are strings, times unix seconds, `subtype` "" when
 * none, `gender` 1 (male) / 2 (female) in profiles and "Male"/"Female" in the refresh response's user.
 */

import type { OwnProfile } from "../../db/own-profile";
import type { Room, User } from "../../db/schema";
import type { AuditRow } from "../../services/audit";
import { fileUrl } from "../../services/files";
import type { IssuedTokens } from "../../services/sessions";
import type { UserRoom } from "../../services/users";
import type { Bindings } from "../../types";

/** The URL of a user's photo (with its auth_code), or null. */
export function photoOf(
  c: { env: Bindings; req: { url: string } },
  u: Pick<User, "photo">,
): Promise<string | null> {
  return u.photo ? fileUrl(c.env, new URL(c.req.url).origin, u.photo) : Promise.resolve(null);
}

export const genderCode = (g: string | null) => (g === "male" ? 1 : g === "female" ? 2 : null);
export const genderName = (g: string | null) => (g === "male" ? "Male" : g === "female" ? "Female" : null);

export const vseeId = (clinicCode: string, u: Pick<User, "username">) => `${clinicCode}+${u.username}`;
export const fullName = (u: Pick<User, "firstName" | "lastName">) => `${u.firstName} ${u.lastName}`.trim();
export const isActive = (u: Pick<User, "status" | "disabled">) => u.status === 20 && !u.disabled;
const subtype = (u: Pick<User, "subtype">) => (u.subtype ? String(u.subtype) : "");

/** `token` object of SSO and login responses. */
export function tokenWire(userId: number, t: IssuedTokens) {
  return {
    user_id: String(userId),
    token: t.access.token,
    expiry: t.access.expiry,
    refresh_token: refreshWire(userId, t),
  };
}

export function refreshWire(userId: number, t: IssuedTokens) {
  return { user_id: String(userId), token: t.refresh.token, expiry: t.refresh.expiry, created: t.created };
}

/** Who a user is, the first fields of every user object. */
function identityWire(clinicCode: string, u: OwnProfile) {
  return {
    id: String(u.id),
    code: u.code,
    first_name: u.firstName,
    last_name: u.lastName,
    username: u.username,
    vseeid: vseeId(clinicCode, u),
  };
}

/** `data` of POST /users/sso. */
export function ssoWire(clinicCode: string, u: User, t: IssuedTokens) {
  return {
    ...identityWire(clinicCode, u),
    ...(u.dob ? { dob: u.dob } : {}),
    active: isActive(u),
    tos: u.tos,
    subtype: subtype(u),
    token: tokenWire(u.id, t),
  };
}

/** The user object of login and /me responses. */
export function userWire(clinicCode: string, u: OwnProfile, photoUrl: string | null) {
  return {
    ...identityWire(clinicCode, u),
    dob: u.dob,
    email: u.email,
    gender: genderCode(u.gender),
    photo: photoUrl,
    active: isActive(u),
    tos: u.tos,
    phone: u.phone,
    subtype: subtype(u),
    street_addr: u.streetAddr,
    state: u.state,
    city: u.city,
    zip: u.zip,
    pcp_name: u.pcpName ?? "",
    pcp_phone: u.pcpPhone ?? "",
    nationality: u.nationality,
    timezone: u.timezone,
  };
}

/** The user of POST /tokens/refresh (seed: a shorter record with `name` and a spelled-out gender). */
export function refreshUserWire(u: User, photoUrl: string | null) {
  return {
    id: String(u.id),
    code: u.code,
    username: u.username,
    first_name: u.firstName,
    last_name: u.lastName,
    email: u.email,
    dob: u.dob,
    gender: genderName(u.gender),
    photo: photoUrl,
    name: fullName(u),
  };
}

export function roomWire(r: Room) {
  return {
    id: String(r.id),
    code: r.code,
    slug: r.slug,
    name: r.name,
    domain: r.domain,
    created: r.createdAt,
    modified: r.updatedAt,
  };
}

/** A room inside a user's profile (seed: with account_code, default, added_time, source). */
export function profileRoomWire(clinicCode: string, r: UserRoom, index: number) {
  return {
    id: String(r.id),
    code: r.code,
    slug: r.slug,
    name: r.name,
    account_code: clinicCode,
    domain: r.domain,
    default: index === 0,
    added_time: r.addedAt,
    source: "api",
  };
}

/** GET /users/:id: the full profile with the extended profile, clinics and rooms. */
export function profileWire(clinicCode: string, u: User, userRooms: UserRoom[], photoUrl: string | null) {
  return {
    ...userWire(clinicCode, u, photoUrl),
    user_id: String(u.id),
    full_name: fullName(u),
    status: u.status,
    type: u.type,
    email_verified: u.emailVerified,
    roles: u.roles ? u.roles.split(",") : [],
    group: u.groupName,
    is_hidden: u.isHidden,
    last_login: u.lastLogin,
    extra: u.extra,
    account_code: clinicCode,
    clinics: [clinicCode],
    rooms: userRooms.map((r, i) => profileRoomWire(clinicCode, r, i)),
    created: u.createdAt,
  };
}

/** A provider as the room's members and guests see it: who they will meet, nothing to contact or identify them by. */
export function publicProviderWire(u: User, photoUrl: string | null) {
  return {
    id: String(u.id),
    first_name: u.firstName,
    last_name: u.lastName,
    full_name: fullName(u),
    photo: photoUrl,
    subtype: subtype(u),
  };
}

/** The fields GET /users can return (`fields=`), each from a user row. */
export const LIST_FIELDS = {
  id: (_: string, u: User) => String(u.id),
  code: (_: string, u: User) => u.code,
  username: (_: string, u: User) => u.username,
  first_name: (_: string, u: User) => u.firstName,
  last_name: (_: string, u: User) => u.lastName,
  full_name: (_: string, u: User) => fullName(u),
  email: (_: string, u: User) => u.email,
  dob: (_: string, u: User) => u.dob,
  type: (_: string, u: User) => String(u.type),
  subtype: (_: string, u: User) => subtype(u),
  status: (_: string, u: User) => u.status,
  active: (_: string, u: User) => isActive(u),
  tos: (_: string, u: User) => u.tos,
  last_login: (_: string, u: User) => u.lastLogin,
  vseeid: (cc: string, u: User) => vseeId(cc, u),
  is_hidden: (_: string, u: User) => u.isHidden,
  roles: (_: string, u: User) => (u.roles ? u.roles.split(",") : []),
  group: (_: string, u: User) => u.groupName,
} as const;

export type ListField = keyof typeof LIST_FIELDS;
export const DEFAULT_LIST_FIELDS: ListField[] = [
  "id",
  "code",
  "username",
  "first_name",
  "last_name",
  "full_name",
  "email",
  "dob",
  "type",
  "subtype",
  "active",
  "tos",
  "last_login",
];

/**
 * An audit-log row (ids as strings, as /api_v3 writes them; details as an object); GET /admin/audit
 * answers the same shape.
 */
export function auditWire(row: AuditRow) {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(row.details) as Record<string, unknown>;
  } catch {
    details = {};
  }
  return {
    id: String(row.id),
    event: row.event,
    outcome: row.outcome,
    actor_user_id: row.actor_user_id === null ? null : String(row.actor_user_id),
    subject_user_id: row.subject_user_id === null ? null : String(row.subject_user_id),
    ip: row.ip,
    user_agent: row.user_agent,
    request_id: row.request_id,
    details,
    created: row.created_at,
  };
}

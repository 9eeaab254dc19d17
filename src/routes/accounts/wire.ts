/**
 * The accounts family's wire shapes (Feathers services): an account (`GET /accounts/{uid}`, the `user` of
 * sign-ins), its personal details and a waitlist entry. Times are ISO 8601 strings; empty values are left out.
 */

import type { OwnProfile } from "../../db/own-profile";
import type { User } from "../../db/schema";

const iso = (t: number) => new Date(t * 1000).toISOString();

/** Drops empty values so that the wire shows only what is set. */
function present<T extends Record<string, unknown>>(o: T | undefined): Partial<T> | undefined {
  if (!o) return undefined;
  const out = Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== null && v !== undefined && v !== ""),
  );
  return Object.keys(out).length > 0 ? (out as Partial<T>) : undefined;
}

/** A `personal-details` record (the shared columns and `users.details`). */
export function personalDetailsWire(u: User) {
  const d = u.details as {
    name?: Record<string, string>;
    maritalStatus?: string;
    address?: Record<string, string>;
    doc_PRCLicenseNo?: number | string;
    identityImages?: string[];
  };
  const name = present({ ...d.name, firstName: u.firstName, lastName: u.lastName }) ?? {};
  return {
    id: String(u.id),
    name: name as Record<string, string>,
    ...(u.dob ? { dateOfBirth: u.dob } : {}),
    ...(u.gender ? { sex: u.gender } : {}),
    ...(d.maritalStatus ? { maritalStatus: d.maritalStatus } : {}),
    ...(present(d.address) ? { address: present(d.address) as Record<string, string> } : {}),
    ...(d.doc_PRCLicenseNo !== undefined && d.doc_PRCLicenseNo !== null
      ? { doc_PRCLicenseNo: d.doc_PRCLicenseNo }
      : {}),
    ...(d.identityImages?.length ? { identityImages: d.identityImages } : {}),
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
  };
}

/** An `accounts` record. */
export function accountWire(u: OwnProfile) {
  return {
    uid: String(u.id),
    email: u.email,
    mobileNo: u.mobileNo,
    isEmailVerified: u.emailVerified,
    isMobileNoVerified: u.mobileVerified,
    isDoctor: u.isDoctor,
    isDisabled: u.disabled,
    isFirstLogin: u.isFirstLogin,
    mfaEnabled: u.mfaEnabled,
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
  };
}

/** A waitlist entry as submitted (POST /waitlist, GET /waitlist/{inviteCode}). */
export const waitlistEntryWire = (e: {
  email: string | null;
  mobileNo?: string | null;
  personalDetails: Record<string, unknown>;
}) => ({
  email: e.email ?? "",
  ...(e.mobileNo ? { mobileNo: e.mobileNo } : {}),
  personalDetails: e.personalDetails,
});

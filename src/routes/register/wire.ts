/**
 * Register-family wire shapes (seed 003): the SCIM 1.0 user record, ETags of the care record, and the
 * audit trail. Times are ISO-8601 in UTC without milliseconds ("2019-04-16T15:44:37Z").
 */
import type { User } from "../../db/schema";
import type { AccessEntry, HistoryEntry } from "../../durable-objects/care-record";
import { ApiError } from "../../lib/errors";
import { GROUP_DEFS, type Group } from "../../services/care";

export function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The SCIM 1.0 user of the registration response. `meta.location` names the user in the seed's form
 * (Clinic Edge serves no SCIM endpoint); `meta.version` changes whenever the user does.
 */
export function scimUser(clinicCode: string, u: User, group: Group) {
  const id = String(u.id);
  return {
    id,
    schemas: ["urn:scim:schemas:core:1.0" as const],
    meta: {
      created: isoSeconds(u.createdAt),
      lastModified: isoSeconds(u.updatedAt),
      location: `/v2/${clinicCode}/scim/Users/${id}`,
      version: String(u.updatedAt),
    },
    name: {
      formatted: `${u.firstName} ${u.lastName}`.trim(),
      familyName: u.lastName,
      givenName: u.firstName,
    },
    emails: u.email ? [{ value: u.email }] : [],
    groups: [{ value: group, display: GROUP_DEFS[group].display }],
  };
}

/** Who did what to a record, and when: the common fields of history and access-log entries. */
export function actionWire<A extends string, F extends string, G extends string>(e: {
  action: A;
  fields: F[];
  userId: number;
  group: G;
  at: number;
}) {
  return {
    action: e.action,
    fields: e.fields,
    user_id: String(e.userId),
    group: e.group,
    at: isoSeconds(e.at),
  };
}

export function historyWire(e: HistoryEntry) {
  return { version: e.version, ...actionWire(e) };
}

export function accessWire(e: AccessEntry) {
  return { id: e.id, ...actionWire(e) };
}

export const etag = (version: number) => `"${version}"`;

/**
 * Parses If-Match: "*" or a list of the ETags this API sends. A weak tag (W/"12") counts as its version,
 * since proxies weaken ETags when they compress a response. Anything else answers 400.
 */
export function versionCondition(header: string | undefined): number[] | "*" | undefined {
  if (header === undefined || header.trim() === "") return undefined;
  if (header.trim() === "*") return "*";
  const versions: number[] = [];
  for (const part of header.split(",")) {
    const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(part.trim());
    if (!m) {
      throw new ApiError("invalid_if_match", {
        fields: [{ param: "If-Match", message: 'must be an ETag of GET /state (e.g. "12") or *' }],
      });
    }
    versions.push(Number(m[1]));
  }
  return versions;
}

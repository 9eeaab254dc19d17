/**
 * The one error type of Clinic Edge. Everything throws `ApiError`; each API family renders it in its
 * own wire shape (see ./families/). Messages live in one table so that the same condition reads the
 * same everywhere, and so that no handler builds an error body by hand. A message may name `{params}`
 * (filled from the ApiError's `params`); `wire` is the code the admin shape shows instead (the generic
 * code those paths answered before the condition had a code of its own).
 */

export interface FieldError {
  /** The request field (dotted path for nested fields). */
  param: string;
  message: string;
}

export const ERRORS = {
  bad_request: { status: 400, message: "Bad request" },
  if_match_required: {
    status: 400,
    message: "If-Match is required: the version the page edited",
    wire: "bad_request",
  },
  body_not_object: { status: 400, message: "The request body must be a JSON object", wire: "bad_request" },
  malformed_multipart: { status: 400, message: "Malformed multipart body", wire: "bad_request" },
  no_unverified_email: { status: 400, message: "The account has no unverified email", wire: "bad_request" },
  no_unverified_mobile: {
    status: 400,
    message: "The account has no unverified Philippine mobile number",
    wire: "bad_request",
  },
  invalid_if_match: { status: 400, message: "Invalid If-Match header", wire: "bad_request" },
  invalid_patient_param: {
    status: 400,
    message: "patient: must be a patient's user id",
    wire: "bad_request",
  },
  invalid_patient_id: { status: 400, message: "patientId: must be a user id", wire: "bad_request" },
  websocket_required: {
    status: 400,
    message: "Expected a WebSocket upgrade (Upgrade: websocket)",
    wire: "bad_request",
  },
  mfa_already_enabled: {
    status: 400,
    message: "MFA is already enabled: disable it first",
    wire: "bad_request",
  },
  mfa_not_enrolling: {
    status: 400,
    message: "No MFA enrolment: start one with setupMFA {enable: true}",
    wire: "bad_request",
  },
  no_confirmation_channel: {
    status: 400,
    message: "The account has no email or Philippine mobile number for the confirmation code",
    wire: "bad_request",
  },
  room_slug_exists: {
    status: 400,
    message: "In domain '{domain}' slug '{slug}' already exists.",
    wire: "bad_request",
  },
  room_code_exists: { status: 400, message: "Room code '{code}' already exists.", wire: "bad_request" },
  validation_failed: { status: 400, message: "Invalid request" },
  group_mismatch: { status: 400, message: "A user with this email is already registered in another group" },
  patient_required: {
    status: 400,
    message: "You are on several care teams: name the patient with ?patient=<id> or the X-Patient-Id header",
  },
  member_not_eligible: {
    status: 400,
    message: "Only physicians and insurers of this clinic can join a care team",
  },
  malformed_json: { status: 400, message: "Malformed JSON body" },
  file_not_accepted: { status: 400, message: "File uploads are not accepted here" },
  unauthorized: { status: 401, message: "Authentication required" },
  token_or_api_key_required: {
    status: 401,
    message: "An access token or the account's API key is required",
    wire: "unauthorized",
  },
  bearer_required: { status: 401, message: "A bearer token is required", wire: "unauthorized" },
  bearer_or_api_key_required: {
    status: 401,
    message: "A bearer token or the clinic's API key is required",
    wire: "unauthorized",
  },
  access_token_required: { status: 401, message: "An access token is required", wire: "unauthorized" },
  action_token_required: {
    status: 401,
    message: "An access token is required for this action",
    wire: "unauthorized",
  },
  portal_session_required: {
    status: 401,
    message: "Sign in first: no live portal session",
    wire: "unauthorized",
  },
  admin_key_required: { status: 401, message: "A valid admin API key is required", wire: "unauthorized" },
  invalid_login: { status: 401, message: "Invalid login", wire: "invalid_credentials" },
  invalid_refresh_token: { status: 401, message: "Invalid or expired refresh token", wire: "invalid_token" },
  sign_in_expired: {
    status: 401,
    message: "This sign-in has expired or was already used",
    wire: "invalid_token",
  },
  api_key_required: {
    status: 401,
    message: "X-AccountCode and X-ApiKey are required",
    wire: "invalid_api_key",
  },
  invalid_credentials: { status: 401, message: "Invalid username or password" },
  invalid_token: { status: 401, message: "Invalid or expired token" },
  invalid_api_key: { status: 401, message: "Invalid account code or API key" },
  invalid_code: { status: 401, message: "Invalid or expired code" },
  invalid_enrollment_token: { status: 401, message: "Invalid, expired or already used enrollment token" },
  registration_proof_required: {
    status: 401,
    message:
      "This email is already registered: send that user's bearer token or the clinic's API key to register it again",
  },
  invalid_mfa_token: { status: 401, message: "Invalid MFA token" },
  mfa_required: {
    status: 401,
    message:
      "Two-factor code required: send the current 6-digit code of the user's authenticator app as totp",
  },
  forbidden: { status: 403, message: "You are not allowed to do this" },
  cross_site_session: {
    status: 403,
    message: "The portal session is accepted only from pages of this site",
    wire: "forbidden",
  },
  portal_csrf_required: {
    status: 403,
    message: "Requests authenticated by the session cookie need the page's {header}",
    wire: "forbidden",
  },
  access_log_patient_only: {
    status: 403,
    message: "Only the patient reads their record's access log here",
    wire: "forbidden",
  },
  care_record_groups_only: {
    status: 403,
    message: "Only patients, physicians and insurers can use the care record",
    wire: "forbidden",
  },
  state_reset_forbidden: {
    status: 403,
    message: "Only clinic admins and physicians can reset the care record",
    wire: "forbidden",
  },
  history_forbidden: {
    status: 403,
    message: "Only patients, physicians, insurers and clinic admins can read the care record's history",
    wire: "forbidden",
  },
  record_live_forbidden: {
    status: 403,
    message: "Only the patient and their care team can follow the record live",
    wire: "forbidden",
  },
  team_managers_only: {
    status: 403,
    message: "Only the patient, clinic admins and the clinic's server manage a care team",
    wire: "forbidden",
  },
  access_log_forbidden: {
    status: 403,
    message: "Only the patient and clinic admins read the access log",
    wire: "forbidden",
  },
  account_disabled: { status: 403, message: "This account is disabled", wire: "forbidden" },
  api_key_or_admin_required: {
    status: 403,
    message: "Only the account's API key or a clinic admin can do this",
    wire: "forbidden",
  },
  not_in_room: { status: 403, message: "You are not assigned to this room", wire: "forbidden" },
  user_list_forbidden: { status: 403, message: "Members and guests cannot list users", wire: "forbidden" },
  profile_forbidden: { status: 403, message: "You may not read this user's profile", wire: "forbidden" },
  audit_forbidden: { status: 403, message: "Only clinic admins can read the audit log", wire: "forbidden" },
  wrong_audience: { status: 403, message: "Only {who} may read this", wire: "forbidden" },
  record_list_forbidden: {
    status: 403,
    message: "Only patients, physicians, insurers and clinic admins have care records to list",
    wire: "forbidden",
  },
  record_reset_forbidden: {
    status: 403,
    message: "Only the care team's physicians and clinic admins can reset the care record",
    wire: "forbidden",
  },
  live_forbidden: {
    status: 403,
    message: "Only patients, physicians and insurers can follow the care record live",
    wire: "forbidden",
  },
  record_write_forbidden: {
    status: 403,
    message: "Only patients, physicians and insurers write care records",
    wire: "forbidden",
  },
  fields_not_writable: {
    status: 403,
    message: "{group} may write only {writable} (not {denied})",
    wire: "forbidden",
  },
  csrf_header_required: {
    status: 403,
    message: "Requests authenticated by the session cookie need the page's {header} header",
    wire: "forbidden",
  },
  cross_origin_cookie: {
    status: 403,
    message: "The session cookie is accepted only from pages of this origin",
    wire: "forbidden",
  },
  sso_disabled: { status: 403, message: "SSO is not enabled for this account" },
  group_requires_api_key: { status: 403, message: "Registering in this group requires the clinic's API key" },
  self_registration_closed: {
    status: 403,
    message: "This clinic does not accept self-registration: registering requires the clinic's API key",
  },
  user_disabled: { status: 403, message: "This user is disabled" },
  upload_quota_exceeded: {
    status: 403,
    message:
      "Upload quota reached: a user keeps at most 5 MiB of files, and uploads not used as a photo are deleted after 24 hours",
  },
  not_on_care_team: { status: 403, message: "You are not on this patient's care team" },
  not_found: { status: 404, message: "Not found" },
  patient_not_found: { status: 404, message: "No such patient", wire: "not_found" },
  stylesheet_not_found: { status: 404, message: "No such stylesheet", wire: "not_found" },
  room_not_found: { status: 404, message: "Room not found", wire: "not_found" },
  file_not_found: { status: 404, message: "File not found", wire: "not_found" },
  asset_not_found: { status: 404, message: "No such asset", wire: "not_found" },
  route_not_found: { status: 404, message: "No such endpoint" },
  clinic_not_found: { status: 404, message: "Unknown account" },
  user_not_found: { status: 404, message: "User not found" },
  account_not_found: { status: 404, message: "Account not found" },
  invitation_not_found: { status: 404, message: "Invitation not found" },
  waitlist_entry_not_found: { status: 404, message: "Waitlist entry not found" },
  record_not_found: { status: 404, message: "Care record not found" },
  no_care_team: {
    status: 404,
    message:
      "You are on no patient's care team: name the patient with ?patient=<id> or the X-Patient-Id header",
  },
  member_not_found: { status: 404, message: "No such member of this care team" },
  method_not_allowed: { status: 405, message: "Method not allowed" },
  conflict: { status: 409, message: "Conflict" },
  email_unverified: {
    status: 409,
    message:
      "This email belongs to an existing account whose address is not verified: its owner must verify it first (an emailed code, e.g. a password reset) or send that account's own bearer token",
  },
  clinic_exists: { status: 409, message: "A clinic with this code already exists" },
  version_mismatch: { status: 412, message: "The record has changed since you read it" },
  payload_too_large: { status: 413, message: "Request body too large" },
  file_too_large: { status: 413, message: "Files may be at most 1 MiB", wire: "payload_too_large" },
  unsupported_media_type: {
    status: 415,
    message:
      "Unsupported content type: send application/json, application/x-www-form-urlencoded or multipart/form-data",
  },
  multipart_required: {
    status: 415,
    message: "Send multipart/form-data with a `file` part",
    wire: "unsupported_media_type",
  },
  rate_limited: { status: 429, message: "Too many requests, try again later" },
  locked: { status: 429, message: "Too many failed attempts, try again later" },
  codes_rate_limited: { status: 429, message: "Too many codes sent, try again later", wire: "rate_limited" },
  upload_rate_limited: { status: 429, message: "Too many uploads: at most 10 an hour per user" },
  internal: { status: 500, message: "Internal server error" },
  admin_disabled: { status: 503, message: "The admin API is disabled: ADMIN_API_KEY is not set" },
  storage_unavailable: { status: 503, message: "Storage is temporarily unavailable: try again shortly" },
} as const satisfies Record<string, { status: number; message: string; wire?: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly fields?: FieldError[];
  /** Extra headers for the response (Retry-After, Allow, WWW-Authenticate). */
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    options: {
      /** Only for messages built from input (validation); a condition of its own gets a code. */
      message?: string;
      /** Values for the `{name}` placeholders of the code's message. */
      params?: Record<string, string | number>;
      fields?: FieldError[];
      headers?: Record<string, string>;
      status?: number;
    } = {},
  ) {
    const def = ERRORS[code];
    super(options.message ?? fill(def.message, options.params));
    this.name = "ApiError";
    this.code = code;
    this.status = options.status ?? def.status;
    this.fields = options.fields;
    this.headers = options.headers;
  }
}

function fill(message: string, params?: Record<string, string | number>): string {
  if (!params) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** A validation failure of one or more fields. */
export function invalid(fields: FieldError[], message?: string): ApiError {
  return new ApiError("validation_failed", {
    fields,
    message: message ?? (fields.length === 1 ? `${fields[0]?.param}: ${fields[0]?.message}` : undefined),
  });
}

/** Shorthand for a one-field validation error with a custom message. */
export function invalidField(param: string, message: string): ApiError {
  return invalid([{ param, message }], message);
}

/**
 * The one logger: one JSON object per line (Workers Logs indexes the fields), always with the request id
 * (or the cron run's id), and redacted on the way out. Fields whose names say they hold a secret or
 * personal data are replaced whatever their depth, and strings that look like an email address, a JWT,
 * a bearer credential or a hex token are masked, so that a call site cannot leak them by accident.
 * The audit log's `details` go through the same `redact` (services/audit.ts).
 */

export type Level = "debug" | "info" | "warn" | "error";

export const REDACTED = "[redacted]";

/** Key names (lowercase, without `_`/`-`) that hold a secret or personal data. */
const SENSITIVE_EXACT = new Set([
  "code",
  "name",
  "firstname",
  "lastname",
  "givenname",
  "familyname",
  "middlename",
  "formatted",
  "gender",
  "sex",
  "dob",
  "ssn",
  "street",
  "city",
  "zip",
  "body",
  "text",
  "html",
  "recipient",
  "subject",
  "details",
  "personaldetails",
  "identity",
  "payload",
  "assertion",
  "stoken",
  "uidauth",
  "totp",
  "otp",
  "medicalhistory",
  "officevisitnotes",
  "prescription",
  "insurerreply",
]);
const SENSITIVE_PARTS = [
  "password",
  "secret",
  "token",
  "authorization",
  "cookie",
  "apikey",
  "email",
  "mobile",
  "phone",
  "address",
  "birth",
  "license",
  "insurance",
];

export function isSensitiveKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[_-]/g, "");
  return SENSITIVE_EXACT.has(k) || k.endsWith("code") || SENSITIVE_PARTS.some((p) => k.includes(p));
}

const MASKS: [RegExp, string][] = [
  [/eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, "[jwt]"],
  [/\b(Bearer|Basic)\s+\S+/gi, "$1 [redacted]"],
  [/[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[a-z]{2,}/gi, "[email]"],
  [/\b(?:ce_)?[0-9a-f]{32,}\b/gi, "[token]"],
  [/\bce_[\w-]{20,}/g, "[api-key]"],
];

/** A string with emails, JWTs, bearer credentials and hex tokens masked, capped at 2,000 characters. */
export function maskString(value: string): string {
  let out = value.length > 2000 ? `${value.slice(0, 2000)}…` : value;
  for (const [re, replacement] of MASKS) out = out.replace(re, replacement);
  return out;
}

/** A copy of `value` safe to log: sensitive keys replaced, strings masked, depth and width capped. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return maskString(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= 4) return "[…]";
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value).slice(0, 40)) {
    out[key] = isSensitiveKey(key) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

const SINKS: Record<Level, (line: string) => void> = {
  debug: (line) => console.debug(line),
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/** Writes one line: `{level, event, requestId, ...fields}`, redacted. */
export function write(level: Level, requestId: string, event: string, fields: Record<string, unknown> = {}) {
  const safe = redact(fields) as Record<string, unknown>;
  SINKS[level](JSON.stringify({ level, event, requestId, ...safe }));
}

/** A logger whose every line carries `requestId` (a request's id, or a cron run's). */
export function logger(requestId: string): Logger {
  return {
    debug: (event, fields) => write("debug", requestId, event, fields),
    info: (event, fields) => write("info", requestId, event, fields),
    warn: (event, fields) => write("warn", requestId, event, fields),
    error: (event, fields) => write("error", requestId, event, fields),
  };
}

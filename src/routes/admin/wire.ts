/**
 * The operators' API wire shapes: a clinic (its settings, never its API key: only the key's prefix), a
 * waitlist entry, an outbox message.
 */
import type { Clinic, outbox, waitlist } from "../../db/schema";

export function clinicWire(c: Clinic) {
  return {
    code: c.code,
    name: c.name,
    domain: c.domain,
    portal_base_url: c.portalBaseUrl,
    sso_enabled: c.ssoEnabled,
    signup_mode: c.signupMode,
    eligibility: c.eligibility ?? null,
    default_heartbeat: c.defaultHeartbeat,
    settings: c.settings,
    api_key_prefix: c.apiKeyPrefix,
    disabled: c.disabled,
    created: c.createdAt,
    modified: c.updatedAt,
  };
}

/** A waitlist entry (GET /admin/clinics/{code}/waitlist, its approval). */
export const waitlistEntryWire = (e: typeof waitlist.$inferSelect) => ({
  id: e.id,
  email: e.email,
  mobile_no: e.mobileNo,
  personal_details: e.personalDetails,
  status: e.status,
  created: e.createdAt,
  approved: e.approvedAt,
});

/** An outbox message (GET /admin/outbox). */
export const outboxWire = (m: typeof outbox.$inferSelect) => ({
  id: m.id,
  clinic_id: m.clinicId,
  channel: m.channel,
  recipient: m.recipient,
  template: m.template,
  subject: m.subject,
  body_text: m.bodyText,
  body_html: m.bodyHtml,
  status: m.status,
  attempts: m.attempts,
  next_attempt_at: m.nextAttemptAt,
  last_error: m.lastError,
  created: m.createdAt,
  sent_at: m.sentAt,
});

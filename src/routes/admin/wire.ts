/** The operators' API wire shapes: a clinic (its settings, never its API key: only the key's prefix). */
import type { Clinic } from "../../db/schema";

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

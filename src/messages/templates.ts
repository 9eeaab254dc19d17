/**
 * Email and SMS templates (plain text + HTML), each naming the clinic. Values are HTML-escaped in the
 * HTML part. Codes appear only in message bodies, never in logs.
 *
 * No text a user wrote goes to an address that has not been verified (SECURITY.md "Messages"): anyone
 * can sign up or ask for a code with somebody else's email, and a first name such as "your account is
 * locked, visit https://evil.example" would then reach that person in the clinic's name. The one piece of
 * user text a template takes is the greeting's name, and it is shown only when `verifiedRecipient` is
 * true and the name looks like a name (`displayName`: letters, spaces, apostrophes, hyphens and
 * initials, at most 40 characters, nothing that reads as a link or a domain); otherwise "Hello,".
 * Everything else in a message is the clinic's name (set by operators), the code and fixed text.
 */
export type TemplateName =
  | "welcome"
  | "human_verification"
  | "email_verification"
  | "sms_verification"
  | "password_reset"
  | "vsee_password_reset"
  | "activation"
  | "invitation"
  | "identity_change"
  | "password_change"
  | "identity_validation_receipt";

export interface TemplateVars {
  clinicName: string;
  /** The recipient's name as the user wrote it: shown only with `verifiedRecipient` (see above). */
  name?: string | null;
  /** The message goes to an address the account has verified. */
  verifiedRecipient?: boolean;
  code?: string;
  minutes?: number;
  identity?: string;
}

interface Rendered {
  subject: string;
  text: string;
}

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string,
  );

/** Letters (any script), combining marks, spaces, apostrophes, hyphens and dots, starting with a letter. */
const NAME = /^\p{L}[\p{L}\p{M} '\u2019.-]{0,39}$/u;
/** A dot between two letters or digits ("evil.example", "www.x"): a domain, not an initial ("J. R."). */
const DOMAIN_LIKE = /[\p{L}\p{N}]\.[\p{L}\p{N}]/u;

/** The name as a greeting may show it, or undefined when it does not look like a name. */
export function displayName(name: string | null | undefined): string | undefined {
  const n = (name ?? "").trim().replace(/\s+/g, " ");
  return NAME.test(n) && !DOMAIN_LIKE.test(n) ? n : undefined;
}

const hello = (v: TemplateVars) => {
  const name = v.verifiedRecipient ? displayName(v.name) : undefined;
  return name ? `Hello ${name},` : "Hello,";
};

const TEMPLATES: Record<TemplateName, (v: TemplateVars) => Rendered> = {
  welcome: (v) => ({
    subject: `Welcome to ${v.clinicName}`,
    text: `${hello(v)}\n\nYour ${v.clinicName} account has been created. Welcome aboard.`,
  }),
  human_verification: (v) => ({
    subject: `${v.clinicName}: we are verifying your doctor account`,
    text: `${hello(v)}\n\nThank you for signing up as a doctor with ${v.clinicName}. Our team will verify your license and let you know when your account is ready.`,
  }),
  email_verification: (v) => ({
    subject: `${v.clinicName}: verify your email`,
    text: `${hello(v)}\n\nYour ${v.clinicName} verification code is ${v.code}. It expires in ${v.minutes} minutes.\nIf you did not create an account, ignore this email.`,
  }),
  sms_verification: (v) => ({
    subject: "",
    text: `${v.clinicName}: your verification code is ${v.code}. It expires in ${v.minutes} minutes.`,
  }),
  password_reset: (v) => ({
    subject: `${v.clinicName}: reset your password`,
    text: `${hello(v)}\n\nYour ${v.clinicName} password reset code is ${v.code}. It expires in ${v.minutes} minutes.\nIf you did not ask for a reset, ignore this email: your password is unchanged.`,
  }),
  vsee_password_reset: (v) => ({
    subject: `${v.clinicName}: reset your password`,
    text: `${hello(v)}\n\nYour one-time email token is ${v.code}. Sign in with your email and this token, then choose a new password.\nIt expires in ${v.minutes} minutes. If you did not ask for a reset, ignore this email.`,
  }),
  activation: (v) => ({
    subject: `${v.clinicName}: activate your account`,
    text: `${hello(v)}\n\nYour ${v.clinicName} activation token is ${v.code}. Sign in with your email and this token, then choose a password. It expires in ${v.minutes} minutes.`,
  }),
  invitation: (v) => ({
    subject: `You are invited to ${v.clinicName}`,
    text: `${hello(v)}\n\nYou can now create your ${v.clinicName} account. Your invitation code is ${v.code}.`,
  }),
  identity_change: (v) => ({
    subject: `${v.clinicName}: confirm your new sign-in ${v.identity ?? "identity"}`,
    text: `${hello(v)}\n\nUse code ${v.code} to confirm the change of your sign-in ${v.identity ?? "identity"}. It expires in ${v.minutes} minutes.\nIf you did not ask for this change, ignore this message and change your password.`,
  }),
  password_change: (v) => ({
    subject: `${v.clinicName}: confirm your password change`,
    text: `${hello(v)}\n\nUse code ${v.code} to confirm your new password. It expires in ${v.minutes} minutes.\nIf you did not ask for this change, ignore this email and your password stays the same.`,
  }),
  identity_validation_receipt: (v) => ({
    subject: `${v.clinicName}: we received your identity documents`,
    text: `${hello(v)}\n\nWe received your identity documents and will review them shortly.`,
  }),
};

export function render(
  name: TemplateName,
  vars: TemplateVars,
): { subject: string; text: string; html: string } {
  const { subject, text } = TEMPLATES[name](vars);
  const html = `<!doctype html><html><body style="font-family:sans-serif"><p>${text
    .split("\n\n")
    .map((p) => esc(p).replace(/\n/g, "<br>"))
    .join("</p><p>")}</p><p style="color:#666">${esc(vars.clinicName)}</p></body></html>`;
  return { subject, text, html };
}

/** /api_v3 test fixtures: users signed in through SSO, and operators' changes to them. */
import { ADMIN_AUTH, call, callAndSettle, json, type TestClinic, uniq } from "../helpers";

export interface SsoUser {
  id: string;
  code: string;
  username: string;
  token: string;
  refresh: string;
  /** Headers of a call as this user. */
  auth: Record<string, string>;
}

export async function sso(
  clinic: TestClinic,
  fields: Record<string, string> & { type?: string } = {},
): Promise<SsoUser> {
  const type = fields.type ?? "200";
  const body: Record<string, string> = { first_name: "Pat", last_name: "Ient", type, ...fields };
  if (type !== "600" && !body.code) body.code = uniq("ext");
  const res = await call("POST", "/api_v3/users/sso.json", { headers: clinic.server, multipart: body });
  if (res.status !== 200) throw new Error(`sso: ${res.status} ${await res.text()}`);
  const { data } = await json<{
    data: {
      id: string;
      code: string;
      username: string;
      token: { token: string; refresh_token: { token: string } };
    };
  }>(res);
  return {
    id: data.id,
    code: data.code,
    username: data.username,
    token: data.token.token,
    refresh: data.token.refresh_token.token,
    auth: { "X-ApiToken": data.token.token, "X-AccountCode": clinic.code },
  };
}

/** Operators' change to a user (roles, type, disabled…). */
export async function adminPatchUser(clinic: TestClinic, id: string, patch: Record<string, unknown>) {
  const res = await call("PATCH", `/admin/clinics/${clinic.code}/users/${id}`, {
    headers: ADMIN_AUTH,
    json: patch,
  });
  if (res.status !== 200) throw new Error(`patch user: ${res.status} ${await res.text()}`);
}

/** A clinic admin (a member with role clinic_admin), signed in after the role change. */
export async function clinicAdmin(clinic: TestClinic): Promise<SsoUser> {
  const u = await sso(clinic, { first_name: "Ada", last_name: "Admin" });
  await adminPatchUser(clinic, u.id, { roles: ["clinic_admin"] });
  return sso(clinic, { code: u.code, first_name: "Ada", last_name: "Admin" });
}

export async function createRoom(clinic: TestClinic, slug = uniq("room")) {
  const res = await call("POST", "/api_v3/rooms.json", {
    headers: clinic.server,
    form: { slug, name: `Room ${slug}` },
  });
  if (res.status !== 200) throw new Error(`room: ${res.status} ${await res.text()}`);
  return (await json<{ data: { id: string; code: string; slug: string } }>(res)).data;
}

export async function assign(clinic: TestClinic, userId: string, roomCode: string) {
  const res = await call("POST", `/api_v3/users/${userId}/rooms`, {
    headers: clinic.server,
    form: { room_code: roomCode },
  });
  if (res.status !== 200) throw new Error(`assign: ${res.status} ${await res.text()}`);
}

/**
 * Sets a password for an SSO user (first password: no old one needed) and returns it. Waits for the
 * request's after-response work, so that its audit row is written when this returns.
 */
export async function setPassword(user: SsoUser, password = "correct horse battery") {
  const res = await callAndSettle("POST", "/api_v3/me.json", { headers: user.auth, form: { password } });
  if (res.status !== 200) throw new Error(`password: ${res.status} ${await res.text()}`);
  return password;
}

/** The first 16 bytes of a PNG (signature, IHDR length and type): enough for the upload's type sniffing. */
export const PNG = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82,
]);

/** A multipart body with one image file, as VSee clients upload it (field `file`). */
export function imageForm(bytes: Uint8Array = PNG, name = "photo.png", type = "image/png"): FormData {
  const fd = new FormData();
  fd.append("file", new File([bytes], name, { type }));
  return fd;
}

/** `POST /api_v3/files` of an image as `user`: the response. */
export function uploadImage(user: SsoUser, bytes: Uint8Array = PNG): Promise<Response> {
  return call("POST", "/api_v3/files", { headers: user.auth, raw: { body: imageForm(bytes) } });
}

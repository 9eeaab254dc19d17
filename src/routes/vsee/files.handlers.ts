import { cappedBytes, parseMultipart } from "../../lib/body";
import { ApiError, invalidField } from "../../lib/errors";
import type { AppRouteHandler } from "../../lib/route-handler";
import { checkAuthCode, fileUrl, getFile, MAX_FILE_BYTES, putFile, sniffImage } from "../../services/files";
import type { getFile as getFileRoute, uploadFile as uploadFileRoute } from "./files.routes";
import { MAX_UPLOAD_BYTES } from "./files.routes";

/**
 * The uploaded file's bytes (the route's `capBody` has bounded the body): multipart (`file`, or the only
 * file part) or a raw image body.
 */
async function uploadedBytes(req: Request): Promise<Uint8Array> {
  const type = (req.headers.get("content-type") ?? "").toLowerCase();
  const bytes = await cappedBytes(req, MAX_UPLOAD_BYTES);
  if (type.startsWith("image/")) return bytes;
  if (!type.startsWith("multipart/form-data")) throw new ApiError("multipart_required");
  const form = await parseMultipart(req, bytes);
  const named = form.get("file");
  const file =
    typeof named === "object" && named ? named : [...form.values()].find((v) => typeof v === "object");
  if (!file || typeof file === "string") throw invalidField("file", "is required");
  return new Uint8Array(await file.arrayBuffer());
}

export const uploadFile: AppRouteHandler<typeof uploadFileRoute> = async (c) => {
  const caller = c.get("caller");
  const bytes = await uploadedBytes(c.req.raw);
  if (bytes.byteLength > MAX_FILE_BYTES) throw new ApiError("file_too_large");
  const type = sniffImage(bytes);
  if (!type) throw invalidField("file", "must be a PNG, JPEG, GIF or WebP image");
  const id = await putFile(c.env, caller.clinicId, caller.userId, type, bytes);
  const url = (await fileUrl(c.env, new URL(c.req.url).origin, id)) as string;
  return c.json({ data: { id, url, type, size: bytes.byteLength } }, 200);
};

export const downloadFile: AppRouteHandler<typeof getFileRoute> = async (c) => {
  const { id } = c.req.valid("param");
  const { auth_code } = c.req.valid("query");
  // A wrong auth_code and a missing file answer the same 404.
  const file = (await checkAuthCode(c.env, id, auth_code)) ? await getFile(c.env, id) : null;
  if (!file) throw new ApiError("file_not_found");
  return c.body(file.bytes, 200, {
    "Content-Type": file.type,
    // A patient's photo is personal data: no cache keeps it (SECURITY.md).
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'",
  });
};

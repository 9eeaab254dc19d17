import { createRoute } from "@hono/zod-openapi";
import { capBody } from "../../lib/body";
import { errorResponses, SECURITY, z } from "../../lib/openapi";
import { vseeAuth } from "../../middleware/auth";
import { MAX_FILE_BYTES } from "../../services/files";
import { data, json } from "./schemas";

/** The cap on an upload's body: multipart framing around a 1 MiB image stays well under 16 KiB. */
export const MAX_UPLOAD_BYTES = MAX_FILE_BYTES + 16 * 1024;

const tags = ["api_v3: files"];

export const uploadFile = createRoute({
  method: "post",
  path: "/files",
  operationId: "vseeUploadFile",
  tags,
  security: SECURITY.token,
  summary: "Upload an image (a profile photo): multipart field `file`, PNG, JPEG, GIF or WebP, at most 1 MiB",
  description:
    "Returns the file id to send as `photo` in POST /me, and its URL. Each user keeps at most 5 MiB of files (403 beyond) and uploads at most 10 files an hour (429 with Retry-After beyond); a file that is nobody's photo is deleted 24 hours after its upload (or, for a replaced photo, at the next sweep once it is that old).",
  middleware: [vseeAuth(), capBody(MAX_UPLOAD_BYTES)] as const,
  request: {
    // A plain schema (not zod): the upload is read by the handler, not by the generic body reader.
    body: {
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            required: ["file"],
            properties: { file: { type: "string", format: "binary" } },
          },
        },
        "image/*": { schema: { type: "string", format: "binary" } },
      },
    },
  },
  responses: {
    200: json(
      data(z.object({ id: z.string(), url: z.string(), type: z.string(), size: z.number().int() })),
      "Stored",
    ),
    ...errorResponses("vsee", 400, 401, 403, 413, 415, 429),
  },
});

export const getFile = createRoute({
  method: "get",
  path: "/files/{id}",
  operationId: "vseeGetFile",
  security: SECURITY.public,
  tags,
  summary: "Download a file by the URL (with its auth_code) that profiles show",
  request: {
    params: z.object({
      id: z
        .string()
        .max(64)
        .openapi({ param: { name: "id", in: "path" } }),
    }),
    query: z.object({
      auth_code: z.string().max(64),
      size: z.string().max(16).optional(),
      time: z.string().max(16).optional(),
    }),
  },
  responses: {
    200: {
      description: "The image",
      content: { "image/*": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...errorResponses("vsee", 400, 404),
  },
});

import { createRoute } from "@hono/zod-openapi";
import { BODY_ERRORS, errorResponses, formBody, SECURITY, withBody, z } from "../../lib/openapi";
import { boolLike, intLike, listOf } from "../../lib/schemas";
import { requireAdmin } from "../../middleware/admin";

export const AdminUserPatch = z
  .object({
    roles: listOf(z.enum(["clinic_admin", "scheduler"]), 5)
      .optional()
      .openapi({ type: "string" }),
    type: intLike()
      .pipe(
        z.union(
          [100, 110, 140, 150, 160, 200, 300, 400, 500, 600, 700].map((n) => z.literal(n)) as [
            z.ZodLiteral<number>,
            ...z.ZodLiteral<number>[],
          ],
        ),
      )
      .optional()
      .openapi({ type: "integer" }),
    subtype: intLike()
      .pipe(
        z.union(
          [460, 470, 480, 482, 484, 486].map((n) => z.literal(n)) as [
            z.ZodLiteral<number>,
            ...z.ZodLiteral<number>[],
          ],
        ),
      )
      .nullable()
      .optional()
      .openapi({ type: "integer" }),
    disabled: boolLike().optional(),
    is_hidden: boolLike().optional(),
    group: z.string().trim().min(1).max(64).nullable().optional(),
  })
  .strict()
  .openapi("AdminUserPatch");

const AdminUser = z
  .object({
    id: z.string(),
    code: z.string(),
    username: z.string(),
    type: z.number().int(),
    subtype: z.number().int().nullable(),
    status: z.number().int(),
    roles: z.array(z.string()),
    disabled: z.boolean(),
    is_hidden: z.boolean(),
    group: z.string().nullable(),
  })
  .openapi("AdminUser");

export const patchUser = createRoute({
  method: "patch",
  path: "/clinics/{code}/users/{id}",
  operationId: "adminUpdateUser",
  tags: ["admin"],
  security: SECURITY.admin,
  summary:
    "Change a user's type, subtype, roles, group, visibility or disabled flag (disabling ends their sessions)",
  middleware: [requireAdmin, withBody] as const,
  request: {
    params: z.object({
      code: z.string().openapi({ param: { name: "code", in: "path" } }),
      id: z
        .string()
        .regex(/^\d{1,15}$/, "must be a user id")
        .transform(Number)
        .openapi({ param: { name: "id", in: "path" }, type: "string" }),
    }),
    body: formBody(AdminUserPatch),
  },
  responses: {
    200: {
      description: "The user",
      content: { "application/json": { schema: z.object({ user: AdminUser }) } },
    },
    ...errorResponses("admin", ...BODY_ERRORS, 401, 404, 503),
  },
});

/** What every error family module provides (one file each in this folder). */
import { z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import type { ApiError } from "../errors";
import { ERRORS } from "../errors";

export interface ErrorFamily {
  /** The paths the family answers: `/x`, `/x/…` and `/x.…` for each prefix. */
  prefixes: readonly string[];
  /** The wire body of an error. */
  body(err: ApiError): Record<string, unknown>;
  /** The same shape for the OpenAPI document. */
  schema: ZodType;
  /** The description of an error status in the document. */
  describe(status: number): string;
}

export const fieldError = z.object({ param: z.string(), message: z.string() });

/** A status's generic text in the document (each family may prefix it). */
export const STATUS_TEXT: Record<number, string> = {
  400: ERRORS.validation_failed.message,
  401: ERRORS.unauthorized.message,
  403: ERRORS.forbidden.message,
  404: ERRORS.not_found.message,
  409: ERRORS.conflict.message,
  412: ERRORS.version_mismatch.message,
  413: ERRORS.payload_too_large.message,
  415: "Unsupported media type",
  429: ERRORS.rate_limited.message,
  500: ERRORS.internal.message,
  503: "Unavailable",
};

export const describeStatus = (status: number) => STATUS_TEXT[status] ?? "Error";

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(req: { header(name: string): string | undefined }): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.header("authorization") ?? "")?.[1];
}

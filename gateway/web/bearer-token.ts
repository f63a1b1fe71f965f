/**
 * The token of `Authorization: Bearer <token>` (RFC 6750 §2.1: the scheme is case-insensitive,
 * the token is b64token), or undefined for any other header.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header ?? '');
  return match?.[1];
}

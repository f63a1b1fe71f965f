/**
 * What the store's users seal values and hash key names with before anything reaches the store,
 * so that a dump of it (a Redis RDB file or replica, a copy of the SQLite file, a backup) gives
 * away no credential. The keys behind it are derived from the store's data key, which
 * GATEWAY_SECRETS wrap (gateway/keys/store-sealing.ts); the adapters here only take the contract.
 */
export interface Sealing {
  /** Encrypts and authenticates a JSON value (AES-256-GCM); a new random IV each time. */
  seal(value: unknown): string;
  /** The sealed value, or undefined when it does not open (tampered, or sealed under another data key). */
  open<T>(sealed: string): T | undefined;
  /**
   * A keyed hash (HMAC-SHA-256, base64url, 43 characters) of a token-like id, to name a store key
   * or a set member by: one id always gives one name, and a name gives nothing of its id, not
   * even to someone who tries every possible short id (a device flow's user code) without the key.
   */
  hashId(id: string): string;
}

/** RFC 8693 token exchange: here, the user's upstream access token for the client's own gateway token. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** RFC 8628 device authorization grant. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** RFC 6749 §4.4 client credentials: a machine client's token for itself, no user. */
export const CLIENT_CREDENTIALS_GRANT = 'client_credentials';

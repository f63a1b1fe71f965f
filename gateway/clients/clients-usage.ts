/** The `clients` part of `npx gateway help` (its own module: `help` loads nothing else). */
export const clientsUsage = `  clients add --redirect-uri URI [--redirect-uri URI ...] [options]
                  register a client; prints its client_id and, once, its secret
      --name NAME                   client_name shown on the consent page
      --id ID                       choose the client_id (default: generated)
      --public                      a public client (SPA, native app): no secret, PKCE S256
      --auth-method METHOD          client_secret_basic (default), client_secret_post,
                                    private_key_jwt or none
      --jwks-uri URI                the client's keys (private_key_jwt)
      --post-logout-redirect-uri URI   (repeatable)
      --backchannel-logout-uri URI
      --first-party                 trusted app of your own: no consent screen
      --resource URI                an API audience the client may get tokens for (repeatable)
      --introspection-audience AUD  a resource server: it may introspect access tokens whose aud
                                    is AUD (a resource URI or a client id; repeatable)
      --token-exchange              may exchange its gateway token for the user's upstream
                                    (Google) token, if the user consents (upstream_token scope);
                                    confidential clients only
      --metadata JSON|@FILE         any other RFC 7591 metadata, as a JSON object
  clients list                      every client (never a secret)
  clients show CLIENT_ID            one client (never its secret)
  clients remove CLIENT_ID          remove a client; every gateway refuses it at once
  clients rotate-secret CLIENT_ID   new secret, printed once; the old one keeps working
                                    for GATEWAY_SECRET_ROTATION_GRACE seconds
  Every clients command takes --json.`;

"""
Offline verification of the gateway's access tokens (RFC 9068 JWTs) with PyJWT, against the
gateway's JWKS. No call to the gateway per request: only the key set is fetched, and cached.

RFC 9068 §4 says what a resource server must check, and this does each:
- the header's `typ` is `at+jwt` (so an ID token, also signed by the gateway, is refused);
- the signature, with a key of the JWKS and an asymmetric algorithm only (never `none`, never
  HS256 with the public key as secret);
- `iss` is the gateway, `aud` is this app, `exp` has not passed (`iat` present too).
"""
import json
import logging
import threading
import time
import urllib.request

import jwt
from django.conf import settings

log = logging.getLogger(__name__)

ALGORITHMS = ('ES256', 'RS256', 'PS256', 'EdDSA')
ACCESS_TOKEN_TYPES = ('at+jwt', 'application/at+jwt')
# A key set is used for at most this long: the gateway publishes a new key GATEWAY_KEY_ROLL_IN
# (default 600 s) before signing with it, so a shorter cache always knows it in time.
JWKS_LIFESPAN = 300
# An unknown `kid` refetches the key set at most this often, so forged tokens cannot make the
# app hammer the gateway.
JWKS_MIN_REFETCH = 30
HTTP_TIMEOUT = 5


class InvalidAccessToken(Exception):
    """The token is refused; `description` is safe to send back (RFC 6750 §3 error_description)."""

    def __init__(self, description, expired=False):
        super().__init__(description)
        self.description = description
        self.expired = expired


def _get_json(url):
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 (the configured issuer)
        return json.load(response)


class GatewayKeys:
    """The gateway's public keys by `kid`, from the `jwks_uri` that discovery names."""

    def __init__(self, issuer):
        self.issuer = issuer
        self._lock = threading.Lock()
        self._keys = {}
        self._fetched_at = 0.0
        self._jwks_uri = None

    def _fetch(self):
        if self._jwks_uri is None:
            self._jwks_uri = _get_json(f'{self.issuer}/.well-known/openid-configuration')['jwks_uri']
        key_set = jwt.PyJWKSet.from_dict(_get_json(self._jwks_uri))
        self._keys = {key.key_id: key for key in key_set.keys if key.key_id and key.public_key_use in ('sig', None)}
        self._fetched_at = time.monotonic()

    def key(self, kid):
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > JWKS_LIFESPAN or (kid not in self._keys and age > JWKS_MIN_REFETCH):
                try:
                    self._fetch()
                except (OSError, ValueError, KeyError, jwt.PyJWTError) as error:
                    log.warning('cannot fetch the gateway key set: %s', error)
                    if not self._keys:
                        raise InvalidAccessToken('The gateway key set is unavailable') from error
            return self._keys.get(kid)


_keys = {}
_keys_lock = threading.Lock()


def gateway_keys():
    """One key cache per issuer, shared by all threads."""
    with _keys_lock:
        keys = _keys.get(settings.OIDC_ISSUER)
        if keys is None:
            keys = _keys[settings.OIDC_ISSUER] = GatewayKeys(settings.OIDC_ISSUER)
        return keys


def verify_access_token(token, audiences):
    """The token's claims when it is a valid gateway access token for one of `audiences`; raises InvalidAccessToken."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise InvalidAccessToken('The access token is not a JWT') from error
    if str(header.get('typ', '')).lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidAccessToken('The token is not an access token (its typ must be at+jwt)')
    algorithm = header.get('alg')
    if algorithm not in ALGORITHMS:
        raise InvalidAccessToken('The access token is not signed with an accepted algorithm')
    key = gateway_keys().key(header.get('kid'))
    if key is None:
        raise InvalidAccessToken('The access token is not signed by a key of the gateway')
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=list(audiences),
            issuer=settings.OIDC_ISSUER,
            leeway=settings.OIDC_LEEWAY,
            options={'require': ['iss', 'sub', 'aud', 'exp', 'iat']},
        )
    except jwt.ExpiredSignatureError as error:
        raise InvalidAccessToken('The access token expired', expired=True) from error
    except jwt.InvalidAudienceError as error:
        raise InvalidAccessToken('The access token is not meant for this app') from error
    except jwt.InvalidIssuerError as error:
        raise InvalidAccessToken('The access token was not issued by the gateway') from error
    except jwt.InvalidSignatureError as error:
        raise InvalidAccessToken('The access token signature is invalid') from error
    except jwt.PyJWTError as error:
        raise InvalidAccessToken('The access token is invalid') from error

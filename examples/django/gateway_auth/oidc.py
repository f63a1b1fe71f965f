"""
The gateway as Authlib's Django OAuth client: OpenID Connect discovery, authorization code with
PKCE (S256, RFC 7636), `state` and `nonce` kept in the Django session, the ID token verified
against the gateway's JWKS by Authlib.
"""
import time

from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings

SCOPES = 'openid email profile'

_clients = {}


def gateway():
    """The registered client for the configured issuer (created on first use)."""
    client = _clients.get(settings.OIDC_ISSUER)
    if client is None:
        client = OAuth().register(
            name='gateway',
            client_id=settings.OIDC_CLIENT_ID,
            client_secret=settings.OIDC_CLIENT_SECRET,
            server_metadata_url=f'{settings.OIDC_ISSUER}/.well-known/openid-configuration',
            client_kwargs={'scope': SCOPES, 'code_challenge_method': 'S256', 'default_timeout': 10},
        )
        _clients[settings.OIDC_ISSUER] = client
    return client


def metadata():
    """The gateway's discovery document (fetched once)."""
    return gateway().load_server_metadata()


def refresh(refresh_token):
    """
    The refresh_token grant (RFC 6749 §6). The gateway rotates refresh tokens: keep the new one.
    Raises authlib's OAuthError (`invalid_grant` when the grant has ended).
    """
    token = gateway().fetch_access_token(grant_type='refresh_token', refresh_token=refresh_token)
    if 'error' in token:
        raise OAuthError(error=token['error'], description=token.get('error_description'))
    return token


def session_tokens(token, previous=None):
    """What the Django session keeps of a token response (server side only)."""
    previous = previous or {}
    expires_at = token.get('expires_at') or (int(time.time()) + int(token.get('expires_in', 0)))
    return {
        'access_token': token['access_token'],
        'refresh_token': token.get('refresh_token') or previous.get('refresh_token'),
        'id_token': token.get('id_token') or previous.get('id_token'),
        'expires_at': int(expires_at),
    }

"""
Three pieces of middleware, each for one way of being signed in through the gateway.
"""
import logging
import time

import requests
from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse

from . import oidc
from .http import bearer_challenge
from .tokens import InvalidAccessToken, verify_access_token
from .users import is_machine, user_for_claims

log = logging.getLogger(__name__)

SESSION_TOKENS = 'gateway_tokens'
API_PREFIX = '/api/'
FORWARD_AUTH_HEADER = 'HTTP_X_AUTH_REQUEST_ACCESS_TOKEN'


class ApiCorsMiddleware:
    """
    CORS for the Bearer API (Fetch standard, CORS protocol), for the SPA origins in
    CORS_ALLOWED_ORIGINS only. No `Access-Control-Allow-Credentials`: the API takes a Bearer token,
    never a cookie, so a cross-site page can neither ride on a session nor read an answer meant
    for someone else. `WWW-Authenticate` is exposed so the SPA sees why a 401 came.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = request.headers.get('Origin')
        allowed = request.path.startswith(API_PREFIX) and origin is not None and origin in settings.CORS_ALLOWED_ORIGINS
        if allowed and request.method == 'OPTIONS' and 'Access-Control-Request-Method' in request.headers:
            response = HttpResponse(status=204)
            response['Access-Control-Allow-Methods'] = 'GET, POST, PUT, PATCH, DELETE'
            response['Access-Control-Allow-Headers'] = 'Authorization, Content-Type'
            response['Access-Control-Max-Age'] = '600'
        else:
            response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            response['Vary'] = ', '.join(filter(None, [response.get('Vary'), 'Origin']))
        if allowed:
            response['Access-Control-Allow-Origin'] = origin
            response['Access-Control-Expose-Headers'] = 'WWW-Authenticate'
        return response


class GatewaySessionMiddleware:
    """
    A Django session signed in through the gateway (views.callback) keeps the gateway's tokens,
    server side. When the access token has expired, the next request refreshes it; when the
    gateway refuses (`invalid_grant`: the person signed out of the gateway, in this app or any
    other, or the session ended), the Django session ends too. So this app is signed out at the
    latest one access-token lifetime (GATEWAY_ACCESS_TOKEN_TTL) after the gateway session ends.

    Two requests that refresh at once present the same refresh token; the gateway answers both
    alike within its GATEWAY_REFRESH_GRACE.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tokens = request.session.get(SESSION_TOKENS)
        if tokens and request.user.is_authenticated and tokens.get('expires_at', 0) - settings.OIDC_LEEWAY <= time.time():
            self._refresh(request, tokens)
        return self.get_response(request)

    @staticmethod
    def _refresh(request, tokens):
        if not tokens.get('refresh_token'):
            logout(request)
            return
        try:
            fresh = oidc.refresh(tokens['refresh_token'])
        except OAuthError as error:
            log.info('gateway refused the refresh (%s): ending the Django session', error.error)
            logout(request)
            request.gateway_session_ended = True
            return
        except requests.RequestException as error:
            # The gateway is unreachable: keep the session, try again on the next request.
            log.warning('cannot refresh at the gateway: %s', error)
            return
        request.session[SESSION_TOKENS] = oidc.session_tokens(fresh, previous=tokens)


class ForwardAuthMiddleware:
    """
    Behind nginx `auth_request` (examples/nginx/gateway.conf): the identity is the gateway's
    `X-Auth-Request-Access-Token`, a JWT verified here like any access token, whose `aud` must be
    this app's origin (OIDC_FORWARD_AUTH_AUDIENCES). The plain headers (`X-Auth-Request-User`,
    `-Email`, …) are never read: a header is only as trustworthy as every network path to the
    app, a signature is not. A token that fails verification is a 401, never a fall-back to
    another identity. Without the header (the app reached directly, not through nginx), the
    request goes on with the Django session, if any.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request.META.get(FORWARD_AUTH_HEADER) if settings.OIDC_FORWARD_AUTH_AUDIENCES else None
        if token is not None:
            try:
                claims = verify_access_token(token, settings.OIDC_FORWARD_AUTH_AUDIENCES)
            except InvalidAccessToken as error:
                log.info('refused X-Auth-Request-Access-Token: %s', error.description)
                return bearer_challenge(error)
            # A machine behind nginx (a rule's allowed_clients) stays anonymous to Django's auth;
            # views that serve machines read request.gateway_claims.
            if not is_machine(claims):
                request.user = user_for_claims(claims)
            request.gateway_claims = claims
            request.gateway_source = 'forward-auth'
        return self.get_response(request)

import logging
import time
from datetime import datetime, timezone
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import oidc
from .http import bearer_challenge
from .middleware import SESSION_TOKENS
from .models import GatewayIdentity
from .tokens import InvalidAccessToken, verify_access_token
from .users import is_machine, user_for_claims

log = logging.getLogger(__name__)

NEXT_KEY = 'gateway_next'


def _identity(user):
    return GatewayIdentity.objects.filter(user=user).first() if user.is_authenticated else None


@never_cache
def home(request):
    """Who is signed in, and how."""
    source = getattr(request, 'gateway_source', None)
    tokens = request.session.get(SESSION_TOKENS) if request.user.is_authenticated and source is None else None
    if request.user.is_authenticated and source is None:
        source = 'session' if tokens else 'django'
    claims = getattr(request, 'gateway_claims', None)
    expires_at = (claims or {}).get('exp') or (tokens or {}).get('expires_at')
    context = {
        'identity': _identity(request.user),
        'source': source,
        'expires_at': datetime.fromtimestamp(expires_at, tz=timezone.utc) if expires_at else None,
        'ended_elsewhere': getattr(request, 'gateway_session_ended', False),
    }
    return render(request, 'gateway_auth/home.html', context)


@require_GET
def login(request):
    """Starts the authorization code flow (with PKCE, state and nonce) at the gateway."""
    next_url = request.GET.get('next', '/')
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = '/'
    request.session[NEXT_KEY] = next_url
    return oidc.gateway().authorize_redirect(request, request.build_absolute_uri(reverse('oidc-callback')))


@require_GET
def callback(request):
    """The gateway sends the browser back here with `code` and `state` (RFC 6749 §4.1.2)."""
    try:
        token = oidc.gateway().authorize_access_token(request)
    except OAuthError as error:
        # access_denied, a stale or foreign state, a refused code: start again.
        log.info('sign-in refused: %s', error.error)
        return render(request, 'gateway_auth/error.html', {'error': error.error}, status=400)
    # The ID token's claims (Authlib verified its signature, iss, aud, nonce); the userinfo
    # endpoint when a provider sends no ID token.
    claims = token.get('userinfo') or oidc.gateway().userinfo(token=token)
    user = user_for_claims(claims)
    next_url = request.session.pop(NEXT_KEY, '/')
    django_login(request, user)  # a new session key: no session fixation
    request.session[SESSION_TOKENS] = oidc.session_tokens(token)
    return HttpResponseRedirect(next_url)


@require_POST
def logout(request):
    """
    Ends the Django session, then RP-initiated logout at the gateway (OpenID Connect RP-Initiated
    Logout 1.0): the gateway asks the person, ends the SSO session and revokes every app's grant.
    """
    tokens = request.session.get(SESSION_TOKENS) or {}
    django_logout(request)
    metadata = oidc.metadata()
    if tokens.get('refresh_token') and metadata.get('revocation_endpoint'):
        try:  # RFC 7009: this app's refresh token, even if the person stays signed in at the gateway
            requests.post(
                metadata['revocation_endpoint'],
                data={'token': tokens['refresh_token'], 'token_type_hint': 'refresh_token'},
                auth=(settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET),
                timeout=5,
            )
        except requests.RequestException as error:
            log.warning('cannot revoke the refresh token: %s', error)
    end_session = metadata.get('end_session_endpoint')
    if not end_session:
        return HttpResponseRedirect('/')
    params = {'client_id': settings.OIDC_CLIENT_ID, 'post_logout_redirect_uri': request.build_absolute_uri('/')}
    if tokens.get('id_token'):
        params['id_token_hint'] = tokens['id_token']
    return HttpResponseRedirect(f'{end_session}?{urlencode(params)}')


@never_cache
def signed_out(request):
    """Where forward auth's /oauth2/sign_out sends the browser back (outside auth_request in nginx)."""
    return render(request, 'gateway_auth/signed_out.html', {})


@csrf_exempt  # Bearer only: no cookie authenticates this view, so there is nothing to forge
@never_cache
def api_me(request):
    """
    A Bearer API (RFC 6750 §2.1): the gateway's access JWT, verified offline (tokens.py). Answers
    401 with `WWW-Authenticate` when the token is missing, expired or not meant for this API.
    """
    scheme, _, token = request.headers.get('Authorization', '').partition(' ')
    if scheme.lower() != 'bearer' or not token.strip():
        return bearer_challenge()
    try:
        claims = verify_access_token(token.strip(), settings.OIDC_API_AUDIENCES)
    except InvalidAccessToken as error:
        return bearer_challenge(error)
    if is_machine(claims):
        # A service calling with its own token (client credentials): no user, only its scopes.
        return JsonResponse({
            'client_id': claims['sub'],
            'machine': True,
            'scope': claims.get('scope', ''),
            'aud': claims['aud'],
            'expires_in': max(0, int(claims['exp'] - time.time())),
        })
    user = user_for_claims(claims)
    return JsonResponse({
        'sub': claims['sub'],
        'django_user': user.get_username(),
        'preferred_username': claims.get('preferred_username'),
        'name': claims.get('name'),
        'email': claims.get('email'),
        'aud': claims['aud'],
        'expires_in': max(0, int(claims['exp'] - time.time())),
    })

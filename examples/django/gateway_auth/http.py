"""Answers shared by the middleware and the views."""
from django.http import JsonResponse

REALM = 'django-example'


def _quoted(value):
    return '"' + value.replace('\\', '\\\\').replace('"', '\\"') + '"'


def bearer_challenge(error=None):
    """
    401 with `WWW-Authenticate: Bearer` (RFC 6750 §3). Without credentials the challenge names no
    error (§3.1); with a refused token it says `invalid_token` and why, so a client can tell
    "expired: refresh and retry" from "not for you".
    """
    params = [f'realm={_quoted(REALM)}']
    body = {'error': 'unauthorized', 'error_description': 'Send a gateway access token: Authorization: Bearer <token>'}
    if error is not None:
        params += ['error="invalid_token"', f'error_description={_quoted(error.description)}']
        body = {'error': 'invalid_token', 'error_description': error.description}
    response = JsonResponse(body, status=401)
    response['WWW-Authenticate'] = 'Bearer ' + ', '.join(params)
    response['Cache-Control'] = 'no-store'
    return response

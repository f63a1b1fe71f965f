"""
Settings of the Django example, all from environment variables (12-factor), with defaults that
match examples/full-stack (the gateway at http://localhost:4000 in development mode).

The gateway's settings are named OIDC_* here on purpose: the gateway refuses unknown GATEWAY_*
variables, and one shell may well run both.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def env_list(name, default=''):
    """A comma-separated environment variable as a list (empty items dropped)."""
    return [item.strip() for item in os.environ.get(name, default).split(',') if item.strip()]


SECRET_KEY = os.environ.get('DJANGO_SECRET_KEY', 'django-example-insecure-development-key-change-me')
DEBUG = os.environ.get('DJANGO_DEBUG', '') == '1'
ALLOWED_HOSTS = env_list('DJANGO_ALLOWED_HOSTS', 'localhost,127.0.0.1,app.localhost,api.localhost,testserver')

INSTALLED_APPS = [
    'django.contrib.auth',
    'django.contrib.contenttypes',
    'django.contrib.sessions',
    'gateway_auth',
]

MIDDLEWARE = [
    'django.middleware.security.SecurityMiddleware',
    # Before everything that may answer: a CORS preflight gets its answer here.
    'gateway_auth.middleware.ApiCorsMiddleware',
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
    # A Django session signed in through the gateway lasts only as long as the gateway's grant.
    'gateway_auth.middleware.GatewaySessionMiddleware',
    # Behind nginx forward auth: identity from the gateway's X-Auth-Request-Access-Token JWT only.
    'gateway_auth.middleware.ForwardAuthMiddleware',
    'django.middleware.clickjacking.XFrameOptionsMiddleware',
]

ROOT_URLCONF = 'example_site.urls'
WSGI_APPLICATION = 'example_site.wsgi.application'

TEMPLATES = [
    {
        'BACKEND': 'django.template.backends.django.DjangoTemplates',
        'DIRS': [],
        'APP_DIRS': True,
        'OPTIONS': {
            'context_processors': [
                'django.template.context_processors.request',
                'django.contrib.auth.context_processors.auth',
            ],
        },
    },
]

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.sqlite3',
        'NAME': os.environ.get('DJANGO_DB_PATH', str(BASE_DIR / 'db.sqlite3')),
    }
}

DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
LANGUAGE_CODE = 'en'
TIME_ZONE = 'UTC'
USE_I18N = True
USE_TZ = True

# The session holds the gateway's tokens (server side, in the database): the browser only ever
# gets an opaque, HttpOnly session id. Own cookie names, so that apps on other ports of the same
# host (cookies ignore ports) do not overwrite them.
SESSION_COOKIE_NAME = 'django_example_session'
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = 'Lax'
CSRF_COOKIE_NAME = 'django_example_csrftoken'
SESSION_COOKIE_SECURE = os.environ.get('DJANGO_SECURE_COOKIES', '') == '1'
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- The gateway -------------------------------------------------------------------------------
# Its issuer: discovery at OIDC_ISSUER/.well-known/openid-configuration; tokens' `iss`.
OIDC_ISSUER = os.environ.get('OIDC_ISSUER', 'http://localhost:4000').rstrip('/')
# This app's confidential client (registered at the gateway with redirect URI
# <this app>/oidc/callback and post-logout redirect URI <this app>/).
OIDC_CLIENT_ID = os.environ.get('OIDC_CLIENT_ID', 'django-example')
OIDC_CLIENT_SECRET = os.environ.get('OIDC_CLIENT_SECRET', '')
# `aud` values the Bearer API accepts: this client's id, and/or a resource indicator (RFC 8707)
# that SPAs ask tokens for, e.g. https://api.example.com.
OIDC_API_AUDIENCES = env_list('OIDC_API_AUDIENCES') or [OIDC_CLIENT_ID]
# Forward-auth mode (behind nginx auth_request): the origins nginx serves this app at, e.g.
# https://app.example.com; the gateway mints X-Auth-Request-Access-Token with `aud` = that origin.
# Empty: the mode is off and the header is ignored.
OIDC_FORWARD_AUTH_AUDIENCES = env_list('OIDC_FORWARD_AUTH_AUDIENCES')
# Seconds of clock skew tolerated on `exp`/`iat`. 0 when the app and the gateway share a clock.
OIDC_LEEWAY = int(os.environ.get('OIDC_LEEWAY', '0'))
# Browser origins (SPAs) allowed to call /api/ with a Bearer token (CORS, no credentials).
CORS_ALLOWED_ORIGINS = env_list('CORS_ALLOWED_ORIGINS')

LOGGING = {
    'version': 1,
    'disable_existing_loggers': False,
    'handlers': {'console': {'class': 'logging.StreamHandler'}},
    'loggers': {
        'gateway_auth': {'handlers': ['console'], 'level': os.environ.get('DJANGO_LOG_LEVEL', 'WARNING')},
    },
}

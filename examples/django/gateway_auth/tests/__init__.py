"""
Tests against a running gateway (with a fake Google in front of it), not mocks: the Node test
tests/django-example.test.ts starts both, registers this app's client and runs
`/usr/bin/python3 manage.py test` with OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and
FAKE_GOOGLE_ISSUER set.
"""

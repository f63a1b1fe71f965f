"""Behind nginx forward auth: identity only from the gateway's X-Auth-Request-Access-Token JWT."""
from django.conf import settings
from django.contrib.auth import get_user
from django.test import Client, TestCase, override_settings

from ..middleware import SESSION_TOKENS
from .person import Person, require_gateway, sign_in

# nginx would serve the app at its own origin; here the gateway's forward auth runs on the
# gateway's own host, so the JWT it mints has aud = the issuer's origin.
FORGED_HEADERS = {
    'HTTP_X_AUTH_REQUEST_USER': 'admin',
    'HTTP_X_AUTH_REQUEST_EMAIL': 'admin@evil.test',
    'HTTP_X_AUTH_REQUEST_PREFERRED_USERNAME': 'admin',
    'HTTP_X_AUTH_REQUEST_GROUPS': 'ops',
}


def forwarded(token, **extra):
    return {'HTTP_X_AUTH_REQUEST_ACCESS_TOKEN': token, **extra}


class ForwardAuthTests(TestCase):
    @classmethod
    def setUpClass(cls):
        require_gateway()
        super().setUpClass()

    def setUp(self):
        override = override_settings(OIDC_FORWARD_AUTH_AUDIENCES=[settings.OIDC_ISSUER])
        override.enable()
        self.addCleanup(override.disable)

    def test_identity_from_the_verified_token(self):
        token = Person('fa@one.test', 'Forward Ada').forward_auth_token()
        page = Client().get('/', **forwarded(token))
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, 'Signed in as Forward Ada')
        self.assertContains(page, 'data-source="forward-auth"')

    def test_bare_identity_headers_are_ignored(self):
        page = Client().get('/', **FORGED_HEADERS)
        self.assertContains(page, 'You are not signed in')
        self.assertNotContains(page, 'admin')

    def test_the_token_wins_over_forged_headers(self):
        token = Person('honest@one.test', 'Honest').forward_auth_token()
        page = Client().get('/', **forwarded(token, **FORGED_HEADERS))
        self.assertContains(page, 'Signed in as Honest')
        self.assertNotContains(page, 'admin@evil.test')

    def test_a_bad_token_is_401_not_a_fallback(self):
        session_client = sign_in(Person('fallback@one.test', 'Fallback'))
        api_token = session_client.session[SESSION_TOKENS]['access_token']  # aud = the client id
        for token in (api_token, 'garbage', ''):
            refused = session_client.get('/', **forwarded(token))
            self.assertEqual(refused.status_code, 401, token[:10])
            self.assertIn('error="invalid_token"', refused['WWW-Authenticate'])

    def test_same_person_same_user_by_either_way(self):
        person = Person('both@one.test', 'Both Ways')
        by_session = get_user(sign_in(person))
        token = person.forward_auth_token()
        page = Client().get('/', **forwarded(token))
        self.assertEqual(page.context['user'].pk, by_session.pk)

    @override_settings(OIDC_FORWARD_AUTH_AUDIENCES=[])
    def test_mode_off_ignores_the_header(self):
        token = Person('off@one.test', 'Off').forward_auth_token()
        page = Client().get('/', **forwarded(token))
        self.assertContains(page, 'You are not signed in')

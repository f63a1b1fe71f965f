"""The Bearer API: the gateway's access JWT verified offline (PyJWT + the JWKS)."""
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth import get_user
from django.test import Client, TestCase, override_settings

from ..middleware import SESSION_TOKENS
from .person import Person, require_gateway, sign_in, wait_until_expired

SPA_ORIGIN = 'http://spa.test:5173'


def bearer(token):
    return {'HTTP_AUTHORIZATION': f'Bearer {token}'}


class BearerApiTests(TestCase):
    @classmethod
    def setUpClass(cls):
        require_gateway()
        super().setUpClass()

    def tokens(self, email='api@one.test', name='Api User'):
        client = sign_in(Person(email, name))
        return client, client.session[SESSION_TOKENS]

    def assert_invalid_token(self, response, description):
        self.assertEqual(response.status_code, 401)
        challenge = response['WWW-Authenticate']
        self.assertTrue(challenge.startswith('Bearer realm="django-example"'), challenge)
        self.assertIn('error="invalid_token"', challenge)
        self.assertIn(description, challenge)
        self.assertEqual(response.json()['error'], 'invalid_token')

    def test_accepts_the_gateway_access_token(self):
        client, tokens = self.tokens()
        answer = Client().get('/api/me', **bearer(tokens['access_token']))
        self.assertEqual(answer.status_code, 200)
        body = answer.json()
        self.assertEqual(body['email'], 'api@one.test')
        self.assertEqual(body['aud'], settings.OIDC_CLIENT_ID)
        self.assertEqual(body['django_user'], get_user(client).get_username(), 'the same Django user as the session')

    def test_without_a_token_a_plain_challenge(self):
        answer = Client().get('/api/me')
        self.assertEqual(answer.status_code, 401)
        self.assertEqual(answer['WWW-Authenticate'], 'Bearer realm="django-example"')

    def test_refuses_what_is_not_an_access_token(self):
        _, tokens = self.tokens('idtoken@one.test')
        # the ID token is signed by the gateway and its aud is this client: only typ tells them apart
        self.assert_invalid_token(Client().get('/api/me', **bearer(tokens['id_token'])), 'typ must be at+jwt')
        self.assert_invalid_token(Client().get('/api/me', **bearer('not-a-jwt')), 'not a JWT')
        claims = jwt.decode(tokens['access_token'], options={'verify_signature': False})
        unsigned = jwt.encode(claims, None, algorithm='none', headers={'typ': 'at+jwt'})
        self.assert_invalid_token(Client().get('/api/me', **bearer(unsigned)), 'accepted algorithm')

    def test_refuses_a_forged_signature(self):
        _, tokens = self.tokens('forged@one.test')
        header = jwt.get_unverified_header(tokens['access_token'])
        claims = jwt.decode(tokens['access_token'], options={'verify_signature': False})
        own_key = ec.generate_private_key(ec.SECP256R1())
        forged = jwt.encode(claims, own_key, algorithm='ES256', headers={'typ': 'at+jwt', 'kid': header['kid']})
        self.assert_invalid_token(Client().get('/api/me', **bearer(forged)), 'signature is invalid')
        other_kid = jwt.encode(claims, own_key, algorithm='ES256', headers={'typ': 'at+jwt', 'kid': 'not-a-gateway-key'})
        self.assert_invalid_token(Client().get('/api/me', **bearer(other_kid)), 'not signed by a key of the gateway')

    def test_refuses_a_token_for_another_app(self):
        # a real gateway token, for another audience (the gateway's origin, via forward auth)
        token = Person('other@one.test', 'Other').forward_auth_token()
        self.assert_invalid_token(Client().get('/api/me', **bearer(token)), 'not meant for this app')

    def test_an_expired_token_gets_401_with_www_authenticate(self):
        _, tokens = self.tokens('expiring@one.test')
        self.assertEqual(Client().get('/api/me', **bearer(tokens['access_token'])).status_code, 200)
        wait_until_expired(tokens['expires_at'])
        self.assert_invalid_token(Client().get('/api/me', **bearer(tokens['access_token'])), 'error_description="The access token expired"')

    @override_settings(CORS_ALLOWED_ORIGINS=[SPA_ORIGIN])
    def test_cors_for_the_spa_origin_only(self):
        preflight = Client().options('/api/me', HTTP_ORIGIN=SPA_ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD='GET', HTTP_ACCESS_CONTROL_REQUEST_HEADERS='authorization')
        self.assertEqual(preflight.status_code, 204)
        self.assertEqual(preflight['Access-Control-Allow-Origin'], SPA_ORIGIN)
        self.assertIn('Authorization', preflight['Access-Control-Allow-Headers'])
        self.assertFalse(preflight.has_header('Access-Control-Allow-Credentials'), 'Bearer only, never cookies')
        answer = Client().get('/api/me', HTTP_ORIGIN=SPA_ORIGIN)
        self.assertEqual(answer.status_code, 401)
        self.assertEqual(answer['Access-Control-Allow-Origin'], SPA_ORIGIN)
        self.assertEqual(answer['Access-Control-Expose-Headers'], 'WWW-Authenticate')
        stranger = Client().options('/api/me', HTTP_ORIGIN='http://evil.test', HTTP_ACCESS_CONTROL_REQUEST_METHOD='GET')
        self.assertFalse(stranger.has_header('Access-Control-Allow-Origin'))
        self.assertIn('Origin', stranger['Vary'])

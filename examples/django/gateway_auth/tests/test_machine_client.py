"""A service calling the Bearer API with its own token: Authlib's client credentials grant."""
import os

import requests
from authlib.integrations.requests_client import OAuth2Session
from django.contrib.auth import get_user_model
from django.test import Client, TestCase

from .person import require_gateway


class MachineClientTests(TestCase):
    @classmethod
    def setUpClass(cls):
        require_gateway()
        if not os.environ.get('MACHINE_CLIENT_ID'):
            raise AssertionError('MACHINE_CLIENT_ID and MACHINE_CLIENT_SECRET must name a client_credentials client')
        super().setUpClass()

    def machine_token(self, **params):
        discovery = requests.get(f"{os.environ['OIDC_ISSUER']}/.well-known/openid-configuration", timeout=10).json()
        session = OAuth2Session(os.environ['MACHINE_CLIENT_ID'], os.environ['MACHINE_CLIENT_SECRET'])
        return session.fetch_token(discovery['token_endpoint'], grant_type='client_credentials', **params)

    def test_a_machine_calls_the_api_as_itself_never_as_a_user(self):
        token = self.machine_token(scope='reports:read', resource=os.environ['MACHINE_RESOURCE'])
        self.assertEqual(token['token_type'].lower(), 'bearer')
        self.assertNotIn('refresh_token', token, 'no refresh token: a machine asks again')
        users_before = get_user_model().objects.count()
        answer = Client().get('/api/me', HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
        self.assertEqual(answer.status_code, 200)
        body = answer.json()
        self.assertEqual(body['client_id'], os.environ['MACHINE_CLIENT_ID'])
        self.assertTrue(body['machine'])
        self.assertEqual(body['scope'], 'reports:read')
        self.assertNotIn('email', body)
        self.assertEqual(get_user_model().objects.count(), users_before, 'no Django user for a machine')

    def test_a_scope_it_was_not_given_is_not_in_its_token(self):
        token = self.machine_token(scope='reports:read admin:all', resource=os.environ['MACHINE_RESOURCE'])
        self.assertEqual(token.get('scope'), 'reports:read')

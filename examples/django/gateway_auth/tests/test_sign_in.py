"""Server-side sign-in with Authlib's Django client against the running gateway."""
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.test import Client, TestCase

from ..middleware import SESSION_TOKENS
from ..models import GatewayIdentity
from .person import Person, TEST_SERVER, require_gateway, sign_in, wait_until_expired


class SignInTests(TestCase):
    @classmethod
    def setUpClass(cls):
        require_gateway()
        super().setUpClass()

    def test_signs_in_with_code_pkce_state_and_nonce(self):
        client = Client()
        start = client.get('/login/', {'next': '/'})
        self.assertEqual(start.status_code, 302)
        query = parse_qs(urlsplit(start['Location']).query)
        self.assertEqual(query['response_type'], ['code'])
        self.assertEqual(query['code_challenge_method'], ['S256'])
        self.assertGreaterEqual(len(query['code_challenge'][0]), 43)
        self.assertTrue(query['state'][0] and query['nonce'][0])
        self.assertEqual(query['redirect_uri'], [f'{TEST_SERVER}/oidc/callback'])

        person = Person('ada@one.test', 'Ada Lovelace')
        callback = person.walk(start['Location'], stop=lambda url: url.startswith(TEST_SERVER))
        self.assertTrue(person.went_to_google())
        landed = client.get(callback[len(TEST_SERVER):])
        self.assertEqual(landed.status_code, 302)
        user = get_user(client)
        self.assertTrue(user.is_authenticated)
        identity = GatewayIdentity.objects.get(user=user)
        self.assertEqual(identity.email, 'ada@one.test')
        page = client.get('/')
        self.assertContains(page, 'Signed in as Ada Lovelace')
        self.assertContains(page, 'data-source="session"')
        # the tokens stay on the server: the browser holds only the session id
        self.assertNotIn(client.session[SESSION_TOKENS]['access_token'], str(client.cookies))

    def test_a_replayed_or_foreign_callback_is_refused(self):
        person = Person('mallory@one.test', 'Mallory')
        victim = Client()
        start = victim.get('/login/')
        callback = person.walk(start['Location'], stop=lambda url: url.startswith(TEST_SERVER))
        # another browser (no matching state in its session) cannot use the code
        attacker = Client()
        refused = attacker.get(callback[len(TEST_SERVER):])
        self.assertEqual(refused.status_code, 400)
        self.assertFalse(get_user(attacker).is_authenticated)

    def test_same_name_or_no_name_never_collide(self):
        people = [
            Person('ada@one.test', 'Ada'),
            Person('ada@two.test', 'Ada'),
            Person('nameless@three.test'),
            Person('nameless@four.test'),
        ]
        users = [get_user(sign_in(person)) for person in people]
        self.assertEqual(len({user.pk for user in users}), 4, 'four people, four users')
        self.assertEqual(len({user.get_username() for user in users}), 4)
        # the same person again is the same user, not a new one
        again = get_user(sign_in(Person('ada@one.test', 'Ada')))
        self.assertEqual(again.pk, users[0].pk)
        self.assertEqual(get_user_model().objects.filter(pk__in=[u.pk for u in users]).count(), 4)

    def test_session_refreshes_and_ends_with_the_gateway_session(self):
        person = Person('grace@one.test', 'Grace Hopper')
        client = sign_in(person)
        first = client.session[SESSION_TOKENS]
        # the access token expires: the next request refreshes it (the refresh token rotates)
        wait_until_expired(first['expires_at'])
        page = client.get('/')
        self.assertContains(page, 'Signed in as Grace Hopper')
        second = client.session[SESSION_TOKENS]
        self.assertNotEqual(second['access_token'], first['access_token'])
        self.assertNotEqual(second['refresh_token'], first['refresh_token'])
        # the person signs out at the gateway (from any app): every grant of the session ends
        end_session = person.http.get(f'{settings.OIDC_ISSUER}/.well-known/openid-configuration', timeout=10).json()['end_session_endpoint']
        person.sign_out_at_gateway(end_session)
        # at most one access-token lifetime later, this app's session has ended too
        wait_until_expired(second['expires_at'])
        page = client.get('/')
        self.assertContains(page, 'You are not signed in')
        self.assertContains(page, 'Your session at the gateway has ended')
        self.assertFalse(get_user(client).is_authenticated)

    def test_sign_out_ends_the_gateway_session(self):
        person = Person('linus@one.test', 'Linus')
        client = sign_in(person)
        id_token = client.session[SESSION_TOKENS]['id_token']
        out = client.post('/logout/')
        self.assertEqual(out.status_code, 302)
        self.assertFalse(get_user(client).is_authenticated)
        end_session = urlsplit(out['Location'])
        query = parse_qs(end_session.query)
        self.assertEqual(query['id_token_hint'], [id_token])
        self.assertEqual(query['post_logout_redirect_uri'], [f'{TEST_SERVER}/'])
        confirmed = person.sign_out_at_gateway(out['Location'])
        self.assertIn(confirmed.status_code, (302, 303))
        self.assertEqual(confirmed.headers['Location'], f'{TEST_SERVER}/')
        # signing in again needs the upstream again: the gateway has no session left
        person.visited.clear()
        sign_in(person)
        self.assertTrue(person.went_to_google())


"""The (iss, sub) → Django user mapping, without the gateway."""
from django.contrib.auth import get_user_model
from django.test import TestCase

from ..users import user_for_claims, username_for

ISS = 'https://login.example.com'


class UserMappingTests(TestCase):
    def test_keyed_on_iss_and_sub_only(self):
        one = user_for_claims({'iss': ISS, 'sub': 'a', 'preferred_username': 'ada', 'name': 'Ada'})
        two = user_for_claims({'iss': ISS, 'sub': 'b', 'preferred_username': 'ada', 'name': 'Ada'})
        none = user_for_claims({'iss': ISS, 'sub': 'c'})
        empty = user_for_claims({'iss': ISS, 'sub': 'd', 'preferred_username': '', 'name': ''})
        other_issuer = user_for_claims({'iss': 'https://other.example.com', 'sub': 'a'})
        self.assertEqual(len({u.pk for u in (one, two, none, empty, other_issuer)}), 5)
        self.assertEqual(user_for_claims({'iss': ISS, 'sub': 'a', 'name': 'Ada L.'}).pk, one.pk)
        self.assertEqual(one.get_username(), username_for(ISS, 'a'))
        self.assertFalse(one.has_usable_password())

    def test_a_taken_username_cannot_be_claimed_by_a_name(self):
        get_user_model().objects.create_user(username='ada')
        user = user_for_claims({'iss': ISS, 'sub': 'x', 'preferred_username': 'ada'})
        self.assertNotEqual(user.get_username(), 'ada')

    def test_refuses_claims_without_subject(self):
        with self.assertRaises(ValueError):
            user_for_claims({'iss': ISS, 'preferred_username': 'ada'})

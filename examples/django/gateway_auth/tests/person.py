"""
A person with a browser, for tests: a cookie jar (requests.Session), redirects followed one hop
at a time, and the fake Google's sign-in form filled in with an e-mail address and a name.
"""
import html
import os
import re
import time
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.test import Client

FORM = re.compile(r'<form\b[^>]*\baction="([^"]*)"[^>]*>(.*?)</form>', re.I | re.S)
HIDDEN = re.compile(r'<input\b[^>]*\btype="hidden"[^>]*>', re.I)
ATTRIBUTE = re.compile(r'\b(name|value)="([^"]*)"', re.I)
LOGOUT_FORM = re.compile(r'<form id="op\.logoutForm" method="post" action="([^"]*)"><input type="hidden" name="xsrf" value="([^"]*)"', re.I)
TEST_SERVER = 'http://testserver'
MAX_HOPS = 25


def hidden_fields(form_html):
    """The hidden inputs of a form (e.g. its CSRF token), as a browser would post them."""
    fields = {}
    for tag in HIDDEN.findall(form_html):
        attributes = {key.lower(): html.unescape(value) for key, value in ATTRIBUTE.findall(tag)}
        if 'name' in attributes:
            fields[attributes['name']] = attributes.get('value', '')
    return fields


def require_gateway():
    """Fails loudly (never skips) when the test was started without a gateway."""
    missing = [name for name in ('OIDC_ISSUER', 'OIDC_CLIENT_SECRET', 'FAKE_GOOGLE_ISSUER') if not os.environ.get(name)]
    if missing:
        raise RuntimeError(
            f'{", ".join(missing)} not set: these tests run against a gateway; '
            'start them with the Node test tests/django-example.test.ts (npm test)'
        )


class Person:
    def __init__(self, email, name=None):
        self.email = email
        self.name = name
        self.http = requests.Session()
        self.visited = []

    def walk(self, url, stop):
        """
        Follows redirects from `url` until one goes where `stop(url)` is true, and returns that URL
        (not fetched). On a page with a form (the fake Google's sign-in), posts the identity.
        """
        method, data = 'GET', None
        for _ in range(MAX_HOPS):
            self.visited.append(url)
            response = self.http.request(method, url, data=data, allow_redirects=False, timeout=10)
            method, data = 'GET', None
            if response.is_redirect:
                url = urljoin(url, response.headers['Location'])
                if stop(url):
                    return url
                continue
            match = FORM.search(response.text) if response.status_code == 200 else None
            if match is None:
                raise AssertionError(f'the sign-in stopped at {urlsplit(url).path}: HTTP {response.status_code}')
            url = urljoin(url, html.unescape(match.group(1)))
            method, data = 'POST', {**hidden_fields(match.group(2)), 'email': self.email, **({'name': self.name} if self.name else {})}
        raise AssertionError(f'no way back within {MAX_HOPS} hops')

    def went_to_google(self):
        return any(url.startswith(os.environ['FAKE_GOOGLE_ISSUER']) for url in self.visited)

    def sign_out_at_gateway(self, end_session_url):
        """RP-initiated logout: the gateway's confirmation page, answered "Yes, sign me out"."""
        page = self.http.get(end_session_url, allow_redirects=False, timeout=10)
        match = LOGOUT_FORM.search(page.text)
        if match is None:
            raise AssertionError(f'no logout confirmation at the gateway: HTTP {page.status_code}')
        action, xsrf = html.unescape(match.group(1)), html.unescape(match.group(2))
        return self.http.post(urljoin(end_session_url, action), data={'xsrf': xsrf, 'logout': 'yes'}, allow_redirects=False, timeout=10)

    def forward_auth_token(self):
        """
        Signs in through the gateway's forward auth (as nginx would send a browser) on the
        gateway's own host, then asks /oauth2/auth as nginx does: the gateway's answer carries
        X-Auth-Request-Access-Token, a JWT with `aud` = that origin.
        """
        issuer = settings.OIDC_ISSUER
        back = self.walk(f'{issuer}/oauth2/start?rd=/', stop=lambda url: url == f'{issuer}/')
        assert back == f'{issuer}/'
        answer = self.http.get(f'{issuer}/oauth2/auth', timeout=10)
        assert answer.status_code == 202, answer.status_code
        return answer.headers['X-Auth-Request-Access-Token']


def sign_in(person, client=None, next_url='/'):
    """Signs `person` in to this Django app (Authlib, code + PKCE); returns the Django test client."""
    client = client or Client()
    start = client.get('/login/', {'next': next_url})
    assert start.status_code == 302, start.status_code
    callback = person.walk(start['Location'], stop=lambda url: url.startswith(TEST_SERVER))
    landed = client.get(callback[len(TEST_SERVER):])
    assert landed.status_code == 302, f'callback answered {landed.status_code}'
    assert landed['Location'] == next_url
    return client


def wait_until_expired(expires_at):
    """Sleeps until a token with this `exp` has expired (the gateway and the app share a clock)."""
    delay = expires_at - time.time() + 1.1
    if delay > 0:
        time.sleep(delay)

"""
The gateway's identity → a Django user.

The classic failure of social sign-up (django-allauth: `UNIQUE constraint failed:
auth_user.username`) comes from deriving the username from a name or an e-mail address: two
people called "Ada", or two without any name, want the same username. Here the link is keyed on
(iss, sub) and the username is derived from that key alone, so it can never collide; names and
addresses are only copied for display.
"""
import hashlib

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from .models import GatewayIdentity

USERNAME_PREFIX = 'gw-'


def username_for(issuer, subject):
    """A username that is a function of (iss, sub) only: unique as they are, at most 27 characters."""
    digest = hashlib.sha256(f'{issuer}\n{subject}'.encode()).hexdigest()
    return f'{USERNAME_PREFIX}{digest[:24]}'


def _text(claims, name, limit):
    value = claims.get(name)
    return value[:limit] if isinstance(value, str) else ''


def is_machine(claims):
    """
    True for a machine's access token (the client credentials grant): its `sub` is the client's
    id, and `gty` says so. No Django user stands for it: views treat it as a caller of its own.
    """
    return claims.get('gty') == 'client_credentials'


def user_for_claims(claims):
    """
    The Django user for verified claims (an ID token's, or an access token's: both carry `iss`
    and `sub`), created on first sign-in. Safe under parallel first requests: the unique
    constraint decides, and the loser reads the winner's row.
    """
    issuer, subject = claims.get('iss'), claims.get('sub')
    if not isinstance(issuer, str) or not issuer or not isinstance(subject, str) or not subject:
        raise ValueError('claims without iss and sub cannot identify a user')
    if is_machine(claims):
        raise ValueError("a machine's token (client credentials) names a client, not a user")
    identity = GatewayIdentity.objects.select_related('user').filter(issuer=issuer, subject=subject).first()
    if identity is None:
        try:
            with transaction.atomic():
                user = get_user_model().objects.create_user(username=username_for(issuer, subject))  # no usable password
                identity = GatewayIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        except IntegrityError:
            identity = GatewayIdentity.objects.select_related('user').get(issuer=issuer, subject=subject)
    _refresh_profile(identity, claims)
    return identity.user


def _refresh_profile(identity, claims):
    """Copies the display claims when they changed (one write per change, not per request)."""
    profile = {
        'preferred_username': _text(claims, 'preferred_username', 255),
        'name': _text(claims, 'name', 255),
        'email': _text(claims, 'email', 254),
    }
    changed = [field for field, value in profile.items() if value and getattr(identity, field) != value]
    if changed:
        for field in changed:
            setattr(identity, field, profile[field])
        identity.save(update_fields=[*changed, 'last_seen'])
    user = identity.user
    user_fields = {
        'email': profile['email'],
        'first_name': _text(claims, 'given_name', 150) or profile['name'][:150],
        'last_name': _text(claims, 'family_name', 150),
    }
    user_changed = [field for field, value in user_fields.items() if value and getattr(user, field) != value]
    if user_changed:
        for field in user_changed:
            setattr(user, field, user_fields[field])
        user.save(update_fields=user_changed)

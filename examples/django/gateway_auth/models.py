from django.conf import settings
from django.db import models


class GatewayIdentity(models.Model):
    """
    Who a Django user is at the gateway: one row per (issuer, subject), the only stable key
    (OpenID Connect Core §5.7: "the sub and iss Claims, used together, are the only Claims that
    an RP can rely upon as a stable identifier for the End-User"). Never a name or an e-mail
    address: names repeat or are missing, and addresses change hands.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name='gateway_identity')
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    # The latest claims seen, for display only.
    preferred_username = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=['issuer', 'subject'], name='gateway_identity_unique_iss_sub')]

    def display_name(self):
        return self.name or self.preferred_username or self.email or self.subject

    def __str__(self):
        return f'{self.display_name()} ({self.issuer} {self.subject})'

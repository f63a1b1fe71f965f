"""
Sign-in through the gateway for Django: users keyed on the gateway's (iss, sub), server-side
sign-in with Authlib (code + PKCE), a Bearer API verified offline with PyJWT, and a forward-auth
mode that trusts only the gateway's signed X-Auth-Request-Access-Token.
"""

"""Logging in and checking tokens: the two things every request path of the server
needs from accounts, without FastAPI (the dependencies in ``server/deps.py`` call them).

A login takes a user name and password, or an API key as the password (the user name
is then ignored, so ``curl -d password=hrk_...`` works); each attempt is counted by the
limiter before the slow password check runs (and taken back if it succeeds), so a
locked user costs the server nothing and parallel guesses cannot outrun the count; the
counts are in the store, shared by every server on its database.
"""

from __future__ import annotations

from headrace.exceptions import AuthenticationError
from headrace.models import Principal
from headrace.server.auth.limiter import LoginLimiter
from headrace.server.auth.tokens import IssuedToken, TokenIssuer
from headrace.store.base import CredentialStore
from headrace.store.credentials import looks_like_api_key


class Authenticator:
    """Turns credentials into tokens and tokens into principals, for one store.

    Args:
        store: the store holding the accounts.
        issuer: signs and checks tokens.
        limiter: counts logins (default: limits from the environment, counts in
            ``store``).
    """

    def __init__(
        self, store: CredentialStore, issuer: TokenIssuer, limiter: LoginLimiter | None = None
    ) -> None:
        self.store = store
        self.issuer = issuer
        self.limiter = limiter or LoginLimiter.from_environment(store)

    def login(self, username: str | None, password: str, address: str | None) -> IssuedToken:
        """A token for a user's password, or for an API key given as the password.

        Raises:
            TooManyAttemptsError: too many recent failures for this user or address.
            AuthenticationError: the credentials are wrong, or the account may not act.
        """
        by_key = looks_like_api_key(password)
        user = None if by_key else (username or "").strip()
        # Counted before the check (and taken back on success): parallel guesses
        # cannot all pass the limit while their hashes are computed.
        self.limiter.attempt(user, address)
        if by_key:
            principal = self.store.authenticate_api_key(password)
        elif not user:
            raise AuthenticationError("Give a user name and password, or an API key.")
        else:
            principal = self.store.authenticate_user(user, password)
        self.limiter.succeeded(user, address)
        return self.issuer.issue(principal)

    def api_key_principal(self, key: str, address: str | None) -> Principal:
        """The principal of an API key sent with a request (``X-API-Key``); wrong keys
        count against the address like failed logins.

        Raises:
            TooManyAttemptsError: too many recent failures from this address.
            AuthenticationError: the key is not (or no longer) valid.
        """
        self.limiter.check(None, address)
        try:
            return self.store.authenticate_api_key(key)
        except AuthenticationError:
            self.limiter.failed(None, address)
            raise

    def principal(self, token: str) -> Principal:
        """The principal a bearer token stands for, as the store has it now.

        Raises:
            AuthenticationError: the token is invalid or expired, or its account (or API
                key) may no longer act.
        """
        claims = self.issuer.verify(token)
        return self.store.get_principal(claims.kind, claims.account_id, claims.api_key_id)

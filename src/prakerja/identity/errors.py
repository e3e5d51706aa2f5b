"""Errors of the identity context. `CountedRefusal`s carry bookkeeping that must be committed."""

from __future__ import annotations

from prakerja.kit.errors import Conflict, DomainError, Forbidden, Invalid, RateLimited


class CountedRefusal(DomainError):
    """A refusal whose attempt counters (and nothing else) were flushed: commit, then answer.

    Callers catching it must commit instead of rolling back, else brute force goes uncounted.
    """


class InvalidEmail(Invalid):
    code = "invalid_email"
    title = "Enter a valid email address."


class WeakPassword(Invalid):
    code = "weak_password"
    title = "Choose a password of at least 10 characters that is not easy to guess."


class EmailTaken(Conflict):
    code = "email_taken"
    title = "An account with this email address already exists. Log in or reset your password."


class InvalidLink(Invalid):
    code = "invalid_link"
    title = "This link is invalid or has expired. Request a new one."


class InvalidCredentials(CountedRefusal):
    code = "invalid_credentials"
    title = "The email address or password is wrong."
    kind = "auth"


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"
    title = "Too many failed attempts. Please wait 15 minutes and try again."


class LoginLocked(CountedRefusal):
    code = "login_locked"
    title = "Login is locked for 2 hours: too many codes were requested or entered wrongly."
    kind = "rate"


class WrongCode(CountedRefusal):
    code = "wrong_code"
    title = "The code is wrong. Check the latest message and try again."
    kind = "invalid"


class CodeExpired(CountedRefusal):
    code = "code_expired"
    title = "This code has expired or was tried too many times. Start again to get a new one."
    kind = "auth"


class PhoneInvalid(Invalid):
    code = "phone_invalid"
    title = "Enter an Indonesian mobile number, for example 0812 3456 7890."


class PhoneTaken(Conflict):
    code = "phone_taken"
    title = "This phone number is already used by another account."


class PhoneLocked(CountedRefusal):
    code = "phone_locked"
    title = "Too many wrong codes or requests. Phone confirmation is locked for an hour."
    kind = "rate"


class NoCodePending(Invalid):
    code = "no_code_pending"
    title = "No code is waiting for confirmation. Request a new code."


class NotVerified(Forbidden):
    code = "email_not_verified"
    title = "Confirm your email address first, using the link we sent you."


class InvalidRoles(Invalid):
    code = "invalid_roles"
    title = "Unknown staff role."


__all__ = [
    "CodeExpired",
    "CountedRefusal",
    "EmailTaken",
    "InvalidCredentials",
    "InvalidEmail",
    "InvalidLink",
    "InvalidRoles",
    "LoginLocked",
    "NoCodePending",
    "NotVerified",
    "PhoneInvalid",
    "PhoneLocked",
    "PhoneTaken",
    "TooManyAttempts",
    "WeakPassword",
    "WrongCode",
]

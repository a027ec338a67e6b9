"""What a user's email, name and identity-provider subject may look like: plain functions, no database."""

import pytest

from domain.accounts import user_errors


def fields(errors):
    return [error.field for error in errors]


def test_a_plain_user_passes():
    assert user_errors("ana@acme.test", "Ana", "auth0|123") == []
    assert user_errors("ana@acme.test", None, None) == []


@pytest.mark.parametrize(
    ("email", "name", "subject", "field", "words"),
    [
        ("ana@acme.test", "n" * 201, None, ("name",), "201 characters long; at most 200"),
        ("ana@acme.test", "   ", None, ("name",), "cannot be empty"),
        ("ana@acme.test", None, "", ("subject",), "cannot be empty"),
        ("ana@acme.test", None, "  ", ("subject",), "cannot be empty"),
        ("ana@acme.test", None, "s" * 256, ("subject",), "at most 255"),
        ("ana@acme.test", None, "a\x00b", ("subject",), "control characters"),
        ("a" * 250 + "@acme.test", None, None, ("email",), "at most 254"),
        ("ana\x00@acme.test", None, None, ("email",), "not an email address"),
    ],
)
def test_bad_values_are_refused_with_the_field_and_a_reason(email, name, subject, field, words):
    errors = user_errors(email, name, subject)
    assert fields(errors) == [field] and words in errors[0].message

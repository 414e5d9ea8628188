from llmtrace.redaction import Redactor


def test_builtin_patterns():
    r = Redactor()
    text = (
        "mail bob@example.com key sk-proj-abcdefghijklmnop1234 card 4111 1111 1111 1111 "
        "ssn 123-45-6789 phone +1 415-555-0132 order 1234567890123"
    )
    out = r(text)
    for secret in (
        "bob@example.com",
        "sk-proj-abcdefghijklmnop1234",
        "4111 1111 1111 1111",
        "123-45-6789",
        "415-555-0132",
    ):
        assert secret not in out
    for kind in ("email", "api_key", "card", "ssn", "phone"):
        assert f"[REDACTED:{kind}]" in out
    assert "1234567890123" in out  # not Luhn-valid: an order number, not a card


def test_user_hook_and_cap():
    r = Redactor(hook=lambda s: s.replace("ACME", "[tenant]"), max_length=10)
    assert r("ACME corp ordered") == "[tenant] …"
    assert len(r("x" * 100)) == 10

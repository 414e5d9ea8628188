import hashlib
import hmac

from llmtrace.hashing import Hasher, canonical_json, text_length


def test_canonical_json_ignores_key_order_and_whitespace():
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == '{"a":[1,{"c":3,"d":2}],"b":1}'


def test_plain_sha256_matches_hashlib():
    text = canonical_json([{"role": "user", "content": "yes"}])
    assert (
        Hasher().hash_obj([{"content": "yes", "role": "user"}]) == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    )


def test_keyed_hash_is_hmac_with_key_id():
    key = b"0123456789abcdef-secret"
    digest = Hasher(key).hash_text("yes")
    key_id = hashlib.sha256(key).hexdigest()[:8]
    assert digest == f"hmac-sha256:{key_id}:" + hmac.new(key, b"yes", hashlib.sha256).hexdigest()
    assert digest != Hasher(b"another-key-0123456789").hash_text("yes")
    assert key.decode() not in digest


def test_short_prompt_cannot_be_confirmed_without_the_key():
    """An attacker hashing guesses ("yes", "no") with plain sha256 never matches a keyed hash."""
    keyed = Hasher(b"0123456789abcdef-secret").hash_text("yes")
    guesses = {Hasher().hash_text(g).split(":")[-1] for g in ("yes", "no", "ok")}
    assert keyed.split(":")[-1] not in guesses


def test_tools_hash_is_order_independent():
    a, b = {"name": "a", "x": 1}, {"name": "b"}
    assert Hasher().hash_tools([a, b]) == Hasher().hash_tools([b, a])
    assert Hasher().hash_tools([a]) != Hasher().hash_tools([a, b])


def test_text_length_counts_content_only():
    messages = [{"role": "user", "content": "hello"}, {"role": "user", "content": [{"type": "text", "text": "abc"}]}]
    assert text_length(messages) == 8

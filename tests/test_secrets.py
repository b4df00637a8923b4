from __future__ import annotations

import pytest

from codelewm_eval.secrets import scan_text

# Built at run time so that no scanner (ours or a forge's) sees a literal token in this file.
HF = "hf_" + "Q7mZ" * 9
CASES = {
    "Hugging Face Token": f'token = "{HF}"',
    "AWS Access Key": "aws_key = 'AKIA" + "IOSFODNN7EXAMPLE'",
    "GitHub Token": "gh = 'ghp_" + "a1b2c3d4e5" * 4 + "'",
    "Private Key": "-----BEGIN RSA " + "PRIVATE KEY-----",
    "Basic Auth Credentials": "url = 'https://user:" + "hunter2pass@example.com/x'",
    "Slack Token": "slack = 'xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx'",
    "Stripe Access Key": "stripe = 'sk_" + "live_" + "Ab" * 12 + "'",
    "SendGrid API Key": "sg = 'SG." + "a" * 22 + "." + "b" * 43 + "'",
    "JSON Web Token": "jwt = '" + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'",
    "Telegram Bot Token": "tg = '123456789:" + "AAH" + "x" * 32 + "'",
    "Artifactory Credentials": 'art = "AKC' + "p8kL" * 18 + '"',
    "NPM tokens": "//registry.npmjs.org/:_authToken=" + "npm_" + "a1" * 18,
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_is_found_with_its_line(kind):
    text = "def f():\n    return 1\n" + CASES[kind] + "\n"
    findings = scan_text(text, where="x.py")
    assert [(f.kind, f.line) for f in findings if f.kind == kind] == [(kind, 3)]


def test_organization_tokens_and_payload_mode():
    assert scan_text("api_org_" + "Zq8" * 11)[0].kind == "Hugging Face Token"
    assert {f.kind for f in scan_text(f"HF_TOKEN={HF}", entropy=True)} >= {"Hugging Face Token"}


def test_ordinary_code_is_clean():
    code = "import math\ndef longest_common_prefix_2(strs):\n    return sorted(strs)[0][:3]  # ok\nx = 'abc'\n"
    assert scan_text(code) == []


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_prefilter_passes_every_kind_at_any_position(kind):
    """Rows are prefiltered before the engine runs: a key must get through in any context."""
    from codelewm_eval.secrets.scanner import is_suspect

    for text in (CASES[kind], "x = 1\n" + CASES[kind] + "  # end", "(" + CASES[kind] + ")"):
        assert is_suspect(text.encode()), text


def test_the_prefilter_skips_plain_code():
    from codelewm_eval.secrets.scanner import is_suspect

    code = ("def separate_paren_groups(paren_string: str) -> list:\n    result = []\n"
            "    for character in paren_string:\n        result.append(character)\n    return result\n")
    assert not is_suspect(code.encode())

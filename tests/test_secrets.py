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

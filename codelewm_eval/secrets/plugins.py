"""Detectors detect-secrets does not ship (loaded into its engine as a custom plugin file)."""

import re

from detect_secrets.plugins.base import RegexBasedDetector


class HuggingFaceTokenDetector(RegexBasedDetector):
    """Hugging Face user access tokens (hf_...) and organization API tokens (api_org_...)."""

    secret_type = "Hugging Face Token"
    denylist = (
        re.compile(r"\b(hf_[A-Za-z0-9]{30,})\b"),
        re.compile(r"\b(api_org_[A-Za-z0-9]{30,})\b"),
    )

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


class AnthropicKeyDetector(RegexBasedDetector):
    secret_type = "Anthropic API Key"
    denylist = (re.compile(r"\b(sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,})"),)


class OpenRouterKeyDetector(RegexBasedDetector):
    secret_type = "OpenRouter API Key"
    denylist = (re.compile(r"\b(sk-or-v1-[a-f0-9]{64})\b"),)


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    secret_type = "GitHub Fine-Grained Token"
    denylist = (re.compile(r"\b(github_pat_[A-Za-z0-9_]{80,})\b"),)


class WandbKeyDetector(RegexBasedDetector):
    """W&B API keys are 40 hex characters, like a git SHA: only named ones count."""

    secret_type = "Weights & Biases API Key"
    denylist = (re.compile(r"(?i)(?:wandb_api_key|wandb\.login\(\s*key\s*=|wandb[_-]?key)\W{0,5}([a-f0-9]{40})\b"),)


class AwsSecretAccessKeyDetector(RegexBasedDetector):
    """The secret half of an AWS key pair, when it is named as such."""

    secret_type = "AWS Secret Access Key"
    denylist = (re.compile(r"(?i)aws_?secret_?access_?key\W{0,5}([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),)


class OpenAIProjectKeyDetector(RegexBasedDetector):
    """OpenAI's project, service-account and admin keys (sk-proj-..., sk-svcacct-..., sk-admin-...),
    which carry - and _ that the engine's OpenAI detector does not expect."""

    secret_type = "OpenAI Project Key"
    denylist = (re.compile(r"\b(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,})"),)


class GoogleApiKeyDetector(RegexBasedDetector):
    secret_type = "Google API Key"
    denylist = (re.compile(r"\b(AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])"),)


class AssignedSecretDetector(RegexBasedDetector):
    """A literal assigned to a secret-named key in code, YAML, TOML or .env:
    `password = "..."`, `api_key: '...'`, `SECRET_TOKEN=...` (placeholders are dropped by the scanner)."""

    secret_type = "Secret Assignment"
    denylist = (
        re.compile(r"(?i)(?:^|[^\w])(?:\w*_)?(?:password|passwd|pwd|secret|token|api_?key|access_?key|private_?key)"
                   r"\s*[:=]\s*[\"']([^\"'\s]{6,})[\"']"),
        # .env style: an upper-case name, a bare value (no call, no expression)
        re.compile(r"^\s*(?:export\s+)?[A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY)[A-Z0-9_]*"
                   r"\s*=\s*([^\s\"'#(){}\[\],]{6,})\s*$"),
    )


class AzureClientSecretDetector(RegexBasedDetector):
    """Microsoft Entra ID (Azure AD) application client secrets: 3 characters, a digit, `Q~`, then
    31-34 more (the engine ships only Azure storage account keys)."""

    secret_type = "Azure Client Secret"
    denylist = (re.compile(r"(?:^|[^\w~.-])([A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?![\w~.-])"),)

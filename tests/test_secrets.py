from __future__ import annotations

import pytest

from codelewm_eval.secrets import scan_text

import random
import string

# Built at run time so that no scanner (ours or a forge's) sees a literal token in this file: seeded
# random characters, as varied as issued keys (a run of one repeated pattern reads as a placeholder).
_RNG = random.Random(20261201)


def _random(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


HF = "hf_" + _random(34)
CASES = {
    "Hugging Face Token": f'token = "{HF}"',
    "AWS Access Key": "aws_key = 'AKIA" + _random(16, string.ascii_uppercase + string.digits) + "'",
    "GitHub Token": "gh = 'ghp_" + "a1b2c3d4e5" * 4 + "'",
    "Private Key": "-----BEGIN RSA " + "PRIVATE KEY-----",
    "Basic Auth Credentials": "url = 'https://user:" + "hunter2pass@example.com/x'",
    "Slack Token": "slack = 'xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx'",
    "Stripe Access Key": "stripe = 'sk_" + "live_" + "Ab" * 12 + "'",
    "SendGrid API Key": "sg = 'SG." + "a" * 22 + "." + "b" * 43 + "'",
    "JSON Web Token": "jwt = '" + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'",
    "Telegram Bot Token": "tg = '123456789:" + "AAH" + _random(32) + "'",
    "Artifactory Credentials": 'art = "AKC' + "p8kL" * 18 + '"',
    "NPM tokens": "//registry.npmjs.org/:_authToken=" + "npm_" + _random(36),
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


# Built at run time, like the cases above.
NEW_KINDS = {
    "Anthropic API Key": "key = 'sk-ant-" + "api03-" + "Ab1_" * 24 + "'",
    "OpenRouter API Key": "OPENROUTER = 'sk-or-" + "v1-" + "0a1b2c3d" * 8 + "'",
    "GitHub Fine-Grained Token": "token: github_" + "pat_" + "11ABCDEFG0" * 9,
    "Weights & Biases API Key": "WANDB_API_KEY=" + "3f9a1c" * 6 + "0b2d",
    "AWS Secret Access Key": "aws_secret_access_key = " + _random(40, string.ascii_letters + string.digits + "/+"),
}
NOT_SECRETS = [
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "revision: 0ef96be4415ac2e03472a5ddc1e9bdd8a8b35fd1",
    "id = '123e4567-e89b-12d3-a456-426614174000'",
    "assert hashlib.md5(s).hexdigest() == '3e25960a79dbc69b674cd4ec67a72c62'",
]


@pytest.mark.parametrize("kind", sorted(NEW_KINDS))
def test_the_kinds_detect_secrets_lacks(kind):
    assert kind in {f.kind for f in scan_text(NEW_KINDS[kind])}


@pytest.mark.parametrize("entropy", [False, True])
def test_digests_shas_uuids_and_md5s_are_not_secrets(entropy):
    for text in NOT_SECRETS:
        assert scan_text(text, entropy=entropy) == [], text


def test_secrets_scan_files_notebooks_yaml_with_allowlist(tmp_path, capsys):
    import json as _json

    from codelewm_eval.cli import main

    (tmp_path / "train.py").write_text("import os\n\n" + CASES["Hugging Face Token"] + "\n")
    (tmp_path / "job.yaml").write_text("env:\n  " + NEW_KINDS["Weights & Biases API Key"].replace("=", ": ") + "\n")
    notebook = {"cells": [{"cell_type": "code", "source": ["x = 1\n"], "outputs": []},
                          {"cell_type": "code", "source": ["print(token)\n"],
                           "outputs": [{"output_type": "stream", "text": [NEW_KINDS["OpenRouter API Key"] + "\n"]}]}]}
    (tmp_path / "explore.ipynb").write_text(_json.dumps(notebook))
    (tmp_path / "clean.py").write_text("\n".join(NOT_SECRETS) + "\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(CASES["GitHub Token"])  # never read
    assert main(["secrets", "scan", str(tmp_path), "--json"]) == 1
    report = _json.loads(capsys.readouterr().out)
    where = {(f["where"].replace(str(tmp_path) + "/", ""), f["line"], f["kind"]) for f in report["findings"]}
    assert where == {("train.py", 3, "Hugging Face Token"), ("job.yaml", 2, "Weights & Biases API Key"),
                     ("explore.ipynb cell 1 output 1", 1, "OpenRouter API Key")}
    assert report["files"] == 4
    printed = _json.dumps(report)
    assert HF not in printed and "0a1b2c3d" * 8 not in printed  # redacted: kind, place, hash prefix only
    allow = tmp_path.parent / "allow.txt"
    allow.write_text("".join(f"{f['digest']}  # accepted in review\n" for f in report["findings"]))
    assert main(["secrets", "scan", str(tmp_path), "--allowlist", str(allow)]) == 0
    assert "3 allowlisted" in capsys.readouterr().out


def test_todays_keys_and_assignments_in_files_and_no_alarm_on_placeholders(tmp_path, capsys):
    from codelewm_eval.cli import main

    project = "sk-proj-" + _random(60, string.ascii_letters + string.digits + "-_") + "-" + _random(40)
    google = "AIza" + _random(35, string.ascii_letters + string.digits + "_-")
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={project}\nDB_PASSWORD={_random(14)}\n")
    (tmp_path / "settings.py").write_text(f'password = "{_random(12)}"\nGOOGLE_KEY = "{google}"\n')
    (tmp_path / "config.toml").write_text(f"[db]\napi_key = '{_random(18)}'\n")
    (tmp_path / "README.md").write_text(
        "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
        'token = "<your token>"\npassword = "REPLACE_ME"\napi_key = "${API_KEY}"\n'
        "OPENAI_API_KEY=sk-proj-...\naws_key = 'AKIAIOSFODNN7EXAMPLE'\n"
        "tokenizer = AutoTokenizer.from_pretrained(path)\npad_token_id=tokenizer.pad_token_id\n")
    assert main(["secrets", "scan", str(tmp_path), "--json"]) == 1
    import json as _json

    found = {(f["where"].rsplit("/", 1)[-1], f["line"], f["kind"])
             for f in _json.loads(capsys.readouterr().out)["findings"]}
    assert found == {(".env", 1, "OpenAI Project Key"), (".env", 2, "Secret Assignment"),
                     ("settings.py", 1, "Secret Assignment"), ("settings.py", 2, "Google API Key"),
                     ("config.toml", 2, "Secret Assignment")}  # and nothing in README.md


def test_big_files_are_scanned_whole_with_their_lines(tmp_path, capsys):
    from codelewm_eval.cli import main
    from codelewm_eval.secrets.files import CHUNK_BYTES

    path = tmp_path / "rows.jsonl"
    filler = '{"program": "def f(x):\\n    return x + 1\\n", "passed": true}\n'
    count = (21 << 20) // len(filler) + 1  # 21 MiB: bigger than one piece, as the rows.jsonl
    with open(path, "w") as fh:
        fh.write(f'{{"origin": "{HF}"}}\n')
        for _ in range(count):
            fh.write(filler)
        fh.write(f'{{"origin": "{HF}"}}\n')
    assert path.stat().st_size > 2 * CHUNK_BYTES
    assert main(["secrets", "scan", str(path)]) == 1
    out = capsys.readouterr().out
    assert "rows.jsonl:1: Hugging Face Token" in out and f"rows.jsonl:{count + 2}: Hugging Face Token" in out


def _b64(n: int) -> str:
    return _random(n, string.ascii_letters + string.digits + "/+")


# Every kind the guarded launch must stop (generated here, never committed), each in the kind of
# file a person keeps it in.
EVERY_KIND = {
    "OpenAI Project Key": ("openai.env", "OPENAI_API_KEY=sk-proj-" + _random(56, string.ascii_letters + "-_0123456789")),
    "OpenAI service account": ("svc.env", "OPENAI_API_KEY=sk-svcacct-" + _random(60)),
    "Anthropic API Key": ("claude.py", "client = Anthropic(api_" + "key='sk-ant-api03-" + _random(93) + "AA')"),
    "Google API Key": ("maps.yaml", "key: AIza" + _random(35, string.ascii_letters + string.digits + "_-")),
    "Azure Storage Account access key": (
        "azure.toml", 'conn = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=' + _b64(86) + '=="'),
    "Azure Client Secret": ("entra.env", "AZURE_CLIENT_SECRET=" + _random(3) + "8Q~" + _random(34)),
    "Hugging Face user": ("hf.py", "login('hf_" + _random(34) + "')"),
    "Hugging Face org": ("org.yaml", "api: api_org_" + _random(34)),
    "GitHub classic": ("gh.sh", "git clone https://github.com/x/y  # ghp_" + _random(36)),
    "GitHub fine-grained": ("ghf.env", "GH=github_pat_" + _random(22) + "_" + _random(59)),
    "GitHub app": ("app.json", '{"t": "ghs_' + _random(36) + '"}'),
    "GitLab": ("gl.yaml", "token: glpat-" + _random(20)),
    "Slack": ("slack.py", "SLACK = 'xoxb-" + "1234567890-1234567890123-" + _random(24) + "'"),
    "Slack webhook": ("hook.txt", "https://hooks.slack.com/services/T" + _random(8) + "/B" + _random(8) + "/" + _random(24)),
    "Stripe": ("pay.js", "const k = 'sk_" + "live_" + _random(24) + "';"),
    "npm": (".npmrc", "//registry.npmjs.org/:_auth" + "Token=npm_" + _random(36)),
    "PyPI": (".pypirc", "password = pypi-AgEIcHlwaS5vcmc" + _random(70)),
    "AWS": ("aws.ini", "aws_access_key_id = AKIA" + _random(16, string.ascii_uppercase + string.digits)),
    "AWS secret": ("aws2.ini", "aws_secret_access_key = " + _b64(40)),
    "Private Key": ("id_rsa", "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n" + _b64(64)),
    "URL with password": ("db.py", "DB = 'postgres://admin:" + _random(12) + "@db.internal:5432/x'"),
    "password assignment": ("settings.py", 'password = "' + _random(14) + '"'),
    "secret in YAML": ("conf.yaml", "client_secret: '" + _random(20) + "'"),
    "token in TOML": ("conf.toml", 'auth_token = "' + _random(24) + '"'),
    "api_key in a notebook": ("nb.ipynb", None),
}


def test_every_kind_of_credential_is_found_in_the_file_it_lives_in(tmp_path, capsys):
    import json as _json

    from codelewm_eval.cli import main

    for label, (name, text) in EVERY_KIND.items():
        folder = tmp_path / label.replace(" ", "_")
        folder.mkdir()
        if text is None:  # a notebook cell that sets a key
            text = _json.dumps({"cells": [{"cell_type": "code", "source": ["import openai\n",
                                                                           f"api_key = '{_random(32)}'\n"]}]})
        (folder / name).write_text(text + "\n")
    assert main(["secrets", "scan", str(tmp_path), "--json"]) == 1
    found = {f["where"].split("/")[-2] for f in _json.loads(capsys.readouterr().out)["findings"]}
    assert found == {label.replace(" ", "_") for label in EVERY_KIND}


def test_no_alarm_on_shared_data_placeholders_hashes_and_this_repository(capsys):
    import json as _json

    from codelewm_eval.cli import main

    from .conftest import DATA_DIR as DATA, ROOT

    targets = [str(ROOT)] + ([str(DATA)] if DATA.is_dir() else [])
    assert main(["secrets", "scan", *targets, "--allowlist", str(ROOT / ".secrets-allowlist"), "--json"]) == 0
    report = _json.loads(capsys.readouterr().out)
    assert report["findings"] == [] and report["files"] > 100


def test_placeholders_and_identifiers_raise_nothing():
    from codelewm_eval.secrets import scan_many

    text = "\n".join([
        "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "OPENAI_API_KEY=<your token>", "api_key: ...",
        "password = 'REPLACE_ME'", "secret = '********'", "token = 'aaaaaaaaaaaaaaaa'",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "path = '/tmp/tmp.pDnObYIF4J/run/seed-42/checkpoint'",
        "row_id: humaneval/HumanEval/0/0f1e2d3c4b5a69788796", "program_ast: ast:" + "9f86d081884c7d65" * 4,
        "uuid: 123e4567-e89b-12d3-a456-426614174000", "commit: 0ef96be4415ac2e03472a5ddc1e9bdd8a8b35fd1",
        "md5: 3e25960a79dbc69b674cd4ec67a72c62"])
    assert scan_many([("doc.md", text)], assignments=True) == []


def _prefilter_corpus() -> list[bytes]:
    """Every kind in several contexts, near misses of each rule, and real benchmark programs."""
    from codelewm_eval.benchmarks import load_benchmark

    rng = random.Random(7)
    tokens = list(CASES.values()) + list(NEW_KINDS.values()) + NOT_SECRETS
    near = ["sq0" + "a" * 30, "xox" + "b" * 30, "abc-sq0" + "a" * 20, "M" + "a" * 18 + ".x", "N" + "b" * 19 + ".x",
            "xN" + "b" * 22 + ".y", "1234567:" + "A" * 25, "12345678:" + "A" * 19, "12345678:" + "A" * 20,
            "password = 'x'", "PassWord\t:= 1", "token\n= 2", "my_api_key\"  : 3", "AWS", "WandB", "sg.xx",
            "SG." + "a" * 22 + ".", "7Q~", "http://u:p@h", "ftp://u:@h", "APE" + "A" * 20, "hf_" + "a" * 10,
            "ASIA" + "x" * 15, "ASIA" + "x" * 16, "-us1" + "a" * 16, "eyJ" + "z" * 17, "eyJ" + "z" * 16]
    programs = [p.prompt + (p.canonical_solution or "") for p in load_benchmark("humaneval").problems.values()]
    corpus = []
    for text in tokens + near:
        for left, right in (("", ""), ("x = 1\n", "  # end\n"), ("(", ")"), ("ab_", "-cd"), ('{"k": "', '"}')):
            corpus.append((left + text + right).encode())
    for _ in range(200):  # programs with a token or a near miss spliced in at a random place
        program = rng.choice(programs)
        cut = rng.randrange(len(program))
        corpus.append((program[:cut] + rng.choice(tokens + near) + program[cut:]).encode())
    corpus.append("\n".join(programs).encode())
    return corpus


@pytest.mark.parametrize("assignments", [False, True])
def test_the_hyperscan_prefilter_passes_the_same_lines_as_the_standard_library_one(assignments):
    pytest.importorskip("hyperscan", reason="Hyperscan is installed on x86-64 Linux only")
    from codelewm_eval.secrets.prefilter import python_suspect_lines, suspect_lines

    corpus = _prefilter_corpus()
    flagged = 0
    for data in corpus:
        assert suspect_lines(data, assignments) == python_suspect_lines(data, assignments), data[:200]
        assert bool(suspect_lines(data, assignments, first_only=True)) == bool(python_suspect_lines(data, assignments))
        flagged += bool(suspect_lines(data, assignments))
    joined = b"\n".join(corpus)  # one buffer, many hits: the same line starts
    assert suspect_lines(joined, assignments) == python_suspect_lines(joined, assignments)
    assert 0.3 * len(corpus) < flagged < len(corpus)  # the corpus holds both kinds of line


def test_a_parquet_column_is_prefiltered_whole_and_names_the_right_values():
    pa = pytest.importorskip("pyarrow")
    from codelewm_eval.secrets.files import _suspect_values

    values = ["x = 1", None, "def f():\n    return 2\n", "line one\n" + CASES["Hugging Face Token"] + "\nline three",
              "", "ab_" * 30, NEW_KINDS["Anthropic API Key"], "y"]
    for kind in (pa.string(), pa.large_string()):
        assert _suspect_values(pa.array(values, kind)) == [3, 6]
    assert _suspect_values(pa.array([], pa.string())) == [] and _suspect_values(pa.array([None, "x"])) == []

"""Write the generated reference docs: docs/verbs/*.md (from --help), docs/formats.md and
docs/schemas/*.schema.json (from the pydantic models). tests/test_docs.py fails when they are stale."""

from pathlib import Path

from codelewm_eval.cli.docs import all_files

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    for rel, text in all_files().items():
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {rel}")

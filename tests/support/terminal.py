"""What `convene …` showed at the terminal, and the settings files its tests run it with.

The secrets are planted in the settings and URLs the tests give, so that `outcome` can check that
none of them is ever echoed back.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

PASSWORD = "s3cret-pw"
TOKEN = "tok-s3cret-value"


def outcome(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """What the person saw; in no case a traceback or a secret."""
    out, err = capsys.readouterr()
    seen = out + err
    assert "Traceback" not in seen
    assert PASSWORD not in seen and TOKEN not in seen
    return out, err


def settings_file(tmp_path: Path, text: str) -> Path:
    """*text*, with the console and the web server off unless it says otherwise."""
    path = tmp_path / f"convene-{uuid.uuid4().hex[:8]}.toml"
    off = [name for name in ("console", "web") if f"[{name}]" not in text]
    path.write_text(text + "".join(f"\n[{name}]\nenabled = false\n" for name in off))
    return path

import enum
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest

from bot.__main__ import main
from bot.cogs import discover
from bot.config import ConfigError, Settings, load_settings, parse_settings, schema
from bot.core.context import Role
from bot.core.settings import Section

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"


def test_defaults_are_the_embedded_setup() -> None:
    settings = load_settings(None)
    assert settings.store.url.startswith("sqlite")
    assert settings.console.enabled and settings.console.role is Role.ORGANIZER
    assert not settings.matrix.enabled and not settings.discord.enabled
    assert settings.web.host == "127.0.0.1"


def test_example_file_is_valid() -> None:
    settings = load_settings(EXAMPLE)
    assert {room.name for room in settings.rooms} >= {"community", "mentors"}


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"\[web\] prot: unknown key"):
        parse_settings({"web": {"prot": 80}})


def test_wrong_type_names_key_and_expectation() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"web": {"port": "eighty"}, "bot": {"timezone": "Mars/Olympus"}})
    message = str(info.value)
    assert "[web] port: " in message and "integer" in message
    assert "[bot] timezone: unknown time zone 'Mars/Olympus'" in message


def test_room_errors_point_at_the_room() -> None:
    with pytest.raises(ConfigError, match=r"\[rooms\[2\]\]: .*discord_channel_id, matrix_room_id"):
        parse_settings({"rooms": [{"name": "a", "discord_channel_id": 1}, {"name": "b"}]})
    with pytest.raises(ConfigError, match=r"\[rooms\[1\]\] purposes\[1\]"):
        parse_settings({"rooms": [{"name": "a", "discord_channel_id": 1, "purposes": ["party"]}]})


def test_secret_comes_from_environment_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings.model_validate(
        {"matrix": {"enabled": True, "token_env": "TEST_CONVENE_TOKEN"}}
    )
    monkeypatch.delenv("TEST_CONVENE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="environment variable TEST_CONVENE_TOKEN is not set"):
        settings.check_secrets()
    monkeypatch.setenv("TEST_CONVENE_TOKEN", "syt_very_secret")
    settings.check_secrets()
    token = settings.matrix.access_token()
    assert token.get_secret_value() == "syt_very_secret"
    assert "syt_very_secret" not in repr(settings) + str(token) + repr(token)


def test_secret_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("abc123\n")
    settings = parse_settings(
        {
            "discord": {
                "enabled": True,
                "application_id": 5,
                "token_env": None,
                "token_file": str(secret),
            }
        }
    )
    assert settings.discord.token().get_secret_value() == "abc123"


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[store]\nurl = "mysql://x"\n[console]\nrole = "boss"\n')
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "[store] url: expected a sqlite:/// or postgresql:// URL" in err
    assert "[console] role:" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[store\n")
    assert main(["check-config", str(broken)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_welcome_template_placeholders_are_checked_at_load() -> None:
    assert "{name}" in parse_settings({}).welcome.template
    with pytest.raises(ConfigError) as info:
        parse_settings({"welcome": {"template": "Hi {nmae}! {guide}"}})
    assert "[welcome] template: unknown placeholder {nmae}; use {name}, {guide}" in str(info.value)
    with pytest.raises(ConfigError, match=r"unknown placeholder \{name\.__class__\}"):
        parse_settings({"welcome": {"template": "Hi {name.__class__}"}})
    with pytest.raises(ConfigError, match=r"write a literal brace as \{\{"):
        parse_settings({"welcome": {"template": "Hi {name"}})
    with pytest.raises(ConfigError, match=r"\[welcome\] contributor_guide: expected a web address"):
        parse_settings({"welcome": {"contributor_guide": "javascript:alert(1)"}})
    with pytest.raises(ConfigError, match=r"\[welcome\] per_minute: "):
        parse_settings({"welcome": {"per_minute": 0}})


def test_every_choice_in_a_section_is_told_in_words() -> None:
    """A key with a fixed set of values (an enum, a Literal), in any section a cog adds too,
    answers a wrong value with the values allowed, never with the numbers behind an enum."""
    settings = schema(discover())
    checked = []
    for section, field in settings.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, Section)):
            continue
        for key, inner in model.model_fields.items():
            kind = inner.annotation
            is_enum = isinstance(kind, type) and issubclass(kind, enum.Enum)
            if not is_enum and get_origin(kind) is not Literal:
                continue
            with pytest.raises(ConfigError) as info:
                parse_settings({section: {key: "nonsense"}})
            message = str(info.value)
            choices = (
                [m.name.lower() for m in kind] if is_enum else [str(a) for a in get_args(kind)]
            )
            assert f"[{section}] {key}: expected " in message, message
            assert all(choice in message for choice in choices), message
            checked.append(f"{section}.{key}")
    assert {"console.role", "bot.log_level"} <= set(checked)


def test_settings_dumped_as_json_read_back() -> None:
    """Tests and tools build settings from a dump; a role is dumped by name, as it is written."""
    settings = parse_settings({"console": {"role": "mentor"}})
    dumped = settings.model_dump(mode="json")
    assert dumped["console"]["role"] == "mentor"
    assert parse_settings(dumped) == settings
    example = load_settings(EXAMPLE)
    assert parse_settings(example.model_dump(mode="json")) == example

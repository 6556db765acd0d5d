"""The defaults are written once, in the config models: the packaged default.yaml is
generated from them (config/defaults.py), with the comment above each field."""

from __future__ import annotations

import yaml

from driver_monitor.cli import main
from driver_monitor.config import DEFAULT_CONFIG_PATH, Config, load_config
from driver_monitor.config.defaults import field_comments, render_default_yaml
from driver_monitor.config.presence import PresenceConfig


def _flat(values: object, prefix: str = "") -> set[str]:
    if isinstance(values, dict) and values:
        return set().union(*(_flat(v, f"{prefix}{k}.") for k, v in values.items()))
    return {prefix[:-1]}


def test_the_packaged_file_is_the_generated_one() -> None:
    assert DEFAULT_CONFIG_PATH.read_text(encoding="utf-8") == render_default_yaml(), (
        "driver_monitor/data/default.yaml is out of date: run `make default-config`")


def test_it_loads_to_the_model_defaults_and_names_every_key() -> None:
    assert load_config(DEFAULT_CONFIG_PATH) == Config()
    written = _flat(yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")))
    assert _flat(Config().model_dump(mode="json")) <= written


def test_each_key_carries_the_comment_written_above_its_field() -> None:
    comment = field_comments(PresenceConfig)["absent_after_s"]
    assert comment and comment[0].startswith("The face must be missing this long")
    lines = render_default_yaml().splitlines()
    at = lines.index("  absent_after_s: 2.0")
    assert lines[at - len(comment):at] == [f"  # {c}" for c in comment]


def test_config_default_prints_the_packaged_file(capsys) -> None:
    assert main(["config", "--default"]) == 0
    assert capsys.readouterr().out == DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")


def test_config_path_prints_every_setting_a_partial_file_gives(tmp_path, capsys) -> None:
    partial = tmp_path / "p.yaml"
    partial.write_text("presence:\n  absent_after_s: 3.5\n")
    assert main(["config", str(partial)]) == 0
    full = yaml.safe_load(capsys.readouterr().out)
    assert full["presence"] == {"absent_after_s": 3.5, "present_after_s": 0.5}
    assert Config.model_validate(full) == load_config(partial)

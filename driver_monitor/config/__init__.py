"""Configuration: pydantic models of the YAML file and a loader that reports every problem as
one line naming the dotted key (REFERENCE.md "config")."""

from driver_monitor.config.loader import DEFAULT_CONFIG_PATH, load_config, parse_config
from driver_monitor.config.root import Config
from driver_monitor.errors import ConfigError

__all__ = ["Config", "ConfigError", "DEFAULT_CONFIG_PATH", "load_config", "parse_config"]

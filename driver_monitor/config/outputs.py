"""Config of what replay writes."""

from enum import StrEnum

from driver_monitor.config.base import Section


class FeaturesFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


class OutputsConfig(Section):
    features_format: FeaturesFormat = FeaturesFormat.csv
    # Write a `state` line to events.jsonl whenever a slow state changes (calibrated, ...).
    log_state_changes: bool = True

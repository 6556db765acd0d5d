"""Config of the privacy controls for emotional and physiological outputs (docs/emotion.md
"Privacy").

Each signal is one of
- `off`: not computed at all (its detector part does not run, no column, no event),
- `memory`: computed and used by the policy (comfort actions), never written: no column in
  the feature table, no event in the event log or the journal, nothing on CAN or serial
  (the status levels say "unavailable", a comfort action's reason says "withheld"),
- `output`: written to the feature table and the event log and sent on CAN / serial (which
  stay inside the vehicle: DESIGN.md "Privacy by default", EU 2019/2144 Art. 6(3)).

Why the defaults (REFERENCE.md "Emotion, anger and daydreaming"): the EU AI Act lists
emotion recognition systems as high-risk (Annex III), allows them in vehicles for safety
and asks that the people exposed be informed (Art. 50(3)); physical states such as fatigue
are not emotions in its sense (recital 18, our reading). So:
- heart rate, HRV and stress stay `output`, as they were before this section existed: they
  are the stress detector's physiological evidence, the driver is told they are measured
  (`driver-monitor status`, README), and they never leave the vehicle;
- anger is `memory`: it is emotion recognition in the Act's sense and the weakest evidence
  of all (docs/emotion.md); the car may calm the cabin on it but keeps no record of it and
  tells no other ECU why. Set `output` on a development car to tune it;
- daydreaming is `output`: it is attention, like distraction, not an emotion.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import field_validator

from driver_monitor.config.base import Section
from driver_monitor.names import PrivateSignal


class PrivacyMode(StrEnum):
    off = "off"
    memory = "memory"
    output = "output"


class PrivacyConfig(Section):
    """Emotional and physiological outputs, each `off` (not computed), `memory` (used for
    comfort actions, never written) or `output` (feature table, event log, CAN / serial,
    all inside the vehicle). Defaults: the EU AI Act makes emotion recognition a high-risk
    use (Annex III), allowed in vehicles for safety, and the driver must be informed (Art.
    50(3)): `driver-monitor status` lists what is active. Heart rate, HRV and stress stay
    written (physiological evidence, as before); anger, the weakest evidence and emotion
    recognition proper, stays in memory; daydreaming is attention, not an emotion."""

    # Camera / sensor heart rate (heart_rate_* columns). `off` also ignores an external
    # heart-rate sensor.
    heart_rate: PrivacyMode = PrivacyMode.output
    # Heart-rate variability (hrv_rmssd_ms).
    hrv: PrivacyMode = PrivacyMode.output
    # The advisory stress level and `stress` events.
    stress: PrivacyMode = PrivacyMode.output
    # Anger / frustration (anger_* columns, `anger` events): emotion recognition (AI Act
    # Annex III); kept in memory by default.
    anger: PrivacyMode = PrivacyMode.memory
    # Daydreaming / cognitive distraction (daydreaming_* columns, `daydreaming` events).
    daydreaming: PrivacyMode = PrivacyMode.output

    @field_validator("*", mode="before")
    @classmethod
    def _unquoted_off(cls, value: Any) -> Any:
        # YAML 1.1 reads `anger: off`, the documented value unquoted, as False.
        return PrivacyMode.off if value is False else value

    def mode(self, signal: PrivateSignal | str) -> PrivacyMode:
        return PrivacyMode(getattr(self, str(signal)))

    def computed(self, signal: PrivateSignal | str) -> bool:
        return self.mode(signal) is not PrivacyMode.off

    def written(self, signal: PrivateSignal | str) -> bool:
        return self.mode(signal) is PrivacyMode.output

    def summary(self) -> str:
        """`anger memory, daydreaming output, ...`: what `status` and the logs tell."""
        return ", ".join(f"{signal.value.replace('_', ' ')} {self.mode(signal).value}" for signal in PrivateSignal)

"""Output files readable by their owner only (0600), whatever the umask.

events.jsonl, features.csv / .parquet and the daemon's state.json hold the driver's states,
heart rate and stress level: personal data (EU 2019/2144 Art. 6(3)). Under the systemd unit
UMask=0077 already makes them private; from a shell (umask 022) they used to be 0644. The
helpers live in recording/files.py, shared with the recordings and event clips.
"""

from driver_monitor.recording.files import PRIVATE_MODE, make_private, open_private

__all__ = ["PRIVATE_MODE", "make_private", "open_private"]

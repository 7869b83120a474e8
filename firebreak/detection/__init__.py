"""Crisis detection: trigger rules (`spec`) and O(1)-per-signal detectors with restartable state."""

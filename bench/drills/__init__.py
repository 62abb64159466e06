"""Fault drills: scripts that break one part of a running FocusLoop on purpose and check
that nothing a customer sent is lost. See docs/reliability.md."""

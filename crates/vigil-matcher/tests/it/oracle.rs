//! The matcher against the independent oracle `scripts/oracle-debian-findings.py`.

"""Secret scanning on the detect-secrets engine, extended with the token kinds it lacks."""

from .scanner import Finding, scan_many, scan_text

__all__ = ["Finding", "scan_many", "scan_text"]

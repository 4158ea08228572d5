"""Compatibility with what the previous release wrote: golden outputs, resumable fixtures."""

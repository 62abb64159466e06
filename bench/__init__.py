"""Benchmarks: run as scripts (``.venv/bin/python bench/ingest.py``), never collected as tests."""

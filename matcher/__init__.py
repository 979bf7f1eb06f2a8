"""The matching domain: how needs and suppliers are compared, fused, filtered, diversified and
explained. Pure functions and small dataclasses; no database, files or HTTP."""

"""Turning text into vectors and keeping the vector and lexical indexes in step with the store."""

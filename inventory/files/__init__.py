"""Uploaded files: type-sniffed, size-limited, content-addressed blobs in the instance folder."""

"""Rolling-update drill for cinder-volume / cinder-backup graceful shutdown.

See docs/drill.md.  Entry point: ``python -m drill run ...``.
"""

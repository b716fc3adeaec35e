"""Data behind a pipe, as ``validate <(...)`` sees it: shared by the reader and fuzz tests."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def pipe_with(data: bytes) -> Iterator[str]:
    """The ``/dev/fd/N`` path of a pipe a thread writes ``data`` into, open while inside."""
    read_end, write_end = os.pipe()

    def write() -> None:
        try:
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(data)
        except BrokenPipeError:  # the reader stopped early, as it should past the size limit
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield f"/dev/fd/{read_end}"
    finally:
        os.close(read_end)
        writer.join(5)

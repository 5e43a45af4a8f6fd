"""Hostile zip archives, written byte by byte: members that leave the folder, and a zip bomb.

Used by tests/test_data.py and tests/test_browser_class.py. A bomb that inflates to 1 GiB of zeros is 1 MB
and takes about a second to build: one deflated block of 16 MiB of zeros, ended by a full flush so that it
refers to nothing before it, repeated.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

CHUNK = 2**24
TRAVERSAL = ("../evil.png", "/abs/evil.png", "pics/../../evil.png")


def png(colour: tuple[int, int, int] = (200, 30, 30), size: int = 12) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, "PNG")
    return buf.getvalue()


def _deflated_zeros(chunks: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of ``chunks`` x CHUNK zero bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(CHUNK)) + c.flush(zlib.Z_FULL_FLUSH)
    crc, zeros = 0, bytes(CHUNK)
    for _ in range(chunks):
        crc = zlib.crc32(zeros, crc)
    return block * chunks + zlib.compressobj(9, zlib.DEFLATED, -15).flush(), crc, chunks * CHUNK


def zip_archive(members: list[tuple[str, bytes]], bomb: tuple[str, int] | None = None) -> bytes:
    """A zip of stored ``(name, data)`` members written as given (no name cleaning), plus an optional bomb member
    ``(name, chunks)`` that inflates to ``chunks`` x 16 MiB of zeros."""
    entries = [(name, data, 0, zlib.crc32(data), len(data)) for name, data in members]
    if bomb:
        data, crc, size = _deflated_zeros(bomb[1])
        entries.append((bomb[0], data, 8, crc, size))  # method 8: deflate
    out, central = bytearray(), bytearray()
    for name, data, method, crc, size in entries:
        n, offset, day = name.encode(), len(out), 0x21  # 1 Jan 1980
        out += struct.pack("<I5H3I2H", 0x04034B50, 20, 0, method, 0, day, crc, len(data), size, len(n), 0) + n + data
        central += struct.pack(
            "<I6H3I5H2I", 0x02014B50, 20, 20, 0, method, 0, day, crc, len(data), size, len(n), 0, 0, 0, 0, 0, offset
        )
        central += n
    end = struct.pack("<I4H2IH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return bytes(out + central + end)


def malicious_zip(chunks: int = 65) -> bytes:
    """Two real class folders, members that try to leave the folder, and a bomb of ``chunks`` x 16 MiB (1,040 MiB)."""
    good = [(f"pics/{c}/{i}.png", png(colour)) for c, colour in (("red", (220, 0, 0)), ("blue", (0, 0, 220)))
            for i in range(3)]  # fmt: skip
    evil = [(name, png()) for name in TRAVERSAL]
    return zip_archive(good + evil, bomb=("pics/red/bomb.png", chunks))

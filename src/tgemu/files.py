"""Files the bot and the users exchange, kept in memory with Telegram-like identifiers."""

import dataclasses
import itertools
import secrets
import struct
import threading


@dataclasses.dataclass
class StoredFile:
    """One file: its bytes (None when sent by URL only) and Telegram's metadata."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes | None
    file_name: str | None = None
    mime_type: str | None = None
    url: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0

    @property
    def file_path(self) -> str:
        ext = ""
        if self.file_name and "." in self.file_name:
            ext = "." + self.file_name.rsplit(".", 1)[1]
        elif self.kind == "photo":
            ext = ".jpg"
        return f"{self.kind}s/{self.file_unique_id}{ext}"

    def photo_sizes(self) -> list[dict]:
        width, height = image_size(self.data or b"")
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.size,
                "width": width,
                "height": height,
            }
        ]

    def document(self) -> dict:
        out = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name:
            out["file_name"] = self.file_name
        if self.mime_type:
            out["mime_type"] = self.mime_type
        return out


class FileStore:
    """Thread-safe map of file_id to StoredFile."""

    def __init__(self):
        self._lock = threading.Lock()
        self._files: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._seq = itertools.count(1)

    def add(self, kind: str, data: bytes | None, file_name=None, mime_type=None, url=None):
        """Store a file and return its record."""
        n = next(self._seq)
        unique = f"AQAD{n:06d}{secrets.token_hex(3)}"
        rec = StoredFile(f"tgemu_{kind}_{unique}", unique, kind, data, file_name, mime_type, url)
        with self._lock:
            self._files[rec.file_id] = rec
            self._by_path[rec.file_path] = rec
        return rec

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.get(file_id)

    def by_path(self, path: str) -> StoredFile | None:
        with self._lock:
            return self._by_path.get(path)


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF or JPEG; (1, 1) when unknown."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            return struct.unpack(">II", data[16:24])
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", data[6:10])
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    break
                marker = data[i + 1]
                seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    return width, height
                i += 2 + seg_len
    except struct.error:
        pass
    return 1, 1


def guess_mime(data: bytes, file_name: str | None) -> str:
    """A content type for serving a file to the web chat."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:2] == b"\xff\xd8":
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if file_name and file_name.lower().endswith(".pdf"):
        return "application/pdf"
    if file_name and file_name.lower().endswith((".txt", ".csv")):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"

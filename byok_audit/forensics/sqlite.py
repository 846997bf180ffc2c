"""Where a byte sits inside SQLite's files: the main database, its ``-wal`` and its ``-journal``.

Deleted and replaced rows survive in SQLite files as freeblocks, unallocated page space, freelist pages,
old WAL frames and journal pre-images (research crypto-forensics §3.2). A byte grep finds such residue;
this module says *where* a hit sits, so a finding can tell "still a live row" from "freeblock residue"
or "WAL frame 5, superseded". It parses bytes only (file format: sqlite.org/fileformat2.html) and never
opens a database, so a damaged or foreign file gives a vaguer location, never an exception.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

SQLITE_MAGIC = b"SQLite format 3\x00"
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
#: WAL magic -> byte order of its checksums (the header fields themselves are always big-endian).
WAL_MAGICS = {0x377F0682: "<", 0x377F0683: ">"}
FILE_HEADER_BYTES = 100
WAL_HEADER_BYTES = 32
WAL_FRAME_HEADER_BYTES = 24
_SECTOR_SIZES = (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
_BTREE_TYPES = {2: "index interior", 5: "table interior", 10: "index leaf", 13: "table leaf"}


class Area(StrEnum):
    """What a byte range is for. Only :data:`LIVE_AREAS` hold data that SQL can still read."""

    FILE_HEADER = "database file header"
    PAGE_HEADER = "b-tree page header"
    CELL_POINTERS = "cell pointer array"
    UNALLOCATED = "unallocated gap"
    LIVE_CELL = "live cell"
    FREEBLOCK = "freeblock"
    FRAGMENT = "free fragment"
    RESERVED = "reserved page tail"
    OVERFLOW = "overflow page"
    OVERFLOW_SLACK = "overflow page slack"
    FREELIST_TRUNK = "freelist trunk page"
    FREELIST_LEAF = "freelist leaf page"
    PTRMAP = "pointer-map page"
    UNREFERENCED = "unreferenced page"
    PAGE_IMAGE = "page image (not a b-tree page)"
    BEYOND_END = "beyond the database end"
    WAL_HEADER = "WAL header"
    WAL_FRAME_HEADER = "WAL frame header"
    JOURNAL_HEADER = "journal header"
    JOURNAL_RECORD_HEADER = "journal record header"
    JOURNAL_SLACK = "after the last journal record"
    WAL_INDEX = "WAL index (-shm)"
    NOT_SQLITE = "not an SQLite file"


LIVE_AREAS = frozenset({Area.LIVE_CELL, Area.OVERFLOW})

FileKind = Literal["db", "wal", "journal", "shm"]
WalState = Literal["current", "superseded", "uncommitted", "invalid"]


@dataclass(frozen=True)
class Location:
    """One byte offset in one named file, described for a finding."""

    file: str
    file_kind: FileKind
    offset: int
    area: Area
    page: int | None = None
    page_offset: int | None = None
    owner: str | None = None
    wal_frame: int | None = None
    wal_state: WalState | None = None
    journal_record: int | None = None
    superseded_by_frame: int | None = None

    @property
    def current(self) -> bool:
        """True when this copy of the page is the one a reader of the database sees."""
        if self.file_kind == "wal":
            return self.wal_state == "current"
        if self.file_kind == "db":
            return self.superseded_by_frame is None
        return False

    @property
    def live(self) -> bool:
        """Readable through SQL: a live cell (or its overflow) in the current version of its page."""
        return self.area in LIVE_AREAS and self.current

    def describe(self) -> str:
        """E.g. ``ref.db page 3 freeblock, offset 0x1a2c`` or ``ref.db-wal frame 5 (superseded) ...``."""
        where = self.file
        if self.wal_frame is not None:
            where += f" frame {self.wal_frame} ({self.wal_state})"
        if self.journal_record is not None:
            where += f" record {self.journal_record} (pre-image)"
        if self.page is not None:
            where += f" page {self.page}"
        what = str(self.area)
        if self.area in LIVE_AREAS and not self.current:
            what = f"{'cell' if self.area is Area.LIVE_CELL else 'overflow data'} of an old page version"
        if self.owner and self.area in (Area.LIVE_CELL, Area.OVERFLOW, Area.OVERFLOW_SLACK):
            what += f" of {self.owner}"
        text = f"{where} {what}, offset 0x{self.offset:x}"
        if self.superseded_by_frame is not None:
            text += f" (stale copy: WAL frame {self.superseded_by_frame} holds the current page)"
        return text


# -- low-level decoding -----------------------------------------------------------------------------


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "big")


def _u32(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 4], "big")


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """SQLite's big-endian varint (1-9 bytes); returns (value, next position)."""
    value = 0
    for i in range(8):
        if pos + i >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos + i + 1
    if pos + 8 >= len(data):
        raise ValueError("truncated varint")
    return (value << 8) | data[pos + 8], pos + 9


def _record_values(payload: bytes) -> list[int | float | bytes | None]:
    """Decode one record (the row format) into its column values; text stays bytes."""
    header_size, pos = _varint(payload, 0)
    types = []
    while pos < header_size:
        serial, pos = _varint(payload, pos)
        types.append(serial)
    values: list[int | float | bytes | None] = []
    pos = header_size
    int_sizes = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}
    for serial in types:
        if serial == 0:
            values.append(None)
        elif serial in int_sizes:
            size = int_sizes[serial]
            values.append(int.from_bytes(payload[pos : pos + size], "big", signed=True))
            pos += size
        elif serial == 7:
            values.append(struct.unpack(">d", payload[pos : pos + 8])[0])
            pos += 8
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            size = (serial - 12) // 2
            values.append(payload[pos : pos + size])
            pos += size
        else:
            raise ValueError(f"reserved serial type {serial}")
    return values


# -- b-tree pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    start: int
    end: int
    child: int | None
    payload_size: int | None
    local_start: int
    local_end: int
    first_overflow: int | None


@dataclass(frozen=True)
class _BtreePage:
    page_type: int
    header_start: int
    header_end: int
    pointers_end: int
    content_start: int
    cells: tuple[_Cell, ...]
    freeblocks: tuple[tuple[int, int], ...]
    right_child: int | None

    @property
    def is_leaf(self) -> bool:
        return self.page_type in (10, 13)


def _local_payload(payload_size: int, usable: int, is_table_leaf: bool) -> int:
    """How many payload bytes a cell keeps on its page (the rest goes to overflow pages)."""
    max_local = usable - 35 if is_table_leaf else (usable - 12) * 64 // 255 - 23
    if payload_size <= max_local:
        return payload_size
    min_local = (usable - 12) * 32 // 255 - 23
    k = min_local + (payload_size - min_local) % (usable - 4)
    return k if k <= max_local else min_local


def _parse_cell(image: bytes, start: int, page_type: int, usable: int) -> _Cell:
    pos = start
    child = None
    if page_type in (2, 5):
        child = _u32(image, pos)
        pos += 4
    if page_type == 5:
        _, pos = _varint(image, pos)  # rowid
        return _Cell(start, pos, child, None, pos, pos, None)
    payload_size, pos = _varint(image, pos)
    if page_type == 13:
        _, pos = _varint(image, pos)  # rowid
    local = _local_payload(payload_size, usable, page_type == 13)
    local_end = pos + local
    first_overflow = None
    end = local_end
    if local < payload_size:
        first_overflow = _u32(image, local_end)
        end += 4
    if end > usable:
        raise ValueError("cell runs past the page")
    return _Cell(start, end, child, payload_size, pos, local_end, first_overflow)


def _parse_btree_page(image: bytes, header_start: int, usable: int) -> _BtreePage | None:
    """Parse a page image as a b-tree page; None when it is not one (or is damaged)."""
    if len(image) < header_start + 8 or usable > len(image):
        return None
    page_type = image[header_start]
    if page_type not in _BTREE_TYPES:
        return None
    interior = page_type in (2, 5)
    header_end = header_start + (12 if interior else 8)
    ncells = _u16(image, header_start + 3)
    pointers_end = header_end + 2 * ncells
    content_start = _u16(image, header_start + 5) or 65536
    if pointers_end > usable or content_start > usable or content_start < pointers_end:
        return None
    cells = []
    for i in range(ncells):
        offset = _u16(image, header_end + 2 * i)
        if not content_start <= offset < usable:
            return None
        try:
            cells.append(_parse_cell(image, offset, page_type, usable))
        except ValueError:
            return None
    freeblocks = []
    seen: set[int] = set()
    block = _u16(image, header_start + 1)
    while block and block not in seen and block + 4 <= usable:
        seen.add(block)
        size = _u16(image, block + 2)
        if size < 4 or block + size > usable:
            break
        freeblocks.append((block, block + size))
        block = _u16(image, block)
    right = _u32(image, header_start + 8) if interior else None
    return _BtreePage(
        page_type,
        header_start,
        header_end,
        pointers_end,
        content_start,
        tuple(cells),
        tuple(freeblocks),
        right,
    )


def _area_in_btree(page: _BtreePage, in_page: int) -> Area:
    if in_page < page.header_end:
        return Area.PAGE_HEADER
    if in_page < page.pointers_end:
        return Area.CELL_POINTERS
    if in_page < page.content_start:
        return Area.UNALLOCATED
    if any(c.start <= in_page < c.end for c in page.cells):
        return Area.LIVE_CELL
    if any(start <= in_page < end for start, end in page.freeblocks):
        return Area.FREEBLOCK
    return Area.FRAGMENT


# -- whole-database structure -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Role:
    kind: Literal["btree", "overflow", "freelist-trunk", "freelist-leaf", "ptrmap"]
    owner: str | None = None
    used: int = 0  # overflow page: payload bytes after the 4-byte next-page pointer


@dataclass(frozen=True)
class _Geometry:
    page_size: int
    usable: int


def _geometry_from_header(header: bytes) -> _Geometry | None:
    if len(header) < FILE_HEADER_BYTES or not header.startswith(SQLITE_MAGIC):
        return None
    raw = _u16(header, 16)
    page_size = 65536 if raw == 1 else raw
    if page_size < 512 or page_size & (page_size - 1):
        return None
    return _Geometry(page_size, page_size - header[20])


class _Structure:
    """Which role each page plays, found by walking the freelist and every b-tree from the schema."""

    def __init__(self, geometry: _Geometry, page_count: int, page: Callable[[int], bytes | None]):
        self.geometry = geometry
        self.page_count = page_count
        self._page = page
        self.roles: dict[int, _Role] = {}
        first = page(1)
        if first is None or not first.startswith(SQLITE_MAGIC):
            return
        self._walk_freelist(_u32(first, 32))
        if _u32(first, 52):  # auto-vacuum keeps pointer-map pages
            self._mark_ptrmaps()
        self._walk_tree(1, "sqlite_schema")
        for kind, name, table, root in self._schema_entries():
            owner = f"table {name}" if kind == "table" else f"{kind} {name} on {table}"
            self._walk_tree(root, owner)

    def _image(self, number: int) -> bytes | None:
        if not 1 <= number <= self.page_count:
            return None
        return self._page(number)

    def _walk_freelist(self, trunk: int) -> None:
        usable = self.geometry.usable
        while trunk and trunk not in self.roles:
            image = self._image(trunk)
            if image is None:
                return
            self.roles[trunk] = _Role("freelist-trunk")
            count = min(_u32(image, 4), (usable - 8) // 4)
            for i in range(count):
                leaf = _u32(image, 8 + 4 * i)
                if 1 <= leaf <= self.page_count:
                    self.roles.setdefault(leaf, _Role("freelist-leaf"))
            trunk = _u32(image, 0)

    def _mark_ptrmaps(self) -> None:
        stride = self.geometry.usable // 5 + 1
        number = 2
        while number <= self.page_count:
            self.roles.setdefault(number, _Role("ptrmap"))
            number += stride

    def _btree(self, number: int) -> _BtreePage | None:
        image = self._image(number)
        if image is None:
            return None
        return _parse_btree_page(
            image, FILE_HEADER_BYTES if number == 1 else 0, self.geometry.usable
        )

    def _walk_tree(self, root: int, owner: str) -> None:
        stack = [root]
        while stack:
            number = stack.pop()
            if number in self.roles:
                continue
            parsed = self._btree(number)
            if parsed is None:
                continue
            self.roles[number] = _Role("btree", owner)
            for cell in parsed.cells:
                if cell.child:
                    stack.append(cell.child)
                if cell.first_overflow and cell.payload_size is not None:
                    local = cell.local_end - cell.local_start
                    self._walk_overflow(cell.first_overflow, cell.payload_size - local, owner)
            if parsed.right_child:
                stack.append(parsed.right_child)

    def _walk_overflow(self, number: int, remaining: int, owner: str) -> None:
        per_page = self.geometry.usable - 4
        while number and remaining > 0 and number not in self.roles:
            image = self._image(number)
            if image is None:
                return
            used = min(remaining, per_page)
            self.roles[number] = _Role("overflow", owner, used)
            remaining -= used
            number = _u32(image, 0)

    def _leaf_payloads(self, root: int) -> Iterator[bytes]:
        """Full payloads of a table b-tree's leaf cells (following overflow chains)."""
        stack, seen = [root], set()
        while stack:
            number = stack.pop()
            if number in seen:
                continue
            seen.add(number)
            parsed = self._btree(number)
            if parsed is None:
                continue
            if parsed.is_leaf:
                image = self._image(number) or b""
                for cell in parsed.cells:
                    yield self._payload(image, cell)
            else:
                stack.extend(c.child for c in parsed.cells if c.child)
                if parsed.right_child:
                    stack.append(parsed.right_child)

    def _payload(self, image: bytes, cell: _Cell) -> bytes:
        data = bytearray(image[cell.local_start : cell.local_end])
        number, seen = cell.first_overflow, set()
        target = cell.payload_size or 0
        while number and len(data) < target and number not in seen:
            seen.add(number)
            page = self._image(number)
            if page is None:
                break
            data += page[4 : 4 + min(target - len(data), self.geometry.usable - 4)]
            number = _u32(page, 0)
        return bytes(data)

    def _schema_entries(self) -> Iterator[tuple[str, str, str, int]]:
        for payload in self._leaf_payloads(1):
            try:
                values = _record_values(payload)
            except (ValueError, struct.error):
                continue
            if len(values) < 4 or not isinstance(values[3], int) or values[3] <= 0:
                continue
            kind, name, table = (
                v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in values[:3]
            )
            yield kind, name, table, values[3]


def _area_in_page(
    image: bytes, number: int, in_page: int, role: _Role | None, usable: int
) -> tuple[Area, str | None]:
    """Classify one offset inside one page image, using its role when the structure is known."""
    if number == 1 and in_page < FILE_HEADER_BYTES:
        return Area.FILE_HEADER, None
    if role is not None and role.kind != "btree":
        if role.kind == "overflow":
            inside = in_page < 4 + role.used
            return (Area.OVERFLOW if inside else Area.OVERFLOW_SLACK), role.owner
        return {
            "freelist-trunk": Area.FREELIST_TRUNK,
            "freelist-leaf": Area.FREELIST_LEAF,
            "ptrmap": Area.PTRMAP,
        }[role.kind], None
    if in_page >= usable:
        return Area.RESERVED, None
    parsed = _parse_btree_page(image, FILE_HEADER_BYTES if number == 1 else 0, usable)
    if parsed is None:
        return (Area.PAGE_IMAGE if role is None else Area.UNREFERENCED), None
    return _area_in_btree(parsed, in_page), role.owner if role else None


# -- WAL and journal ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalFrame:
    """One frame of a WAL file. ``number`` is 1-based, as SQLite counts frames."""

    number: int
    offset: int
    page: int
    commit_size: int
    state: WalState


def _wal_checksum(data: bytes, order: str, s0: int, s1: int) -> tuple[int, int]:
    for x0, x1 in struct.iter_unpack(order + "II", data):
        s0 = (s0 + x0 + s1) & 0xFFFFFFFF
        s1 = (s1 + x1 + s0) & 0xFFFFFFFF
    return s0, s1


def parse_wal(data: bytes) -> tuple[int, list[WalFrame]]:
    """Page size and frames of a WAL file, each frame labelled as a reader would treat it.

    A frame is *invalid* once the salt or the running checksum stops matching (old frames left behind
    after the WAL was restarted), *uncommitted* after the last commit frame, *superseded* when a later
    committed frame holds the same page, and *current* otherwise.
    """
    if len(data) < WAL_HEADER_BYTES or _u32(data, 0) not in WAL_MAGICS:
        return 0, []
    order = WAL_MAGICS[_u32(data, 0)]
    page_size = _u32(data, 8)
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return 0, []
    salts = data[16:24]
    s0, s1 = _wal_checksum(data[:24], order, 0, 0)
    valid = (s0, s1) == (_u32(data, 24), _u32(data, 28))
    frame_bytes = WAL_FRAME_HEADER_BYTES + page_size
    raw: list[tuple[int, int, int, bool]] = []
    offset = WAL_HEADER_BYTES
    while offset + frame_bytes <= len(data):
        header = data[offset : offset + WAL_FRAME_HEADER_BYTES]
        if valid:
            s0, s1 = _wal_checksum(header[:8], order, s0, s1)
            s0, s1 = _wal_checksum(
                data[offset + WAL_FRAME_HEADER_BYTES : offset + frame_bytes], order, s0, s1
            )
            valid = header[8:16] == salts and (s0, s1) == (_u32(header, 16), _u32(header, 20))
        raw.append((offset, _u32(header, 0), _u32(header, 4), valid))
        offset += frame_bytes
    last_commit = max((i for i, (_, _, size, ok) in enumerate(raw) if ok and size), default=-1)
    latest: dict[int, int] = {}
    for i, (_, page, _, _) in enumerate(raw[: last_commit + 1]):
        latest[page] = i
    frames = []
    for i, (frame_offset, page, commit_size, ok) in enumerate(raw):
        state: WalState
        if not ok:
            state = "invalid"
        elif i > last_commit:
            state = "uncommitted"
        else:
            state = "current" if latest[page] == i else "superseded"
        frames.append(WalFrame(i + 1, frame_offset, page, commit_size, state))
    return page_size, frames


@dataclass(frozen=True)
class JournalRecord:
    """One page pre-image in a rollback journal; ``offset`` is where its 4-byte page number starts."""

    number: int
    offset: int
    page: int


@dataclass(frozen=True)
class _Journal:
    page_size: int
    headers: tuple[tuple[int, int], ...]
    records: tuple[JournalRecord, ...]


def parse_journal(data: bytes, page_size_hint: int | None, page_limit: int) -> _Journal:
    """Segments and page records of a rollback journal.

    Each segment starts with a header one sector long (magic, record count, sector and page size).
    SQLite writes the first magic only when it syncs the journal, so a live journal may show zeros
    there; a persisted journal (``journal_mode=PERSIST``) has its whole header zeroed after commit yet
    keeps every record: then the page size comes from the database and the sector size is guessed as
    the first one whose next word is a plausible page number (1..``page_limit``).
    """
    headers: list[tuple[int, int]] = []
    records: list[JournalRecord] = []
    page_size = page_size_hint or 0
    pos = 0
    while pos + 28 <= len(data):
        magic = data[pos : pos + 8]
        if magic != JOURNAL_MAGIC and not (pos == 0 and magic == bytes(8)):
            break
        count = _u32(data, pos + 8)
        if count in (0, 0xFFFFFFFF):  # not synced yet, or persisted: as many as the file holds
            count = len(data)
        declared_sector, declared_page = _u32(data, pos + 20), _u32(data, pos + 24)
        page_size = declared_page if declared_page in _SECTOR_SIZES else page_size
        if declared_sector in _SECTOR_SIZES:
            sector = declared_sector
        elif magic == JOURNAL_MAGIC:
            sector = 512
        elif page_size:  # a zeroed header: guess the sector size from the first record
            sector = next((s for s in _SECTOR_SIZES if 0 < _u32(data, s) <= page_limit), len(data))
        else:
            break
        headers.append((pos, pos + sector))
        pos += sector
        while count and page_size and pos + page_size + 8 <= len(data):
            page = _u32(data, pos)
            if not 0 < page <= page_limit:
                break
            records.append(JournalRecord(len(records) + 1, pos, page))
            pos += page_size + 8
            count -= 1
        if pos % sector:  # the next segment header starts on a sector boundary
            pos += sector - pos % sector
    return _Journal(page_size, tuple(headers), tuple(records))


# -- the files of one snapshot ---------------------------------------------------------------------------


_COMPANIONS: dict[str, FileKind] = {"-wal": "wal", "-journal": "journal", "-shm": "shm"}


def file_kind(name: str) -> FileKind:
    return next((kind for suffix, kind in _COMPANIONS.items() if name.endswith(suffix)), "db")


def _base_name(name: str) -> str:
    suffix = next((s for s in _COMPANIONS if name.endswith(s)), "")
    return name[: len(name) - len(suffix)]


class _Database:
    """One database and its companions: the main file, its WAL and its journal."""

    def __init__(self, main: bytes, wal: bytes, journal: bytes):
        self.main = main
        self.wal = wal
        self.journal_bytes = journal
        self.geometry = _geometry_from_header(main)
        wal_page_size, self.frames = parse_wal(wal)
        if self.geometry is None and wal_page_size:
            self.geometry = _Geometry(wal_page_size, wal_page_size)
        size = self.geometry.page_size if self.geometry else 0
        self.main_pages = len(main) // size if size else 0
        header_pages = _u32(main, 28) if self.geometry else 0
        if header_pages and _u32(main, 24) == _u32(main, 92):  # the header's size field is valid
            self.main_pages = min(self.main_pages, header_pages)
        self.current_frame = {f.page: f for f in self.frames if f.state == "current"}
        commit_sizes = [
            f.commit_size
            for f in self.frames
            if f.state in ("current", "superseded") and f.commit_size
        ]
        view_pages = commit_sizes[-1] if commit_sizes else self.main_pages
        self.on_disk: _Structure | None = None
        self.view: _Structure | None = None
        if self.geometry is not None:
            self.on_disk = _Structure(self.geometry, self.main_pages, self._main_page)
            self.view = _Structure(self.geometry, view_pages, self._view_page)
        self.journal = parse_journal(journal, size or None, max(self.main_pages, view_pages) + 1024)

    def _main_page(self, number: int) -> bytes | None:
        if self.geometry is None:
            return None
        size = self.geometry.page_size
        start = (number - 1) * size
        if start + size > len(self.main):
            return None
        return self.main[start : start + size]

    def _frame_image(self, frame: WalFrame) -> bytes:
        start = frame.offset + WAL_FRAME_HEADER_BYTES
        return self.wal[start : start + (self.geometry.page_size if self.geometry else 0)]

    def _view_page(self, number: int) -> bytes | None:
        frame = self.current_frame.get(number)
        if frame is not None:
            return self._frame_image(frame)
        return self._main_page(number)

    def locate_main(self, name: str, offset: int) -> Location:
        if self.geometry is None or self.on_disk is None:
            return Location(name, "db", offset, Area.NOT_SQLITE)
        number = offset // self.geometry.page_size + 1
        in_page = offset % self.geometry.page_size
        if number > self.main_pages:
            return Location(name, "db", offset, Area.BEYOND_END, page=number, page_offset=in_page)
        image = self._main_page(number) or b""
        area, owner = _area_in_page(
            image, number, in_page, self.on_disk.roles.get(number), self.geometry.usable
        )
        if area is Area.PAGE_IMAGE:
            area = Area.UNREFERENCED
        frame = self.current_frame.get(number)
        return Location(
            name,
            "db",
            offset,
            area,
            page=number,
            page_offset=in_page,
            owner=owner,
            superseded_by_frame=frame.number if frame else None,
        )

    def locate_wal(self, name: str, offset: int) -> Location:
        if self.geometry is None or not self.frames:
            area = Area.WAL_HEADER if offset < WAL_HEADER_BYTES else Area.NOT_SQLITE
            return Location(name, "wal", offset, area)
        if offset < WAL_HEADER_BYTES:
            return Location(name, "wal", offset, Area.WAL_HEADER)
        frame_bytes = WAL_FRAME_HEADER_BYTES + self.geometry.page_size
        index = (offset - WAL_HEADER_BYTES) // frame_bytes
        if index >= len(self.frames):
            return Location(name, "wal", offset, Area.BEYOND_END)
        frame = self.frames[index]
        in_frame = offset - frame.offset
        base = {"wal_frame": frame.number, "wal_state": frame.state, "page": frame.page}
        if in_frame < WAL_FRAME_HEADER_BYTES:
            return Location(name, "wal", offset, Area.WAL_FRAME_HEADER, **base)
        in_page = in_frame - WAL_FRAME_HEADER_BYTES
        role = self.view.roles.get(frame.page) if self.view and frame.state == "current" else None
        area, owner = _area_in_page(
            self._frame_image(frame), frame.page, in_page, role, self.geometry.usable
        )
        return Location(name, "wal", offset, area, page_offset=in_page, owner=owner, **base)

    def locate_journal(self, name: str, offset: int) -> Location:
        journal = self.journal
        for start, end in journal.headers:
            if start <= offset < end:
                return Location(name, "journal", offset, Area.JOURNAL_HEADER)
        for record in journal.records:
            page_end = record.offset + 4 + journal.page_size
            if not record.offset <= offset < page_end + 4:
                continue
            base = {"journal_record": record.number, "page": record.page}
            if offset < record.offset + 4 or offset >= page_end:
                return Location(name, "journal", offset, Area.JOURNAL_RECORD_HEADER, **base)
            in_page = offset - record.offset - 4
            image = self.journal_image(record)
            usable = self.geometry.usable if self.geometry else journal.page_size
            area, owner = _area_in_page(image, record.page, in_page, None, usable)
            return Location(name, "journal", offset, area, page_offset=in_page, owner=owner, **base)
        if journal.records or journal.headers:
            return Location(name, "journal", offset, Area.JOURNAL_SLACK)
        return Location(name, "journal", offset, Area.NOT_SQLITE)

    def journal_image(self, record: JournalRecord) -> bytes:
        start = record.offset + 4
        return self.journal_bytes[start : start + self.journal.page_size]


class SqliteFiles:
    """The raw files of one database snapshot, parsed once; :meth:`locate` classifies any offset.

    Files are matched by name: ``X``, ``X-wal``, ``X-journal`` and ``X-shm`` belong together. A
    companion whose main file was not captured is still parsed (the WAL header carries the page size).
    """

    def __init__(self, files: Mapping[str, bytes]):
        self._files = dict(files)
        self._databases: dict[str, _Database] = {}
        for base in {_base_name(n) for n in self._files}:
            self._databases[base] = _Database(
                self._files.get(base, b""),
                self._files.get(base + "-wal", b""),
                self._files.get(base + "-journal", b""),
            )

    @property
    def names(self) -> list[str]:
        return sorted(self._files)

    def wal_frames(self, name: str) -> list[WalFrame]:
        """The frames of a ``-wal`` file (empty for other files)."""
        return list(self._databases[_base_name(name)].frames) if file_kind(name) == "wal" else []

    def locate(self, name: str, offset: int) -> Location:
        if name not in self._files:
            raise KeyError(f"no raw file named {name!r} in this snapshot (have {self.names})")
        if not 0 <= offset < len(self._files[name]):
            raise ValueError(f"offset {offset} is outside {name} ({len(self._files[name])} bytes)")
        database = self._databases[_base_name(name)]
        kind = file_kind(name)
        if kind == "wal":
            return database.locate_wal(name, offset)
        if kind == "journal":
            return database.locate_journal(name, offset)
        if kind == "shm":
            return Location(name, "shm", offset, Area.WAL_INDEX)
        return database.locate_main(name, offset)

    def find(self, needle: bytes) -> list[Location]:
        """Every occurrence of ``needle`` in every file, located (a plain byte search)."""
        if not needle:
            raise ValueError("empty needle")
        found = []
        for name in self.names:
            data = self._files[name]
            start = data.find(needle)
            while start != -1:
                found.append(self.locate(name, start))
                start = data.find(needle, start + 1)
        return found

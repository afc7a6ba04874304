#!/usr/bin/env python3
"""Rebuild a real rpmdb.sqlite's header blobs into other database layouts.

Usage: make-rpmdbs.py SOURCE_RPMDB_SQLITE OUTDIR

The header blobs are the real ones from SOURCE; only the containers change, so a
correct reader lists the same packages from every output. Written (each in its own
directory under OUTDIR, under rpm's file name):

  sqlite-<N>/rpmdb.sqlite    SQLite, page size N (512, 1024, 65536): small pages give
                             deep b-trees and long overflow chains; rows deleted and
                             re-inserted leave free pages; the 65536 one is in WAL mode
                             as rpm leaves it
  bdb-<N>-<le|be>/Packages   Berkeley DB hash made by db5.3_load (package db5.3-util),
                             page size N, either byte order, with rpm's key-0 counter
                             record; large pages keep small headers inline (H_KEYDATA),
                             small pages spill all of them to overflow chains

The vigil-detect tests run this at test time into a temporary directory.
"""

import os
import sqlite3
import struct
import subprocess
import sys


def blobs(source):
    con = sqlite3.connect(f"file:{source}?immutable=1", uri=True)
    rows = con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    con.close()
    return rows


def write_sqlite(rows, path, page_size, wal):
    if os.path.exists(path):
        os.remove(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute(
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)"
    )
    con.execute("CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL)")
    # Insert, delete every third row and insert those again: free pages and a b-tree
    # whose pages are not in file order.
    con.executemany("INSERT INTO Packages (hnum, blob) VALUES (?, ?)", rows)
    con.commit()
    con.execute("DELETE FROM Packages WHERE hnum % 3 = 0")
    con.commit()
    con.executemany(
        "INSERT INTO Packages (hnum, blob) VALUES (?, ?)",
        [r for r in rows if r[0] % 3 == 0],
    )
    con.commit()
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def write_bdb(rows, path, page_size, big_endian):
    lorder = 4321 if big_endian else 1234
    fmt = ">I" if big_endian else "<I"
    lines = [
        "VERSION=3",
        "format=bytevalue",
        "type=hash",
        f"db_pagesize={page_size}",
        f"db_lorder={lorder}",
        "HEADER=END",
    ]
    # rpm keeps its next-header-number counter under key 0
    records = [(0, struct.pack(fmt, max(h for h, _ in rows) + 1))]
    records += [(h, bytes(b)) for h, b in rows]
    for key, value in records:
        lines.append(" " + struct.pack(fmt, key).hex())
        lines.append(" " + value.hex())
    lines.append("DATA=END")
    if os.path.exists(path):
        os.remove(path)
    subprocess.run(
        ["db5.3_load", path], input=("\n".join(lines) + "\n").encode(), check=True
    )


def main():
    source, outdir = sys.argv[1], sys.argv[2]
    rows = blobs(source)
    for page_size in (512, 1024, 65536):
        d = os.path.join(outdir, f"sqlite-{page_size}")
        os.makedirs(d, exist_ok=True)
        write_sqlite(rows, os.path.join(d, "rpmdb.sqlite"), page_size, page_size == 65536)
    for page_size in (512, 4096, 65536):
        for big_endian in (False, True):
            d = os.path.join(outdir, f"bdb-{page_size}-{'be' if big_endian else 'le'}")
            os.makedirs(d, exist_ok=True)
            write_bdb(rows, os.path.join(d, "Packages"), page_size, big_endian)


if __name__ == "__main__":
    main()

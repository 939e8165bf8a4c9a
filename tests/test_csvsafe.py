"""CSV cells that a spreadsheet would run as formulas are written as text."""

from __future__ import annotations

import csv
import io

import pytest

from monitor.csvsafe import SafeDictWriter, SafeWriter, safe_cell


@pytest.mark.parametrize(
    "cell, written",
    [
        (
            '=HYPERLINK("http://contoh.invalid","klik")',
            '\'=HYPERLINK("http://contoh.invalid","klik")',
        ),
        ("+62 812 xxxx", "'+62 812 xxxx"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("-3", "-3"),
        ("+5", "+5"),
        ("-0,75", "-0,75"),
        ("KTP belum jadi = lambat", "KTP belum jadi = lambat"),
        ("", ""),
        (7, 7),
    ],
)
def test_formula_cells_get_an_apostrophe_numbers_and_text_do_not(cell, written):
    assert safe_cell(cell) == written


def test_the_writers_neutralise_every_cell_header_included():
    buffer = io.StringIO()
    SafeWriter(buffer).writerows([["id", "text"], ["=1+1", "aman"]])
    dict_buffer = io.StringIO()
    writer = SafeDictWriter(dict_buffer, fieldnames=["@kolom", "text"])
    writer.writeheader()
    writer.writerow({"@kolom": "-2", "text": "+tambah"})
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["id", "text"], ["'=1+1", "aman"]]
    assert list(csv.reader(io.StringIO(dict_buffer.getvalue()))) == [
        ["'@kolom", "text"],
        ["-2", "'+tambah"],
    ]

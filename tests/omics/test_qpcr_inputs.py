"""qPCR input robustness: unreadable files, ambiguous headers, unfittable efficiencies, bad Ct cells in
dilution series, stability exclusions and small groups. Each test names the problem it pins down."""

from __future__ import annotations

import pytest

from skintrial.errors import InputError
from skintrial.omics.qpcr import read_ct, read_qpcr_table

# --- unreadable files -------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "expect", "row"), [
    (b"", "the file is empty", None),
    (b"\xff\xfe\x00\x01garbage\x00", "not UTF-8 text", None),
    (b'sample,group,gene,ct\ns1,a,G,20\ns1,a,T,"25\ns2,b,G,20\n', "EOF inside string starting at row 3", 3),
    (b"sample,group,gene,ct\ns1,a,G,20\ns1,a,T,25,7\n", "Expected 4 fields in line 3", 3),
])
@pytest.mark.parametrize("reader", [read_ct, read_qpcr_table])
def test_unreadable_files_are_input_errors_naming_the_file(tmp_path, content, expect, row, reader):
    p = tmp_path / "ct.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=expect) as err:
        reader(p)
    (problem,) = err.value.problems
    assert problem.file == str(p) and problem.row == row and "save" in problem.fix


# --- two columns meaning one name ---------------------------------------------------------------------


def test_two_columns_meaning_the_same_name_are_refused_naming_both(tmp_path):
    p = tmp_path / "ct.csv"
    p.write_text("Sample,Sample Name,Group,Target Name,Cq,CT\ns1,s1,a,G,20,20\ns2,s2,b,G,20,20\n")
    with pytest.raises(InputError) as err:
        read_ct(p)
    cols = {q.column for q in err.value.problems}
    assert cols == {"Sample, Sample Name", "Cq, CT"}
    assert all(q.file == str(p) and q.row == 1 and "delete the other" in q.fix for q in err.value.problems)

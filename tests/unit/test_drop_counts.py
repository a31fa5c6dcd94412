"""Reading the drop monitor's counters (netscope.trace.drops): the kernel's map as its raw
key/value bytes, decoded; read again and again, unchanged counters are not decoded again."""

from __future__ import annotations

from netscope.trace.drops import CountReader, read_counts
from netscope.trace.events import CDropKey, CDropVal


def entry(netns: int, ifindex: int, reason: int, count: int) -> tuple[CDropKey, CDropVal]:
    key = CDropKey()
    key.netns, key.ifindex, key.reason, key.location = netns, ifindex, reason, 0xffff0000
    val = CDropVal()
    val.count = count
    return key, val


class Table:
    """What bcc's table gives: (key, value) ctypes structures, in one batch or one by one."""

    def __init__(self, entries: list, batch: bool = True) -> None:
        self.entries, self.batch = entries, batch

    def items_lookup_batch(self):
        if not self.batch:
            raise Exception("BPF_MAP_LOOKUP_BATCH has failed: Invalid argument")
        yield from self.entries

    def items(self):
        return list(self.entries)


class Program:
    def __init__(self, table: Table) -> None:
        self.table = table

    def __getitem__(self, name: str) -> Table:
        assert name == "drops"
        return self.table


def test_counters_are_decoded_from_a_batch_or_one_by_one():
    for batch in (True, False):
        table = Table([entry(11, 2, 2, 5), entry(12, 3, 71, 1)], batch=batch)
        counts = read_counts(Program(table))
        assert [(c.netns, c.ifindex, c.reason, c.location, c.count, c.last) for c in counts] == [
            (11, 2, 2, 0xffff0000, 5, None), (12, 3, 71, 0xffff0000, 1, None)]


def test_a_counter_that_did_not_change_is_the_same_object_and_a_changed_one_is_new():
    table = Table([entry(11, 2, 2, 5), entry(12, 3, 71, 1)])
    reader = CountReader(Program(table))
    first = reader.read()
    again = reader.read()
    assert [c.count for c in again] == [5, 1]
    assert again[0] is first[0] and again[1] is first[1]
    table.entries = [entry(11, 2, 2, 5), entry(12, 3, 71, 4), entry(13, 1, 2, 1)]
    third = reader.read()
    assert [(c.netns, c.count) for c in third] == [(11, 5), (12, 4), (13, 1)]
    assert third[0] is first[0] and third[1] is not first[1]
    table.entries = [entry(13, 1, 2, 1)]
    assert [(c.netns, c.count) for c in reader.read()] == [(13, 1)]

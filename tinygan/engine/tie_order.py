"""Which of several equal elements sort and topk return first: PyTorch's order, step by step.

Sorted values are determined by the data, but where elements tie, their indices are not:
PyTorch's CPU kernels hand a row of (value, index) pairs to the C++ standard library, whose
algorithms are not stable, and compare values only ("greater" for descending or largest,
NaN above every number):

    sort, stable=False:   std::sort(row)                  (introsort; stable for <= 16)
    topk, k * 64 <= n:    std::partial_sort(row, row + k, end)                     (a heap)
    topk, otherwise:      std::nth_element(row, row + k - 1, end), then
                          std::sort(row, row + k - 1) when sorted=True   (introselect)

(aten/src/ATen/native/cpu/SortingKernel.cpp, TopKImpl.h). The index order PyTorch returns
for ties is what those algorithms, as GCC's libstdc++ writes them, do to the row. This file
writes them out in Python, move for move, so that tinygan returns the same indices. It runs
only for rows that hold ties and are at most ``LONGEST`` long (sorting.py sorts the others
with NumPy: without ties the order is the values' own; longer rows come in stable order,
one of the orders PyTorch's documentation allows, as replaying them in Python would take
seconds).
"""
from __future__ import annotations

import math
from typing import Callable

Before = Callable[[float, float], bool]   # comp(a, b): a goes before b


LONGEST = 4096   # rows replayed in Python; longer ones take NumPy's stable order


def pytorch_sort_order(values: list, descending: bool) -> list[int]:
    """The indices PyTorch's sort(stable=False) returns for one row of ``values``."""
    row = [(v, i) for i, v in enumerate(values)]
    _sort(row, 0, len(row), _on_values(_before(descending)))
    return [i for _, i in row]


def pytorch_topk_order(values: list, k: int, largest: bool, sorted_: bool) -> list[int]:
    """The indices PyTorch's topk returns for one row of ``values`` (Python floats)."""
    row = [(v, i) for i, v in enumerate(values)]
    comp = _on_values(_before(largest))
    n = len(row)
    if k == 0:
        return []
    if k * 64 <= n:
        _partial_sort(row, 0, k, n, comp)
    else:
        _nth_element(row, 0, k - 1, n, comp)
        if sorted_:
            _sort(row, 0, k - 1, comp)
    return [i for _, i in row[:k]]


def _before(descending: bool) -> Before:
    """PyTorch's comparison: a goes before b (NaN counts as above every number)."""
    if descending:
        return lambda a, b: (math.isnan(a) and not math.isnan(b)) or a > b
    return lambda a, b: (not math.isnan(a) and math.isnan(b)) or a < b


def _on_values(before: Before) -> Callable[[tuple, tuple], bool]:
    return lambda a, b: before(a[0], b[0])


def _lg(n: int) -> int:
    return n.bit_length() - 1


# ---- std::sort: introsort, then a final insertion sort -----------------------------------
_THRESHOLD = 16


def _sort(a: list, first: int, last: int, comp) -> None:
    if first != last:
        _introsort_loop(a, first, last, _lg(last - first) * 2, comp)
        _final_insertion_sort(a, first, last, comp)


def _introsort_loop(a, first, last, depth, comp) -> None:
    while last - first > _THRESHOLD:
        if depth == 0:
            _partial_sort(a, first, last, last, comp)
            return
        depth -= 1
        cut = _unguarded_partition_pivot(a, first, last, comp)
        _introsort_loop(a, cut, last, depth, comp)
        last = cut


def _unguarded_partition_pivot(a, first, last, comp) -> int:
    mid = first + (last - first) // 2
    _move_median_to_first(a, first, first + 1, mid, last - 1, comp)
    return _unguarded_partition(a, first + 1, last, first, comp)


def _move_median_to_first(a, result, i, j, k, comp) -> None:
    if comp(a[i], a[j]):
        if comp(a[j], a[k]):
            a[result], a[j] = a[j], a[result]
        elif comp(a[i], a[k]):
            a[result], a[k] = a[k], a[result]
        else:
            a[result], a[i] = a[i], a[result]
    elif comp(a[i], a[k]):
        a[result], a[i] = a[i], a[result]
    elif comp(a[j], a[k]):
        a[result], a[k] = a[k], a[result]
    else:
        a[result], a[j] = a[j], a[result]


def _unguarded_partition(a, first, last, pivot, comp) -> int:
    while True:
        while comp(a[first], a[pivot]):
            first += 1
        last -= 1
        while comp(a[pivot], a[last]):
            last -= 1
        if not first < last:
            return first
        a[first], a[last] = a[last], a[first]
        first += 1


def _final_insertion_sort(a, first, last, comp) -> None:
    if last - first > _THRESHOLD:
        _insertion_sort(a, first, first + _THRESHOLD, comp)
        for i in range(first + _THRESHOLD, last):
            _unguarded_linear_insert(a, i, comp)
    else:
        _insertion_sort(a, first, last, comp)


def _insertion_sort(a, first, last, comp) -> None:
    if first == last:
        return
    for i in range(first + 1, last):
        if comp(a[i], a[first]):
            value = a[i]
            a[first + 1:i + 1] = a[first:i]
            a[first] = value
        else:
            _unguarded_linear_insert(a, i, comp)


def _unguarded_linear_insert(a, last, comp) -> None:
    value = a[last]
    nxt = last - 1
    while comp(value, a[nxt]):
        a[last] = a[nxt]
        last = nxt
        nxt -= 1
    a[last] = value


# ---- std::nth_element: introselect ------------------------------------------------------
def _nth_element(a, first, nth, last, comp) -> None:
    if first == last or nth == last:
        return
    depth = _lg(last - first) * 2
    while last - first > 3:
        if depth == 0:
            _heap_select(a, first, nth + 1, last, comp)
            a[first], a[nth] = a[nth], a[first]
            return
        depth -= 1
        cut = _unguarded_partition_pivot(a, first, last, comp)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(a, first, last, comp)


# ---- std::partial_sort: a heap of the first k, then the heap sorted ---------------------
def _partial_sort(a, first, middle, last, comp) -> None:
    _heap_select(a, first, middle, last, comp)
    while middle - first > 1:            # std::__sort_heap
        middle -= 1
        _pop_heap(a, first, middle, middle, comp)


def _heap_select(a, first, middle, last, comp) -> None:
    _make_heap(a, first, middle, comp)
    for i in range(middle, last):
        if comp(a[i], a[first]):
            _pop_heap(a, first, middle, i, comp)


def _make_heap(a, first, last, comp) -> None:
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(a, first, parent, length, a[first + parent], comp)
        if parent == 0:
            return
        parent -= 1


def _pop_heap(a, first, last, result, comp) -> None:
    value = a[result]
    a[result] = a[first]
    _adjust_heap(a, first, 0, last - first, value, comp)


def _adjust_heap(a, first, hole, length, value, comp) -> None:
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if comp(a[first + child], a[first + child - 1]):
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2             # std::__push_heap
    while hole > top and comp(a[first + parent], value):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value

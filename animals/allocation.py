"""Randomised allocation of animals to treatment groups: seeded, recorded, re-derivable.

`derive` is pure (standard library only): the same method, seed, animal codes and
baselines always give the same table, so a stored allocation can be checked by anyone.
It uses `random.Random(seed)` (Mersenne Twister; `shuffle` has been stable since
Python 3.2). `allocate` runs it for a study and stores the table in one transaction.

Methods
- simple: the group labels, repeated to equal sizes (the remainder going to randomly
  chosen groups), are shuffled and dealt to the animals in code order.
- block: permuted blocks of `block_size` (a multiple of the number of groups) dealt in
  code order, so group sizes stay balanced as animals are added.
- stratified: animals are sorted by baseline threshold (ties by code) and cut into
  strata of one animal per group; each stratum gets a random permutation of the groups,
  which balances the baseline (T0) across groups as pain studies need.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

METHODS = ("simple", "block", "stratified")


def derive(
    method: str,
    seed: int,
    animal_codes: Sequence[str],
    group_codes: Sequence[str],
    *,
    block_size: int | None = None,
    baselines_g: Mapping[str, float] | None = None,
) -> dict[str, tuple[str, str]]:
    """animal code -> (group code, stratum label) for the given procedure."""
    if method not in METHODS:
        raise ValueError(f"unknown allocation method {method!r}; use one of {', '.join(METHODS)}")
    groups = list(group_codes)
    animals = sorted(animal_codes)
    if len(groups) < 2:
        raise ValueError("allocation needs at least two groups")
    if not animals:
        raise ValueError("there are no animals to allocate")
    if len(set(animals)) != len(animals):
        raise ValueError("animal codes must be unique")
    rng = random.Random(seed)
    k = len(groups)
    if method == "simple":
        labels = groups * (len(animals) // k) + rng.sample(groups, len(animals) % k)
        rng.shuffle(labels)
        return {a: (g, "") for a, g in zip(animals, labels, strict=True)}
    if method == "block":
        size = block_size or k
        if size % k:
            raise ValueError(f"block size {size} is not a multiple of the {k} groups")
        table = {}
        for start in range(0, len(animals), size):
            block = groups * (size // k)
            rng.shuffle(block)
            label = f"block {start // size + 1}"
            for animal, group in zip(animals[start : start + size], block, strict=False):
                table[animal] = (group, label)
        return table
    baselines = dict(baselines_g or {})
    missing = [a for a in animals if baselines.get(a) is None]
    if missing:
        raise ValueError(f"no baseline threshold for {', '.join(missing)}")
    ordered = sorted(animals, key=lambda a: (float(baselines[a]), a))
    table = {}
    for start in range(0, len(ordered), k):
        stratum = ordered[start : start + k]
        labels = rng.sample(groups, len(stratum))
        label = f"stratum {start // k + 1}"
        for animal, group in zip(stratum, labels, strict=True):
            table[animal] = (group, label)
    return table


def size_note(
    method: str,
    group_sizes: Sequence[int],
    *,
    block_size: int | None = None,
) -> str:
    """Why an allocation's groups differ in size, in a lab's words; "" when they are equal.

    Permuted blocks keep groups equal only when the last block is complete: 15 animals in
    blocks of 6 leave a last block of 3, which can go 2/1/0 and give groups of 6/5/4.
    """
    sizes = list(group_sizes)
    if not sizes or max(sizes) == min(sizes):
        return ""
    n, k = sum(sizes), len(sizes)
    shown = "/".join(str(size) for size in sorted(sizes, reverse=True))
    if method == "block":
        size = block_size or k
        rest = n % size
        text = (
            f"{n} animals in blocks of {size}: the last block is incomplete ({rest} of {size} "
            f"animals), so groups are {shown}."
        )
        if n % k:
            return text + f" {n} animals cannot be split equally into {k} groups."
        fitting = [str(b) for b in range(k, n, k) if n % b == 0]
        return text + f" Blocks of {' or '.join(fitting)} would keep them equal."
    if method == "stratified":
        rest = n % k
        return (
            f"{n} animals in strata of {k} (one animal per group): the last stratum has "
            f"{rest} animal{'' if rest == 1 else 's'}, so groups are {shown}."
        )
    return f"{n} animals cannot be split equally into {k} groups, so groups are {shown}."

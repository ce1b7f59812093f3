"""Duplicates: proposals to merge people who share an address or a name; never a merge itself."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .people import Person, name_key


@dataclass(frozen=True)
class MergeProposal:
    """Two rows that look like one person; `other` would be merged into `keep`."""

    keep: Person
    other: Person
    reason: str


def _strength(p: Person) -> tuple[int, int, int]:
    # Keep the richer row: an address-book card over a mail-only one, then the older.
    return (int(p.vcard is not None), len(p.emails) + len(p.phones), -p.id)


def duplicates(
    everyone: Sequence[Person], skip: Collection[frozenset[int]] = ()
) -> list[MergeProposal]:
    """Merge proposals for people who share an address or a name; pairs in `skip` are left out."""
    parent = {p.id: p.id for p in everyone}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    groups: dict[str, list[int]] = {}
    for p in everyone:
        for email in p.emails:
            groups.setdefault("@" + email, []).append(p.id)
        if "@" not in p.name and (key := name_key(p.name)):
            groups.setdefault("n" + key, []).append(p.id)
    for ids in groups.values():
        for other in ids[1:]:
            parent[root(other)] = root(ids[0])
    clusters: dict[int, list[Person]] = {}
    for p in everyone:
        clusters.setdefault(root(p.id), []).append(p)
    proposals = []
    for members in clusters.values():
        if len(members) < 2:
            continue
        keep = max(members, key=_strength)
        for dup in members:
            if dup.id != keep.id and frozenset((keep.id, dup.id)) not in skip:
                proposals.append(MergeProposal(keep, dup, _reason(keep, dup, members)))
    return proposals


def _reason(keep: Person, other: Person, members: Sequence[Person]) -> str:
    for a in (keep, *members):
        if a.id == other.id:
            continue
        shared = sorted(set(a.emails) & set(other.emails))
        if shared:
            return f"both have {shared[0]}" + ("" if a is keep else f" (with {a.name}, #{a.id})")
        if name_key(a.name) == name_key(other.name) and "@" not in a.name:
            return "same name" + ("" if a is keep else f" as {a.name} (#{a.id})")
    return "linked through others in this group"

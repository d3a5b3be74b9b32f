"""The paper model: identity from the normalised title, and merging of repeated sightings.

Dumps carry no arXiv id, so a paper *is* its title. Two dumps that print the same title with
different case, punctuation or spacing still mean the same paper, hence `normalize_title`.
Dumps are partial, time-stamped views of the same pages: merging keeps, field by field, the value
from the newest capture that has it, so a later dump without metadata never wipes metadata and
a later dump with new upvote counts updates them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from vectorstore.documents import PaperDoc

_NON_WORD = re.compile(r"[\W_]+")
_NON_WORD_ASCII = re.compile(r"[^0-9a-z]+")


def normalize_title(title: str) -> str:
    """Fold what differs between two printings of the same title: unicode forms, case,
    punctuation and whitespace (so "Self-Taught  Evaluators" == "self taught evaluators")."""
    if title.isascii():  # fast path with the same result: NFKC and casefold are no-ops
        return _NON_WORD_ASCII.sub(" ", title.lower()).strip()
    text = unicodedata.normalize("NFKC", title).casefold()
    return _NON_WORD.sub(" ", text).strip()


def make_paper_id(title: str) -> str:
    """A short id that is stable across runs and machines (a hash, not a counter)."""
    return "p" + hashlib.sha1(normalize_title(title).encode("utf-8")).hexdigest()[:15]


@dataclass
class Paper:
    """One paper as parsing and merging see it: typed fields, None when no dump gave them.

    It exists beside the store's PaperDoc because merging sightings needs real dates and
    field groups, while the store needs flat, Chroma-safe metadata; `to_doc`/`from_doc` are the
    one crossing point between the two.

    `captured` is the capture date of the dump the metadata came from; `captured_inferred` says
    whether that date's year was inferred rather than given by the user.
    """

    paper_id: str
    title: str
    abstract: str
    published: date | None = None
    published_inferred: bool = False
    authors_count: int | None = None
    org_handle: str | None = None
    org: str | None = None
    upvotes: int | None = None
    captured: date | None = None
    dumps: list[str] = field(default_factory=list)
    captured_inferred: bool = False

    @classmethod
    def new(cls, title: str, abstract: str, **fields: Any) -> Paper:
        """Build a paper whose id is derived from its title (the only way ids should be made)."""
        return cls(paper_id=make_paper_id(title), title=title, abstract=abstract, **fields)

    def to_doc(self) -> PaperDoc:
        """The store's view; missing values are left out because Chroma cannot hold None."""
        meta: dict[str, Any] = {}
        if self.published is not None:
            meta["published"] = self.published.isoformat()
            meta["published_ts"] = int(self.published.strftime("%Y%m%d"))
            meta["year"] = self.published.year
            meta["published_inferred"] = self.published_inferred
        optional = {
            "org": self.org,
            "org_handle": self.org_handle,
            "upvotes": self.upvotes,
            "authors_count": self.authors_count,
        }
        meta.update({k: v for k, v in optional.items() if v is not None})
        if self.captured is not None:
            meta["captured"] = self.captured.isoformat()
            meta["captured_inferred"] = self.captured_inferred
        if self.dumps:
            meta["dumps"] = sorted(set(self.dumps))
        return PaperDoc(self.paper_id, self.title, self.abstract, meta)

    @classmethod
    def from_doc(cls, doc: PaperDoc) -> Paper:
        """Inverse of `to_doc`, so indexed papers can be merged with newly parsed ones."""
        meta = doc.metadata
        published = _iso_date(meta.get("published"))
        captured = _iso_date(meta.get("captured"))
        return cls(
            paper_id=doc.paper_id,
            title=doc.title,
            abstract=doc.abstract,
            published=published,
            published_inferred=bool(meta.get("published_inferred", False)) and bool(published),
            authors_count=_opt_int(meta.get("authors_count")),
            org_handle=meta.get("org_handle"),
            org=meta.get("org"),
            upvotes=_opt_int(meta.get("upvotes")),
            captured=captured,
            dumps=list(meta.get("dumps") or []),
            captured_inferred=bool(meta.get("captured_inferred", False)) and bool(captured),
        )


# Fields that travel together: an org's handle belongs with its display name, a date with the
# flag saying whether its year was inferred.
_FIELD_GROUPS: tuple[tuple[str, ...], ...] = (
    ("title",),
    ("abstract",),
    ("published", "published_inferred"),
    ("authors_count",),
    ("org_handle", "org"),
    ("upvotes",),
)
_METADATA_GROUPS = _FIELD_GROUPS[2:]


def merge_papers(existing: Iterable[Paper], observations: Iterable[Paper]) -> list[Paper]:
    """Merge sightings of the same paper (same id) into one paper each.

    Per field, the newest capture that has the field wins (None counts as oldest; on a tie the
    later sighting wins, so `observations` override `existing`). Dumps are unioned. Order: papers
    in order of first sighting.
    """
    groups: dict[str, list[Paper]] = {}
    for paper in [*existing, *observations]:
        groups.setdefault(paper.paper_id, []).append(paper)
    return [_merge_group(sightings) for sightings in groups.values()]


def _merge_group(sightings: list[Paper]) -> Paper:
    if len(sightings) == 1:
        return replace(sightings[0], dumps=sorted(set(sightings[0].dumps)))
    # Stable sort: equal capture dates keep their input order, so the later one ends up last.
    ordered = sorted(sightings, key=lambda p: p.captured or date.min)
    merged = replace(ordered[-1], dumps=sorted({d for p in sightings for d in p.dumps}))
    for names in _FIELD_GROUPS:
        source = _newest_with(ordered, names[0])
        if source is not None:
            for name in names:
                setattr(merged, name, getattr(source, name))
    meta_sources = [
        p for p in ordered if any(getattr(p, g[0]) is not None for g in _METADATA_GROUPS)
    ]
    capture_source = meta_sources[-1] if meta_sources else ordered[-1]
    merged.captured = capture_source.captured
    merged.captured_inferred = capture_source.captured_inferred
    return merged


def _newest_with(ordered: list[Paper], name: str) -> Paper | None:
    for paper in reversed(ordered):
        value = getattr(paper, name)
        if value is not None and value != "":
            return paper
    return None


def _iso_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)

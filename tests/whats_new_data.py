"""A dump of three new papers for the What's new / saved questions / trends tests.

Two are about satellite altimetry of ice (they must share a topic), one is about protein design
(it must not join them). None of them is in the sample dumps. Each abstract opens with a
background sentence, so picking the contribution sentence is tested, not the first one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

GLACIER = (
    "Glacier Flow Forecasting with Sparse Satellite Altimetry and Physics-Informed Transformers"
)
SEA_ICE = "Sea Ice Thickness Retrieval from Radar Altimetry with Diffusion Priors"
PROTEIN = "Protein Backbone Design with Equivariant Flow Matching"
NEW_TITLES = {GLACIER, SEA_ICE, PROTEIN}

GLACIER_CONTRIBUTION = (
    "We propose GlacierFormer, a physics-informed transformer that forecasts glacier surface "
    "velocity from sparse satellite altimetry while respecting ice mass conservation."
)
SEA_ICE_CONTRIBUTION = (
    "We introduce a diffusion prior for retrieving Arctic sea ice thickness from radar "
    "altimetry tracks."
)
PROTEIN_CONTRIBUTION = (
    "We present FoldFlow-X, an SE(3)-equivariant flow matching model that designs protein "
    "backbones for a target binding site."
)

ENTRIES = [
    (
        GLACIER,
        "Mountain glaciers are retreating, and their flow is observed only sparsely. "
        f"{GLACIER_CONTRIBUTION} On 40 Himalayan glaciers it halves the error of kriging "
        "baselines.",
        "  • 3 authors\n·\nNov 30 12",
    ),
    (
        SEA_ICE,
        "Sea ice thickness is hard to observe from space. "
        f"{SEA_ICE_CONTRIBUTION} It reduces retrieval error by a third against optimal "
        "interpolation on CryoSat-2 tracks.",
        "  • 5 authors\n·\nNov 28 30",
    ),
    (
        PROTEIN,
        "Designing protein backbones that bind a given site remains costly. "
        f"{PROTEIN_CONTRIBUTION} Designed binders fold in silico at twice the rate of "
        "diffusion baselines.",
        "  • 7 authors\n·\nNov 27 5",
    ),
]

HEADER = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\n"
    "byAK and the research community\n\nDec 8\n\n"
)

GLACIER_QUESTION = "How is glacier surface velocity forecast from satellite altimetry?"
FACES_QUESTION = "Which papers swap faces in videos?"


# When the dump was saved. Its header prints "Dec 8" without a year, and the parser infers the
# year from the file's modification time (the most recent Dec 8 not after it): left at "now",
# the papers' dates would move a year every Dec 8, and the tests with them.
SAVED_AT = datetime(2025, 12, 8, 12, 0, tzinfo=UTC).timestamp()


def write_new_dump(path: Path) -> Path:
    """The three-paper dump, captured Dec 8, 2025 (metadata lines included)."""
    blocks = [f"{title}\n\n{abstract}\n\n{meta}" for title, abstract, meta in ENTRIES]
    path.write_text(HEADER + "\n\n".join(blocks) + "\n", encoding="utf-8")
    os.utime(path, (SAVED_AT, SAVED_AT))
    return path


def news_assistant(master: Path, home: Path, embedder, *, saved: tuple[str, ...] = ()):
    """An assistant on a private copy of the indexed sample, with `saved` questions saved."""
    import shutil

    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    shutil.copytree(master, home)
    ra = ResearchAssistant(Settings(home=home, reranker="none"))
    ra.__dict__["embedder"] = embedder
    for question in saved:
        ra.saved_add(question)
    return ra


def serve(ra):
    """The UI over `ra` on a free local port (close it with .close())."""
    from conftest import free_port

    from ui.app import launch

    return launch(ra, port=free_port(), prevent_thread_lock=True, quiet=True)

"""Grouping face descriptors into people, keeping what the user decided.

Two steps, as Immich does it: a new face joins the person of its nearest known face when it is
close enough (:func:`assign`, cheap, run as faces arrive), and a periodic re-cluster over every
face (:func:`recluster`, scikit-learn's DBSCAN) finds new people among the unknown faces. The
re-cluster never undoes the user: a face the user confirmed stays with its person, a face the
user took out of a person never goes back to it, and each new cluster keeps the person (and so
the name) most of its faces had. A cluster smaller than ``min_faces`` is no person: its faces
stay unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

EPS = 0.5
"""Neighbourhood radius of DBSCAN (Euclidean, dlib descriptors): tighter than dlib's 0.6 for
one pair, because DBSCAN chains neighbours (docs/people.md measures it)."""
MIN_FACES = 3
"""Faces a cluster needs to become a person (Immich's default): two look-alike strangers do
not make a person."""
JOIN = 0.5
"""Distance under which a new face joins the person of its nearest known face."""


@dataclass(frozen=True)
class FaceState:
    """One face as the clustering sees it: its person now, whether the user put it there
    (``locked``), and the people the user took it out of (``rejected``)."""

    id: int
    person: int | None = None
    locked: bool = False
    rejected: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class NewPerson:
    """A person the re-cluster found: ``key`` tells new people of one run apart."""

    key: int


def assign(
    vectors: npt.NDArray[np.float32],
    known: npt.NDArray[np.float32],
    known_people: Sequence[int],
    *,
    rejected: Sequence[frozenset[int]] | None = None,
    join: float = JOIN,
) -> list[int | None]:
    """For each row of ``vectors``, the person of its nearest row in ``known`` (whose people
    are ``known_people``) when nearer than ``join`` and not rejected for it; else None."""
    if len(vectors) == 0:
        return []
    if len(known) == 0:
        return [None] * len(vectors)
    from sklearn.neighbors import NearestNeighbors  # a second to import: only when grouping

    k = min(len(known), 5)
    finder = NearestNeighbors(n_neighbors=k).fit(known)
    distances, rows = finder.kneighbors(vectors)
    answer: list[int | None] = []
    for i in range(len(vectors)):
        refused = rejected[i] if rejected is not None else frozenset()
        chosen = None
        for distance, row in zip(distances[i], rows[i], strict=True):
            if distance >= join:
                break
            if known_people[row] not in refused:
                chosen = known_people[row]
                break
        answer.append(chosen)
    return answer


def recluster(
    vectors: npt.NDArray[np.float32],
    faces: Sequence[FaceState],
    *,
    eps: float = EPS,
    min_faces: int = MIN_FACES,
) -> list[int | NewPerson | None]:
    """Each face's person after a re-cluster over all of them: an existing person's id, a
    :class:`NewPerson`, or None (unknown). ``vectors`` row ``i`` is ``faces[i]``."""
    if len(faces) == 0:
        return []
    from sklearn.cluster import DBSCAN

    labels = DBSCAN(eps=eps, min_samples=min_faces).fit_predict(vectors)
    answer: list[int | NewPerson | None] = [f.person if f.locked else None for f in faces]
    locked_rows = [i for i, f in enumerate(faces) if f.locked and f.person is not None]
    for label in sorted(set(labels.tolist()) - {-1}):
        rows: list[int] = np.flatnonzero(labels == label).tolist()
        members = [i for i in rows if not faces[i].locked]
        cluster_locked = [i for i in rows if faces[i].locked]
        owners = {faces[i].person for i in cluster_locked if faces[i].person is not None}
        if len(owners) > 1:
            # the user put people of this cluster apart: each face goes with its nearest
            # confirmed face among them
            anchors = [i for i in cluster_locked if faces[i].person is not None]
            for i in members:
                gaps = np.linalg.norm(vectors[anchors] - vectors[i], axis=1)
                answer[i] = faces[anchors[int(np.argmin(gaps))]].person
        else:
            votes = Counter(faces[i].person for i in cluster_locked if faces[i].person is not None)
            for person, count in Counter(
                faces[i].person for i in members if faces[i].person is not None
            ).items():
                votes[person] += count
            person = _winner(votes)
            chosen: int | NewPerson = NewPerson(int(label)) if person is None else person
            for i in members:
                answer[i] = chosen
    _keep_near_locked(vectors, faces, answer, locked_rows, eps)
    for i, face in enumerate(faces):
        if isinstance(answer[i], int) and answer[i] in face.rejected:
            answer[i] = None
    return answer


def _winner(votes: Counter[int | None]) -> int | None:
    """The person with most votes (the lowest id on a tie), or None without votes."""
    ranked = sorted(((-n, p) for p, n in votes.items() if p is not None))
    return ranked[0][1] if ranked else None


def _keep_near_locked(
    vectors: npt.NDArray[np.float32],
    faces: Sequence[FaceState],
    answer: list[int | NewPerson | None],
    locked_rows: list[int],
    eps: float,
) -> None:
    """A face DBSCAN left as noise still joins a confirmed person it lies within ``eps`` of:
    the user's few named faces make a person even when they are fewer than ``min_faces``."""
    if not locked_rows:
        return
    loose = [i for i, a in enumerate(answer) if a is None and not faces[i].locked]
    if not loose:
        return
    people = [faces[i].person for i in locked_rows]
    found = assign(
        vectors[loose],
        vectors[locked_rows],
        [p for p in people if p is not None],
        rejected=[faces[i].rejected for i in loose],
        join=eps,
    )
    for i, person in zip(loose, found, strict=True):
        answer[i] = person


def bcubed(truth: Sequence[object], predicted: Sequence[object | None]) -> tuple[float, float]:
    """BCubed precision and recall of a clustering (``None`` predicted: a face of its own)."""
    n = len(truth)
    if n == 0:
        return 1.0, 1.0
    own = [p if p is not None else ("alone", i) for i, p in enumerate(predicted)]
    precision = recall = 0.0
    for i in range(n):
        same_cluster = [j for j in range(n) if own[j] == own[i]]
        same_truth = [j for j in range(n) if truth[j] == truth[i]]
        both = sum(1 for j in same_cluster if truth[j] == truth[i])
        precision += both / len(same_cluster)
        recall += both / len(same_truth)
    return precision / n, recall / n

"""Grouping faces: new faces join near people, re-clusters keep what the user decided."""

from __future__ import annotations

import numpy as np

from photosense.people.clusters import FaceState, NewPerson, assign, bcubed, recluster
from tests.people.fakes import descriptor


def _faces(*groups: int, each: int = 3) -> np.ndarray:
    return np.stack([descriptor(g, 0.01 * k) for g in groups for k in range(each)])


def test_recluster_makes_people_of_close_faces_and_leaves_small_groups_unknown() -> None:
    vectors = np.concatenate([_faces(0, 1), _faces(2, each=2)])
    answer = recluster(vectors, [FaceState(i) for i in range(len(vectors))])
    assert isinstance(answer[0], NewPerson) and answer[0] == answer[1] == answer[2]
    assert isinstance(answer[3], NewPerson) and answer[3] != answer[0]
    assert answer[6:] == [None, None]  # two faces are not a person


def test_recluster_keeps_names_locks_and_rejections() -> None:
    vectors = _faces(0, 1)
    faces = [
        FaceState(0, person=7, locked=True),  # the user named this face's person
        FaceState(1, person=None),
        FaceState(2, person=None, rejected=frozenset({7})),  # the user took it out of 7
        FaceState(3, person=9),
        FaceState(4, person=9),
        FaceState(5, person=8, locked=True),  # the user moved it: stays though DBSCAN disagrees
    ]
    answer = recluster(vectors, faces)
    assert answer[0] == 7 and answer[1] == 7
    assert answer[2] is None
    assert answer[3] == answer[4] == 9
    assert answer[5] == 8


def test_a_cluster_holding_two_confirmed_people_is_shared_by_nearness() -> None:
    vectors = np.stack(
        [descriptor(0), descriptor(0, 0.05), descriptor(0, 0.3), descriptor(0, 0.35)]
    )
    faces = [FaceState(0, 1, True), FaceState(1), FaceState(2), FaceState(3, 2, True)]
    answer = recluster(vectors, faces, eps=0.5, min_faces=2)
    assert answer == [1, 1, 2, 2]


def test_assign_joins_the_nearest_person_unless_too_far_or_rejected() -> None:
    known = np.stack([descriptor(0), descriptor(1)])
    new = np.stack([descriptor(0, 0.1), descriptor(1, 0.1), descriptor(5)])
    assert assign(new, known, [3, 4]) == [3, 4, None]
    assert assign(new[:1], known, [3, 4], rejected=[frozenset({3})]) == [None]
    assert assign(new, known[:0], []) == [None, None, None]


def test_bcubed() -> None:
    assert bcubed(["a", "a", "b"], [1, 1, 2]) == (1.0, 1.0)
    precision, recall = bcubed(["a", "a", "b"], [1, 1, 1])
    assert recall == 1.0 and precision < 1.0
    precision, recall = bcubed(["a", "a"], [None, None])
    assert precision == 1.0 and recall == 0.5

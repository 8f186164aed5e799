"""Who may read what: one rule for the dashboard, "my tasks" and any other read-only view.

A person may read a collaboration when they are an admin, take part in it (initiator, tracker, reviewer,
decision maker, owner, collaborator or reviewer of a subtask, head of a department asked), or belong to
the initiator's department or to a department asked (not withdrawn). Nothing else: another department's
collaborations stay out of sight.
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.expressions import Q

from storage.models import Collaboration, Person, RequestedDepartment, Subtask


async def visible_collaboration_ids(person: Person) -> set[int] | None:
    """The ids of the collaborations ``person`` may read; ``None`` means all of them (an admin)."""
    if person.is_admin:
        return None
    pid = person.id
    roles = Q(initiator_id=pid) | Q(tracker_id=pid) | Q(reviewer_id=pid) | Q(decision_maker_id=pid)
    if person.department_id is not None:
        roles |= Q(initiator__department_id=person.department_id)
    ids: set[int] = set(await Collaboration.filter(roles).values_list("id", flat=True))  # type: ignore[arg-type]
    asked = Q(department__head_id=pid)
    if person.department_id is not None:
        asked |= Q(department_id=person.department_id)
    ids.update(await RequestedDepartment.filter(asked).exclude(state="withdrawn").values_list("collaboration_id", flat=True))  # type: ignore[arg-type]
    ids.update(await Subtask.filter(Q(owner_id=pid) | Q(reviewer_id=pid)).values_list("collaboration_id", flat=True))  # type: ignore[arg-type]
    for collab_id, collaborators in await Subtask.exclude(collaboration_id__in=list(ids)).values_list("collaboration_id", "collaborators"):
        if pid in {int(p) for p in collaborators or []}:
            ids.add(int(collab_id))
    return ids


async def can_see(person: Person, collaboration_id: int) -> bool:
    """Whether ``person`` may read the collaboration (see the module docstring)."""
    visible = await visible_collaboration_ids(person)
    return visible is None or collaboration_id in visible


def only_visible(visible: set[int] | None, ids: Iterable[int]) -> list[int]:
    """``ids`` that lie within ``visible`` (``None`` = everything), in their order."""
    return [i for i in ids if visible is None or i in visible]

"""Load the organisation directory from the config file: departments, heads, superiors, people, identities, groups.

Idempotent: run at every start. Records are matched by their config id
(person ``handle``, department ``code``, group ``(platform, id)``) and
updated in place; nothing the config does not mention is deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import Config, DepartmentEntry, GroupEntry, PersonEntry
from storage.db import transaction
from storage.models import Department, Group, Identity, Person


async def _department(entry: DepartmentEntry) -> Department:
    dept = await Department.filter(code=entry.code).first()
    if dept is None:
        return await Department.create(code=entry.code, name=entry.name)
    dept.name = entry.name
    await dept.save(update_fields=["name"])
    return dept


async def _person(entry: PersonEntry, departments: dict[str, Department], now: datetime) -> Person:
    values: dict[str, Any] = {
        "name": entry.name,
        "email": entry.email,
        "locale": entry.locale,
        "timezone": entry.timezone,
        "is_admin": entry.admin,
        "department_id": departments[entry.department].id if entry.department else None,
    }
    person = await Person.filter(handle=entry.id).first()
    if person is None:
        person = await Person.create(handle=entry.id, created_at=now, **values)
    else:
        person.update_from_dict(values)
        await person.save()
    for platform, user_id in entry.identities.items():
        identity = await Identity.filter(platform=platform, platform_user_id=user_id).first()
        if identity is None:
            await Identity.create(person=person, platform=platform, platform_user_id=user_id)
        elif identity.person_id != person.id:
            identity.person_id = person.id
            await identity.save(update_fields=["person_id"])
    return person


async def _group(entry: GroupEntry, now: datetime) -> None:
    group = await Group.filter(platform=entry.platform, conversation_id=entry.id).first()
    values: dict[str, Any] = {"name": entry.name, "locale": entry.locale, "timezone": entry.timezone}
    if group is None:
        await Group.create(platform=entry.platform, conversation_id=entry.id, created_at=now, **values)
    else:
        group.update_from_dict(values)
        await group.save()


async def sync_directory(config: Config, now: datetime) -> None:
    async with transaction():
        departments = {entry.code: await _department(entry) for entry in config.departments}
        people = {entry.id: await _person(entry, departments, now) for entry in config.people}
        for person_entry in config.people:
            if person_entry.superior:
                person = people[person_entry.id]
                person.superior_id = people[person_entry.superior].id
                await person.save(update_fields=["superior_id"])
        for dept_entry in config.departments:
            dept = departments[dept_entry.code]
            dept.head_id = people[dept_entry.head].id if dept_entry.head else None
            dept.superior_id = people[dept_entry.superior].id if dept_entry.superior else None
            await dept.save(update_fields=["head_id", "superior_id"])
        for group_entry in config.groups:
            await _group(group_entry, now)

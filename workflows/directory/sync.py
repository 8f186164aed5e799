"""Load the organisation directory from the config file: departments, heads, superiors, people, identities, groups.

Idempotent: run at every start. Records are matched by their config id
(person ``handle``, department ``code``, group ``(platform, id)``) and
updated in place; nothing the config does not mention is deleted.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from storage.db import transaction
from storage.models import Department, Group, Identity, Person


async def sync_directory(config: Config, now: datetime) -> None:
    async with transaction():
        departments: dict[str, Department] = {}
        for entry in config.departments:
            dept = await Department.filter(code=entry.code).first()
            if dept is None:
                dept = await Department.create(code=entry.code, name=entry.name)
            else:
                dept.name = entry.name
                await dept.save(update_fields=["name"])
            departments[entry.code] = dept
        people: dict[str, Person] = {}
        for entry in config.people:
            person = await Person.filter(handle=entry.id).first()
            values = {
                "name": entry.name,
                "email": entry.email,
                "locale": entry.locale,
                "timezone": entry.timezone,
                "is_admin": entry.admin,
                "department_id": departments[entry.department].id if entry.department else None,
            }
            if person is None:
                person = await Person.create(handle=entry.id, created_at=now, **values)
            else:
                person.update_from_dict(values)
                await person.save()
            people[entry.id] = person
            for platform, user_id in entry.identities.items():
                identity = await Identity.filter(platform=platform, platform_user_id=user_id).first()
                if identity is None:
                    await Identity.create(person=person, platform=platform, platform_user_id=user_id)
                elif identity.person_id != person.id:
                    identity.person_id = person.id
                    await identity.save(update_fields=["person_id"])
        for entry in config.people:
            if entry.superior:
                person = people[entry.id]
                person.superior_id = people[entry.superior].id
                await person.save(update_fields=["superior_id"])
        for entry in config.departments:
            dept = departments[entry.code]
            dept.head_id = people[entry.head].id if entry.head else None
            dept.superior_id = people[entry.superior].id if entry.superior else None
            await dept.save(update_fields=["head_id", "superior_id"])
        for entry in config.groups:
            group = await Group.filter(platform=entry.platform, conversation_id=entry.id).first()
            if group is None:
                await Group.create(
                    platform=entry.platform,
                    conversation_id=entry.id,
                    name=entry.name,
                    locale=entry.locale,
                    timezone=entry.timezone,
                    created_at=now,
                )
            else:
                group.update_from_dict({"name": entry.name, "locale": entry.locale, "timezone": entry.timezone})
                await group.save()

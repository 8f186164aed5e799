"""The simulator as a platform: its "server" is a table of chat messages and a JSON API (``web.py``).

It plays one or more platform names (``[simulator] platforms``), so a
collaboration bound to groups on two "platforms" can be tried locally.
"""

from __future__ import annotations

from bot.config import Config
from bot.platform import Capabilities, Delivery, Pace, Receipt, Runtime
from bot.types import Text
from storage.models import SimulatorMessage

from .inbound import dm_conversation
from .render import render


class SimulatorPlatform:
    capabilities = Capabilities(cards=True, card_update=True, forms=True, ephemeral=True, direct_messages=True)

    def __init__(self, name: str = "simulator", *, serve_api: bool = True):
        self.name = name
        self.serve_api = serve_api
        self.runtime: Runtime | None = None

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        if self.serve_api and runtime.web is not None:
            from .web import SimulatorApi

            SimulatorApi.mount(runtime)

    async def stop(self) -> None:
        return None

    def pace(self, delivery: Delivery) -> list[Pace]:
        return []

    async def deliver(self, delivery: Delivery) -> Receipt:
        now = self.runtime.clock.now() if self.runtime else None
        content = render(delivery.content, delivery.mentions)
        if delivery.kind == "edit" and delivery.message_ref:
            message = await SimulatorMessage.get_or_none(id=int(delivery.message_ref))
            if message is not None:
                message.content = content
                message.version += 1
                if now:
                    message.updated_at = now
                await message.save(update_fields=["content", "version", "updated_at"])
                return Receipt(delivery.message_ref)
        ephemeral = isinstance(delivery.content, Text) and delivery.content.ephemeral
        assert now is not None
        conversation = delivery.conversation.id
        if delivery.conversation.is_direct and delivery.recipient:
            conversation = dm_conversation(delivery.recipient)
        message = await SimulatorMessage.create(
            platform=self.name,
            conversation_id=conversation,
            sender="bot",
            recipient=delivery.recipient if ephemeral and not delivery.conversation.is_direct else None,
            content=content,
            created_at=now,
            updated_at=now,
        )
        return Receipt(str(message.id))


def build(config: Config) -> list[SimulatorPlatform] | None:
    if not config.simulator.enabled:
        return None
    names = config.simulator.platforms or ["simulator"]
    return [SimulatorPlatform(name, serve_api=index == 0) for index, name in enumerate(names)]

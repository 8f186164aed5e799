"""The self-built app (自建应用) as a sender: ``message/send`` (markdown, template cards, images and files
after ``media/upload``) and card updates with the single-use ``response_code``."""

from __future__ import annotations

import dataclasses
import logging
import os

from bot.errors import RateLimited, TransientError
from bot.platform import Delivery, Receipt
from bot.types import Card, FileContent

from . import inbound as parse
from .client import WeComAPIError, classify
from .common import WeComState, task_base
from .render import APP_MARKDOWN_BYTES, CannotRender, Rendered, card_markdown, template_card

log = logging.getLogger("collabbot.wecom")

# what ``media/upload`` takes (WeCom's "上传临时素材": an image up to 10 MB, a file up to 20 MB)
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024


class AppSender(WeComState):
    """Personal messages through the app when ``direct_messages = "app"`` (or the app's own chat)."""

    def _app_user(self, delivery: Delivery) -> str:
        return (delivery.recipient or delivery.conversation.id).removeprefix(parse.APP_PREFIX)

    async def _app_post(self, delivery: Delivery, task_id: str) -> Receipt:
        assert self.app is not None
        user = self._app_user(delivery)
        rendered = self._render(delivery, task_id, self.app_options)
        try:
            result = await self.app.send(user, rendered.body())
        except WeComAPIError as exc:
            error = classify(exc)
            if rendered.msgtype != "template_card" or isinstance(error, TransientError | RateLimited):
                raise error from exc
            log.warning("WeCom refused the app's template card (%s); sending markdown", exc)
            text_ = card_markdown(delivery.content, locale=delivery.locale, mentions=delivery.mentions, limit=APP_MARKDOWN_BYTES)  # type: ignore[arg-type]
            try:
                await self.app.send(user, Rendered("markdown", text_).body())
            except WeComAPIError as again:
                raise classify(again) from again
            return Receipt(f"{parse.APP_PREFIX}{task_id}:")
        if isinstance(delivery.content, Card):
            return Receipt(f"{parse.APP_PREFIX}{task_id}:{result.response_code}")
        return Receipt(None)

    async def _app_file(self, delivery: Delivery, file: FileContent) -> Receipt:
        """Through the self-built app: the caption, then the uploaded image or file (one larger than WeCom takes:
        a text saying where to get it)."""
        assert self.app is not None
        user = self._app_user(delivery)
        kind = "image" if file.is_image else "file"
        try:
            instead = file.in_place_of_oversize(MAX_IMAGE_BYTES if file.is_image else MAX_FILE_BYTES)
            if instead is not None:
                await self.app.send(user, Rendered("markdown", str(instead.body)).body())
                return Receipt(None)
            if file.caption:
                await self.app.send(user, Rendered("markdown", str(file.caption)).body())
            media_id = await self.app.upload_media(kind, file.filename, file.data, file.mime)
            await self.app.send(user, {"msgtype": kind, kind: {"media_id": media_id}})
        except WeComAPIError as exc:
            raise classify(exc) from exc
        return Receipt(None)

    async def _app_edit(self, delivery: Delivery, ref: str) -> Receipt:
        assert self.app is not None
        task_id, _, sent_code = ref[len(parse.APP_PREFIX) :].partition(":")
        base = task_base(task_id)
        click = self._live_click(ref)
        codes = [click.response_code] if click is not None and click.via == "app" else []
        codes.append(sent_code)
        if isinstance(delivery.content, Card):
            try:
                card = template_card(
                    delivery.content,
                    task_id=click.task_id if click else task_id,
                    locale=delivery.locale,
                    mentions=delivery.mentions,
                    update=True,
                    options=self.app_options,
                )
            except CannotRender:
                codes = []
            for code in codes:
                if not self._spend(code):
                    continue
                try:
                    await self.app.update_template_card([self._app_user(delivery)], code, card)
                    if click is not None:
                        click.used = True
                    return Receipt(ref)
                except WeComAPIError as exc:
                    error = classify(exc)
                    if isinstance(error, TransientError | RateLimited):
                        raise error from exc
                    log.info("WeCom refused the app card update (%s)", exc)
        receipt = await self._app_post(dataclasses.replace(delivery, kind="post"), f"{base}-{os.urandom(3).hex()}")
        return Receipt(receipt.message_ref or ref)

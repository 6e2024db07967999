"""The local preview channel: posts land in `instance/outbox.jsonl`, nothing leaves the machine."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from ..campaigns.fitting import rules_for
from ..errors import RetryableError
from .base import OutgoingPost, PublishResult, text_problems


class OutboxChannel:
    """Appends one JSON line per published post, fsynced, under an exclusive file lock."""

    def __init__(self, name: str, network: str, path: Path):
        self.name = name
        self.network = network
        self.rules = rules_for(network)
        self.path = path

    def validate(self, post: OutgoingPost) -> list[str]:
        """The network's length rule, applied exactly as the real network would."""
        return text_problems(post.text, self.network)

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Append the post to the outbox file."""
        record = {
            "id": f"outbox-{post.post_id}",
            "post_id": post.post_id,
            "attempt_id": post.attempt_id,
            "idempotency_key": post.idempotency_key,
            "channel": self.name,
            "network": self.network,
            "event_id": post.event_id,
            "event": post.event_title,
            "step": post.step,
            "scheduled_at": post.scheduled_at.isoformat(),
            "text": post.text,
            "link": post.link,
            "image": post.image_url,
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise RetryableError(f"{self.name}: cannot write {self.path}: {exc.strerror}") from None
        return PublishResult(external_id=f"outbox-{post.post_id}", url=None)

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """Look for the post's idempotency key in the file: the file is the truth, so the answer is sure."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue  # a torn last line from a crash mid-write: that write did not happen
                    if rec.get("idempotency_key") == post.idempotency_key and rec.get("channel") == self.name:
                        return PublishResult(external_id=str(rec["id"]))
        except FileNotFoundError:
            return None
        return None

    def close(self) -> None:
        """Nothing to release: the file is opened per post."""

"""Seq assignment under real concurrency: threads with their own database connections."""

import threading
import uuid

import pytest
from django.db import connection

from chat.models import Message
from chat.services.messages import message_post
from tests.factories import UserFactory, make_room

THREADS = 8
POSTS_PER_THREAD = 200


def _run_in_threads(worker, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            worker(index)
        except BaseException as error:  # every failure is asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_get_seqs_one_to_n_without_gaps_or_duplicates() -> None:
    users = [UserFactory() for _ in range(THREADS)]
    room = make_room(members=users)
    first_seq = room.last_seq + 1

    def post_many(index: int) -> None:
        for n in range(POSTS_PER_THREAD):
            message_post(users[index], room_id=room.public_id, body=f"{index}:{n}")

    assert _run_in_threads(post_many, THREADS) == []

    texts = Message.objects.filter(room=room, kind=Message.Kind.TEXT)
    seqs = list(texts.order_by("seq").values_list("seq", flat=True))
    total = THREADS * POSTS_PER_THREAD
    assert seqs == list(range(first_seq, first_seq + total))
    assert texts.values("body").distinct().count() == total
    room.refresh_from_db()
    assert room.last_seq == first_seq + total - 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_client_id_create_one_message() -> None:
    user = UserFactory()
    room = make_room(members=[user])
    client_id = str(uuid.uuid4())
    seqs: list[int] = []

    def retry(index: int) -> None:
        message = message_post(
            user, room_id=room.public_id, body=f"try {index}", client_id=client_id
        )
        seqs.append(message.seq)

    assert _run_in_threads(retry, THREADS) == []
    assert Message.objects.filter(author=user, client_id=client_id).count() == 1
    assert len(set(seqs)) == 1

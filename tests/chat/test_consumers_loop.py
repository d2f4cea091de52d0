"""chat.consumers.loop: one reader per source, handlers one at a time, clean endings."""

import asyncio

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from chat.consumers.loop import OneReaderPerSource

log: list[str] = []


class Recorder(OneReaderPerSource, AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data=self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "stop":
            raise StopConsumer()
        if text_data == "slow stop":  # a disconnect handler: it leaves groups, then stops
            await asyncio.sleep(0.2)
            raise StopConsumer()
        if text_data == "fail":
            raise RuntimeError("handler failed")
        log.append(f"start {text_data}")
        await asyncio.sleep(0.2)  # a slow command: a database call, say
        log.append(f"end {text_data}")
        await self.send(text_data=f"done {text_data}")

    async def test_event(self, event: dict) -> None:
        log.append(f"event {event['n']}")
        await self.send(text_data=f"event {event['n']}")


async def open_recorder() -> tuple[WebsocketCommunicator, str]:
    communicator = WebsocketCommunicator(Recorder.as_asgi(), "/ws/")
    connected, _ = await communicator.connect()
    assert connected
    return communicator, await communicator.receive_from()


async def test_a_layer_event_waits_for_the_client_frame_being_handled() -> None:
    log.clear()
    communicator, channel = await open_recorder()
    await communicator.send_to(text_data="slow")
    await asyncio.sleep(0.05)
    await get_channel_layer().send(channel, {"type": "test.event", "n": 1})

    assert await communicator.receive_from() == "done slow"
    assert await communicator.receive_from() == "event 1"
    assert log == ["start slow", "end slow", "event 1"]
    await communicator.disconnect()


async def test_events_of_one_source_are_handled_in_order() -> None:
    log.clear()
    communicator, channel = await open_recorder()
    layer = get_channel_layer()
    for n in range(5):
        await layer.send(channel, {"type": "test.event", "n": n})

    assert [await communicator.receive_from() for _ in range(5)] == [f"event {n}" for n in range(5)]
    await communicator.disconnect()


async def test_stop_consumer_from_a_handler_ends_the_consumer_cleanly() -> None:
    communicator, _ = await open_recorder()
    await communicator.send_to(text_data="stop")

    await communicator.wait(timeout=2)  # returns once the application has finished, no error


async def test_an_error_in_a_handler_reaches_the_server() -> None:
    communicator, _ = await open_recorder()
    await communicator.send_to(text_data="fail")

    try:
        await communicator.wait(timeout=2)
    except RuntimeError as error:
        assert str(error) == "handler failed"
    else:
        raise AssertionError("the handler's error was swallowed")


class DirectRecorder(Recorder):
    """Dispatches as ParleySocket does: no thread hop first, so a handler starts at once."""

    async def dispatch(self, message: dict) -> None:
        await getattr(self, get_handler_name(message))(message)


async def test_an_event_that_waited_for_a_stopping_handler_is_not_dispatched() -> None:
    log.clear()
    communicator = WebsocketCommunicator(DirectRecorder.as_asgi(), "/ws/")
    assert (await communicator.connect())[0]
    channel = await communicator.receive_from()
    await communicator.send_to(text_data="slow stop")
    await asyncio.sleep(0.05)
    await get_channel_layer().send(channel, {"type": "test.event", "n": 1})

    await communicator.wait(timeout=2)  # no send after the end: the server would refuse it
    assert log == []

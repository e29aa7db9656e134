"""``AudioStreamDecoder``: one ``appsrc ! rsstreamdecoder ! appsink`` pipeline per stream.

Threads: this module starts none. Frames are taken in appsink's ``new-sample`` signal and bus
messages in a bus sync handler, both on GStreamer's streaming thread, and handed to the event
loop of whoever awaits the next frame with ``loop.call_soon_threadsafe``. No GLib main loop is
needed. ``aclose()`` sets the pipeline to NULL, which stops and joins GStreamer's own threads.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import warnings
import weakref
from dataclasses import dataclass
from typing import Any, Deque, Mapping, Optional, Union

__all__ = ["AudioFrame", "AudioStreamDecoder", "DecodeError", "ElementMissingError"]

ELEMENT = "rsstreamdecoder"

_Gst: Any = None
_init_lock = threading.Lock()


def _gst() -> Any:
    """Import GStreamer through PyGObject and call ``Gst.init`` once, on first use."""
    global _Gst
    with _init_lock:
        if _Gst is None:
            import gi

            gi.require_version("Gst", "1.0")
            with warnings.catch_warnings():  # PyGObject 3.42's importer warns on Python 3.11
                warnings.simplefilter("ignore", ImportWarning)
                from gi.repository import Gst

            if not Gst.is_initialized():
                Gst.init(None)
            _Gst = Gst
    return _Gst


class DecodeError(Exception):
    """The stream could not be decoded; the message is the element's ERROR text."""


class ElementMissingError(RuntimeError):
    """A GStreamer element the decoder needs is not installed or not on the plugin path."""


@dataclass(frozen=True)
class AudioFrame:
    """A chunk of decoded PCM: signed 16-bit little-endian, channels interleaved."""

    data: bytes
    sample_rate: int
    num_channels: int
    samples_per_channel: int

    @property
    def duration(self) -> float:
        """Length of the frame in seconds."""
        return self.samples_per_channel / self.sample_rate if self.sample_rate else 0.0


class _End:
    """Marker queued after the last frame (end of stream or closed decoder)."""


_END = _End()
_Item = Union[AudioFrame, DecodeError, _End]


def _wake(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


def _wake_threadsafe(fut: "Optional[asyncio.Future[None]]") -> None:
    """Wake the task waiting on `fut`, if any, from any thread."""
    if fut is None:
        return
    try:
        fut.get_loop().call_soon_threadsafe(_wake, fut)
    except RuntimeError:  # that event loop is closed: nobody is waiting any more
        pass


class _Channel:
    """Thread-safe queue from GStreamer's threads to one awaiting asyncio task.

    Nothing here refers to the decoder, so the GStreamer callbacks that hold it do not keep
    an unclosed decoder alive (its finalizer can then shut the pipeline down).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: Deque[_Item] = collections.deque()
        self._waiter: Optional["asyncio.Future[None]"] = None
        self.finished = False  # an end or an error has been queued
        self.failed = False  # that was an error

    def put(self, item: _Item) -> None:
        """Queue an item (from any thread); nothing is queued after an end or an error."""
        with self._lock:
            if self.finished:
                return
            self._items.append(item)
            if not isinstance(item, AudioFrame):
                self.finished = True
                self.failed = isinstance(item, DecodeError)
            waiter, self._waiter = self._waiter, None
        _wake_threadsafe(waiter)

    def discard(self) -> None:
        """Drop every queued item and end the iteration (the decoder was closed)."""
        with self._lock:
            self._items.clear()
            self._items.append(_END)
            self.finished = True
            waiter, self._waiter = self._waiter, None
        _wake_threadsafe(waiter)

    async def get(self) -> _Item:
        """Wait for the next item, on the running event loop."""
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                fut: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
                self._waiter = fut
            try:
                await fut
            finally:
                with self._lock:
                    if self._waiter is fut:
                        self._waiter = None


def _on_new_sample(sink: Any, channel: _Channel) -> Any:
    """appsink ``new-sample``, on the streaming thread: turn the sample into an AudioFrame."""
    Gst = _Gst
    sample = sink.emit("pull-sample")
    if sample is None:
        return Gst.FlowReturn.EOS
    buf = sample.get_buffer()
    structure = sample.get_caps().get_structure(0)
    rate = structure.get_int("rate")[1]
    channels = structure.get_int("channels")[1] or 1
    data = buf.extract_dup(0, buf.get_size())
    channel.put(AudioFrame(data, rate, channels, len(data) // (2 * channels)))
    return Gst.FlowReturn.OK


def _on_bus_message(bus: Any, message: Any, channel: _Channel) -> Any:
    """Bus sync handler, on the posting thread: EOS ends the iteration, ERROR fails it."""
    Gst = _Gst
    if message.type == Gst.MessageType.EOS:
        channel.put(_END)
    elif message.type == Gst.MessageType.ERROR:
        error, _debug = message.parse_error()
        channel.put(DecodeError(error.message))
    return Gst.BusSyncReply.DROP  # nobody pops the bus: keep it empty


def _shutdown(pipeline: Any, bus: Any, sink: Any, handler_id: int, channel: _Channel) -> None:
    """Stop the pipeline (joins its streaming threads) and drop every callback into Python."""
    pipeline.set_state(_Gst.State.NULL)
    sink.disconnect(handler_id)
    bus.set_sync_handler(None)
    # Frames decoded but not taken yet are dropped: after close the iteration ends at once.
    channel.discard()


class AudioStreamDecoder:
    """Decode a stream of compressed audio bytes, pushed in chunks of any size, to PCM.

    Args:
        sample_rate: output rate in Hz; 0 keeps the stream's own rate.
        num_channels: output channel count; 0 keeps the stream's own count.
        format: the element's ``format`` hint, a MIME type or short name (``"audio/mpeg"``,
            ``"mp3"``, ``"audio/pcm;rate=16000"``, ``"pcm_s16le"``); ``None`` probes the bytes.
            Headerless PCM cannot be probed and needs it.
        properties: further properties of the element, e.g. ``{"input-rate": 16000}`` or
            ``{"max-errors": -1}``.

    Iterate with ``async for`` to get :class:`AudioFrame` objects; the iteration ends after
    the last frame once :meth:`end_input` was called, or raises :class:`DecodeError` (after
    every frame decoded before the error); one task iterates. Call :meth:`aclose` (or use
    ``async with``) when done.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        format: Optional[str] = None,
        properties: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if sample_rate < 0 or num_channels < 0:
            raise ValueError("sample_rate and num_channels must be >= 0")
        Gst = _gst()
        for name, package in ((ELEMENT, None), ("appsrc", "gstreamer1.0-plugins-base"),
                              ("appsink", "gstreamer1.0-plugins-base")):
            if Gst.ElementFactory.find(name) is None:
                hint = (
                    f"install {package}" if package else
                    "build it with `cargo build --release` and set "
                    "GST_PLUGIN_PATH to the directory holding libgstrsstreamdecoder.so "
                    "(e.g. export GST_PLUGIN_PATH=$PWD/target/release)"
                )
                raise ElementMissingError(f"GStreamer element '{name}' not found: {hint}")

        self._channel = _Channel()
        self._closed = False
        self._input_ended = False
        self._done = False
        self._pipeline = Gst.Pipeline.new(None)
        self._src = Gst.ElementFactory.make("appsrc", "src")
        self._element = Gst.ElementFactory.make(ELEMENT, "decoder")
        sink = Gst.ElementFactory.make("appsink", "sink")
        self._src.set_property("format", Gst.Format.BYTES)
        self._src.set_property("is-live", True)
        self._element.set_property("sample-rate", sample_rate)
        self._element.set_property("channels", num_channels)
        if format:
            self._element.set_property("format", format)
        for key, value in (properties or {}).items():
            self._element.set_property(key, value)
        sink.set_property("sync", False)
        sink.set_property("emit-signals", True)
        for element in (self._src, self._element, sink):
            self._pipeline.add(element)
        self._src.link(self._element)
        self._element.link(sink)

        handler_id = sink.connect("new-sample", _on_new_sample, self._channel)
        bus = self._pipeline.get_bus()
        bus.set_sync_handler(_on_bus_message, self._channel)
        # Runs at close(), when an unclosed decoder is collected, or at interpreter exit.
        self._finalizer = weakref.finalize(
            self, _shutdown, self._pipeline, bus, sink, handler_id, self._channel
        )
        if self._pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self._finalizer()
            raise RuntimeError("could not start the decoding pipeline (see GST_DEBUG=3)")

    def push(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Queue a chunk of input bytes, of any size; returns at once.

        Raises RuntimeError after :meth:`end_input` or :meth:`aclose`. After a decode error
        the bytes are dropped (the error comes out of the iteration).
        """
        if self._closed:
            raise RuntimeError("push() on a closed AudioStreamDecoder")
        if self._input_ended:
            raise RuntimeError("push() after end_input()")
        if not data or self._channel.failed:
            return
        self._src.emit("push-buffer", _Gst.Buffer.new_wrapped(bytes(data)))

    def end_input(self) -> None:
        """Mark the end of the input: the iteration ends after the last decoded frame."""
        if self._closed:
            raise RuntimeError("end_input() on a closed AudioStreamDecoder")
        if not self._input_ended:
            self._input_ended = True
            self._src.emit("end-of-stream")

    @property
    def stats(self) -> dict[str, Any]:
        """The element's ``stats`` (bytes-in, frames-out, codec, first-pcm-latency, ...)."""
        structure = self._element.get_property("stats")
        return {
            structure.nth_field_name(i): structure.get_value(structure.nth_field_name(i))
            for i in range(structure.n_fields())
        }

    def __aiter__(self) -> "AudioStreamDecoder":
        return self

    async def __anext__(self) -> AudioFrame:
        if self._done or self._closed:
            raise StopAsyncIteration
        item = await self._channel.get()
        if isinstance(item, AudioFrame):
            return item
        self._done = True
        if isinstance(item, DecodeError):
            raise item
        raise StopAsyncIteration

    def close(self) -> None:
        """Stop decoding and free the pipeline; safe to call at any time and more than once.

        Frames decoded but not taken yet are dropped: iteration ends at once, also one pending in
        another task. Blocks while GStreamer stops its threads (normally well under a
        millisecond).
        """
        self._closed = True
        self._finalizer()

    async def aclose(self) -> None:
        """Like :meth:`close`; a pending iteration ends without error."""
        self.close()

    async def __aenter__(self) -> "AudioStreamDecoder":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

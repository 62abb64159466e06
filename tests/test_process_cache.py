"""config.process_cache: what a process keeps, for how long, and when it starts afresh."""

from config.process_cache import ProcessCache


def test_a_value_is_kept_for_its_time_and_read_again_after(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("config.process_cache.time.monotonic", lambda: clock[0])
    loads = []
    cache = ProcessCache(seconds=2.0, max_entries=10)

    def load():
        loads.append(clock[0])
        return f"row at {clock[0]}"

    assert cache.get_or_load("a", load) == "row at 100.0"
    clock[0] = 101.9
    assert cache.get_or_load("a", load) == "row at 100.0"  # kept
    clock[0] = 102.0
    assert cache.get_or_load("a", load) == "row at 102.0"  # its time is up
    assert loads == [100.0, 102.0]


def test_none_is_never_kept_but_false_is():
    cache = ProcessCache(seconds=60, max_entries=10)
    calls = []
    assert cache.get_or_load("missing", lambda: calls.append(1)) is None
    assert cache.get_or_load("missing", lambda: calls.append(1)) is None
    assert len(calls) == 2
    assert cache.get_or_load("flag", lambda: False) is False
    assert cache.get_or_load("flag", lambda: True) is False


def test_a_time_read_on_each_look_up_applies_at_once():
    seconds = [60.0]
    cache = ProcessCache(seconds=lambda: seconds[0], max_entries=10)
    cache.put("a", 1)
    assert cache.get("a") == 1
    seconds[0] = 0  # switched off: nothing kept, nothing stored
    assert cache.get("a") is None
    cache.put("b", 2)
    seconds[0] = 60.0
    assert cache.get("b") is None and cache.get("a") == 1


def test_full_starts_afresh_and_pop_and_clear_forget():
    cache = ProcessCache(seconds=60, max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, 3)
    cache.put("d", 4)
    cache.pop("c")
    assert (cache.get("c"), cache.get("d")) == (None, 4)
    cache.clear()
    assert cache.get("d") is None

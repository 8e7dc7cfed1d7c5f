"""Failed bearer tokens are limited per client address, so tokens cannot be guessed fast.

The rule: at most `limit` wrong tokens from one address in any `window` seconds (a
sliding window). Past that, the address gets 429 for EVERY request with a token check,
a valid token included, until its oldest counted failure leaves the window: answering
a right guess differently from a wrong one while refused would tell the guesser which
token is right, and the limit would limit nothing. Successful calls are never counted
and never reset the count, so a caller holding one valid token (any viewer's) cannot
clear the way for guessing someone else's.

Only presented-and-wrong bearer tokens count: a request without a token guesses nothing.
IPv6 clients are counted per /64, the block one host usually holds. The state is in
memory, per API process, and bounded: at most `max_addresses` addresses are tracked; when
full, the one whose latest failure is oldest is forgotten first.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

DEFAULT_FAILURE_LIMIT = 10
DEFAULT_WINDOW_SECONDS = 60.0
DEFAULT_MAX_ADDRESSES = 10_000


def client_key(host: str | None) -> str:
    """Whose failures these are: the IPv4 address, the IPv6 /64, or the host as given."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test transport, a unix socket): count it as named
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


class FailedAuthLimiter:
    """Counts wrong tokens per client address; says how long a refused address must wait."""

    def __init__(
        self,
        limit: int = DEFAULT_FAILURE_LIMIT,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        max_addresses: int = DEFAULT_MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_seconds <= 0 or max_addresses < 1:
            raise ValueError("limit, window_seconds and max_addresses must be positive")
        self.limit = limit
        self.window_seconds = window_seconds
        self.max_addresses = max_addresses
        self._clock = clock
        # Address -> times of its failures still in the window (at most `limit` of them),
        # ordered by latest failure: the front is the first to forget.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try a token again, or None when it may now."""
        now = self._clock()
        times = self._recent(address, now)
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window_seconds - now))

    def failed(self, address: str) -> None:
        """Count one wrong token from `address`."""
        now = self._clock()
        times = self._recent(address, now)
        if times is None:
            times = deque(maxlen=self.limit)
            self._failures[address] = times
        times.append(now)
        self._failures.move_to_end(address)
        self._forget(now)

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def _forget(self, now: float) -> None:
        # Entries whose latest failure left the window are spent; beyond the cap, the
        # least recently failing address goes even if its window is still open.
        while self._failures:
            address, times = next(iter(self._failures.items()))
            expired = times[-1] <= now - self.window_seconds
            if not expired and len(self._failures) <= self.max_addresses:
                return
            del self._failures[address]

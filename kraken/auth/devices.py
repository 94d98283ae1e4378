"""A session's device name from its User-Agent, as the sessions page shows it (HF §11)."""
from __future__ import annotations

UNKNOWN = "Unknown Device"
DESKTOP_APP = "Semaphore Chat Desktop"  # the desktop client's name in the reference's list (HF §11)

# most specific first: Edge and Opera also say "Chrome", Chrome also says "Safari"
_BROWSERS = (("Edg", "Edge"), ("OPR/", "Opera"), ("Opera", "Opera"), ("Firefox/", "Firefox"),
             ("FxiOS", "Firefox"), ("Chrome/", "Chrome"), ("CriOS", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("CrOS", "Chrome OS"), ("Mac OS X", "macOS"), ("Macintosh", "macOS"),
            ("Linux", "Linux"))


def _browser(ua: str) -> str:
    return next((name for marker, name in _BROWSERS if marker in ua), "Browser")


def _system(ua: str) -> str | None:
    return next((name for marker, name in _SYSTEMS if marker in ua), None)


def device_name(user_agent: str | None) -> str:
    """`Chrome on Windows`, `Safari on iPhone`, `Semaphore Chat Desktop (Linux)`, ...; `Unknown Device`
    without a User-Agent."""
    ua = (user_agent or "").strip()
    if not ua:
        return UNKNOWN
    if "Electron/" in ua:
        return f"{DESKTOP_APP} ({_system(ua) or 'Linux'})"
    for device in ("iPhone", "iPad"):
        if device in ua:
            return f"Safari on {device}"
    if "Android" in ua:
        browser = _browser(ua)
        return f"{browser if browser in ('Chrome', 'Firefox') else 'Browser'} on Android"
    system = _system(ua)
    return f"{_browser(ua)} on {system}" if system else _browser(ua)

"""The weather tool, made real: Open-Meteo's geocoding and forecast APIs, which need no key.

Their URLs come from ``[plugins.builtin]`` so tests (and mirrors) can point elsewhere.
urllib is imported when the tool runs, not when tools are listed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import chatfn

__all__ = ["FORECAST_URL", "GEOCODING_URL", "WEATHER_SCHEMA", "WEATHER_TIMEOUT", "Weather", "weather_from_config"]

GEOCODING_URL = "https://geocoding-api.open-meteo.com/v1/search"
FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
WEATHER_TIMEOUT = 10.0

WEATHER_SCHEMA: dict[str, Any] = {
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}

WMO_CODES = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "depositing rime fog",
    51: "light drizzle",
    53: "moderate drizzle",
    55: "dense drizzle",
    56: "light freezing drizzle",
    57: "dense freezing drizzle",
    61: "slight rain",
    63: "moderate rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "heavy freezing rain",
    71: "slight snow fall",
    73: "moderate snow fall",
    75: "heavy snow fall",
    77: "snow grains",
    80: "slight rain showers",
    81: "moderate rain showers",
    82: "violent rain showers",
    85: "slight snow showers",
    86: "heavy snow showers",
    95: "thunderstorm",
    96: "thunderstorm with slight hail",
    99: "thunderstorm with heavy hail",
}


class Weather:
    """``get_current_weather`` bound to the Open-Meteo endpoints from config."""

    def __init__(self, geocoding_url: str, forecast_url: str, timeout: float) -> None:
        self.geocoding_url = geocoding_url
        self.forecast_url = forecast_url
        self.timeout = timeout

    def __call__(self, location: str, unit: str = "celsius") -> str:
        if unit not in ("celsius", "fahrenheit"):
            raise ValueError(f"unit must be 'celsius' or 'fahrenheit', not {unit!r}")
        place = self.geocode(location)
        current = self._get(
            self.forecast_url,
            {
                "latitude": place["latitude"],
                "longitude": place["longitude"],
                "current": "temperature_2m,weather_code,wind_speed_10m",
                "temperature_unit": unit,
                "wind_speed_unit": "kmh",
            },
        ).get("current")
        if not isinstance(current, Mapping) or "temperature_2m" not in current:
            raise RuntimeError("the weather service sent no current weather")
        symbol = "°F" if unit == "fahrenheit" else "°C"
        parts = [f"{current['temperature_2m']} {symbol}"]
        if current.get("weather_code") is not None:
            parts.append(WMO_CODES.get(int(current["weather_code"]), f"weather code {current['weather_code']}"))
        if current.get("wind_speed_10m") is not None:
            parts.append(f"wind {current['wind_speed_10m']} km/h")
        return f"The weather in {_place_name(place)} is {', '.join(parts)}."

    def geocode(self, location: str) -> Mapping[str, Any]:
        """The best match for ``location``; "Paris, France" also tries "Paris"."""
        names = [location.strip()]
        if "," in location:
            names.append(location.split(",")[0].strip())
        for name in filter(None, names):
            results = self._get(self.geocoding_url, {"name": name, "count": 1, "format": "json"}).get("results")
            if results:
                return results[0]
        raise ValueError(f"no place called {location!r} found by the weather service")

    def _get(self, url: str, params: Mapping[str, Any]) -> dict[str, Any]:
        import urllib.error
        import urllib.parse
        import urllib.request

        full = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params)}"
        host = urllib.parse.urlsplit(url).netloc or url
        request = urllib.request.Request(full, headers={"User-Agent": f"chatfn/{chatfn.__version__}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"weather service {host} answered HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RuntimeError(f"cannot reach the weather service {host}: {reason}") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise RuntimeError(f"weather service {host} sent something that is not JSON") from None
        if not isinstance(data, dict):
            raise RuntimeError(f"weather service {host} sent an unexpected answer")
        if data.get("error"):
            raise RuntimeError(f"weather service {host}: {data.get('reason', 'error')}")
        return data


def _place_name(place: Mapping[str, Any]) -> str:
    parts = [place.get("name"), place.get("admin1"), place.get("country")]
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(str(part))
    return ", ".join(seen) or "that place"


def weather_from_config(settings: Mapping[str, Any]) -> Weather:
    """A :class:`Weather` from the ``[plugins.builtin]`` table, checking its types."""
    geocoding = settings.get("weather_geocoding_url", GEOCODING_URL)
    forecast = settings.get("weather_forecast_url", FORECAST_URL)
    timeout = settings.get("weather_timeout", WEATHER_TIMEOUT)
    for key, value in (("weather_geocoding_url", geocoding), ("weather_forecast_url", forecast)):
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ValueError(f"[plugins.builtin] {key} must be an http(s) URL, not {value!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"[plugins.builtin] weather_timeout must be a positive number, not {timeout!r}")
    return Weather(geocoding, forecast, float(timeout))

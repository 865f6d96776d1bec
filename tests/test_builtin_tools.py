"""The built-in tools; the weather against a local stand-in of Open-Meteo on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from support import closed_port

from chatfn.plugins.clock import get_current_date, get_current_time
from chatfn.plugins.host import load_tools
from chatfn.plugins.weather import WEATHER_SCHEMA, weather_from_config
from chatfn.settings.config import Config

PARIS = {"name": "Paris", "latitude": 48.85, "longitude": 2.35, "country": "France", "admin1": "Île-de-France"}


class OpenMeteo:
    """Geocoding and forecast endpoints that answer like Open-Meteo's, recording each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.forecast_status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                outer.requests.append((url.path, query))
                if url.path == "/v1/search":
                    found = [PARIS] if query["name"][0].lower() == "paris" else []
                    self._send(200, {"results": found} if found else {"generationtime_ms": 0.1})
                elif url.path == "/v1/forecast" and outer.forecast_status != 200:
                    self._send(outer.forecast_status, {"error": True, "reason": "broken"})
                elif url.path == "/v1/forecast":
                    fahrenheit = query.get("temperature_unit") == ["fahrenheit"]
                    current = {"temperature_2m": 54.1 if fahrenheit else 12.3, "weather_code": 3, "wind_speed_10m": 10.0}
                    self._send(200, {"latitude": 48.85, "longitude": 2.35, "current": current})
                else:
                    self._send(404, {"error": True, "reason": "not found"})

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def settings(self) -> dict[str, object]:
        return {
            "weather_geocoding_url": f"{self.base}/v1/search",
            "weather_forecast_url": f"{self.base}/v1/forecast",
            "weather_timeout": 5,
        }


@pytest.fixture
def open_meteo() -> Iterator[OpenMeteo]:
    service = OpenMeteo()
    yield service
    service.server.shutdown()
    service.server.server_close()


def test_date_and_time() -> None:
    assert get_current_date() == dt.date.today().isoformat()
    assert re.fullmatch(r"\d{2}:\d{2}", get_current_time())
    tokyo = dt.datetime.now(dt.timezone(dt.timedelta(hours=9)))
    assert get_current_time("Asia/Tokyo") in {tokyo.strftime("%H:%M"), (tokyo - dt.timedelta(minutes=1)).strftime("%H:%M")}
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        get_current_time("Mars/Olympus")


def test_the_sample_schemas_are_kept() -> None:
    toolset = load_tools(Config())
    assert toolset.tools["get_current_weather"].parameters == WEATHER_SCHEMA["parameters"]
    weather = toolset.tools["get_current_weather"].parameters["properties"]
    assert weather["location"]["description"] == "The city and state, e.g. San Francisco, CA"
    assert weather["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert toolset.tools["get_current_date"].parameters == {"type": "object", "properties": {}}
    time_parameters = toolset.tools["get_current_time"].parameters
    assert time_parameters["properties"]["timezone"]["type"] == "string"
    assert "required" not in time_parameters  # the time zone is optional


def test_weather_from_the_service(open_meteo: OpenMeteo) -> None:
    weather = weather_from_config(open_meteo.settings())
    assert weather("Paris, France") == "The weather in Paris, Île-de-France, France is 12.3 °C, overcast, wind 10.0 km/h."
    assert weather("Paris", unit="fahrenheit").startswith("The weather in Paris, Île-de-France, France is 54.1 °F")
    paths = [path for path, _ in open_meteo.requests]
    assert paths[:3] == ["/v1/search", "/v1/search", "/v1/forecast"]  # "Paris, France", then "Paris"
    forecast = open_meteo.requests[2][1]
    assert forecast["latitude"] == ["48.85"] and forecast["current"] == ["temperature_2m,weather_code,wind_speed_10m"]


def test_weather_errors_are_clear(open_meteo: OpenMeteo) -> None:
    weather = weather_from_config(open_meteo.settings())
    with pytest.raises(ValueError, match="no place called 'Atlantis' found"):
        weather("Atlantis")
    open_meteo.forecast_status = 500
    with pytest.raises(RuntimeError, match=r"weather service 127\.0\.0\.1:\d+ answered HTTP 500"):
        weather("Paris")
    unreachable = weather_from_config({"weather_geocoding_url": f"http://127.0.0.1:{closed_port()}/v1/search"})
    with pytest.raises(RuntimeError, match=r"cannot reach the weather service 127\.0\.0\.1:\d+: .*refused"):
        unreachable("Paris")


@pytest.mark.parametrize(
    "settings", [{"weather_timeout": "soon"}, {"weather_forecast_url": "ftp://x"}, {"weather_geocoding_url": 3}]
)
def test_bad_builtin_settings(settings: dict) -> None:
    with pytest.raises(ValueError, match=r"\[plugins.builtin\]"):
        weather_from_config(settings)


def write_config(tmp_path: Path, settings: dict[str, object]) -> Path:
    lines = ["[plugins.builtin]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tools_call_weather_cli(cli, open_meteo: OpenMeteo, tmp_path: Path) -> None:
    config = write_config(tmp_path, open_meteo.settings())
    result = cli("tools", "call", "get_current_weather", "location=Paris", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The weather in Paris, Île-de-France, France is 12.3 °C, overcast, wind 10.0 km/h.\n"
    result = cli("tools", "call", "get_current_weather", "--args", '{"location": "Paris", "unit": "fahrenheit"}', "--config", str(config))
    assert result.returncode == 0 and "54.1 °F" in result.stdout


def test_tools_call_weather_network_error(cli, tmp_path: Path) -> None:
    port = closed_port()
    config = write_config(tmp_path, {"weather_geocoding_url": f"http://127.0.0.1:{port}/v1/search", "weather_timeout": 2})
    result = cli("tools", "call", "get_current_weather", "location=Paris", "--config", str(config))
    assert result.returncode == 1 and result.stdout == ""
    assert f"cannot reach the weather service 127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr

"""chatfn-tools-math: exact arithmetic, everything eval would allow refused, DoS caps, units."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chatfn_tools_math
import pytest
from chatfn_tools_math import MAX_DIGITS
from hypothesis import given
from hypothesis import strategies as st

pytest_plugins = ["chatfn.testing"]  # the scripted chat server and the invoke_chatfn fixture


def registrations() -> dict[str, tuple[Callable[..., str], dict[str, Any]]]:
    """Call the plugin's hook as chatfn would (it takes no plugin_config): functions and options."""
    registered: dict[str, tuple[Callable[..., str], dict[str, Any]]] = {}

    def register(function: Callable[..., str], name: str | None = None, **options: Any) -> None:
        registered[name or function.__name__] = (function, options)

    chatfn_tools_math.register_tools(register=register)
    return registered


TOOLS = {name: function for name, (function, _) in registrations().items()}
calculate = TOOLS["calculate"]
convert_units = TOOLS["convert_units"]


def test_registers_both_tools() -> None:
    assert set(TOOLS) == {"calculate", "convert_units"}


def test_registered_as_read_only_local_and_idempotent() -> None:
    hints = {"read_only_hint": True, "destructive_hint": False, "idempotent_hint": True, "open_world_hint": False}
    options = {name: registered for name, (_, registered) in registrations().items()}
    assert options == {"calculate": hints, "convert_units": {**hints, "isolated": True}}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("0.1 + 0.2", "3/10 = 0.3"),
        ("1/3 + 1/6", "1/2 = 0.5"),
        ("1/3", "1/3 ≈ 0.33333333333333333333"),
        ("-7/2", "-7/2 = -3.5"),
        ("2**10", "1024"),
        ("2**-3", "1/8 = 0.125"),
        ("(1 + 2) * 3 - 4 // 3 + 10 % 4", "10"),
        ("+-+5", "-5"),
        ("1.5e3 + 0.25", "6001/4 = 1500.25"),
        ("2**100", str(2**100)),
        ("3 * 0.1", "3/10 = 0.3"),
        ("10**-60", f"1/1{'0' * 60} = 1E-60"),
    ],
)
def test_exact_arithmetic(expression: str, expected: str) -> None:
    assert calculate(expression=expression) == expected


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("sqrt(16/9)", "4/3 ≈ 1.3333333333333333333"),
        ("8**(1/3)", "2"),
        ("(-8)**(1/3)", "-2"),
        ("4**0.5", "2"),
        ("log(8, 2)", "3"),
        ("log10(1000)", "3"),
        ("factorial(20)", "2432902008176640000"),
        ("gcd(12, 18, 8)", "2"),
        ("min(1/3, 0.3, 1)", "3/10 = 0.3"),
        ("max(-1, abs(-5))", "5"),
        ("round(2.5)", "3"),
        ("round(-2.5)", "-3"),
        ("round(2.675, 2)", "67/25 = 2.68"),  # the decimal as written, rounded half away from zero
        ("floor(-2.5) + ceil(2.1)", "0"),
        ("sqrt(2)", "≈ 1.4142135623731"),
        ("2 * pi", "≈ 6.28318530717959"),
        ("tau - 2*pi", "≈ 0"),
        ("e", "≈ 2.71828182845905"),
        ("ln(e**2)", "≈ 2"),
        ("exp(0) + cos(0) + sin(0) + tan(0)", "≈ 2"),
    ],
)
def test_functions_and_constants(expression: str, expected: str) -> None:
    assert calculate(expression=expression) == expected


@pytest.mark.parametrize(
    "expression, message",
    [
        ("__import__('os').system('x')", "strings are not allowed|only these functions"),
        ("().__class__", "attribute access|tuples are not allowed"),
        ("(1).__class__", "attribute access"),
        ("9**9**9**9", "digits"),
        ("'a'*10**9", "strings are not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("[x for x in range(10**9)]", "comprehensions are not allowed"),
        ("(x for x in [1])", "comprehensions are not allowed"),
        ("[1, 2][0]", "indexing"),
        ("open('/etc/passwd')", "only these functions can be called"),
        ("sqrt.__call__(4)", "only these functions can be called|attribute"),
        ("x", "unknown name 'x'"),
        ("sqrt", "sqrt is a function"),
        ("2 ^ 3", r"use \*\*"),
        ("1 < 2", "comparisons are not supported"),
        ("1 and 2", "'and'/'or'"),
        ("(y := 2)", "assignment"),
        ("True + 1", "only real numbers"),
        ("1j", "only real numbers"),
        ("round(1, ndigits=2)", "positional arguments only"),
        ("f'{1}'", "strings are not allowed"),
        ("1 +", "cannot parse"),
        ("", "empty"),
        ("1" * 1001, "longer than 1000 characters"),
        ("factorial(10**6)", "factorial\\(\\) is limited"),
        ("factorial(-1)", "negative"),
        ("factorial(2.5)", "whole number"),
        ("10**10**10", "digits"),
        ("(2**4000)**(2**4000)", "too large"),
        ("2**4000 * 2**4000 * 2**4000 * 2**4000", f"more than {MAX_DIGITS} digits"),
        ("1/0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0**-1", "division by zero"),
        ("(-2)**0.5", "no real value"),
        ("sqrt(-1)", "no real value"),
        ("log(0)", "positive"),
        ("log(8, 1)", "base"),
        ("1e400", "too large"),
        ("exp(1000)", "range"),
        ("-" * 998 + "1", "nested too deeply"),
        ("(" * 300 + "1" + ")" * 300, "cannot parse"),
        ("abs()", "takes 1 argument"),
        ("log(1, 2, 3)", "takes 1 to 2 argument"),
    ],
)
def test_refused_with_clear_messages(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calculate(expression=expression)


@given(st.integers(-10**12, 10**12), st.integers(1, 10**6), st.integers(-10**12, 10**12), st.integers(1, 10**6))
def test_fraction_sums_are_exact(a: int, b: int, c: int, d: int) -> None:
    from fractions import Fraction

    expected = Fraction(a, b) + Fraction(c, d)
    result = calculate(expression=f"({a})/{b} + ({c})/{d}")
    assert result.split(" ")[0] == str(expected)


@given(st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False))
def test_decimals_round_trip_exactly(value: Any) -> None:
    from fractions import Fraction

    result = calculate(expression=f"{value} + 0")
    exact = Fraction(value)
    assert result.split(" ")[0] == str(exact)
    if exact.denominator != 1:
        assert Fraction(result.split(" = ")[1]) == exact


def test_unit_conversion() -> None:
    assert convert_units(value=5, from_unit="mile", to_unit="km") == "5 mile = 8.04672 km"
    assert convert_units(value=100, from_unit="degC", to_unit="degF") == "100 degC = 212 degF"
    assert convert_units(value=1, from_unit="kWh", to_unit="MJ") == "1 kWh = 3.6 MJ"
    assert convert_units(value=36, from_unit="km/h", to_unit="m/s") == "36 km/h = 10 m/s"


def test_unit_conversion_errors() -> None:
    with pytest.raises(ValueError, match="different kinds of quantity"):
        convert_units(value=1, from_unit="m", to_unit="s")
    with pytest.raises(ValueError, match="unknown unit 'parsecx'"):
        convert_units(value=1, from_unit="parsecx", to_unit="m")
    with pytest.raises(ValueError, match="finite number"):
        convert_units(value=float("nan"), from_unit="m", to_unit="km")
    with pytest.raises(ValueError, match="unit name"):
        convert_units(value=1, from_unit="", to_unit="km")


@pytest.mark.parametrize("unit", ["m" + "**2" * 60, "m^2^2^2^2^2^2^2^2", "m**(2**99)", "m**1000", "m**x", "m**"])
def test_exponents_other_than_small_numbers_are_refused_before_pint(unit: str) -> None:
    # pint would evaluate the first one as a tower of powers, forever, holding the GIL.
    with pytest.raises(ValueError, match="an exponent must be a plain number"):
        convert_units(value=1, from_unit=unit, to_unit="m")


def test_plain_exponents_still_work() -> None:
    assert convert_units(value=1, from_unit="m**2", to_unit="cm^2") == "1 m**2 = 10000 cm^2"
    assert convert_units(value=2, from_unit="s^-1", to_unit="Hz") == "2 s^-1 = 2 Hz"
    assert convert_units(value=4, from_unit="(m**2)**(1/2)", to_unit="m") == "4 (m**2)**(1/2) = 4 m"
    assert convert_units(value=1, from_unit="kg*m**2/s**2", to_unit="J") == "1 kg*m**2/s**2 = 1 J"


# -- end to end: a scripted model calls the tool through the real CLI ---------------


def _chat_kit(request: pytest.FixtureRequest) -> tuple[Any, Any, Any]:
    from chatfn import testing

    return testing, request.getfixturevalue("chat_server"), request.getfixturevalue("invoke_chatfn")


def test_chat_calculates(request: pytest.FixtureRequest) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    chat_server.script(
        testing.tool_calls(("calculate", {"expression": "0.1 + 0.2"}), ("calculate", {"expression": "9**9**9**9"})),
        testing.text("0.1 + 0.2 is exactly 0.3."),
    )
    result = run_chatfn("chat", "-y", "what is 0.1 + 0.2?", env={"CHATFN_LOAD_PLUGINS": "math"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1 + 0.2 is exactly 0.3."
    contents = [m["content"] for m in chat_server.requests[1].messages if m["role"] == "tool"]
    assert contents[0] == "3/10 = 0.3"
    assert contents[1].startswith("Error:") and "digits" in contents[1]


def test_chat_converts_units_in_a_worker_process(request: pytest.FixtureRequest) -> None:
    testing, chat_server, run_chatfn = _chat_kit(request)
    chat_server.script(
        testing.tool_calls(("convert_units", {"value": 5, "from_unit": "mile", "to_unit": "km"})),
        testing.text("5 miles is about 8 km."),
    )
    result = run_chatfn("chat", "how far is 5 miles in km?", env={"CHATFN_LOAD_PLUGINS": "math"})
    assert result.returncode == 0, result.stderr
    contents = [m["content"] for m in chat_server.requests[1].messages if m["role"] == "tool"]
    assert contents == ["5 mile = 8.04672 km"]

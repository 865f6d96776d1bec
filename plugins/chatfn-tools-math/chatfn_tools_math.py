"""chatfn tools for exact arithmetic and unit conversion, with no ``eval`` anywhere.

``calculate`` parses the expression with :mod:`ast` and evaluates only numbers,
arithmetic operators and a whitelist of functions and constants. Rational results
stay exact (:class:`fractions.Fraction`, so ``0.1 + 0.2`` is ``3/10``); functions
with irrational results (sin, log, ...) fall back to floats and say "≈". Every
way to make the evaluator slow or huge (exponents, factorials, digit counts,
expression length, nesting) is capped before the work is done.
"""

from __future__ import annotations

import ast
import decimal
import math
import re
import threading
from collections.abc import Callable
from fractions import Fraction
from typing import Any, Union

import chatfn

__all__ = ["calculate", "convert_units", "evaluate", "register_tools", "render"]

Number = Union[Fraction, float]

MAX_EXPRESSION_CHARS = 1000
MAX_DIGITS = 4000  # below CPython's 4300-digit int-to-str limit
MAX_BITS = int(MAX_DIGITS * math.log2(10)) + 1
MAX_FACTORIAL = 1000
MAX_EXACT_ROOT_DEGREE = 64
MAX_EXACT_DECIMAL_PLACES = 50
APPROXIMATE_DIGITS = 20
MAX_UNIT_CHARS = 200
_EXPONENT_OPERATOR = re.compile(r"\*\*|\^")
_PLAIN_EXPONENT = re.compile(r"\s*(?:[+-]?\s*\d{1,3}(?:\.\d{1,6})?(?![\d.])|\(\s*[+-]?\d{1,3}(?:\s*/\s*\d{1,3}|\.\d{1,6})?\s*\))\s*")

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
}
_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access ('.name') is not allowed",
    ast.Subscript: "indexing and slicing ('x[...]') are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.Compare: "comparisons are not supported; calculate evaluates arithmetic only",
    ast.BoolOp: "'and'/'or' are not supported; calculate evaluates arithmetic only",
    ast.IfExp: "'x if c else y' is not supported; calculate evaluates arithmetic only",
    ast.NamedExpr: "assignment (':=') is not allowed",
    ast.JoinedStr: "strings are not allowed; only numbers",
    ast.List: "lists are not allowed; only numbers",
    ast.Tuple: "tuples are not allowed; only numbers",
    ast.Set: "sets are not allowed; only numbers",
    ast.Dict: "dicts are not allowed; only numbers",
    ast.Starred: "'*' unpacking is not allowed",
}


class CalculationError(ValueError):
    """The expression is not allowed, or its result would be too big to compute."""


# -- exact helpers -------------------------------------------------------------------


def _iroot(n: int, k: int) -> int:
    """The integer k-th root of n >= 0, rounded down (Newton's method on ints)."""
    if n < 2:
        return n
    x = 1 << -(-n.bit_length() // k)  # an upper bound
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def _exact_root(value: Fraction, degree: int) -> Fraction | None:
    """The exact ``degree``-th root of ``value`` >= 0 when it is rational, else None."""
    num, den = _iroot(value.numerator, degree), _iroot(value.denominator, degree)
    if num**degree == value.numerator and den**degree == value.denominator:
        return Fraction(num, den)
    return None


def _check_size(value: Number) -> Number:
    if isinstance(value, float):
        if math.isnan(value):
            raise CalculationError("the result is undefined (NaN)")
        if math.isinf(value):
            raise CalculationError("the result is too large for a floating-point number")
        return value
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
        raise CalculationError(f"the result would have more than {MAX_DIGITS} digits")
    return value


def _as_float(value: Number) -> float:
    try:
        return float(value)
    except OverflowError:
        raise CalculationError("a number is too large for a floating-point function") from None


def _as_int(value: Number, what: str) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise CalculationError(f"{what} must be a whole number, not {value!r}")
        return int(value)
    if value.denominator != 1:
        raise CalculationError(f"{what} must be a whole number, not {value}")
    return value.numerator


# -- operators -------------------------------------------------------------------------


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, Fraction) and isinstance(exponent, Fraction):
        if exponent.denominator == 1:
            return _integer_power(base, exponent.numerator)
        if exponent.denominator <= MAX_EXACT_ROOT_DEGREE:
            degree = exponent.denominator
            if base < 0 and degree % 2 == 0:
                raise CalculationError(f"({base}) ** ({exponent}) has no real value (even root of a negative number)")
            root = _exact_root(abs(base), degree)
            if root is not None:
                return _integer_power(-root if base < 0 else root, exponent.numerator)
        if base < 0:
            raise CalculationError(f"({base}) ** ({exponent}) has no exact real value")
    number, power = _as_float(base), _as_float(exponent)
    if number < 0 and not power.is_integer():
        raise CalculationError(f"{number!r} ** {power!r} has no real value")
    if number == 0 and power < 0:
        raise CalculationError("division by zero (0 to a negative power)")
    try:
        return number**power
    except OverflowError:
        raise CalculationError("the result is too large for a floating-point number") from None


def _integer_power(base: Fraction, exponent: int) -> Fraction:
    if base == 0 and exponent < 0:
        raise CalculationError("division by zero (0 to a negative power)")
    if base in (0, 1):
        return base
    if base == -1:
        return Fraction(-1 if exponent % 2 else 1)
    if exponent.bit_length() > 1000:  # too big even to estimate the result with floats
        raise CalculationError(f"the exponent {exponent if len(str(exponent)) < 30 else 'given'} is too large")
    size = max(abs(base.numerator), base.denominator)
    digits = abs(exponent) * math.log10(size)
    if digits > MAX_DIGITS:
        raise CalculationError(f"the result would have about {digits:.3g} digits (limit {MAX_DIGITS})")
    return base**exponent


def _binary(op: type[ast.operator], left: Number, right: Number) -> Number:
    if op is ast.Pow:
        return _power(left, right)
    if isinstance(left, float) or isinstance(right, float):
        left, right = _as_float(left), _as_float(right)
    try:
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        if op is ast.FloorDiv:
            return Fraction(left // right) if isinstance(left, Fraction) else left // right
        return left % right
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except OverflowError:
        raise CalculationError("the result is too large for a floating-point number") from None


# -- functions ---------------------------------------------------------------------------


def _arity(name: str, args: tuple[Number, ...], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}" if high < 99 else f"at least {low}"
        raise CalculationError(f"{name}() takes {expected} argument(s), got {len(args)}")


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise CalculationError("sqrt of a negative number has no real value")
    if isinstance(x, Fraction):
        root = _exact_root(x, 2)
        if root is not None:
            return root
    return math.sqrt(_as_float(x))


def _ln(x: Number) -> float:
    if x <= 0:
        raise CalculationError("log is only defined for positive numbers")
    if isinstance(x, Fraction):
        return math.log(x.numerator) - math.log(x.denominator)  # works for huge ints too
    return math.log(x)


def _log(x: Number, base: Number | None = None) -> Number:
    if base is None:
        return _ln(x)
    if base <= 0 or base == 1:
        raise CalculationError("the base of a logarithm must be positive and not 1")
    result = _ln(x) / _ln(base)
    if isinstance(x, Fraction) and isinstance(base, Fraction) and abs(result) < 10_000:
        guess = round(result)
        try:
            if _integer_power(base, guess) == x:
                return Fraction(guess)
        except CalculationError:
            pass
    return result


def _round(x: Number, ndigits: Number = Fraction(0)) -> Fraction:
    places = _as_int(ndigits, "round()'s ndigits")
    if abs(places) > MAX_DIGITS:
        raise CalculationError(f"round()'s ndigits must be between -{MAX_DIGITS} and {MAX_DIGITS}")
    exact = x if isinstance(x, Fraction) else Fraction(repr(x))
    scale = Fraction(10) ** places
    scaled = abs(exact) * scale
    rounded = math.floor(scaled + Fraction(1, 2))  # half away from zero, as people round
    return Fraction(rounded if exact >= 0 else -rounded) / scale


def _factorial(x: Number) -> Fraction:
    n = _as_int(x, "factorial()'s argument")
    if n < 0:
        raise CalculationError("factorial() is not defined for negative numbers")
    if n > MAX_FACTORIAL:
        raise CalculationError(f"factorial() is limited to n <= {MAX_FACTORIAL}")
    return Fraction(math.factorial(n))


def _float_function(function: Callable[[float], float]) -> Callable[[Number], float]:
    def apply(x: Number) -> float:
        try:
            return function(_as_float(x))
        except (ValueError, OverflowError) as error:
            raise CalculationError(f"{function.__name__}({x}) failed: {error}") from None

    return apply


def _exact_or_float(name: str, exact: Callable[[Fraction], int], approximate: Callable[[float], int]) -> Callable[[Number], Fraction]:
    def apply(x: Number) -> Fraction:
        if isinstance(x, Fraction):
            return Fraction(exact(x))
        if not math.isfinite(x):
            raise CalculationError(f"{name}() of an infinite number")
        return Fraction(approximate(x))

    return apply


# name -> (function, minimum arguments, maximum arguments)
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "sqrt": (_sqrt, 1, 1),
    "sin": (_float_function(math.sin), 1, 1),
    "cos": (_float_function(math.cos), 1, 1),
    "tan": (_float_function(math.tan), 1, 1),
    "exp": (_float_function(math.exp), 1, 1),
    "log": (_log, 1, 2),
    "ln": (_ln, 1, 1),
    "log10": (lambda x: _log(x, Fraction(10)), 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (_exact_or_float("floor", math.floor, math.floor), 1, 1),
    "ceil": (_exact_or_float("ceil", math.ceil, math.ceil), 1, 1),
    "factorial": (_factorial, 1, 1),
    "gcd": (lambda *xs: Fraction(math.gcd(*(_as_int(x, "gcd()'s arguments") for x in xs))), 1, 99),
    "min": (min, 1, 99),
    "max": (max, 1, 99),
}


# -- the evaluator -----------------------------------------------------------------------


def _check(node: ast.AST) -> None:
    """Refuse anything that is not plain arithmetic before any of it is evaluated."""
    if isinstance(node, ast.Expression):
        _check(node.body)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, (str, bytes)):
            raise CalculationError("strings are not allowed; only numbers")
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise CalculationError(f"{node.value!r} is not allowed; only real numbers")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise CalculationError(f"{node.id} is a function; call it, e.g. {node.id}(2)")
        if node.id not in CONSTANTS:
            raise CalculationError(f"unknown name {node.id!r}; constants: {', '.join(CONSTANTS)}; functions: {', '.join(FUNCTIONS)}")
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.UAdd, ast.USub)):
            raise CalculationError("only unary + and - are supported")
        _check(node.operand)
    elif isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.BitXor):
            raise CalculationError("'^' is not a power operator here; use ** (2**10)")
        if type(node.op) not in _OPERATORS:
            raise CalculationError("only + - * / // % ** are supported")
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise CalculationError(f"only these functions can be called: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise CalculationError(f"{node.func.id}() takes positional arguments only")
        for argument in node.args:
            _check(argument)
    else:
        message = next((text for kind, text in _REFUSED.items() if isinstance(node, kind)), None)
        raise CalculationError(message or f"{type(node).__name__} is not allowed; calculate evaluates arithmetic only")


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, float):
            if not math.isfinite(node.value):
                raise CalculationError("a number in the expression is too large")
            return Fraction(repr(node.value))  # the decimal as written: 0.1 is exactly 1/10
        if isinstance(node.value, int):  # bool and the rest were refused by _check
            return _check_size(Fraction(node.value))
    if isinstance(node, ast.Name):
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return _check_size(_binary(type(node.op), _evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]
        function, low, high = FUNCTIONS[name]
        args = tuple(_evaluate(argument) for argument in node.args)
        _arity(name, args, low, high)
        return _check_size(function(*args))
    raise CalculationError(f"{type(node).__name__} is not allowed")  # unreachable after _check


def evaluate(expression: str) -> Number:
    """The value of ``expression``: a Fraction when exact, a float when not."""
    if not isinstance(expression, str):
        raise CalculationError("expression must be a string")
    text = expression.strip()
    if not text:
        raise CalculationError("expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculationError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
        _check(tree)
        return _evaluate(tree.body)
    except SyntaxError as error:
        raise CalculationError(f"cannot parse the expression: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise CalculationError("the expression is nested too deeply") from None


def render(value: Number) -> str:
    """Integers as digits; other rationals as 'p/q = decimal' (or '≈' when it does not terminate)."""
    if isinstance(value, float):
        return f"≈ {value:.15g}"
    if value.denominator == 1:
        return str(value.numerator)
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den == 1:  # the decimal terminates: show it exactly when it is short enough
        places = max(twos, fives)
        shifted = (value * 10**places).numerator
        if len(str(abs(shifted)).rstrip("0")) <= MAX_EXACT_DECIMAL_PLACES:
            exact = decimal.Decimal(shifted).scaleb(-places)
            shown = format(exact, "f") if places <= MAX_EXACT_DECIMAL_PLACES else str(exact)
            return f"{value} = {shown}"
    with decimal.localcontext() as context:
        context.prec = APPROXIMATE_DIGITS
        approximate = decimal.Decimal(value.numerator) / decimal.Decimal(value.denominator)
    return f"{value} ≈ {approximate}"


def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression exactly, without eval, and return the result.
    Rational results are exact: integers as digits, fractions as 'p/q = decimal'
    ('≈' when the decimal does not terminate), e.g. '0.1 + 0.2' gives '3/10 = 0.3'.
    Results of irrational functions or constants are floating point, shown as
    '≈ value'. Supports numbers, + - * / // % ** (not ^), parentheses, the constants
    pi, e, tau and the functions sqrt, sin, cos, tan (radians), log(x[, base]), ln,
    log10, exp, abs, round(x[, ndigits]) (half away from zero), floor, ceil,
    factorial, gcd, min, max.

    Args:
        expression: The arithmetic expression in Python syntax, e.g. "(1/3 + 1/6) * 2**10" or "sqrt(2) * pi".
    """
    return render(evaluate(expression))


# -- units -----------------------------------------------------------------------------

_registry: Any = None
_registry_lock = threading.Lock()


def _unit_registry() -> Any:
    """pint's unit registry, built once on first use (it takes a moment)."""
    global _registry
    with _registry_lock:
        if _registry is None:
            import pint

            _registry = pint.UnitRegistry()
        return _registry


def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a quantity from one unit to another, e.g. 5 'mile' to 'km', 100 'degF'
    to 'degC', 1 'kWh' to 'MJ', 60 'mph' to 'm/s'. Unit names follow the pint
    library: full names or symbols ('meter'/'m', 'hour'/'h', 'degC', 'psi'), and
    compound units written like 'km/h' or 'kg*m/s**2'.
    Returns 'value from_unit = result to_unit'.

    Args:
        value: The amount to convert.
        from_unit: The unit the value is in, e.g. "km/h".
        to_unit: The unit to convert to, e.g. "m/s"; must measure the same kind of quantity.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"value must be a finite number, not {value!r}")
    for label, unit in (("from_unit", from_unit), ("to_unit", to_unit)):
        if not isinstance(unit, str) or not unit.strip():
            raise ValueError(f"{label} must be a unit name such as 'km'")
        if len(unit) > MAX_UNIT_CHARS:
            raise ValueError(f"{label} is longer than {MAX_UNIT_CHARS} characters")
        _check_exponents(label, unit)
    registry = _unit_registry()
    import pint

    source, target = _parse_unit(registry, from_unit), _parse_unit(registry, to_unit)
    try:
        result = registry.Quantity(value, source).to(target)
    except pint.errors.DimensionalityError:
        raise ValueError(
            f"cannot convert {from_unit!r} ({source.dimensionality}) to {to_unit!r} ({target.dimensionality}): "
            "they measure different kinds of quantity"
        ) from None
    except pint.errors.PintError as error:
        raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}: {error}") from None
    magnitude = float(result.magnitude)
    return f"{value:.12g} {from_unit} = {magnitude:.12g} {to_unit}"


def _check_exponents(label: str, unit: str) -> None:
    """Refuse exponents other than small plain numbers before pint sees them.

    pint evaluates exponent arithmetic while it parses: ``m**2**2**...**2`` asks for a
    tower of powers that never finishes, in C code that holds the GIL, so no timeout
    could stop it.
    """
    for operator in _EXPONENT_OPERATOR.finditer(unit):
        exponent = _PLAIN_EXPONENT.match(unit, operator.end())
        if exponent is None or _EXPONENT_OPERATOR.match(unit, exponent.end()):
            raise ValueError(
                f"{label} {unit!r}: an exponent must be a plain number of at most three digits, "
                "e.g. m**2, s^-1 or m**(1/2)"
            )


def _parse_unit(registry: Any, unit: str) -> Any:
    import pint

    try:
        return registry.parse_units(unit)
    except pint.errors.UndefinedUnitError:
        raise ValueError(f"unknown unit {unit!r}; use a pint unit name or symbol such as 'km', 'mile', 'degC'") from None
    except Exception as error:  # pint raises several types for text it cannot read
        raise ValueError(f"cannot read the unit {unit!r}: {str(error) or type(error).__name__}") from None


@chatfn.hookimpl
def register_tools(register: Callable[..., None]) -> None:
    """Offer calculate and convert_units; they need no settings, so no plugin_config."""
    # Pure functions of their arguments: nothing changes, nothing leaves, nothing private.
    hints: dict[str, Any] = {"read_only_hint": True, "destructive_hint": False, "idempotent_hint": True, "open_world_hint": False}
    register(calculate, **hints)
    # pint parses the model's unit text in code that holds the GIL; the exponent check
    # above stops the one hang known, and a worker process stops any other at the timeout.
    register(convert_units, isolated=True, **hints)

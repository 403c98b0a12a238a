"""Settings: defaults < workspace file (corridor.toml) < environment (CORRIDOR_*) < CLI flags.

Each setting has a name, a default and help text, and is validated at start-up with an error
that names where the bad value came from.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridor.errors import ConfigError

SETTINGS_FILE = "corridor.toml"


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any]


def _int_at_least(minimum: int) -> Callable[[Any], int]:
    def parse(v: Any) -> int:
        # (true is not 1, nor 2.7 two: a setting written wrong is refused, not bent into shape)
        if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
            raise ValueError(f"expected a whole number, got {v!r}")
        try:
            n = int(v)
        except (TypeError, ValueError):
            raise ValueError(f"expected a whole number, got {v!r}") from None
        if n < minimum:
            raise ValueError(f"must be at least {minimum}, got {n}")
        return n

    return parse


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected text, got {v!r}")
    return v


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        text = str(v).strip().lower()
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {v!r}")
        return text

    return parse


def _positive_number(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {v!r}") from None
    if not x > 0:
        raise ValueError(f"must be above 0, got {x}")
    return x


def _percent(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(f"expected a percentage, got {v!r}")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected a percentage, got {v!r}") from None
    if not 0 <= x <= 100:
        raise ValueError(f"must be between 0 and 100, got {x:g}")
    return x


def _bands(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        items = [b.strip() for b in v.split(",") if b.strip()]
    elif isinstance(v, list) and all(isinstance(b, str) for b in v):
        items = [b.strip() for b in v]
    else:
        raise ValueError(f"expected a list of age bands, got {v!r}")
    return tuple(b.lower() for b in items)


def _proxy(item: str) -> str:
    """One trusted proxy: an IP address or a network (CIDR), written as uvicorn compares it."""
    expected = "expected an IP address such as 127.0.0.1 or ::1, or a network such as 10.0.0.0/24"
    if "/" in item:
        try:
            return str(ipaddress.ip_network(item))
        except ValueError as exc:
            if "has host bits set" in str(exc):  # 10.0.0.5/24: say which network is meant
                net = ipaddress.ip_network(item, strict=False)
                raise ValueError(
                    f"{item!r} is not a network address: its host bits are set (the network "
                    f"is {net})"
                ) from None
            raise ValueError(f"{item!r} is not an IP network ({expected})") from None
    try:
        return str(ipaddress.ip_address(item))
    except ValueError:
        if item == "*":
            raise ValueError(
                "'*' is not an IP address or network: to trust every address (so that any "
                "client can choose its own) write 0.0.0.0/0,::/0"
            ) from None
        raise ValueError(
            f"{item!r} is not an IP address or network ({expected}; host names are not looked up)"
        ) from None


def proxy_addresses(v: Any) -> tuple[str, ...]:
    """The setting api_trusted_proxies (and ``corridor serve --trusted-proxies``): IP addresses
    and networks, comma-separated text or a list; empty: none. Anything else is refused
    (uvicorn would keep a value that is not an address as a name no peer ever has)."""
    if isinstance(v, str):
        items = [p.strip() for p in v.split(",")]
    elif isinstance(v, list | tuple) and all(isinstance(p, str) for p in v):
        items = [p.strip() for p in v]
    else:
        raise ValueError(f"expected a list of IP addresses or networks, got {v!r}")
    return tuple(dict.fromkeys(_proxy(p) for p in items if p))


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "db", "", "Database URL: empty for the workspace's DuckDB file, or postgresql://...", _text
    ),
    Setting(
        "suppression_threshold",
        10,
        "Counts from 1 up to this number minus one are never published: the cell-key method "
        "moves them to 0 or to at least N, suppression shows them as '<N'.",
        _int_at_least(1),
    ),
    Setting(
        "disclosure_method",
        "cellkey",
        "Disclosure control of every published count: 'cellkey' (counts perturbed by the "
        "cell-key method, the same cell the same everywhere) or 'suppression' (small counts "
        "withheld as '<N', for one-off tables).",
        _choice("cellkey", "suppression"),
    ),
    Setting(
        "disclosure_max_noise",
        4,
        "Cell-key method: the largest change of a published count at or above the threshold.",
        _int_at_least(1),
    ),
    Setting(
        "disclosure_variance",
        2.0,
        "Cell-key method: the variance of the noise (above 0, below max noise squared).",
        _positive_number,
    ),
    Setting(
        "extra_age_bands",
        (),
        "Age bands accepted on intake besides <15, 15-24, 25-34, 35-49, 50+ (e.g. 15-19,20-24).",
        _bands,
    ),
    Setting("user", "", "Name recorded in provenance and the audit log (default: $USER).", _text),
    Setting(
        "max_file_mb",
        4096,
        "Largest input file ingest reads, in MiB; a larger file is refused before it is read.",
        _int_at_least(1),
    ),
    Setting(
        "completeness_threshold",
        80.0,
        "Indicator rows where fewer than this percentage of the expected places reported both "
        "numerator and denominator are flagged incomplete.",
        _percent,
    ),
    Setting(
        "testing_min_age",
        15,
        "Youngest age offered HIV testing: testing_coverage divides by the population of the "
        "age bands from this age up.",
        _int_at_least(0),
    ),
    Setting(
        "api_max_upload_mb",
        50,
        "HTTP API: uploads larger than this many megabytes are refused before they are read.",
        _int_at_least(1),
    ),
    Setting(
        "api_login_attempts",
        5,
        "HTTP API: failed logins allowed per account and per address in 15 minutes.",
        _int_at_least(1),
    ),
    Setting(
        "api_cors_origins",
        "",
        "HTTP API: comma-separated origins allowed by CORS (empty: CORS off).",
        _text,
    ),
    Setting(
        "api_trusted_proxies",
        (),
        "HTTP API: IP addresses or networks (CIDR) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto headers are believed (e.g. 127.0.0.1 or "
        "10.0.0.0/24; empty: none, the client is the connection's own address).",
        proxy_addresses,
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class Settings:
    values: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def db(self) -> str:
        return str(self.values["db"])

    @property
    def suppression_threshold(self) -> int:
        return int(self.values["suppression_threshold"])

    @property
    def disclosure_method(self) -> str:
        return str(self.values.get("disclosure_method", "cellkey"))

    @property
    def disclosure_max_noise(self) -> int:
        return int(self.values.get("disclosure_max_noise", 4))

    @property
    def disclosure_variance(self) -> float:
        return float(self.values.get("disclosure_variance", 2.0))

    @property
    def extra_age_bands(self) -> tuple[str, ...]:
        return tuple(self.values["extra_age_bands"])

    @property
    def max_file_bytes(self) -> int:
        return int(self.values["max_file_mb"]) * 1024 * 1024

    @property
    def completeness_threshold(self) -> float:
        return float(self.values["completeness_threshold"])

    @property
    def testing_min_age(self) -> int:
        return int(self.values["testing_min_age"])

    @property
    def api_trusted_proxies(self) -> tuple[str, ...]:
        return tuple(self.values.get("api_trusted_proxies", ()))

    @property
    def user(self) -> str:
        return str(self.values["user"]) or os.environ.get("USER", "") or "unknown"


def load_settings(
    workspace: Path | None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve every setting through the four layers, validating each value."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    sources: dict[str, str] = {s.name: "default" for s in SETTINGS}
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if workspace is not None:
        path = workspace / SETTINGS_FILE
        if path.exists():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
            stray = sorted(set(data) - {"settings"})
            if stray:  # a mistyped section, or a setting outside [settings]: never ignored
                raise ConfigError(
                    f"{path}: unknown key(s) or section(s) {', '.join(stray)}: settings go in "
                    "the [settings] section (see `corridor init`'s file)"
                )
            section = data.get("settings", {})
            if not isinstance(section, dict):
                raise ConfigError(f"{path}: 'settings' must be a section ([settings]), not a value")
            unknown = sorted(set(section) - set(_BY_NAME))
            if unknown:
                raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
            layers.append((str(path), section))
    layers.append(
        (
            "environment",
            {
                s.name: env[f"CORRIDOR_{s.name.upper()}"]
                for s in SETTINGS
                if f"CORRIDOR_{s.name.upper()}" in env
            },
        )
    )
    if overrides:
        layers.append(("command line", {k: v for k, v in overrides.items() if v is not None}))
    for source, layer in layers:
        for name, raw in layer.items():
            setting = _BY_NAME[name]
            try:
                values[name] = setting.parse(raw)
            except ValueError as exc:
                where = f"CORRIDOR_{name.upper()}" if source == "environment" else source
                raise ConfigError(f"setting {name!r} from {where}: {exc}") from None
            sources[name] = source
    return Settings(values, sources)


def settings_template() -> str:
    """The commented settings file written by ``corridor init``."""
    lines = [
        "# Corridor workspace settings. Environment (CORRIDOR_*) and flags override these.",
        "",
    ]
    lines.append("[settings]")
    for s in SETTINGS:
        lines.append(f"# {s.help}")
        default = s.default
        if isinstance(default, tuple):
            shown = "[" + ", ".join(f'"{b}"' for b in default) + "]"
        elif isinstance(default, str):
            shown = f'"{default}"'
        else:
            shown = str(default)
        lines.append(f"# {s.name} = {shown}")
        lines.append("")
    return "\n".join(lines)

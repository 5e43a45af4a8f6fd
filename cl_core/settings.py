"""Server settings for a classroom: caps on runs, batch size and uploads, concurrency and private mode.

Read once when the app starts from a small TOML file: ``$CL_SETTINGS`` when set, else ``explorer.toml``
in the working directory when it exists (``explorer.example.toml`` documents every key). The defaults
suit one person on a laptop. The CLI never reads this file: it is the app's limit for its users.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cl_core.config import Config, ConfigError, check_range
from cl_core.data import DataError
from cl_core.folders import MAX_ARCHIVE_BYTES

FILE_NAME = "explorer.toml"


@dataclass(frozen=True)
class Settings:
    """Every key of the settings file, with its default."""

    max_seconds_per_run: float = 3600.0  # a run's wall-clock budget; step/epoch-only runs get it as a second budget
    max_batch_size: int = 4096  # the Train page offers up to 2048
    max_upload_mb: float = float(MAX_ARCHIVE_BYTES >> 20)  # uploaded zips; the server's hard limit is also 200 MB
    max_runs_per_session: int = 32  # runs one browser session may have queued or running at once
    concurrent_runs: int = 0  # training processes at once; 0 = one per GPU, or one per two CPU cores
    private: bool = False  # each session sees only the runs it started
    session_grace_seconds: float = 120.0  # how long a closed tab's runs wait for it to come back
    local_folders: bool = True  # the Data page may read any folder of the server; false on a shared server

    def check_data(self, cfg: Config) -> None:
        """ConfigError when ``cfg`` reads a folder or checkpoint of the server other than the app's uploads."""
        if self.local_folders:
            return
        uploads = (Path(cfg.data.root) / "uploads").resolve()
        folder = cfg.data.name.removeprefix("folder:") if cfg.data.name.startswith("folder:") else ""
        if folder and not Path(folder).resolve().is_relative_to(uploads):
            raise ConfigError(
                "data.name",
                "this server reads no folders of its own (local_folders in its settings file): upload a zip instead",
            )
        if cfg.train.init_from and not Path(cfg.train.init_from).resolve().is_relative_to(uploads):
            raise ConfigError(
                "train.init_from",
                "this server reads no checkpoints of its own (local_folders in its settings file)",
            )

    def check_config(self, cfg: Config) -> Config:
        """A copy of ``cfg`` within the caps; ConfigError naming the field and the cap if it is over one.

        A run with only a step or epoch budget gets ``max_seconds_per_run`` as a second budget.
        """
        t = cfg.train
        _cap("train.batch_size", t.batch_size, self.max_batch_size, "max_batch_size")
        self.check_data(cfg)
        self.check_seconds(t.seconds)
        out = Config.from_dict(cfg.to_dict())
        out.train.seconds = out.train.seconds or self.max_seconds_per_run
        return out

    def check_seconds(self, seconds: float) -> None:
        _cap("train.seconds", seconds, self.max_seconds_per_run, "max_seconds_per_run")

    def check_upload(self, name: str, size: int) -> None:
        """DataError when an upload of ``size`` bytes is over ``max_upload_mb``."""
        if size > self.max_upload_mb * 2**20:
            raise DataError(
                f"{name} is {size / 2**20:.1f} MB; this server accepts uploads up to {self.max_upload_mb:g} MB "
                "(max_upload_mb in its settings file)"
            )


def _cap(field: str, value: float, cap: float, key: str) -> None:
    if value > cap:
        raise ConfigError(field, f"must be <= {cap:g} on this server ({key} in its settings file); got {value:g}")


# key -> (low, high) for numbers; bools have no range
RANGES: dict[str, tuple[float, float]] = {
    "max_seconds_per_run": (10, 7 * 24 * 3600),
    "max_batch_size": (2, 65536),
    "max_upload_mb": (1, MAX_ARCHIVE_BYTES >> 20),
    "max_runs_per_session": (1, 1000),
    "concurrent_runs": (0, 256),
    "session_grace_seconds": (0, 24 * 3600),
}


def parse_settings(values: dict) -> Settings:
    """Settings from a parsed TOML table; ConfigError naming the first bad key and what it allows."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(key, f"unknown setting; known: {', '.join(fields)}")
        kind = type(fields[key].default)
        if kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(key, f"must be true or false; got {value!r}")
            continue
        if kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
            low, high = RANGES[key]
            raise ConfigError(key, f"must be a whole number from {low:g} to {high:g}; got {value!r}")
        check_range(key, value, *RANGES[key])
    return Settings(**{k: type(fields[k].default)(v) for k, v in values.items()})  # 30 -> 30.0 for a float key


def settings_path() -> Path | None:
    """``$CL_SETTINGS`` when set, else ``explorer.toml`` in the working directory if there is one."""
    env = os.environ.get("CL_SETTINGS")
    if env:
        return Path(env)
    return Path(FILE_NAME) if Path(FILE_NAME).is_file() else None


# What a server whose settings file cannot be read runs with: its owner asked for limits we cannot see.
LOCKED = Settings(private=True, local_folders=False)


def load_settings(path: str | Path | None = None) -> tuple[Settings, str]:
    """The settings and '', or what could be used and a one-line report of what could not.

    A bad key keeps its default and the rest of the file applies (a typo in one cap never turns private mode
    off); a file that cannot be read or parsed gives ``LOCKED``: private, no server folders, default caps.
    """
    path = settings_path() if path is None else Path(path)
    if path is None:
        return Settings(), ""
    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except (OSError, ValueError) as e:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return LOCKED, f"settings file {path}: {e}; locked down until it is fixed: private, no server folders"
    good, errors = {}, []
    for key, value in values.items():
        try:
            parse_settings({key: value})
            good[key] = value
        except ConfigError as e:
            errors.append(e)
    if not errors:
        return parse_settings(good), ""
    if len(errors) == 1:
        return parse_settings(good), f"settings file {path}: {errors[0]}; that key keeps its default"
    first = errors[0]
    return parse_settings(good), f"settings file {path}: {len(errors)} bad keys keep their defaults, first {first}"

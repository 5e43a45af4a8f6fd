"""The classroom settings file: parsing and its errors, the caps, and the job manager that enforces them."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from cl_core.config import Config, ConfigError
from cl_core.data import DataError
from cl_core.jobs import JobError, JobManager
from cl_core.runs import load_run
from cl_core.settings import Settings, load_settings, parse_settings, settings_path

ROOT = Path(__file__).resolve().parents[1]
KEYS = [f.name for f in dataclasses.fields(Settings)]


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """Stands in for the interpreter: writes its arguments to args.<pid> and sleeps, so jobs 'run' without training."""
    script = tmp_path / "fake-python"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/args.$$"\nexec sleep 60\n')
    script.chmod(0o755)
    return script


def child_args(folder: Path, flag: str, timeout: float = 10.0) -> list[str]:
    """The arguments of the fake child whose command line holds ``flag``."""
    end = time.time() + timeout
    while time.time() < end:
        for p in folder.glob("args.*"):
            args = p.read_text().split("\n")
            if flag in args:
                return args
        time.sleep(0.05)
    raise AssertionError(f"no child was started with {flag}")


def manager(tmp_path: Path, fake_python: Path, slots: int = 1, **limits) -> JobManager:
    return JobManager(tmp_path / "runs", max_concurrent=slots, python=str(fake_python), limits=Settings(**limits))


# --------------------------------------------------------------------------------------------------- the file


def test_without_a_file_the_laptop_defaults_apply(tmp_path, monkeypatch):
    monkeypatch.delenv("CL_SETTINGS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert settings_path() is None and load_settings() == (Settings(), "")


def test_explorer_toml_in_the_working_directory_or_the_file_in_cl_settings_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("CL_SETTINGS", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "explorer.toml").write_text("max_batch_size = 64\nprivate = true\nmax_upload_mb = 2.5\n")
    assert load_settings() == (Settings(max_batch_size=64, private=True, max_upload_mb=2.5), "")
    (tmp_path / "class.toml").write_text("concurrent_runs = 3\n")
    monkeypatch.setenv("CL_SETTINGS", str(tmp_path / "class.toml"))
    assert load_settings() == (Settings(concurrent_runs=3), "")


def test_the_example_file_is_valid_and_sets_every_key():
    text = (ROOT / "explorer.example.toml").read_text()
    settings, problem = load_settings(ROOT / "explorer.example.toml")
    assert problem == ""
    assert [k for k in KEYS if f"\n{k} = " not in text] == []
    assert settings.private and settings.max_runs_per_session >= 6  # the largest lesson starts 6 runs


@pytest.mark.parametrize(
    "text, key, allowed",
    [
        ("max_batch_size = 1", "max_batch_size", ">= 2 and <= 65536"),
        ("max_batch_size = 64.5", "max_batch_size", "whole number from 2 to 65536"),
        ("max_seconds_per_run = -5", "max_seconds_per_run", ">= 10 and <= 604800"),
        ("max_upload_mb = 500", "max_upload_mb", "<= 200"),
        ("concurrent_runs = true", "concurrent_runs", "whole number from 0 to 256"),
        ('private = "yes"', "private", "true or false"),
        ("session_grace_seconds = nan", "session_grace_seconds", "finite"),
        ("max_runs = 3", "max_runs", "known: max_seconds_per_run, max_batch_size"),
    ],
)
def test_a_bad_key_is_reported_naming_what_it_allows_and_keeps_its_default_while_the_rest_applies(
    tmp_path, text, key, allowed
):
    path = tmp_path / "explorer.toml"
    path.write_text(f"max_runs_per_session = 3\nlocal_folders = false\n{text}\n")
    settings, problem = load_settings(path)
    assert settings == Settings(max_runs_per_session=3, local_folders=False)  # a typo never lifts a restriction
    assert str(path) in problem and key in problem and allowed in problem and "keeps its default" in problem


def test_several_bad_keys_are_counted_and_the_first_named(tmp_path):
    path = tmp_path / "explorer.toml"
    path.write_text("max_batch_size = 1\nprivate = 'yes'\nconcurrent_runs = 2\n")
    settings, problem = load_settings(path)
    assert settings == Settings(concurrent_runs=2) and "2 bad keys" in problem and "max_batch_size" in problem


@pytest.mark.parametrize(
    "content, why",
    [(None, "No such file"), (b"max_batch_size = \n", "Invalid value"), (b'max_batch_size = "\xff"\n', "utf-8")],
)
def test_a_file_that_cannot_be_read_locks_the_server_down(tmp_path, monkeypatch, content, why):
    path = tmp_path / "class.toml"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("CL_SETTINGS", str(path))
    settings, problem = load_settings()
    assert settings == Settings(private=True, local_folders=False)
    assert "class.toml" in problem and why in problem and "locked down" in problem


# --------------------------------------------------------------------------------------------------- the caps


def test_a_config_over_a_cap_is_refused_naming_the_field_and_the_cap():
    limits = Settings(max_batch_size=64, max_seconds_per_run=120)
    cfg = Config()
    cfg.train.batch_size = 128
    with pytest.raises(ConfigError) as err:
        limits.check_config(cfg)
    assert err.value.field == "train.batch_size" and "<= 64" in err.value.message and "got 128" in err.value.message
    assert "max_batch_size" in err.value.message
    cfg.train.batch_size, cfg.train.seconds = 64, 121
    with pytest.raises(ConfigError, match=r"train.seconds: must be <= 120 .*max_seconds_per_run.*got 121"):
        limits.check_config(cfg)


def test_a_step_budget_gets_the_seconds_cap_as_a_second_budget_on_a_copy():
    cfg = Config()
    cfg.train.seconds, cfg.train.steps = 0.0, 500
    capped = Settings(max_seconds_per_run=120).check_config(cfg)
    assert (capped.train.steps, capped.train.seconds) == (500, 120)
    assert cfg.train.seconds == 0.0 and capped is not cfg


def test_an_upload_over_the_limit_is_refused_with_its_size_and_the_limit():
    with pytest.raises(DataError, match=r"pets.zip is 2.0 MB; this server accepts uploads up to 1 MB"):
        Settings(max_upload_mb=1).check_upload("pets.zip", 2 * 2**20)
    Settings(max_upload_mb=1).check_upload("pets.zip", 2**20)  # exactly at the limit


# ---------------------------------------------------------------------------------- the job manager enforces them


def test_the_job_manager_refuses_a_config_over_a_cap_and_writes_nothing(tmp_path, fake_python):
    jm = manager(tmp_path, fake_python, max_batch_size=64)
    cfg = Config()
    cfg.train.batch_size = 128
    with pytest.raises(ConfigError, match="train.batch_size: must be <= 64"):
        jm.submit(cfg, owner="alice")
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_a_session_may_have_at_most_max_runs_per_session_queued_or_running(tmp_path, fake_python):
    jm = manager(tmp_path, fake_python, max_runs_per_session=2)
    try:
        jm.submit(Config(), owner="alice")
        queued = jm.submit(Config(), owner="alice")
        with pytest.raises(JobError, match=r"already has 2 runs queued or running and asks for 1 more; .* allows 2 "):
            jm.submit(Config(), owner="alice")
        jm.submit(Config(), owner="bob")  # another session is not held back by alice's runs
        jm.stop(queued, owner="alice")  # a dropped queued run frees its place
        jm.submit(Config(), owner="alice")
        assert [j.state for j in jm.jobs("alice")] == ["running", "queued"]
        assert len(list((tmp_path / "runs").iterdir())) == 4
    finally:
        jm.shutdown()


def test_runs_record_their_owner_and_continue_keeps_within_the_caps(tmp_path, fake_python):
    jm = manager(tmp_path, fake_python, slots=2, max_seconds_per_run=90)
    cfg = Config()
    cfg.train.seconds, cfg.train.steps = 0.0, 500
    try:
        run_id = jm.submit(cfg, owner="alice")
        run = load_run(jm.runs_dir / run_id)
        assert run.owner == "alice" and (run.config["train"]["steps"], run.config["train"]["seconds"]) == (500, 90)
        jm.stop(run_id, owner="alice")
        end = time.time() + 10
        while jm.jobs() and time.time() < end:
            time.sleep(0.05)
        (jm.runs_dir / run_id / "checkpoint.pt").write_bytes(b"")
        with pytest.raises(ConfigError, match="train.seconds: must be <= 90"):
            jm.submit(None, owner="alice", resume_run=run_id, seconds=91)
        private = JobManager(jm.runs_dir, python=str(fake_python), limits=Settings(private=True))
        with pytest.raises(JobError, match="belongs to another session"):
            private.submit(None, owner="bob", resume_run=run_id, seconds=10)
        assert jm.submit(None, owner="alice", resume_run=run_id, steps=7) == run_id
        args = child_args(tmp_path, "--resume")
        assert args[args.index("--steps") + 1] == "7" and args[args.index("--seconds") + 1] == "90"
    finally:
        jm.shutdown()


def test_the_app_builds_its_job_manager_and_default_config_from_the_settings_file(tmp_path, monkeypatch):
    from ui import server, session

    path = tmp_path / "class.toml"
    path.write_text("concurrent_runs = 3\nsession_grace_seconds = 7\nmax_batch_size = 64\nmax_seconds_per_run = 30\n")
    monkeypatch.setenv("CL_SETTINGS", str(path))
    jm = server.job_manager(str(tmp_path / "runs"))
    assert (jm.max_concurrent, jm.drop_after, jm.limits) == (3, 7.0, load_settings(path)[0])
    cfg = session.default_config()
    assert (cfg.train.batch_size, cfg.train.seconds) == (64, 30.0)


def test_a_shared_server_reads_no_folder_of_its_own_but_uploaded_zips(tmp_path):
    shared = parse_settings({"local_folders": False})
    cfg = Config()
    cfg.data.root = str(tmp_path / "data")
    cfg.data.name = "folder:/etc"
    with pytest.raises(ConfigError) as e:
        shared.check_config(cfg)
    assert e.value.field == "data.name" and "local_folders" in e.value.message
    cfg.data.name = f"folder:{tmp_path / 'data' / 'uploads' / 'abc.zip'}"
    shared.check_config(cfg)  # the app's own uploads are fine
    cfg.data.name = f"folder:{tmp_path / 'data' / 'uploads' / '..' / '..' / 'secret'}"
    with pytest.raises(ConfigError):
        shared.check_config(cfg)
    cfg.data.name = "folder:/etc"
    parse_settings({}).check_config(cfg)  # a laptop's default allows any folder
    cfg.data.name = "digits"
    cfg.train.init_from = "/etc/passwd"  # nor a checkpoint: torch.load of any file of the server
    with pytest.raises(ConfigError) as e:
        shared.check_config(cfg)
    assert e.value.field == "train.init_from" and "local_folders" in e.value.message
    cfg.train.init_from = str(tmp_path / "data" / "uploads" / "resnet18.pth")
    shared.check_config(cfg)


def test_a_sweep_is_refused_whole_when_one_value_is_over_a_cap_or_it_needs_too_many_runs(tmp_path, fake_python):
    from cl_core import sweep

    jm = manager(tmp_path, fake_python, max_batch_size=128, max_runs_per_session=3)
    try:
        with pytest.raises(ConfigError, match="train.batch_size: must be <= 128"):
            sweep.launch(jm, Config(), "batch_size", "32,256", owner="alice")
        with pytest.raises(JobError, match="asks for 4 more"):
            sweep.launch(jm, Config(), "temperature", "0.1,0.2,0.3,0.4", owner="alice")
        assert jm.jobs("alice") == [] and not list((tmp_path / "runs").glob("*/config.json"))
        assert len(sweep.launch(jm, Config(), "temperature", "0.1,0.2,0.3", owner="alice").run_ids) == 3
    finally:
        jm.shutdown()

"""Finding Java and starting Spark: the checks that run before any JVM starts (no Spark needed)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from discoverly.engine.spark.session import java_executable, java_version, spark_session
from discoverly.errors import ConfigError, MissingDependencyError


def _fake_java(home: Path, banner: str) -> Path:
    exe = home / "bin" / "java"
    exe.parent.mkdir(parents=True)
    exe.write_text(f"#!/bin/sh\necho '{banner}' >&2\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


@pytest.mark.parametrize(("banner", "major"), [('openjdk version "17.0.15" 2025-04-15', 17),
                                               ('java version "1.8.0_392"', 8),
                                               ('openjdk version "21" 2023-09-19', 21)])
def test_java_version_reads_the_banner(tmp_path: Path, banner: str, major: int) -> None:
    assert java_version(str(_fake_java(tmp_path, banner))) == major


def test_java_home_wins_and_missing_java_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = _fake_java(tmp_path / "jdk", 'openjdk version "17.0.1"')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert java_executable() == str(exe)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    assert java_executable() is None
    pytest.importorskip("pyspark")
    with pytest.raises(MissingDependencyError, match=r"scripts/java\.sh"):
        spark_session("local[1]")


def test_old_java_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    _fake_java(tmp_path / "jdk", 'java version "1.8.0_392"')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(MissingDependencyError, match="Java 8"):
        spark_session("local[1]")


def test_master_must_be_a_url() -> None:
    pytest.importorskip("pyspark")
    with pytest.raises(ConfigError, match="master"):
        spark_session("")


@pytest.mark.parametrize(("master", "memory", "match"), [
    ("local[0]", None, "not a local master URL"), ("local[abc]", None, "not a local master URL"),
    ("local[2]", "4GB", "such as 4g or 512m"), ("local[2]", "lots", "such as 4g or 512m"),
])
def test_bad_master_or_driver_memory_is_refused_before_the_jvm(master: str, memory: str | None, match: str) -> None:
    """Spark's JVM refused them with a Py4JJavaError / JAVA_GATEWAY_EXITED traceback (exit code 1)."""
    pytest.importorskip("pyspark")
    with pytest.raises(ConfigError, match=match):
        spark_session(master, driver_memory=memory)


def test_a_session_spark_cannot_start_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """E.g. master yarn without HADOOP_CONF_DIR, or an unreachable spark://: the JVM exits or the
    context stops, and PySpark raises its own errors; the user gets one line naming --master."""
    pytest.importorskip("pyspark")
    if (java_version() or 0) < 17:
        pytest.skip("needs Java 17+ (the check before starting Spark)")
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    def refuse(self: object) -> None:
        raise PySparkRuntimeError(errorClass="JAVA_GATEWAY_EXITED", messageParameters={})

    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", refuse)
    with pytest.raises(ConfigError, match=r"cannot start Spark on master 'yarn': \[JAVA_GATEWAY_EXITED\].*--master"):
        spark_session("yarn")


@pytest.mark.parametrize("banner", [None, 'openjdk version "11.0.2" 2019-01-15'])
def test_java_sh_names_a_java_home_that_is_not_java_17(tmp_path: Path, banner: str | None) -> None:
    """It went on to apt-get install Debian's Java, which JAVA_HOME then hid ("Java 0 after installing")."""
    import os
    import subprocess

    home = tmp_path / "jdk"
    if banner:
        _fake_java(home, banner)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apt-get").write_text("#!/bin/sh\necho APT-GET-RAN >&2\nexit 1\n")
    (fake / "apt-get").chmod(0o755)
    script = Path(__file__).resolve().parents[3] / "scripts" / "java.sh"
    env = {**os.environ, "JAVA_HOME": str(home), "PATH": f"{fake}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert f"JAVA_HOME={home} has {'Java 11' if banner else 'no bin/java'}" in done.stderr
    assert "APT-GET-RAN" not in done.stderr


def test_java_on_the_path_without_java_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = _fake_java(tmp_path, 'openjdk version "21.0.2"')
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(exe.parent))
    assert java_executable() == str(exe)
    assert java_version() == 21
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert java_executable() is None and java_version() is None


def test_java_version_asks_with_minus_version_and_a_time_limit(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The banner comes from ``java -version`` (other arguments print nothing here), whatever its exit
    code; a Java that does not answer is given up on (a timeout, so no hang) and read as absent."""
    import subprocess

    exe = tmp_path / "java"
    exe.write_text('#!/bin/sh\n[ "$1" = "-version" ] && echo \'openjdk version "17.0.9"\' >&2\nexit 3\n')
    exe.chmod(0o755)
    assert java_version(str(exe)) == 17
    calls: list[dict[str, object]] = []
    real_run = subprocess.run

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", spy)
    assert java_version(str(exe)) == 17
    timeout = calls[0]["timeout"]
    assert isinstance(timeout, (int, float)) and 0 < timeout <= 60

    def hang(*args: object, **kwargs: object) -> object:
        raise subprocess.TimeoutExpired(cmd=str(exe), timeout=60)

    monkeypatch.setattr(subprocess, "run", hang)
    assert java_version(str(exe)) is None


class _BuiltError(Exception):
    """Raised in place of starting the JVM, carrying the settings the session would start with."""

    def __init__(self, options: dict[str, str]) -> None:
        super().__init__("no JVM in this test")
        self.options = options


def _settings(monkeypatch: pytest.MonkeyPatch, master: str | None, **kwargs: object) -> dict[str, str]:
    """The options ``spark_session(master, **kwargs)`` would start Spark with (``None``: its default master)."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    import discoverly.engine.spark.session as session

    def built(self: object) -> None:
        raise _BuiltError(dict(self._options))  # type: ignore[attr-defined]

    monkeypatch.setattr(session, "java_executable", lambda: "/opt/java/bin/java")
    monkeypatch.setattr(session, "java_version", lambda exe=None: 17)
    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", built)
    with pytest.raises(_BuiltError) as info:
        spark_session(*([] if master is None else [master]), **kwargs)  # type: ignore[arg-type]
    return info.value.options


def test_the_settings_a_local_session_starts_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The documented settings (docs/spark.md): no UI, UTC, adaptive execution with skew-join splitting,
    pandas' nanoseconds read as numbers, 4 shuffle partitions per local core (at least 4), the workers on
    this interpreter, the packaged log4j configuration."""
    import os
    import sys

    import discoverly.engine.spark.session as session

    monkeypatch.setenv("PYSPARK_PYTHON", "")  # unset (and put back as it was after the test)
    options = _settings(monkeypatch, "local[3]", app_name="nightly", driver_memory="3g", local_dir=tmp_path,
                        config={"spark.sql.adaptive.enabled": "false", "spark.extra": "1"})
    log4j = (Path(str(session.__file__)).with_name("log4j2.properties")).as_uri()
    assert options == {
        "spark.master": "local[3]", "spark.app.name": "nightly",
        "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.enabled": "false",  # the caller's config wins
        "spark.sql.adaptive.skewJoin.enabled": "true", "spark.sql.execution.arrow.pyspark.enabled": "false",
        "spark.sql.legacy.parquet.nanosAsLong": "true", "spark.sql.shuffle.partitions": "12",
        "spark.pyspark.python": sys.executable, "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log4j}",
        "spark.driver.memory": "3g", "spark.local.dir": str(tmp_path), "spark.extra": "1",
    }
    assert os.environ["PYSPARK_PYTHON"] == sys.executable


@pytest.mark.parametrize(("master", "given", "partitions"), [
    ("local[1]", None, "4"), ("local[2,5]", None, "8"), ("local", None, "cores"), ("local[*]", None, "cores"),
    ("local[3]", 7, "7"), ("spark://head:7077", None, None), ("spark://head:7077", 6, "6"),
])
def test_shuffle_partitions(monkeypatch: pytest.MonkeyPatch, master: str, given: int | None,
                            partitions: str | None) -> None:
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 5)
    options = _settings(monkeypatch, master, shuffle_partitions=given)
    assert options.get("spark.sql.shuffle.partitions") == ("20" if partitions == "cores" else partitions)


def test_a_cluster_session_keeps_its_own_python_and_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSPARK_PYTHON", "")
    options = _settings(monkeypatch, "spark://head:7077")
    assert not {"spark.pyspark.python", "spark.driver.extraJavaOptions", "spark.driver.memory",
                "spark.local.dir"} & set(options)
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/python3")  # a local session keeps a chosen interpreter
    assert "spark.pyspark.python" not in _settings(monkeypatch, "local[2]")


def test_the_defaults_and_what_every_session_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/python3")
    options = _settings(monkeypatch, "spark://head:7077", driver_memory="4G")  # upper-case units too
    assert {key: options[key] for key in ("spark.ui.enabled", "spark.sql.adaptive.enabled",
                                          "spark.sql.adaptive.skewJoin.enabled", "spark.driver.memory")} == {
        "spark.ui.enabled": "false", "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.skewJoin.enabled": "true", "spark.driver.memory": "4G"}
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: two cores assumed
    options = _settings(monkeypatch, None)
    assert {key: options[key] for key in ("spark.master", "spark.app.name", "spark.sql.shuffle.partitions")} == {
        "spark.master": "local[2]", "spark.app.name": "discoverly", "spark.sql.shuffle.partitions": "8"}
    with pytest.raises(_BuiltError) as info:
        spark_session("local[*]")
    assert info.value.options["spark.sql.shuffle.partitions"] == "8"


@pytest.mark.parametrize(("missing", "message"), [
    ("pyspark", "'pyspark' is needed for the Spark engine but is not installed. Install it with: "
                "pip install 'discoverly[spark]'"),
    ("pandas", "'pandas' is needed for the Spark engine (PySpark's Arrow functions) but is not installed. "
               "Install it with: pip install 'discoverly[spark]'"),
])
def test_a_missing_package_names_the_spark_extra(monkeypatch: pytest.MonkeyPatch, missing: str, message: str) -> None:
    import sys

    monkeypatch.setitem(sys.modules, missing, None)  # import fails
    with pytest.raises(MissingDependencyError) as err:
        spark_session("local[1]")
    assert str(err.value) == message


def test_a_bad_local_master_message_in_full() -> None:
    pytest.importorskip("pyspark")
    with pytest.raises(ConfigError) as err:
        spark_session("local[0]")
    assert str(err.value) == ("master 'local[0]' is not a local master URL: write local[N] (N threads, at least 1), "
                              "local[*] (one per core) or local[N,F] (F retries)")


def _start(monkeypatch: pytest.MonkeyPatch, outcome: object) -> object:
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    import discoverly.engine.spark.session as session

    def get_or_create(self: object) -> object:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(session, "java_executable", lambda: "/opt/java/bin/java")
    monkeypatch.setattr(session, "java_version", lambda exe=None: 17)
    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", get_or_create)
    return spark_session("yarn")


@pytest.mark.parametrize(("text", "reason"), [
    # Py4J's form: the JVM's exception on the line that starts with ': ' (its own ': ' kept)
    ("An error occurred while calling None.org.apache.spark.api.java.JavaSparkContext.\n"
     ": org.apache.spark.SparkException: Could not parse Master URL: 'yarn'\n\tat org.apache.spark.SparkContext\n"
     ": a later line\n",
     "org.apache.spark.SparkException: Could not parse Master URL: 'yarn'"),
    ("\n  [JAVA_GATEWAY_EXITED] Java gateway process exited.  \n: \n",
     "[JAVA_GATEWAY_EXITED] Java gateway process exited."),  # else the first line
    ("", ""),
    (": " + "x" * 400, "x" * 300),  # at most 300 characters
])
def test_a_session_spark_cannot_start_in_full(monkeypatch: pytest.MonkeyPatch, text: str, reason: str) -> None:
    pytest.importorskip("pyspark")
    from pyspark.errors import PySparkException

    class Refused(PySparkException):
        def __str__(self) -> str:
            return text

    with pytest.raises(ConfigError) as err:
        _start(monkeypatch, Refused(message=text or "-"))
    assert str(err.value) == (
        f"cannot start Spark on master 'yarn': {reason} (Spark's own messages above say more). Check --master "
        "(local[N], spark://host:7077, yarn, k8s://...), that the cluster is reachable, and --driver-memory")


def test_a_started_session_logs_errors_only(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    from types import SimpleNamespace

    levels: list[str] = []
    context = SimpleNamespace(setLogLevel=levels.append, master="yarn")
    fake = SimpleNamespace(version="4.1.0", sparkContext=context)
    with caplog.at_level(logging.INFO, logger="discoverly.engine.spark.session"):
        assert _start(monkeypatch, fake) is fake
    assert levels == ["ERROR"]
    assert [r.getMessage() for r in caplog.records if r.name == "discoverly.engine.spark.session"] == [
        "Spark 4.1.0 session on yarn"]

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

"""A Spark session for discoverly's batch jobs: Java found (or a clear error), quiet logging, UTC
time, and settings that suit the jobs (adaptive execution with skew-join splitting on)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from discoverly.dependencies import require
from discoverly.errors import ConfigError, MissingDependencyError

__all__ = ["java_executable", "java_version", "spark_session", "MIN_JAVA"]

log = logging.getLogger(__name__)

#: the oldest Java the supported PySpark versions run on (Spark 4 needs 17)
MIN_JAVA = 17

_JAVA_HINT = ("Spark needs a Java runtime (17 or newer). Install Debian's with: bash scripts/java.sh "
              "(or: apt-get install default-jre-headless), or set JAVA_HOME to a Java 17+ installation")


def java_executable() -> str | None:
    """The ``java`` that Spark will start: ``$JAVA_HOME/bin/java`` when set, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def java_version(executable: str | None = None) -> int | None:
    """The major version of ``executable`` (default :func:`java_executable`), ``None`` when absent."""
    exe = executable or java_executable()
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def spark_session(master: str = "local[2]", *, app_name: str = "discoverly", driver_memory: str | None = None,
                  shuffle_partitions: int | None = None, local_dir: str | os.PathLike[str] | None = None,
                  config: dict[str, Any] | None = None) -> Any:
    """Start (or reuse) a ``SparkSession`` on ``master`` — ``local[N]`` or any cluster URL.

    ``driver_memory`` (e.g. ``"4g"``) only applies when this call starts the JVM. In local mode the
    shuffle partitions default to 4 per core instead of Spark's 200 (the jobs' tables are small per
    core), elsewhere Spark's default stands. Raises
    :class:`~discoverly.errors.MissingDependencyError` when PySpark or Java is missing.
    """
    require("pyspark", extra="spark", purpose="the Spark engine")
    require("pandas", extra="spark", purpose="the Spark engine (PySpark's Arrow functions)")
    if not master or not isinstance(master, str):
        raise ConfigError(f"master must be a Spark master URL such as 'local[2]' or 'spark://host:7077', "
                          f"got {master!r}")
    local = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if (master.startswith("local[") and not local) or (local and local.group(1) == "0"):
        raise ConfigError(f"master {master!r} is not a local master URL: write local[N] (N threads, at least 1), "
                          "local[*] (one per core) or local[N,F] (F retries)")
    if driver_memory and not re.fullmatch(r"\d+[kKmMgGtT]?", str(driver_memory)):
        # the JVM's -Xmx reads it in client mode: 4g or 4096m, not 4GB or 4 g (the JVM would not start)
        raise ConfigError(f"driver memory must be a number with k, m, g or t, such as 4g or 512m; got "
                          f"{driver_memory!r}")
    exe = java_executable()
    if exe is None:
        raise MissingDependencyError(f"no Java runtime found. {_JAVA_HINT}")
    version = java_version(exe)
    if version is not None and version < MIN_JAVA:
        raise MissingDependencyError(f"{exe} is Java {version}. {_JAVA_HINT}")
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    settings: dict[str, Any] = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.skewJoin.enabled": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "false",
        # pandas writes nanosecond timestamps, a Parquet type Spark refuses; read them as epoch
        # nanoseconds, which read_events turns into seconds as the local reader does
        "spark.sql.legacy.parquet.nanosAsLong": "true",
    }
    if shuffle_partitions is None and local:
        cores = local.group(1)
        n = (os.cpu_count() or 2) if cores in (None, "*") else int(cores)
        shuffle_partitions = max(4, 4 * int(n))
    if shuffle_partitions is not None:
        settings["spark.sql.shuffle.partitions"] = str(int(shuffle_partitions))
    if local and not os.environ.get("PYSPARK_PYTHON"):
        # Python workers: this interpreter and its packages (pyarrow for the Arrow batches). PySpark
        # reads the worker interpreter from PYSPARK_PYTHON when the context starts (default
        # "python3", whatever is first on PATH); the config key alone is not enough.
        os.environ["PYSPARK_PYTHON"] = sys.executable
        settings["spark.pyspark.python"] = sys.executable
    if local:  # the JVM logs errors only (Spark's default prints ~5 WARN lines a run); clusters keep their own
        log4j = (Path(__file__).with_name("log4j2.properties")).as_uri()
        settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={log4j}"
    if driver_memory:
        settings["spark.driver.memory"] = driver_memory
    if local_dir is not None:
        settings["spark.local.dir"] = str(local_dir)
    settings.update(config or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except (PySparkException, Py4JJavaError) as exc:  # a master Spark cannot parse or reach, a JVM that cannot start
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = next((line.split(": ", 1)[-1] for line in lines if line.startswith(": ")), lines[0] if lines else "")
        raise ConfigError(f"cannot start Spark on master {master!r}: {reason[:300]} (Spark's own messages above say "
                          "more). Check --master (local[N], spark://host:7077, yarn, k8s://...), that the cluster is "
                          "reachable, and --driver-memory") from None
    spark.sparkContext.setLogLevel("ERROR")
    log.info("Spark %s session on %s", spark.version, spark.sparkContext.master)
    return spark

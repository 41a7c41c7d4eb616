"""The jars a local run needs for Iceberg tables on PySpark 3.5.

The Iceberg Spark runtime comes from the PyPI package
snowpark-connect-deps-iceberg (iceberg-spark-runtime-3.5_2.12-1.10.2.jar),
whose build strips Iceberg's shaded copy of Jackson: without it, CREATE TABLE
fails with ClassNotFoundException
org.apache.iceberg.shaded.com.fasterxml.jackson.core.JsonFactoryBuilder. This
file rebuilds the missing classes from PySpark's own Jackson jars by renaming
their package inside each class file's constant pool (a tiny jarjar), into a
cache folder keyed by the jars it was built from. Nothing here is committed
output: the jar is built on the machine that runs.

    python iceberg_jars.py CACHE_DIR    # prints the jars, comma-separated
"""

import glob
import hashlib
import os
import struct
import sys
import zipfile

OLD_SLASH = b"com/fasterxml/jackson/"
NEW_SLASH = b"org/apache/iceberg/shaded/com/fasterxml/jackson/"
OLD_DOT = b"com.fasterxml.jackson."
NEW_DOT = b"org.apache.iceberg.shaded.com.fasterxml.jackson."
# Sizes of the constant-pool entries other than UTF-8 (JVM spec, 4.4).
SIZES = {
    3: 4,
    4: 4,
    5: 8,
    6: 8,
    7: 2,
    8: 2,
    16: 2,
    19: 2,
    20: 2,
    9: 4,
    10: 4,
    11: 4,
    12: 4,
    17: 4,
    18: 4,
    15: 3,
}


def renamed(data):
    """`data` with Jackson's package renamed into Iceberg's shaded one."""
    return data.replace(OLD_SLASH, NEW_SLASH).replace(OLD_DOT, NEW_DOT)


def relocate_class(data):
    """A class file with every UTF-8 constant renamed (their lengths fixed)."""
    out = bytearray(data[:10])
    count = struct.unpack(">H", data[8:10])[0]
    i, k = 10, 1
    while k < count:
        tag = data[i]
        if tag == 1:
            length = struct.unpack(">H", data[i + 1 : i + 3])[0]
            text = renamed(data[i + 3 : i + 3 + length])
            out += bytes([1]) + struct.pack(">H", len(text)) + text
            i += 3 + length
            k += 1
        else:
            size = SIZES[tag]
            out += data[i : i + 1 + size]
            i += 1 + size
            # Long and double entries take two slots.
            k += 2 if tag in (5, 6) else 1
    out += data[i:]
    return bytes(out)


def relocate(dest, jars):
    """Writes the relocated Jackson classes of `jars` into the jar `dest`."""
    tmp = dest + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for jar in jars:
            with zipfile.ZipFile(jar) as src:
                for entry in src.infolist():
                    name = entry.filename
                    wanted = (
                        "com/fasterxml/jackson/",
                        "META-INF/services/com.fasterxml",
                    )
                    if entry.is_dir() or not name.startswith(wanted):
                        continue
                    data = src.read(name)
                    new_name = renamed(name.encode()).decode()
                    if new_name.endswith(".class"):
                        data = relocate_class(data)
                    elif "META-INF/services" in new_name:
                        data = renamed(data)
                    z.writestr(new_name, data)
    os.replace(tmp, dest)


def runtime_jar():
    """The Iceberg Spark runtime jar of the installed PyPI package."""
    try:
        import snowpark_connect_deps_iceberg as package
    except ImportError as error:
        raise RuntimeError(
            "Iceberg tables need the PyPI package snowpark-connect-deps-iceberg "
            "(pinned in tests/requirements.txt) in the local venv"
        ) from error
    found = glob.glob(
        os.path.join(
            os.path.dirname(package.__file__),
            "jars",
            "iceberg-spark-runtime-3.5_2.12-*.jar",
        )
    )
    if not found:
        raise RuntimeError(
            "snowpark-connect-deps-iceberg holds no Iceberg Spark 3.5 runtime jar"
        )
    return found[0]


def jackson_jars():
    """PySpark's own Jackson core, databind and annotations jars."""
    import pyspark

    jars = os.path.join(os.path.dirname(pyspark.__file__), "jars")
    found = []
    for part in ("core", "databind", "annotations"):
        match = sorted(glob.glob(os.path.join(jars, f"jackson-{part}-2.*.jar")))
        if not match:
            raise RuntimeError(f"PySpark has no jackson-{part} jar in {jars}")
        found.append(match[-1])
    return found


def jars(cache):
    """The two jars for `spark.jars`: the runtime, and the Jackson classes it lacks."""
    runtime = runtime_jar()
    sources = jackson_jars()
    key = hashlib.sha256("\n".join([runtime, *sources]).encode()).hexdigest()[:16]
    dest = os.path.join(cache, f"iceberg-jackson-{key}.jar")
    if not os.path.isfile(dest):
        os.makedirs(cache, exist_ok=True)
        relocate(dest, sources)
    return [runtime, dest]


if __name__ == "__main__":
    print(",".join(jars(sys.argv[1])))

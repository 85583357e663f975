#!/usr/bin/python3
"""clang-tidy on one source file of a compile database, remembering clean results.

    tidy_one.py BUILD_DIR FILE       (run by `tools/dev lint`, one per file; TIDY_KEY in the
                                      environment names the tools and the checks)

A file that passed once is not checked again while nothing clang-tidy reads has changed: the key
is a SHA-256 over TIDY_KEY (clang-tidy's and clang's versions, .clang-tidy), the file's path in
the checkout, its compile flags and the preprocessed translation unit with comments kept (`-E -C`,
so every header it includes and every NOLINT in them counts). The checkout's own path is taken out
of all of them, so a fresh clone reuses what an earlier one found clean. Only clean results are
remembered (an empty file per key under ~/.cache/holdfast/clang-tidy); findings are printed on
every run. Exits with clang-tidy's status.
"""
import hashlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path


def compile_args(db: Path, source: str) -> tuple[list[str], str]:
    for entry in json.loads(db.read_text()):
        if entry["file"] == source:
            args = entry.get("arguments") or shlex.split(entry["command"])
            return args, entry["directory"]
    raise SystemExit(f"tidy_one: {source} is not in {db}")


def preprocess_args(args: list[str]) -> list[str]:
    """The compile command as clang's preprocessor only: no object file, comments kept."""
    out = ["clang++"]
    skip = False
    for arg in args[1:]:
        if skip:
            skip = False
            continue
        if arg in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if arg in ("-c", "-MD", "-MMD"):
            continue
        out.append(arg)
    return out + ["-E", "-C", "-P", "-w", "-Wno-unknown-warning-option", "-o", "-"]


def main() -> int:
    build_dir, source = Path(sys.argv[1]), sys.argv[2]
    root = str(Path(__file__).resolve().parents[2])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "holdfast" / "clang-tidy"
    tidy = ["clang-tidy", "-p", str(build_dir), "--quiet", "--warnings-as-errors=*",
            "--extra-arg=-Wno-unknown-warning-option", source]

    args, directory = compile_args(build_dir / "compile_commands.json", source)
    pre = subprocess.run(preprocess_args(args), cwd=directory, capture_output=True)
    key = None
    if pre.returncode == 0:  # else: no key, clang-tidy reports what is wrong
        digest = hashlib.sha256()
        for part in (os.environ.get("TIDY_KEY", ""), os.path.relpath(source, root),
                     " ".join(args[1:]).replace(root, "")):
            digest.update(part.encode() + b"\0")
        digest.update(pre.stdout.replace(root.encode(), b""))
        key = cache / digest.hexdigest()
        if key.exists():
            return 0

    run = subprocess.run(tidy, capture_output=True, text=True)
    if run.returncode != 0:
        report = [line for line in (run.stdout + run.stderr).splitlines()
                  if not line.endswith((" warning generated.", " warnings generated."))]
        print("\n".join(report), flush=True)
        return run.returncode
    if key is not None:
        cache.mkdir(parents=True, exist_ok=True)
        key.touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())

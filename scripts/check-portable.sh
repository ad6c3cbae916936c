#!/usr/bin/env bash
# Gate: the shipped code must build for Windows (and macOS) although CI has
# only Linux. No Windows toolchain runs here, so this checks what breaks a
# Windows build in practice:
#   1. a platform-only path (std::os::unix, std::os::linux, std::os::macos,
#      std::os::windows, libc::, windows_sys::) outside a cfg-guarded item
#      (#[cfg(unix)], #[cfg(windows)], #[cfg(target_os = …)], #[cfg(not(unix))] …)
#      or a platform module (crates/sync/src/platform/{unix,windows}.rs,
#      themselves declared under #[cfg]);
#   2. a module declared under a platform cfg (other than the platform
#      modules above): every caller would need the same guard;
#   3. a function (not a #[test]) defined under a platform cfg with no other
#      definition of the same name in its file (the other platforms' counterpart).
# Checked: every crate's src/ and src-tauri/src. Not checked: tests/ (run on
# Linux only) and crates/bench (a Linux benchmark harness, not shipped).
set -euo pipefail
# An optional argument: the checkout to check (default: this one).
cd "${1:-$(dirname "$0")/..}"
exec python3 - <<'PY'
import pathlib, re, sys

PLATFORM_PATH = re.compile(r"std::os::(unix|linux|macos|windows)\b|\blibc::|\bwindows_sys::")
PLATFORM_CFG = re.compile(r"#\[cfg\((.*\b(unix|windows|target_os|target_family|target_vendor|target_env)\b.*)\)\]")
PLATFORM_MODULES = {
    "crates/sync/src/platform/unix.rs": "#[cfg(unix)]\nmod unix;",
    "crates/sync/src/platform/windows.rs": "#[cfg(windows)]\nmod windows;",
}
EXCLUDED = ("crates/bench/",)
STRING = re.compile(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])\'')
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(unsafe\s+)?(extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)")

files = sorted(
    p for p in list(pathlib.Path("crates").glob("*/src/**/*.rs")) + list(pathlib.Path("src-tauri/src").glob("**/*.rs"))
    if not str(p).startswith(EXCLUDED)
)
problems = []
mod_rs = pathlib.Path("crates/sync/src/platform/mod.rs")
for path, declaration in PLATFORM_MODULES.items():
    if not mod_rs.exists() or declaration not in mod_rs.read_text():
        problems.append(f"{mod_rs}: must declare `{declaration}` (so {path} builds only there)")

for path in files:
    rel = str(path)
    text = path.read_text()
    if rel in PLATFORM_MODULES or re.search(r"^#!\[cfg\(.*\b(unix|windows|target_os)\b", text, re.M):
        continue
    lines = text.split("\n")
    pending = None      # a platform cfg seen, its item not started yet
    region = None       # (brace depth, opened) of the guarded item being read
    guarded_fns = {}    # name -> [(line, cfg)]
    all_fns = {}
    for number, line in enumerate(lines, 1):
        code = STRING.sub('""', line.split("//")[0] if "//" in line and '"' not in line else line)
        stripped = code.strip()
        match = FN.match(code)
        if match:
            all_fns.setdefault(match.group(5), []).append(number)
        cfg = PLATFORM_CFG.search(stripped)
        if region is None and cfg and stripped.startswith("#["):
            pending = cfg.group(1)
            is_test = False
            continue
        if region is None and pending is not None:
            if stripped.startswith("#[test]"):
                is_test = True
            if not stripped or stripped.startswith(("#[", "//")):
                continue
            module = re.match(r"^\s*(pub(\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code)
            if module:
                sibling = path.parent / (module.group(3) + ".rs")
                if path.name not in ("mod.rs", "lib.rs", "main.rs"):
                    sibling = path.parent / path.stem / (module.group(3) + ".rs")
                if not any(sibling == pathlib.Path(p) or (sibling.parent / module.group(3) / "mod.rs") == pathlib.Path(p) for p in PLATFORM_MODULES):
                    problems.append(f"{rel}:{number}: module {module.group(3)} exists only under #[cfg({pending})]: its callers cannot build on the other platforms")
            if match and not is_test:
                guarded_fns.setdefault(match.group(5), []).append((number, pending))
            region = [0, False, pending]
            pending = None
        if region is not None:
            opens, closes = code.count("{"), code.count("}")
            region[0] += opens - closes
            region[1] |= opens > 0
            if (region[1] and region[0] <= 0) or (not region[1] and stripped.endswith((";", ","))):
                region = None
            continue
        if PLATFORM_PATH.search(code):
            problems.append(f"{rel}:{number}: platform-only code outside a #[cfg] item: {line.strip()}")
    for name, places in guarded_fns.items():
        if len(all_fns.get(name, [])) < 2:
            number, cfg = places[0]
            problems.append(
                f"{rel}:{number}: fn {name} exists only under #[cfg({cfg})]: give the other platforms a counterpart with the same signature"
            )

if problems:
    print("Not portable (see scripts/check-portable.sh and the platform table in ARCHITECTURE.md):")
    print("\n".join(problems))
    sys.exit(1)
print(f"portable: {len(files)} files checked, no unguarded platform-only code")
PY

"""The package's walls: no import cycle among recforge's modules (function-level imports
included: they hide cycles, they do not remove them), and no module reaching into another
module's private names (``from .knn import _helper``, ``split._partition``). What is shared is
promoted to a named module instead."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import recforge

ROOT = Path(recforge.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}
PACKAGES = {module_name(p) for p in ROOT.rglob("__init__.py")}
EXTENSIONS = {"recforge._core"}


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom reads from."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".") if importer in PACKAGES else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def is_module(name: str) -> bool:
    return name in MODULES or name in EXTENSIONS


def imports(importer: str):
    """(target module, imported name or None, line) for every import in the module's source."""
    tree = ast.parse(MODULES[importer].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("recforge"):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = resolve(importer, node)
            if not source.startswith("recforge"):
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                yield (sub, None, node.lineno) if is_module(sub) else (source, alias.name, node.lineno)


def graph() -> dict[str, set[str]]:
    edges = {}
    for name in MODULES:
        targets = set()
        for target, _, _ in imports(name):
            # A package's __init__ importing its own submodules is how packages are built.
            if target in MODULES and not (name in PACKAGES and target.startswith(name + ".")):
                targets.add(target)
        edges[name] = targets
    return edges


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges[n]):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m) :] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_names_across_modules():
    offences = []
    for name in MODULES:
        module_aliases = {}
        for target, imported, line in imports(name):
            if imported is not None and imported.startswith("_") and imported != "__version__" and target != name:
                offences.append(f"{name}:{line} imports {imported} from {target}")
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = resolve(name, node)
                for alias in node.names:
                    if is_module(f"{source}.{alias.name}"):
                        module_aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and node.attr.startswith("_")
                and not is_module(f"{module_aliases[node.value.id]}.{node.attr}")
            ):
                offences.append(f"{name}:{node.lineno} reads {node.value.id}.{node.attr}")
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("probe", ["cycle", "private"])
def test_the_checks_can_fail(probe, tmp_path, monkeypatch):
    """The two checks above see what they are meant to see (on a planted offence)."""
    fake = {"recforge.a": tmp_path / "a.py", "recforge.b": tmp_path / "b.py"}
    if probe == "cycle":
        fake["recforge.a"].write_text("def f():\n    from .b import g\n")
        fake["recforge.b"].write_text("from .a import f\n")
        monkeypatch.setattr(__import__(__name__), "MODULES", fake)
        with pytest.raises(AssertionError, match="import cycles"):
            test_no_import_cycles()
    else:
        fake["recforge.a"].write_text("from .b import _hidden\n")
        fake["recforge.b"].write_text("_hidden = 1\n")
        monkeypatch.setattr(__import__(__name__), "MODULES", fake)
        with pytest.raises(AssertionError, match="imports _hidden"):
            test_no_private_names_across_modules()


# Layers, lowest first: a module may import from its own layer and the ones below, never above.
# The leaf helpers (recforge._checks, _sparse, ...) and the extension are the foundation.
LAYERS = [
    {"recforge._core"},
    {"data", "datasets"},
    {"kernels"},
    {"models"},
    {"evaluation", "customers", "campaign", "realtime", "batch"},
    {"distributed"},
    {"cli"},
]


def layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package root assembles the public API from every layer
    if parts[1] == "__main__":
        return len(LAYERS) - 1  # ``python -m recforge`` is the command line
    if parts[1].startswith("_") or module in LAYERS[0]:
        return 0
    return next((n for n, names in enumerate(LAYERS) if parts[1] in names), None)


def test_every_package_has_a_layer():
    unplaced = sorted({m.split(".")[1] for m in MODULES if "." in m and layer(m) is None})
    assert not unplaced, f"add these packages to LAYERS: {unplaced}"


def test_dependencies_point_one_way():
    offences = []
    for name, targets in graph().items():
        own = layer(name)
        if own is None:
            continue
        for target in targets:
            if layer(target) is not None and layer(target) > own:
                offences.append(f"{name} (layer {own}) imports {target} (layer {layer(target)})")
    assert not offences, "\n".join(sorted(offences))


@pytest.mark.parametrize(
    "old, home",
    [
        ("split", "evaluation.split"),
        ("metrics", "kernels.metrics"),
        ("similarity", "kernels.similarity"),
        ("topk", "kernels.topk"),
        ("weighting", "kernels.weighting"),
    ],
)
def test_the_flat_layouts_module_paths_still_import(old, home):
    """Code written against 0.1's flat layout keeps working: each old path is the module
    itself (not a copy), so monkeypatching or isinstance checks see one object."""
    import importlib

    assert importlib.import_module(f"recforge.{old}") is importlib.import_module(f"recforge.{home}")
    from recforge.metrics import ranking_metrics  # noqa: F401  (a from-import through an old path)
    from recforge.split import random_split  # noqa: F401


def test_the_top_level_namespace_holds_no_stray_modules():
    """``dir(recforge)`` is what users tab-complete: recforge's own names, not its imports."""
    import types

    stray = [
        name
        for name, value in vars(recforge).items()
        if isinstance(value, types.ModuleType)
        and not name.startswith("_")
        and not value.__name__.startswith("recforge")
    ]
    assert stray == []


@pytest.mark.parametrize("namespace", ["split", "metrics"])
def test_the_function_namespaces_export_their_functions_only(namespace):
    """``rf.split`` and ``rf.metrics`` are used as namespaces: ``from recforge.split import *``
    brought np, sp, Interactions, check_int and seven more of their imports along."""
    module = getattr(recforge, namespace)
    names: dict = {}
    exec(f"from recforge.{namespace} import *", names)
    exported = {name for name in names if name != "__builtins__"}
    assert exported == set(module.__all__)
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(value, "__module__", module.__name__) == module.__name__, name
    assert "np" not in exported and "check_int" not in exported


def test_import_leaves_the_heavy_scipy_modules_for_later():
    """scipy.stats (a third of `import recforge`, and so of every command's start), scipy.optimize
    and scipy.linalg are imported where they are used: `import recforge` went from 1.10 s to
    0.62 s on the shared 2-core machine."""
    import subprocess
    import sys

    heavy = ("scipy.stats", "scipy.optimize", "scipy.linalg")
    code = f"import sys, recforge; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_name_the_readme_reaches_through_rf_exists_after_import():
    """The README's examples reach functions as ``rf.customers.charts.lift_chart``: each such
    path resolves after a bare ``import recforge as rf`` (``rf.customers.charts`` raised
    AttributeError until charts was imported by hand), and resolving them imports no plotting
    library (matplotlib waits for the first chart)."""
    import re
    import subprocess
    import sys

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    code = "\n".join(re.findall(r"```python\n(.*?)```", readme, re.S))
    paths = sorted(set(re.findall(r"\brf((?:\.[A-Za-z_]\w*)+)", code)))
    assert len(paths) > 40 and ".customers.charts.lift_chart" in paths
    probe = (
        "import functools, sys, recforge as rf\n"
        "missing = []\n"
        f"for path in {paths!r}:\n"
        "    try:\n"
        "        functools.reduce(getattr, path.split('.')[1:], rf)\n"
        "    except AttributeError:\n"
        "        missing.append(path)\n"
        "print(missing, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] False"

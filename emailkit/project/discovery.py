"""Finding the emails under a root: every folder with templates and an :class:`Email` class."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import traceback
import types
from pathlib import Path

from ..errors import LoadError, TemplateError
from ..model.email import Email
from ..templating.templates import HTML, MJML, SUBJECT, TEXT

ROOT_VARIABLE = "EMAILKIT_ROOT"
# What an email's (folder's) name may hold: it is a module name's last part, and it names
# snapshot files, URLs and CLI arguments.
EMAIL_NAME = re.compile(r"\w[\w-]*")


def is_email_name(name: str) -> bool:
    """Whether a folder called ``name`` is loaded as an email: letters (any script), digits,
    ``_`` and ``-``, not starting with ``_`` (those folders hold layouts and partials)."""
    return bool(EMAIL_NAME.fullmatch(name)) and not name.startswith("_")


def default_root() -> Path:
    """``$EMAILKIT_ROOT`` when set, else ``emails/`` in the working directory."""
    return Path(os.environ.get(ROOT_VARIABLE) or "emails").resolve()


def discover(
    root: str | os.PathLike[str] | None = None,
    *,
    errors: dict[str, Exception] | None = None,
) -> dict[str, type[Email]]:
    """Import every email folder under ``root`` and return its classes by email name.

    Folders whose name starts with ``_`` or ``.`` (layouts, partials) are not emails. A folder
    that fails to import raises, or, when ``errors`` is given, is recorded there by folder
    name and skipped (the preview server shows the others).
    """
    root_path = Path(root).resolve() if root is not None else default_root()
    if not root_path.is_dir():
        raise TemplateError(
            f"emails root {root_path} does not exist",
            hint=f"Create it, pass the right path, or set ${ROOT_VARIABLE}.",
        )
    package = _package_for(root_path)
    emails: dict[str, type[Email]] = {}
    for folder in sorted(root_path.iterdir()):
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        try:
            found = _email_in(package, folder)
        except Exception as error:
            if errors is None:
                raise
            errors[folder.name] = error
            continue
        if found is not None:
            emails[found.email_name] = found
    return emails


def _email_in(package: str, folder: Path) -> type[Email] | None:
    """The Email class of an email folder, None for a folder that is no email."""
    has_templates = any((folder / part).is_file() for part in (SUBJECT, TEXT, HTML, MJML))
    if not (folder / "__init__.py").is_file():
        if has_templates:
            raise TemplateError(
                "has templates but no __init__.py",
                email=folder.name,
                hint=f"Create {folder / '__init__.py'} defining a subclass of emailkit.Email.",
            )
        return None
    if not EMAIL_NAME.fullmatch(folder.name):
        raise TemplateError(
            f"the folder name {folder.name!r} cannot name an email",
            email=folder.name,
            hint="Rename the folder with letters, digits, '_' and '-' only (a dot or a space "
            "breaks the import), e.g. "
            + (re.sub(r"[^\w-]+", "_", folder.name).strip("_") or "my_email"),
        )
    module = _import(f"{package}.{folder.name}", folder)
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Email)
        and value.__module__ == module.__name__
        and value._folder == folder.resolve()
    ]
    if not found:
        if has_templates:
            raise TemplateError(
                "has templates but its __init__.py defines no Email subclass",
                email=folder.name,
                hint="Define `class Name(Email): ...` with the fields the templates use.",
            )
        return None
    if len(found) > 1:
        names = ", ".join(cls.__name__ for cls in found)
        raise TemplateError(
            f"__init__.py defines several Email classes for one folder ({names})",
            email=folder.name,
            hint="Keep one per folder; give the others their own folder or `template`.",
        )
    return found[0]


def _import(name: str, folder: Path) -> types.ModuleType:
    """Import an email folder's module; an exception in it becomes a :class:`LoadError` naming
    the email, the file and the line (the root-relative file the traceback last passes)."""
    try:
        return importlib.import_module(name)
    except SyntaxError as error:  # also a source file that is not UTF-8
        sys.modules.pop(name, None)
        filename, lineno = _relative(error.filename, folder.parent), error.lineno
        what = type(error).__name__
        raise LoadError(
            f"{what}: {error.msg}",
            email=folder.name,
            filename=filename or f"{folder.name}/__init__.py",
            lineno=lineno,
            hint="Fix the Python code at that line.",
        ) from error
    except Exception as error:
        sys.modules.pop(name, None)
        filename, lineno = f"{folder.name}/__init__.py", None
        for frame, line in traceback.walk_tb(error.__traceback__):
            relative = _relative(frame.f_code.co_filename, folder.parent)
            if relative is not None:
                filename, lineno = relative, line
        raise LoadError(
            f"{type(error).__name__}: {error}",
            email=folder.name,
            filename=filename,
            lineno=lineno,
            hint="Importing the email's module raised this; fix the code at that line.",
        ) from error


def _relative(filename: str | None, root: Path) -> str | None:
    """``filename`` relative to the emails root, or None when it is outside."""
    if not filename:
        return None
    try:
        return Path(filename).resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def _package_for(root: Path) -> str:
    """A package name under which the root's folders import as modules.

    The name the application imports the root by when it is one (``emails``, or
    ``myapp.emails`` inside a package), so classes are the same objects everywhere; a root
    that is a package (``__init__.py``) has the folder above its top package put on
    ``sys.path`` for that, as ``flask run`` does for an app. Otherwise a private package
    pointing at the root.
    """
    name = _dotted_name(root)
    if name is not None:
        module = sys.modules.get(name)
        if module is not None:
            if _points_at(module, root):
                return name
        elif _importable_as(name, root):
            return name
    private = "_emailkit_root_" + hashlib.sha1(str(root).encode()).hexdigest()[:12]
    if private not in sys.modules:
        package = types.ModuleType(private)
        package.__path__ = [str(root)]
        sys.modules[private] = package
    return private


def _dotted_name(root: Path) -> str | None:
    """``emails`` for a root that is a package (or whose folder is on ``sys.path``), with its
    enclosing packages (``myapp.emails``); None when the root cannot be imported by name.

    A root with ``__init__.py`` gets the folder above its top package added to ``sys.path``.
    """
    parts = [root.name]
    base = root.parent
    if (root / "__init__.py").is_file():
        while (base / "__init__.py").is_file() and base.parent != base:
            parts.insert(0, base.name)
            base = base.parent
        if not all(part.isidentifier() for part in parts):
            return None
        taken = sys.modules.get(parts[0])
        if taken is not None and not _points_at(taken, base / parts[0]):
            return None  # the name is another package's (say, a second project's emails)
        if not any(_same_folder(entry, base) for entry in sys.path):
            sys.path.insert(0, str(base))
        return ".".join(parts)
    if root.name.isidentifier() and any(_same_folder(entry, base) for entry in sys.path):
        return root.name  # a namespace package on the path, e.g. the project's emails/
    return None


def _same_folder(entry: str, folder: Path) -> bool:
    try:
        return Path(entry or ".").resolve() == folder
    except (OSError, ValueError):
        return False


def _importable_as(name: str, root: Path) -> bool:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    locations = spec.submodule_search_locations if spec else None
    return bool(locations) and any(Path(p).resolve() == root for p in locations or ())


def _points_at(module: types.ModuleType, root: Path) -> bool:
    paths = getattr(module, "__path__", None) or []
    return any(Path(p).resolve() == root for p in paths)

"""pytest plugin (registered through the ``pytest11`` entry point): email snapshot tests.

With ``snapshots = "tests/snapshots"`` under ``[tool.emailkit]`` in pyproject.toml, every
sample of every email becomes a test, ``test_email_snapshot[welcome/default]``, comparing
its subject, text and HTML with the files in :mod:`emailkit.project.snapshots`. New samples are
written and reported, differences fail with a unified diff per part, ``--emailkit-update``
accepts them, and snapshots whose sample is gone are reported as stale (and removed by
``--emailkit-update``). Without the setting, the ``email_snapshot`` fixture checks one email.

In CI (the ``CI`` environment variable set, as every CI service does, or ``--emailkit-ci``) a
missing snapshot fails instead of being written, as jest and syrupy do: a snapshot folder
that was never committed must not pass green.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .errors import EmailError, LoadError, SampleError
from .model.email import Email, preview_samples
from .project.discovery import discover
from .project.settings import ProjectSettings, load_settings, put_project_on_path
from .project.snapshots import Outcome, SnapshotStore
from .templating.templates import for_root


@dataclass
class _Session:
    """What the snapshot tests of one pytest run did, for the summary."""

    store: SnapshotStore
    settings: ProjectSettings
    samples: list[tuple[str, str, str | None]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    generated: int = 0
    ran: int = 0


_SESSION = pytest.StashKey[_Session]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("emailkit", "email snapshot tests")
    group.addoption(
        "--emailkit-update",
        action="store_true",
        help="rewrite email snapshots that differ and remove stale ones",
    )
    group.addoption(
        "--emailkit-ci",
        action="store_true",
        help="fail on a missing email snapshot instead of writing it (the default when the CI "
        "environment variable is set)",
    )


def in_ci(config: pytest.Config) -> bool:
    """Whether missing snapshots fail: ``--emailkit-ci``, or ``CI`` set to anything but
    false/0/no (CI services set ``CI=true``)."""
    value = os.environ.get("CI", "").strip().lower()
    return bool(config.getoption("emailkit_ci")) or value not in ("", "0", "false", "no")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emailkit_snapshot: an email snapshot test")
    try:
        settings = load_settings(config.rootpath)
    except EmailError:
        return  # reported when the snapshot tests are collected
    if settings.snapshots is not None:
        # As `flask run` does: the emails' modules (and the tests) import the project's code.
        put_project_on_path(config.rootpath)


class SnapshotMismatch(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.report())
        self.outcome = outcome


class EmailSnapshotItem(pytest.Item):
    """One sample of one email, compared with its snapshot files."""

    def __init__(
        self,
        *,
        email_class: type[Email],
        email: str,
        sample: str,
        locale: str | None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.email_class = email_class
        self.email = email
        self.sample = sample
        self.locale = locale
        self.add_marker("emailkit_snapshot")

    def runtest(self) -> None:
        state = self.config.stash[_SESSION]
        state.ran += 1
        samples = preview_samples(self.email_class, {})  # its broken samples have their tests
        rendered = samples[self.sample].render(self.locale)
        outcome = state.store.check(
            self.email,
            self.sample,
            rendered,
            update=self.config.getoption("emailkit_update"),
            locale=self.locale,
            write_missing=not in_ci(self.config),
        )
        state.outcomes.append(outcome)
        if not outcome.passed:
            raise SnapshotMismatch(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (SnapshotMismatch, EmailError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


class _SnapshotFolder(pytest.Collector):
    """The snapshot folder as the parent of its tests, so they read ``tests/snapshots::...``."""

    def collect(self) -> list[pytest.Item]:
        return []


class _BrokenEmails(pytest.Item):
    """Stands for the snapshot tests when the emails cannot even be discovered."""

    def __init__(self, *, error: Exception, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (LoadError, SampleError)):
            return str(excinfo.value)
        return f"the emails could not be loaded: {excinfo.value}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    settings = load_settings(config.rootpath)
    if settings.snapshots is None or not _selected(config, settings):
        return
    state = _Session(SnapshotStore(settings.snapshots), settings)
    config.stash[_SESSION] = state
    for_root(settings.root).auto_reload = True  # the files on disk, even in a long session
    folder = _SnapshotFolder.from_parent(
        session,
        name=_relative(settings.snapshots, config),
        path=settings.snapshots,
        nodeid=_relative(settings.snapshots, config),
    )
    added: list[pytest.Item] = []
    pairs: list[tuple[str, str, str | None]] = []

    def fails(name: str, error: Exception) -> None:
        added.append(
            _BrokenEmails.from_parent(
                folder, name=f"test_email_snapshot[{name}]", path=settings.root, error=error
            )
        )

    unloaded: dict[str, Exception] = {}
    try:
        emails = discover(settings.root, errors=unloaded)
    except Exception as error:
        fails("emails", error)
        emails = {}
    for name, failure in sorted(unloaded.items()):
        fails(name, failure)  # one test per email that does not import; the others run
    for name in sorted(emails):
        broken_samples: dict[str, SampleError] = {}
        try:  # one email's broken samples fail their own tests, not every email's
            samples = preview_samples(emails[name], broken_samples)
            locales = emails[name].locales()
        except Exception as error:
            fails(name, error)
            continue
        for sample, problem in broken_samples.items():
            fails(f"{name}/{sample}", problem)
        pairs.extend((name, sample, locale) for sample in samples for locale in (None, *locales))
    broken = bool(added)
    state.samples = pairs
    for email, sample, locale in pairs:
        suffix = f"/{locale}" if locale else ""
        added.append(
            EmailSnapshotItem.from_parent(
                folder,
                name=f"test_email_snapshot[{email}/{sample}{suffix}]",
                path=settings.snapshots,
                email_class=emails[email],
                email=email,
                sample=sample,
                locale=locale,
            )
        )
    # With an email whose samples are unknown, no snapshot can be called stale.
    state.generated = 0 if broken else len(pairs)
    items.extend(added)
    # Report them as collected, so "collected N items" counts them.
    config.hook.pytest_collectreport(
        report=pytest.CollectReport(folder.nodeid, "passed", None, result=list(added))
    )


def _selected(config: pytest.Config, settings: ProjectSettings) -> bool:
    """Run the snapshot tests for a plain ``pytest``, or when a given path covers them."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return True
    targets = (settings.snapshots, settings.root)
    for argument in config.args:
        path = (config.invocation_params.dir / argument.split("::", 1)[0]).resolve()
        if any(target == path or path in target.parents for target in targets if target):
            return True
    return False


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None:
        return
    write = terminalreporter.write_line
    written = [path for outcome in state.outcomes for path in outcome.written]
    updated = [path for outcome in state.outcomes for path in outcome.updated]
    stale: list[Path] = []
    if state.generated and state.ran == state.generated:  # all samples ran: none filtered out
        stale = state.store.stale(state.samples)
    if not (written or updated or stale):
        return
    terminalreporter.section("emailkit snapshots")
    for path in written:
        write(f"new snapshot written: {_relative(path, config)}")
    for path in updated:
        write(f"snapshot updated: {_relative(path, config)}")
    for path in stale:
        if config.getoption("emailkit_update"):
            path.unlink()
            write(f"stale snapshot removed: {_relative(path, config)}")
        else:
            write(f"stale snapshot (its sample is gone): {_relative(path, config)}")
    if stale and not config.getoption("emailkit_update"):
        write("Run pytest --emailkit-update to remove stale snapshots.")


def _relative(path: Path, config: pytest.Config) -> str:
    try:
        return path.relative_to(config.rootpath).as_posix()
    except ValueError:
        return str(path)


@pytest.fixture
def email_snapshot(pytestconfig: pytest.Config) -> Callable[..., None]:
    """Check one email against its snapshot: ``email_snapshot(Welcome(...), "default")``.

    Files go to the ``snapshots`` folder of ``[tool.emailkit]`` (default tests/snapshots).
    """
    settings = load_settings(pytestconfig.rootpath)
    store = SnapshotStore(settings.snapshots or pytestconfig.rootpath / "tests" / "snapshots")

    def check(email: Email, sample: str = "default") -> None:
        outcome = store.check(
            type(email).email_name,
            sample,
            email.render(),
            update=pytestconfig.getoption("emailkit_update"),
            write_missing=not in_ci(pytestconfig),
        )
        if not outcome.passed:
            pytest.fail(outcome.report(), pytrace=False)

    return check

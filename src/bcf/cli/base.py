"""The ``bcf`` command's group and what its commands share: options defined once, errors turned into one sentence
and an exit status in one place, tables and JSON printed one way."""

from __future__ import annotations

import codecs
import errno
import io
import re
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bcf.errors import BcfError, CheckerFault

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

    from rich.console import Console

    from bcf.params import Assumptions


def console() -> Console:
    """rich is imported only by the commands that print tables (it costs start-up time)."""
    from rich.console import Console

    return Console()


class OutputFile(click.Path):
    """A file to write: its folder must already exist, which is checked before any work is done."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(str(super().convert(value, param, ctx)))
        if not path.parent.is_dir():
            self.fail(f"the folder {path.parent} does not exist. Create it, or choose another place to write to.",
                      param, ctx)
        return path


def db_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--db", type=click.Path(dir_okay=False, path_type=Path), required=True,
                        help="The national store (DuckDB file).")(f)


def round_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--round", "round_", metavar="ROUND",
                        help="The round to show (default: the latest round in the store). See `bcf rounds`.")(f)


def param_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--param", "overrides", multiple=True, metavar="NAME=VALUE",
                        help="Override one assumption of the round's parameters for this run, e.g. unit_cost=1550.")(f)


def return_option(default: str | None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option("--return", "kind", type=click.Choice(["plan", "quarterly"]), default=default,
                        show_default=default is not None, help="Which return of the round.")


class _Group(click.Group):
    """Turns the library's errors into one sentence and their exit status, in one place for every command; lists
    the commands in the order a user meets them in the round, each with its whole first sentence."""

    ORDER = ("template", "check", "batch", "national", "stress", "letters", "report", "export", "monitor", "track-record",
             "peers", "diff", "changes", "decisions", "decide", "serve", "users", "rounds", "rules", "samples", "read")

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(super().list_commands(ctx), key=lambda n: (self.ORDER.index(n) if n in self.ORDER else 99, n))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = [(n, c) for n in self.list_commands(ctx) if (c := self.get_command(ctx, n)) and not c.hidden]
        if commands:
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.short_help or self.first_sentence(c.help or "")) for n, c in commands])

    @staticmethod
    def first_sentence(text: str) -> str:
        """The help's first sentence whole (a "..." inside it is not its end)."""
        words = " ".join(text.split("\n\n")[0].split())
        end = re.search(r"(?<!\.)\.(?!\.)(\s|$)", words)
        return words[:end.start() + 1] if end else words

    def invoke(self, ctx: click.Context) -> Any:
        with _ctrl_c() as stopped:
            try:
                return self._invoke(ctx)
            except BaseException as e:
                if stopped.is_set() and not isinstance(e, click.exceptions.Exit):
                    raise _Stopped(f"Stopped. {STOPPED.get(ctx.invoked_subcommand or '', STOPPED[''])}") from None
                raise

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BcfError as e:
            raise _Failed(str(e)) from e
        except OSError as e:  # a file or folder that cannot be used, or a disk that is full
            if e.filename is None or isinstance(e.filename, int):
                raise _Failed(f"The command could not finish: {(e.strerror or str(e)).lower()}. "
                              f"{MACHINE_ADVICE.get(e.errno or 0, 'Put that right, then run it again.')}") from e
            raise _Failed(_os_problem(Path(str(e.filename)), e)) from e
        except CheckerFault as e:
            raise _Fault(f"bcf itself failed ({e}). This is a fault in bcf, not in your file; please report it.") from e
        except (MemoryError, RuntimeError, ImportError) as e:
            if not _out_of_memory(e):
                raise
            raise _Failed("The command ran out of memory on this machine. Close other programs, or raise the limit "
                          "on memory (ulimit -v), then run it again.") from e


ROOM = "Free some space, or choose another place to write to, then run it again."
MACHINE_ADVICE = {
    errno.ENOSPC: ROOM,
    errno.EDQUOT: ROOM,
    errno.EMFILE: "Close other programs, or raise the limit on open files (ulimit -n), then run it again.",
    errno.ENFILE: "Close other programs, then run it again.",
    errno.EROFS: "Choose a place that can be written to, then run it again.",
}


def _out_of_memory(e: BaseException) -> bool:
    """Whether an error is the machine's want of memory: Python's own, a thread it could not start, or a library it
    could not map into memory."""
    said = str(e).lower()
    return isinstance(e, MemoryError) or "can't start new thread" in said or "failed to map segment" in said


def _os_problem(path: Path, e: OSError) -> str:
    if isinstance(e, FileNotFoundError) and not path.parent.exists():
        return f"The folder {path.parent} does not exist. Create it, or choose another place to write to."
    return f"Could not use {path}: {(e.strerror or str(e)).lower()}. Choose another file or folder."


STOPPED = {  # what is kept when a command is stopped with Ctrl-C, by command
    "batch": "What was stored before you stopped it is kept; run the batch again to finish (the files already "
             "stored are skipped).",
    "stress": "The store keeps the stress test it had before; run it again to finish.",
    "letters": "The letters written so far are not the whole set; run it again to write them all.",
    "": "Run it again to finish.",
}


@contextmanager
def _ctrl_c() -> Iterator[threading.Event]:
    """While a command runs, Ctrl-C still stops it at once, and is remembered: whatever a library turns the
    interruption into (DuckDB's "Query interrupted", an error of a file being written), it is reported as a stop."""
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # only the main thread is told of signals
        yield stopped
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        stopped.set()
        signal.default_int_handler(signum, frame)

    before = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stopped
    finally:
        signal.signal(signal.SIGINT, before)


class _Stopped(click.ClickException):
    """The user stopped the command (Ctrl-C): one sentence, and the shell's conventional exit status for it."""

    exit_code = 128 + signal.SIGINT


class _Failed(click.ClickException):
    """A command that could not do its job: one sentence on standard error, exit status 2."""

    exit_code = BcfError.exit_code


class _Fault(click.ClickException):
    """bcf itself failed: never reported as a problem with the user's file (exit status 3)."""

    exit_code = CheckerFault.exit_code


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="bcf")
def main() -> None:
    """Better Care Fund planning round tools.

    Make the blank planning template, check a completed workbook before you submit it, and (for the
    central team) validate every submission, build the national picture and stress-test the savings.
    """
    for stream in (sys.stdout, sys.stderr):  # a console or file that cannot show every character gets escapes
        if isinstance(stream, io.TextIOWrapper) and not stream.encoding.lower().replace("-", "").startswith("utf"):
            stream.reconfigure(errors=ESCAPE)


ESCAPE = "bcf-escape"


def _escape(e: UnicodeError) -> tuple[str, int]:
    """What an output that cannot show some characters shows instead: JSON's own escapes (UTF-16 code units), so
    JSON stays JSON and text stays readable."""
    assert isinstance(e, UnicodeEncodeError)
    units = e.object[e.start:e.end].encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2)), e.end


codecs.register_error(ESCAPE, _escape)


def df_table(title: str, df: object) -> None:
    import pandas as pd
    from rich.table import Table
    from rich.text import Text

    from bcf.findings import show
    from bcf.render import heading
    from bcf.shown import escaped

    assert isinstance(df, pd.DataFrame)
    table = Table(*[heading(str(c)) for c in df.columns], title=Text(title), title_justify="left")
    for row in df.itertuples(index=False):  # Text, not str: what a submitter typed is never console markup
        table.add_row(*[Text(escaped(show(v))) if not isinstance(v, float) or v == v else "" for v in row])
    console().print(table)


def format_option(*choices: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option("--format", "fmt", type=click.Choice(["text", *choices]), default="text", show_default=True,
                        help="text for reading, json for scripts.")


def echo_json(data: Any) -> None:
    from bcf.jsonout import dumps

    click.echo(dumps(data))



def overrides_of(pairs: tuple[str, ...]) -> dict[str, str]:
    try:
        return dict(o.split("=", 1) for o in pairs)
    except ValueError as e:
        raise click.UsageError("--param takes NAME=VALUE, for example unit_cost=1550") from e




def round_params(round_: str, overrides: tuple[str, ...]) -> Assumptions:
    from bcf import rounds

    return rounds.get(round_).params(overrides_of(overrides))




def plan_code_of(round_: str, plan: str) -> str:
    from bcf import rounds
    from bcf.errors import UnknownArea

    area = rounds.get(round_).areas.find(plan)
    if area is None:
        raise UnknownArea(f"{plan!r} is not a Health and Wellbeing Board in the {round_} list.")
    return area.plan_code




def state_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--state", type=click.Path(dir_okay=False, path_type=Path), envvar="BCF_STATE",
                        help="The console's state file, which keeps sessions and decisions (default: beside the store, "
                             "national.state.sqlite; or $BCF_STATE).")(f)




def any_plan_code(plan: str) -> str:
    """A plan's code from its code or name, in whichever round knows it."""
    from bcf import rounds

    for r in reversed(list(rounds.all_rounds())):
        area = rounds.get(r).areas.find(plan)
        if area is not None:
            return area.plan_code
    return plan_code_of(rounds.latest().id, plan)



"""Every command, subcommand, option and argument explains itself (`--help` is the manual)."""
import pytest
import typer
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def walk(command, path: tuple[str, ...] = ()):
    # Typer ships its own copy of click, so groups are recognised by their `commands`, not by class.
    yield path, command
    if isinstance(getattr(command, "commands", None), dict):
        for name, sub in command.commands.items():
            yield from walk(sub, path + (name,))


COMMANDS = list(walk(typer.main.get_command(app)))


def test_the_expected_commands_are_registered():
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in ("review", "review list", "review show", "review accept", "review dismiss",
                     "review uncertain", "review note", "review history", "report"):
        assert expected in names


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) or "collector" for p, _ in COMMANDS])
def test_every_command_and_parameter_has_help(path, command):
    assert (command.help or command.short_help or "").strip(), f"`collector {' '.join(path)}` has no help text"
    for param in command.params:
        if param.name == "help":
            continue
        assert (getattr(param, "help", None) or "").strip(), \
            f"`collector {' '.join(path)}`: {param.human_readable_name} has no help text"
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output

"""docs/cli.md is the commands' --help, and every command has help."""

from pathlib import Path

from schemashift.cli import app
from schemashift.clidoc import render

DOC = Path(__file__).parent.parent / "docs" / "cli.md"


def test_cli_reference_matches_help():
    assert DOC.read_text() == render(), "regenerate: python -m schemashift.clidoc > docs/cli.md"


def test_every_command_and_option_has_help():
    for name, command in app.commands.items():
        assert command.help, name
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.opts}"


def test_usage_lines_name_each_command_once():
    """Each command's usage reads 'schemashift COMMAND', never 'schemashift schemashift COMMAND'."""
    text = render()
    assert "schemashift schemashift" not in text
    for name in app.commands:
        assert f"Usage: schemashift {name} " in text, name


def test_reference_does_not_depend_on_a_previous_run(run_cli, tmp_path):
    """Click caches a command's help option: a run in this process must not change the text."""
    before = render()
    assert run_cli(tmp_path, "init", "--help").code == 0
    assert run_cli(tmp_path, "--help").code == 0
    assert render() == before == DOC.read_text()

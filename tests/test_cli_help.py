"""``bpxp … --help`` says what every argument is and what it defaults to, truthfully."""

from __future__ import annotations

import argparse
import re

import pytest

from bpxp.cli.parser import parser

pytestmark = pytest.mark.numpy_session("the CLI runs in the numpy session")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def shown_help(command: argparse.ArgumentParser, action: argparse.Action) -> str:
    """An argument's help as ``--help`` prints it (defaults filled in), on one line."""
    formatter = command.formatter_class(prog=command.prog)
    return " ".join(formatter._expand_help(action).split()) if action.help else ""


def every_argument():
    for name, command in subcommands().items():
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction):
                yield name, command, action


def test_every_shown_default_of_an_option_with_choices_is_one_of_them():
    checked = 0
    for name, command, action in every_argument():
        if action.choices is None:
            continue
        shown = re.findall(r"default: '?([\w.]+)", shown_help(command, action))
        assert all(value in action.choices for value in shown), (name, action.dest, shown, action.choices)
        assert action.default is None or action.default in action.choices, (name, action.dest, action.default)
        checked += len(shown)
    assert checked >= 5


def test_every_positional_argument_of_every_subcommand_says_what_it_is():
    positionals = [(name, action.dest, shown_help(command, action)) for name, command, action in every_argument()
                   if not action.option_strings]
    assert {(name, dest) for name, dest, _ in positionals} >= {("train", "data"), ("predict", "model"),
                                                              ("predict", "data"), ("evaluate", "model"),
                                                              ("evaluate", "data"), ("info", "model")}
    assert all(len(text.split()) >= 4 for _, _, text in positionals), positionals


def test_train_names_the_dataset_it_trains_on_by_default():
    train = subcommands()["train"]
    data = next(a for a in train._actions if a.dest == "data")
    assert data.default == "iris" and "(default: iris)" in shown_help(train, data)


@pytest.mark.parametrize("option", ["--batch-size", "--learning-rate"])
def test_the_defaults_that_differ_from_mlp_fit_say_so_and_why(option):
    train = subcommands()["train"]
    action = next(a for a in train._actions if option in a.option_strings)
    text = shown_help(train, action)
    assert f"(default: {action.default}" in text and "MLP.fit's" in text and "bundled datasets" in text

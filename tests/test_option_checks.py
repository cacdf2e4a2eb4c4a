"""Every option is checked in one place (``bpxp.checks``): MLP.fit, the scikit-learn estimators and the CLI say
the same thing of the same bad value — the estimators under their own names for the option (``max_iter`` for
``epochs``, ``learning_rate_init`` for ``learning_rate``), the CLI of the text it was given."""

import re

import numpy as np
import pytest

import bpxp
from bpxp import cli

X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
y = np.array([0, 1, 1, 0])

# (MLP.fit option, estimator parameter, CLI option, bad value as given in Python, the same value as CLI text)
SAME_OPTION = [
    ("learning_rate", "learning_rate_init", None, -1.0, None),  # the CLI: the next test
    ("learning_rate", "learning_rate_init", "--learning-rate", float("inf"), None),
    ("learning_rate", "learning_rate_init", None, "fast", None),
    ("batch_size", None, "--batch-size", 0, "0"),
    ("epochs", "max_iter", "--epochs", 0, "0"),
    ("epochs", "max_iter", "--epochs", 2.5, None),
    ("epochs", "max_iter", None, True, None),
]


def _message(call) -> str:
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    return str(info.value)


def _mlp_message(option, value) -> str:
    net = bpxp.MLP([2, 3, 2], random_state=0)
    return _message(lambda: net.fit(X, y, **{option: value}))


def _estimator_message(parameter, value) -> str:
    from bpxp.sklearn import MLPClassifier, MLPRegressor

    classifier = _message(lambda: MLPClassifier((3,), **{"max_iter": 2, parameter: value}).fit(X, y))
    regressor = _message(lambda: MLPRegressor(hidden_layer_sizes=(3,), **{"max_iter": 2, parameter: value}).fit(X, y))
    assert classifier == regressor
    return classifier


@pytest.mark.parametrize(("option", "parameter", "flag", "value", "text"), SAME_OPTION,
                         ids=[f"{row[0]}={row[3]!r}" for row in SAME_OPTION])
def test_estimators_and_cli_raise_the_same_message_as_mlp(option, parameter, flag, value, text, capsys):
    expected = _mlp_message(option, value)
    assert expected.startswith(f"`{option}` must ")
    if parameter is not None:
        assert _estimator_message(parameter, value) == expected.replace(f"`{option}`", f"`{parameter}`", 1)
    if flag is not None and text is not None:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["train", flag, text, "--quiet"])
        err = capsys.readouterr().err
        said = expected.split("` ", 1)[1].rsplit(", got ", 1)[0]  # "must be a positive integer"
        assert exit_info.value.code == 2 and err.count("\n") == 1
        assert f"argument {flag}: {said}, got {text!r}" in err


@pytest.mark.parametrize("text", ["fast", "-1", "inf"])
def test_the_cli_states_a_number_options_rule_as_mlp_states_it_of_a_wrong_type(text, capsys):
    # one phrase per rule on the command line (its pinned wording: "must be a positive number, got 'inf'")
    expected = _mlp_message("learning_rate", "fast")  # "`learning_rate` must be a positive number, got 'fast' (str)"
    with pytest.raises(SystemExit):
        cli.main(["train", "--learning-rate", text, "--quiet"])
    said = re.sub(r", got 'fast' \(str\)$", "", expected.split("` ", 1)[1])
    assert f"argument --learning-rate: {said}, got {text!r}" in capsys.readouterr().err


@pytest.mark.parametrize("seed", [-1, "abc"])
def test_a_bad_random_state_names_the_argument_everywhere(seed):
    from bpxp.sklearn import MLPClassifier

    assert _mlp_message("random_state", seed).startswith("`random_state` must be None, an integer")
    # scikit-learn's random_state takes a RandomState where bpxp's takes a Generator: same check module, the
    # accepted kinds differ, and each message lists what its caller accepts
    said = _message(lambda: MLPClassifier((3,), max_iter=2, random_state=seed).fit(X, y))
    assert said.startswith("`random_state` must be None, an integer")

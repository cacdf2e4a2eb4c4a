"""``bpxp train`` on a typical CSV: text feature columns one-hot encoded, missing values handled by ``--missing``
(mean, drop or error), the encoding kept in the saved model and applied by ``predict`` and ``evaluate``, listed by
``info``; a file of numbers trains exactly the model it trained before encodings existed."""

import io
import json

import numpy as np
import pytest

import bpxp
from bpxp import cli
from bpxp.cli.datasets import split as split_rows

pandas = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

QUIET = ["--epochs", "30", "--quiet"]
MEANS = {"Adelie": (38.8, 18.3, 3700), "Chinstrap": (48.8, 18.4, 3730), "Gentoo": (47.5, 15.0, 5080)}


pytestmark = pytest.mark.numpy_session("the CLI runs in the numpy session")


def penguins(n: int = 240, *, seed: int = 0):
    """A penguins-like table: text columns island and sex, three numeric measurements, a text target species, and
    missing values (a row missing every measurement and sex, a few missing sex)."""
    rng = np.random.default_rng(seed)
    species = rng.choice(list(MEANS), n)
    island = np.where(species == "Gentoo", "Biscoe",
                      np.where(species == "Chinstrap", "Dream", rng.choice(["Biscoe", "Dream", "Torgersen"], n)))
    means = np.array([MEANS[s] for s in species])
    measured = (means + rng.normal(size=(n, 3)) * [2.0, 1.0, 300.0]).round(1)
    frame = pandas.DataFrame({"species": species, "island": island, "bill_length_mm": measured[:, 0],
                              "bill_depth_mm": measured[:, 1], "body_mass_g": measured[:, 2],
                              "sex": rng.choice(["female", "male"], n)}).astype({"sex": object})
    frame.loc[[r for r in (3, 50) if r < n], ["bill_length_mm", "bill_depth_mm", "body_mass_g", "sex"]] = np.nan
    frame.loc[[r for r in (10, 20, 30) if r < n], "sex"] = np.nan
    return frame


def write(frame, path):
    frame.to_csv(path, index=False)
    return str(path)


def train(capsys, data, model, *options):
    code = cli.main(["train", data, "--target", "species", "--save", str(model), *QUIET, *options])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def predictions(capsys, model, data):
    assert cli.main(["predict", str(model), data]) == 0
    out, err = capsys.readouterr()
    return pandas.read_csv(io.StringIO(out)), err


def one_line_error(capsys, argv) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpxp: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The penguins CSV and a model trained on it with the defaults (--missing mean)."""
    folder = tmp_path_factory.mktemp("penguins")
    data, model = write(penguins(), folder / "penguins.csv"), folder / "penguins.npz"
    assert cli.main(["train", data, "--target", "species", "--save", str(model), *QUIET]) == 0
    return data, model


def test_a_csv_with_text_columns_missing_values_and_a_text_target_trains_predicts_and_evaluates(tmp_path,
                                                                                                  capsys):
    data, model = write(penguins(), tmp_path / "penguins.csv"), tmp_path / "model.npz"
    out, err = train(capsys, data, model)
    assert "one-hot encoded island (3 categories), sex (2 categories)" in err
    assert "filled 11 missing value(s)" in err  # 2 rows × 4 columns + 3 more sexes
    assert "3 classes; MLP([8, 16, 3]" in err  # 3 numbers + 3 islands + 2 sexes
    assert float(out.split("validation accuracy")[1].split()[0]) > 0.9
    new = write(penguins(12, seed=1).drop(columns="species"), tmp_path / "new.csv")
    predicted, _ = predictions(capsys, model, new)
    assert list(predicted.columns) == ["prediction", "p(Adelie)", "p(Chinstrap)", "p(Gentoo)"]
    assert len(predicted) == 12 and set(predicted["prediction"]) <= set(MEANS)
    assert cli.main(["evaluate", str(model), write(penguins(100, seed=2), tmp_path / "more.csv")]) == 0
    assert float(capsys.readouterr().out.split()[1]) > 0.9


def test_the_categories_travel_in_the_saved_model_not_in_the_new_data(trained, tmp_path, capsys):
    _, model = trained
    encoding = bpxp.load(model).checkpoint_metadata_["encoding"]
    assert [(c["name"], c["categories"]) for c in encoding["columns"]] == [
        ("island", ["Biscoe", "Dream", "Torgersen"]), ("bill_length_mm", None), ("bill_depth_mm", None),
        ("body_mass_g", None), ("sex", ["female", "male"])]
    frame = penguins().drop(columns="species")
    every, _ = predictions(capsys, model, write(frame, tmp_path / "all.csv"))
    # new data holding one island only, its columns in another order: encoded with the model's categories
    dream = frame["island"] == "Dream"
    shuffled = frame[dream][["sex", "body_mass_g", "island", "bill_depth_mm", "bill_length_mm"]]
    some, _ = predictions(capsys, model, write(shuffled, tmp_path / "dream.csv"))
    pandas.testing.assert_frame_equal(some, every[dream.to_numpy()].reset_index(drop=True))


def test_an_unseen_category_is_one_line_naming_the_column_and_the_value(trained, tmp_path, capsys):
    _, model = trained
    frame = penguins(6, seed=3).drop(columns="species").astype({"island": object})
    frame.loc[2, "island"] = "Atlantis"
    err = one_line_error(capsys, ["predict", str(model), write(frame, tmp_path / "atlantis.csv")])
    assert "feature column 'island'" in err and "'Atlantis'" in err and "(first at row 3)" in err
    assert "it knows 'Biscoe', 'Dream', 'Torgersen'" in err


def test_missing_mean_fills_with_the_training_rows_mean_and_most_frequent_category(trained, tmp_path, capsys):
    data, model = trained
    fills = {c["name"]: c["fill"] for c in bpxp.load(model).checkpoint_metadata_["encoding"]["columns"]}
    frame = pandas.read_csv(data)
    y = np.unique(frame["species"], return_inverse=True)[1]
    rows, _ = split_rows(y, test_fraction=0.2, random_state=0, stratify=True)  # the training rows of seed 0
    for name in ("bill_length_mm", "bill_depth_mm", "body_mass_g"):
        assert fills[name] == pytest.approx(frame[name].iloc[rows].mean(), rel=1e-12)  # pandas skips the gaps
    for name in ("island", "sex"):
        assert fills[name] == frame[name].iloc[rows].value_counts().idxmax()
    # at predict, a gap becomes the recorded value
    new = penguins(3, seed=4).drop(columns="species").astype({"sex": object})
    new.loc[1, ["bill_length_mm", "sex"]] = np.nan
    gaps, err = predictions(capsys, model, write(new, tmp_path / "gaps.csv"))
    assert "filled 2 missing value(s)" in err
    new.loc[1, ["bill_length_mm", "sex"]] = fills["bill_length_mm"], fills["sex"]
    filled, _ = predictions(capsys, model, write(new, tmp_path / "filled.csv"))
    assert list(gaps["prediction"]) == list(filled["prediction"])
    np.testing.assert_allclose(gaps.iloc[:, 1:].to_numpy(), filled.iloc[:, 1:].to_numpy(), rtol=1e-5)


def test_missing_drop_drops_incomplete_rows_in_training_and_evaluate_and_predict_refuses_them(tmp_path, capsys):
    frame = penguins().astype({"species": object})
    frame.loc[7, "species"] = np.nan  # a row without a target is incomplete too
    data, model = write(frame, tmp_path / "penguins.csv"), tmp_path / "dropped.npz"
    _, err = train(capsys, data, model, "--missing", "drop")
    assert "dropped 6 row(s) with missing values (--missing drop)" in err and "234 training and" not in err
    meta = bpxp.load(model).checkpoint_metadata_
    assert meta["split"]["n_rows"] == 234 and all(c["fill"] is None for c in meta["encoding"]["columns"])
    assert cli.main(["evaluate", str(model), data]) == 0  # the same rows dropped: the held-out split is found
    out, err = capsys.readouterr()
    assert "held-out samples: the validation split of training" in out and "dropped 6 row(s)" in err
    new = penguins(5, seed=5).drop(columns="species")
    assert cli.main(["predict", str(model), write(new.dropna(), tmp_path / "complete.csv")]) == 0
    capsys.readouterr()
    err = one_line_error(capsys, ["predict", str(model), write(new, tmp_path / "gaps.csv")])
    assert "feature column 'bill_length_mm'" in err and "trained with --missing drop" in err


def test_missing_error_refuses_naming_the_option_and_the_column(tmp_path, capsys):
    data = write(penguins(), tmp_path / "penguins.csv")
    err = one_line_error(capsys, ["train", data, "--target", "species", "--missing", "error", *QUIET])
    assert "feature column 'bill_length_mm'" in err and "2 missing value(s) (first at row 4)" in err
    assert "--missing error refuses them" in err
    model = tmp_path / "complete.npz"
    train(capsys, write(penguins().dropna(), tmp_path / "complete.csv"), model, "--missing", "error")
    err = one_line_error(capsys, ["predict", str(model), data])
    assert "feature column 'bill_length_mm'" in err and "--missing error refuses them" in err


def test_help_shows_the_missing_modes_and_the_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--missing {mean,drop,error}" in text and "error refuses them (default: mean)" in text


def test_info_lists_the_one_hot_columns_and_the_fill_values(trained, capsys):
    _, model = trained
    assert cli.main(["info", str(model)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "one-hot       island → Biscoe, Dream, Torgersen" in rows
    assert "one-hot       sex → female, male" in rows
    assert any(row.startswith("missing       mean: ") for row in rows)
    fills = next(row for row in rows if row.startswith("fill values"))
    assert "island Biscoe" in fills and "bill_length_mm " in fills and "sex " in fills


def test_numbers_with_some_text_are_refused_not_one_hot_encoded(tmp_path, capsys):
    frame = penguins().astype({"body_mass_g": object})
    frame.loc[5, "body_mass_g"] = "heavy"
    err = one_line_error(capsys, ["train", write(frame, tmp_path / "typo.csv"), "--target", "species", *QUIET])
    assert "feature columns ['body_mass_g']" in err and "'heavy' at row 6" in err


def test_a_csv_of_numbers_trains_exactly_the_model_it_did_before_encodings(tmp_path, capsys):
    """Iris written as a CSV (its species as text) gives the bundled Iris model bit for bit: a column of numbers
    passes through the encoding unchanged."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    frame = iris.data.assign(species=np.asarray(iris.target_names)[iris.target])
    data, from_csv, bundled = write(frame, tmp_path / "iris.csv"), tmp_path / "csv.npz", tmp_path / "bundled.npz"
    train(capsys, data, from_csv, "--dtype", "float64")
    assert cli.main(["train", "iris", "--save", str(bundled), *QUIET, "--dtype", "float64"]) == 0
    capsys.readouterr()
    a, b = bpxp.load(from_csv), bpxp.load(bundled)
    for x, y in zip([*a.weights, *a.biases], [*b.weights, *b.biases], strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.checkpoint_metadata_["preprocessing"] == b.checkpoint_metadata_["preprocessing"]
    assert all(c["categories"] is None for c in a.checkpoint_metadata_["encoding"]["columns"])


def test_a_model_saved_without_an_encoding_reads_numbers_as_before(tmp_path, capsys):
    """A model from before encodings were recorded (no 'encoding' in its metadata) predicts as it did and
    refuses missing values, saying it has nothing to fill them with."""
    rng = np.random.default_rng(0)
    frame = pandas.DataFrame(rng.normal(size=(80, 3)), columns=list("abc"))
    frame["kind"] = np.where(frame["a"] > 0, "big", "small")
    data, model = write(frame, tmp_path / "numbers.csv"), tmp_path / "model.npz"
    assert cli.main(["train", data, "--target", "kind", "--save", str(model), *QUIET]) == 0
    capsys.readouterr()
    now, _ = predictions(capsys, model, data)
    arrays = dict(np.load(model))
    metadata = json.loads(str(arrays.pop("metadata")))
    del metadata["encoding"]
    old = tmp_path / "old.npz"
    np.savez(old, metadata=np.array(json.dumps(metadata)), **arrays)
    before, _ = predictions(capsys, old, data)
    pandas.testing.assert_frame_equal(before, now)
    assert cli.main(["info", str(old)]) == 0 and "one-hot" not in capsys.readouterr().out
    frame.loc[4, "b"] = np.nan
    err = one_line_error(capsys, ["predict", str(old), write(frame, tmp_path / "gap.csv")])
    assert "feature column 'b'" in err and "the model recorded no values to fill them with" in err

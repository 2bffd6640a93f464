"""Checkpoints: resuming after epoch k is bit-identical to the uninterrupted run; every corrupt file raises
a clear error and leaves the model, optimizer and scheduler untouched; ModelCheckpoint."""

import json
import pickle
import zipfile

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _random, nn, optim, train
from pydtrain.data import datasets

X, Y = datasets.make_moons(n_samples=120, noise=0.2, seed=1)
X = X.astype(np.float32)


def sgd_schedule():
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    return model, opt, optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)


def adam_dropout():
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(rate=0.3), nn.Linear(32, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    return model, opt, optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)


def batchnorm():
    model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm(16), nn.Tanh(), nn.Linear(16, 2))
    opt = optim.RMSprop(model.parameters(), lr=0.01, momentum=0.5)
    return model, opt, None


def plateau():
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = optim.SGD(model.parameters(), lr=0.3, momentum=0.5)
    return model, opt, optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=0.05,
                                                            monitor="loss")


def one_cycle():
    model = nn.Sequential(nn.Linear(2, 16), nn.GELU(), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters())
    return model, opt, optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=5, three_phase=True)


def state(model, opt, sched):
    """Everything a resume must restore, as comparable plain values."""
    sd = opt.state_dict()
    return {
        "model": {k: v.tobytes() for k, v in model.state_dict().items()},
        "opt": {i: {k: (v.tobytes() if isinstance(v, np.ndarray) else v) for k, v in e.items()}
                for i, e in sd["state"].items()},
        "groups": json.dumps(sd["param_groups"]),
        "sched": None if sched is None else (sched.last_epoch, sched.get_last_lr()),
        "rng": _random.get_state(),
    }


def run(build, epochs, initial_epoch=0, load=None, callbacks=()):
    pdt.seed(7)
    model, opt, sched = build()
    pdt.seed(99)  # where the generator stands on a fresh start of the resumed run must not matter
    if load is not None:
        info = train.load_checkpoint(load, model, opt, sched)
        assert info["epoch"] == initial_epoch
    h = train.fit(model, nn.CrossEntropyLoss(), opt, (X, Y), epochs=epochs, batch_size=16, scheduler=sched,
                  initial_epoch=initial_epoch, callbacks=list(callbacks), progress=False)
    return model, opt, sched, h


@pytest.mark.parametrize("build", [sgd_schedule, adam_dropout, batchnorm, plateau, one_cycle])
def test_resume_is_bit_identical(tmp_path, build):
    pdt.seed(7)
    ck = train.ModelCheckpoint(str(tmp_path / "ck{epoch}.npz"), monitor="loss", save_best_only=False)
    full = run(build, 5, callbacks=[ck])
    assert ck.saved == [str(tmp_path / f"ck{e}.npz") for e in range(1, 6)]
    resumed = run(build, 5, initial_epoch=3, load=tmp_path / "ck3.npz")
    assert state(*full[:3]) == state(*resumed[:3])
    assert resumed[3]["loss"] == full[3]["loss"][3:]


def test_save_and_load_by_hand(tmp_path):
    pdt.seed(3)
    model, opt, sched = sgd_schedule()
    train.fit(model, nn.CrossEntropyLoss(), opt, (X, Y), epochs=2, scheduler=sched, progress=False)
    path = tmp_path / "m.npz"
    train.save_checkpoint(path, model, opt, sched, epoch=2, note="hello", counts=np.arange(3), cfg={"a": [1, 2]})
    before = state(model, opt, sched)
    with np.load(path, allow_pickle=False) as f:
        assert "meta" in f.files and "model/0.weight" in f.files
    pdt.seed(0)
    model2, opt2, sched2 = sgd_schedule()
    info = train.load_checkpoint(path, model2, opt2, sched2)
    assert info["epoch"] == 2 and info["note"] == "hello" and info["cfg"] == {"a": [1, 2]}
    np.testing.assert_array_equal(info["counts"], np.arange(3))
    assert state(model2, opt2, sched2) == before
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.1
    # the model alone
    model3 = sgd_schedule()[0]
    train.load_checkpoint(path, model3)
    assert all(np.array_equal(a, b) for a, b in zip(model3.state_dict().values(), model.state_dict().values()))
    with pytest.raises(TypeError, match="^save_checkpoint: extra value 'f' must be"):
        train.save_checkpoint(path, model, f=len)


def rewrite(src, dst, drop=(), change=None, meta=None):
    with np.load(src, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k not in drop}
    if change:
        arrays.update(change)
    if meta:
        m = json.loads(str(arrays["meta"]))
        meta(m)
        arrays["meta"] = np.array(json.dumps(m))
    np.savez(dst, **arrays)


CORRUPTIONS = {
    "missing model key": (dict(drop=["model/2.bias"]), "has no 'model/2.bias'"),
    "missing optimizer buffer": (dict(drop=["optimizer/1/momentum_buffer"]), "has no 'optimizer/1/momentum_buffer'"),
    "wrong shape": (dict(change={"model/0.weight": np.zeros((3, 2), np.float32)}), r"'model/0.weight' is float32 \(3, 2\)"),
    "wrong dtype": (dict(change={"model/0.bias": np.zeros(16)}), "'model/0.bias' is float64"),
    "wrong version": (dict(meta=lambda m: m.update(format_version=99)), "format version 99; this pydtrain reads version 1"),
    "no meta": (dict(drop=["meta"]), "not a pydtrain checkpoint: it has no 'meta'"),
    "other optimizer": (dict(meta=lambda m: m["optimizer"].update({"class": "Adam"})), "holds a Adam state"),
    "other scheduler": (dict(meta=lambda m: m["scheduler"].update({"class": "CyclicLR"})), "holds a CyclicLR state"),
    "bad hyper-parameter": (dict(meta=lambda m: m["optimizer"]["param_groups"][0].update(lr=-1)), "settings are invalid"),
    "malformed meta": (dict(meta=lambda m: m["optimizer"].pop("steps")), "metadata is malformed"),
    "unexpected key": (dict(change={"model/9.weight": np.zeros(2, np.float32)}), r"keys this model lacks: \['9.weight'\]"),
    "step beyond 2**53": (dict(meta=lambda m: m["optimizer"].update(steps=[2**70] * len(m["optimizer"]["steps"]))),
                          r"step count of parameter 0 must be an integer in \[0, 2\*\*53\]"),
    "maximize": (dict(meta=lambda m: m["optimizer"]["param_groups"][0].update(maximize=True)),
                 "the state sets maximize=True, which pydtrain's SGD does not implement"),
    "generator out of range": (dict(meta=lambda m: m.update(rng=[-1, 0])), "generator state is missing or malformed"),
    "scheduler step a string": (dict(meta=lambda m: m["scheduler"]["state"].update(last_epoch="2")),
                                "scheduler state has last_epoch='2', where this StepLR holds a number"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS) + ["truncated", "pickled object", "pickle file", "not a zip"])
def test_corrupt_files_raise_and_change_nothing(tmp_path, case):
    pdt.seed(3)
    model, opt, sched = sgd_schedule()
    train.fit(model, nn.CrossEntropyLoss(), opt, (X, Y), epochs=1, scheduler=sched, progress=False)
    good = tmp_path / "good.npz"
    train.save_checkpoint(good, model, opt, sched, epoch=1)
    bad = tmp_path / "bad.npz"
    if case in CORRUPTIONS:
        kwargs, message = CORRUPTIONS[case]
        rewrite(good, bad, **kwargs)
    elif case == "truncated":
        bad.write_bytes(good.read_bytes()[:-200])
        message = "is truncated or damaged"
    elif case == "pickled object":
        with np.load(good, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        arrays["model/0.weight"] = np.array([{"a": 1}], dtype=object)
        np.savez(bad, **arrays)
        message = "holds a pickled object"
    elif case == "pickle file":
        bad.write_bytes(pickle.dumps({"model": 1}))
        message = "is a pickle, not a checkpoint"
    else:
        bad.write_bytes(b"hello, not a checkpoint" * 10)
        message = "is not a .npz file"
    pdt.seed(5)
    model2, opt2, sched2 = sgd_schedule()
    opt2.step()  # some state of its own
    before = state(model2, opt2, sched2)
    with pytest.raises(ValueError, match=message) as err:
        train.load_checkpoint(bad, model2, opt2, sched2)
    assert str(err.value).startswith(f"load_checkpoint: {bad}")
    assert state(model2, opt2, sched2) == before


def test_missing_file_and_missing_parts(tmp_path):
    model, opt, sched = sgd_schedule()
    with pytest.raises(FileNotFoundError):
        train.load_checkpoint(tmp_path / "nope.npz", model)
    train.save_checkpoint(tmp_path / "m.npz", model)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        train.load_checkpoint(tmp_path / "m.npz", model, opt)
    with pytest.raises(ValueError, match="holds no scheduler state"):
        train.load_checkpoint(tmp_path / "m.npz", model, scheduler=sched)
    assert zipfile.is_zipfile(tmp_path / "m.npz")


def test_model_checkpoint_best_only_and_divergence(tmp_path):
    pdt.seed(0)
    model, opt, _ = sgd_schedule()
    ck = train.ModelCheckpoint(str(tmp_path / "best.npz"), monitor="val_accuracy")
    h = train.fit(model, nn.CrossEntropyLoss(), opt, (X, Y), val=(X, Y), epochs=6, callbacks=[ck], progress=False)
    best = max(h["val_accuracy"])
    assert ck.best == best
    info = train.load_checkpoint(tmp_path / "best.npz", sgd_schedule()[0])
    assert h["val_accuracy"][info["epoch"] - 1] == best
    assert info["history"]["val_accuracy"] == h["val_accuracy"][:info["epoch"]]
    # a diverging run writes nothing
    pdt.seed(0)
    model, _, _ = sgd_schedule()
    opt = optim.SGD(model.parameters(), lr=1e30)
    ck = train.ModelCheckpoint(str(tmp_path / "div.npz"), monitor="loss", save_best_only=False)
    with pytest.raises(FloatingPointError):
        train.fit(model, nn.CrossEntropyLoss(), opt, (X * 1e20, Y), epochs=3, callbacks=[ck], progress=False)
    assert ck.saved == [] and not (tmp_path / "div.npz").exists()
    with pytest.raises(ValueError, match="^ModelCheckpoint: mode"):
        train.ModelCheckpoint("x.npz", mode="up")
    with pytest.raises(TypeError, match="^ModelCheckpoint: path"):
        train.ModelCheckpoint(3)

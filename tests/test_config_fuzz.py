"""Arbitrary configs either train for a few steps or are refused with a ConfigError naming a field."""

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl_core.config import AugmentConfig, Config, ConfigError
from cl_core.methods import METHODS
from cl_core.trainer import train

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            0,
            1,
            -1,
            0.5,
            1e-12,
            1e12,
            "",
            "nan",
            "true",
            "simclr",
            "folder:/nonexistent",
            "cuda",
            "mps",
            "cuda:3",
            "fp16",
            "bf16",
            "sgd",
            "lars",
            "resnet18",
            "other",
            "self",
        ]
    ),
    st.text(max_size=8),
)
AUGMENT = {f.name: ANY for f in dataclasses.fields(AugmentConfig)}
OPTION_NAMES = sorted({name for cls in METHODS.values() for name in cls.OPTIONS} | {"bogus"})
TRAIN_FIELDS = [
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "momentum",
    "warmup",
    "precision",
    "seed",
    "device",
    "backbone",
]


@st.composite
def configs(draw) -> dict:
    d = Config().to_dict()
    d["method"]["name"] = draw(st.one_of(st.sampled_from(sorted(METHODS)), ANY))
    d["method"]["temperature"] = draw(st.one_of(st.floats(1e-4, 10), ANY))
    d["method"]["margin"] = draw(st.one_of(st.floats(0, 5), ANY))
    d["method"]["options"] = draw(st.dictionaries(st.sampled_from(OPTION_NAMES), ANY, max_size=3))
    d["augment"].update(draw(st.fixed_dictionaries({}, optional=AUGMENT)))
    for name in draw(st.lists(st.sampled_from(TRAIN_FIELDS), max_size=4, unique=True)):
        d["train"][name] = draw(ANY)
    # the cost of a step stays small: the fuzzing is about values, not about waiting
    d["data"].update(name="digits", image_size=16, max_train=64, probe_size=16)
    d["train"].update(width=4, steps=2, seconds=0, epochs=0, snapshots=1, probe_pairs=8, knn_max_train=64, log_every=1)
    d["method"].update(proj_hidden=16, proj_dim=8)
    return d


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_any_config_trains_or_is_refused_naming_the_field(d):
    try:
        cfg = Config.from_dict(d)
        cfg.validate()
    except ConfigError as e:
        assert e.field and str(e).startswith(e.field)
        return
    result = train(cfg)
    assert result.state in ("completed", "failed")
    if result.state == "failed":
        assert "NaN" in result.message or "infinite" in result.message

"""ResNet-50 state-dict keys match torchvision's; fine-tuning from a local torchvision file."""

from __future__ import annotations

import pytest
import torch
import torchvision
from models_helpers import make_config

from poolnas.models import build_model, load_pretrained


@pytest.fixture(scope="module")
def torchvision_state():
    with torch.device("meta"):
        return torchvision.models.resnet50(weights=None).state_dict()


def _meta_model(**kwargs):
    with torch.device("meta"):
        return build_model(make_config("resnet50", num_classes=1000, **kwargs))


def test_keys_equal_torchvision_when_attention_is_off(torchvision_state) -> None:
    ours = _meta_model().state_dict()
    assert list(ours) == list(torchvision_state)
    assert all(ours[k].shape == torchvision_state[k].shape for k in ours)


@pytest.mark.parametrize("kwargs", [{"pooling": "srp-ms", "branch": "double"},
                                    {"pooling": "gap", "placement": {"position": "between"},
                                     "batch_attention": {"enabled": True}}])
def test_torchvision_keys_are_a_subset_with_attention(torchvision_state, kwargs) -> None:
    ours = _meta_model(**kwargs).state_dict()
    assert set(torchvision_state) < set(ours)
    assert all(ours[k].shape == torchvision_state[k].shape for k in torchvision_state)
    extra = set(ours) - set(torchvision_state)
    assert all(".attn." in k or ".batch_attn." in k for k in extra)


@pytest.fixture(scope="module")
def torchvision_file(tmp_path_factory):
    torch.manual_seed(1)
    tv = torchvision.models.resnet50(weights=None)
    path = tmp_path_factory.mktemp("weights") / "resnet50.pth"
    torch.save(tv.state_dict(), path)
    return path, tv.state_dict()


def test_fine_tune_from_torchvision_file(torchvision_file) -> None:
    path, tv_state = torchvision_file
    config = make_config("resnet50", num_classes=200, pooling="gap")
    model = build_model(config)
    report = load_pretrained(model, path)
    ours = model.state_dict()
    assert torch.equal(ours["layer3.2.conv2.weight"], tv_state["layer3.2.conv2.weight"])
    assert torch.equal(ours["bn1.running_var"], tv_state["bn1.running_var"])
    assert ours["fc.weight"].shape == (200, 2048)
    assert {"fc.weight", "fc.bias"} <= set(report["skipped"])
    assert any(".attn." in k for k in report["skipped"])


def test_config_key_pretrained_loads_in_build_model(tmp_path) -> None:
    # same classes: the classifier loads too; attention modules keep their initialisation
    torch.manual_seed(3)
    source = build_model(make_config("resnet20"))
    torch.save(source.state_dict(), tmp_path / "r20.pt")
    config = make_config("resnet20", pooling="gap")
    config.model.pretrained = str(tmp_path / "r20.pt")
    model = build_model(config)
    ours, theirs = model.state_dict(), source.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    assert set(ours) - set(theirs) and all(".attn." in k for k in set(ours) - set(theirs))


def test_strict_on_the_backbone(tmp_path, torchvision_file) -> None:
    _, tv_state = torchvision_file
    state = dict(tv_state)
    del state["layer2.0.downsample.0.weight"]
    torch.save(state, tmp_path / "missing.pth")
    with torch.device("meta"):  # the checks come before any copy: no need for real tensors
        model = build_model(make_config("resnet50", num_classes=10))
        grey = build_model(make_config("resnet50", num_classes=10, in_channels=1))
    with pytest.raises(ValueError, match="missing backbone keys: layer2.0.downsample.0.weight"):
        load_pretrained(model, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="shape mismatch backbone keys: conv1.weight"):
        load_pretrained(grey, torchvision_file[0])
    with pytest.raises(ValueError, match="unexpected"):
        load_pretrained(build_model(make_config("resnet20")), tmp_path / "missing.pth")

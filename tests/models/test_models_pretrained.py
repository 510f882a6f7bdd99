"""ResNet-50 state-dict keys match torchvision's; fine-tuning from a local torchvision file."""

from __future__ import annotations

import pytest
import torch
import torchvision
from models_helpers import make_config

from poolnas.models import build_model, load_pretrained
from poolnas.models.pretrained import adapt_input_conv


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
    wide_stem = dict(tv_state, **{"conv1.weight": torch.zeros(64, 3, 3, 3)})
    torch.save(wide_stem, tmp_path / "stem.pth")
    with torch.device("meta"):  # the checks come before any copy: no need for real tensors
        model = build_model(make_config("resnet50", num_classes=10))
        grey = build_model(make_config("resnet50", num_classes=10, in_channels=1))
    with pytest.raises(ValueError, match="missing backbone keys: layer2.0.downsample.0.weight"):
        load_pretrained(model, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="shape mismatch backbone keys: conv1.weight"):
        load_pretrained(grey, tmp_path / "stem.pth")  # a 3x3 kernel is not adapted to 7x7
    with pytest.raises(ValueError, match="unexpected"):
        load_pretrained(build_model(make_config("resnet20")), tmp_path / "missing.pth")


def test_one_channel_ten_classes_from_an_rgb_file(torchvision_file) -> None:
    # timm's adapt_input_conv: a grey input's conv1 is the sum of the RGB kernels; the
    # classifier (1000 classes in the file) is skipped by its shape, the rest loads as is
    path, tv_state = torchvision_file
    model = build_model(make_config("resnet50", num_classes=10, in_channels=1))
    report = load_pretrained(model, path)
    ours = model.state_dict()
    assert ours["conv1.weight"].shape == (64, 1, 7, 7)
    assert torch.allclose(ours["conv1.weight"], tv_state["conv1.weight"].sum(dim=1, keepdim=True))
    assert ours["fc.weight"].shape == (10, 2048)
    assert report["skipped"] == ["fc.weight", "fc.bias"]
    same = [k for k in tv_state if not k.startswith(("conv1.", "fc."))]
    assert all(torch.equal(ours[k], tv_state[k]) for k in same)


@pytest.mark.parametrize("channels", [2, 4, 5])
def test_other_channel_counts_repeat_and_rescale(channels) -> None:
    torch.manual_seed(0)
    rgb = torch.randn(8, 3, 3, 3)
    adapted = adapt_input_conv(rgb, channels)
    assert adapted.shape == (8, channels, 3, 3)
    tiled = rgb.repeat(1, 2, 1, 1)[:, :channels]
    assert torch.allclose(adapted, tiled * 3 / channels)
    # a constant image gives the same response as its RGB version when channels % 3 == 0
    assert torch.allclose(adapt_input_conv(rgb, 6).sum(dim=1), rgb.sum(dim=1))


def test_classifier_found_by_type_not_name(tmp_path) -> None:
    # a network whose head is not called "fc": the last nn.Linear is still the classifier
    class Net(torch.nn.Module):
        def __init__(self, classes: int) -> None:
            super().__init__()
            self.stem = torch.nn.Conv2d(3, 4, 3)
            self.head = torch.nn.Linear(4, classes)

    torch.manual_seed(2)
    source = Net(7)
    torch.save(source.state_dict(), tmp_path / "net.pt")
    target = Net(3)
    report = load_pretrained(target, tmp_path / "net.pt")
    assert report["skipped"] == ["head.weight", "head.bias"]
    assert torch.equal(target.stem.weight, source.stem.weight)

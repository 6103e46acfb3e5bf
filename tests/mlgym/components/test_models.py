"""Models and losses: shapes, argument checks, and the ConvNet learning digits to >= 0.95."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from mlgym.components.data_loaders import default_data_loaders
from mlgym.components.datasets import sklearn_dataset
from mlgym.components.losses import BinaryCrossEntropyWithLogits, CrossEntropy, MeanSquaredError
from mlgym.components.metrics import MetricSet
from mlgym.components.models import MLP, ConvNet
from mlgym.components.optimizers import adam
from mlgym.components.splits import stratified_split


@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh"])
def test_mlp_shapes(activation: str) -> None:
    model = MLP(input_dim=4, output_dim=3, hidden_dims=[8, 8], dropout=0.1, activation=activation)
    assert model(torch.zeros(5, 4)).shape == (5, 3)
    assert sum(isinstance(m, torch.nn.Linear) for m in model.modules()) == 3


def test_mlp_flattens_images() -> None:
    assert MLP(input_dim=64, output_dim=10)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_conv_net_takes_images_or_flat_rows() -> None:
    model = ConvNet().eval()
    images = torch.rand(3, 1, 8, 8)
    assert torch.equal(model(images), model(images.reshape(3, 64)))


@pytest.mark.parametrize("make, message", [
    pytest.param(lambda: MLP(input_dim=0, output_dim=2), r"must be > 0: \{'input_dim': 0\}", id="input_dim"),
    pytest.param(lambda: MLP(input_dim=2, output_dim=2, hidden_dims=[4, 0]), r"\{'hidden_dims\[1\]': 0\}", id="hidden"),
    pytest.param(lambda: MLP(input_dim=2, output_dim=2, dropout=1.0), r"dropout must be in \[0, 1\), got 1.0",
                 id="dropout"),
    pytest.param(lambda: ConvNet(channels=[8, -1]), r"\{'channels\[1\]': -1\}", id="channels"),
])
def test_bad_model_arguments(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_losses() -> None:
    logits, labels = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    assert CrossEntropy.name == "cross_entropy"
    assert torch.allclose(CrossEntropy()(logits, labels), F.cross_entropy(logits, labels))
    assert torch.allclose(CrossEntropy(label_smoothing=0.1)(logits, labels),
                          F.cross_entropy(logits, labels, label_smoothing=0.1))
    one = torch.tensor([[0.5], [-1.0]])
    assert torch.allclose(BinaryCrossEntropyWithLogits()(one, labels),
                          F.binary_cross_entropy_with_logits(one[:, 0], labels.float()))
    assert MeanSquaredError()(torch.tensor([[1.0], [3.0]]), torch.tensor([1.0, 1.0])).item() == pytest.approx(2.0)
    assert (MeanSquaredError.name, BinaryCrossEntropyWithLogits.name) == ("mse", "bce_with_logits")


def test_conv_net_reaches_95_percent_on_digits() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: extra threads only add contention on a busy machine
    try:
        torch.manual_seed(0)
        splits = stratified_split(sklearn_dataset("digits", as_images=True), seed=0)
        loaders = default_data_loaders(splits, batch_size=32, seed=0)
        model = ConvNet()
        optimizer = adam(model, lr=1e-3)
        for epoch in range(1, 7):
            loaders.set_epoch(epoch)
            model.train()
            for x, y in loaders["train"]:
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
        model.eval()
        with torch.no_grad():
            outputs = torch.cat([model(x) for x, _ in loaders["test"]])
        targets = torch.cat([y for _, y in loaders["test"]])
        assert MetricSet(["accuracy"]).compute(outputs, targets)["accuracy"] >= 0.95
    finally:
        torch.set_num_threads(threads)

"""Devices have one spelling everywhere: 'cpu', 'cuda:0' (CuPy and torch alike), 'gpu:0' (JAX), 'device1'.

CuPy needs a GPU, so its device is played here by a stand-in that prints as ``cupy.cuda.Device`` does.
"""

import pytest

from bpxp.backend import namespaces as _backend


class CupyDeviceStandIn:
    """Prints and compares as ``cupy.cuda.Device(id)`` does (``str`` is '<CUDA Device 0>')."""

    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"

    def __eq__(self, other):
        return isinstance(other, CupyDeviceStandIn) and other.id == self.id

    __hash__ = object.__hash__


class _Info:
    def devices(self):
        return [CupyDeviceStandIn(0), CupyDeviceStandIn(1)]


class CupyNamespaceStandIn:
    __name__ = "cupy_stand_in"

    def __array_namespace_info__(self):
        return _Info()


def test_cupy_device_is_labelled_cuda_colon_index_like_torch():
    assert _backend.device_label(CupyDeviceStandIn(0)) == "cuda:0"
    assert _backend.device_label(CupyDeviceStandIn(1)) == "cuda:1"


@pytest.mark.parametrize("wanted", ["cuda:0", 0, "0"], ids=["label", "int", "digit"])
def test_cupy_device_resolves_from_its_label_or_index(wanted):
    xp = CupyNamespaceStandIn()
    assert _backend.resolve_device(xp, wanted) == CupyDeviceStandIn(0)
    assert _backend.resolve_device(xp, "cuda:1") == CupyDeviceStandIn(1)


def test_other_libraries_labels_are_unchanged():
    array_api_strict = pytest.importorskip("array_api_strict")

    assert _backend.device_label(array_api_strict.Device("device1")) == "device1"
    assert _backend.device_label("cpu") == "cpu"
